"""vllmkube: size a model for vLLM and render production Kubernetes manifests."""

__version__ = "0.1.0"
