"""The LeaderWorkerSet target: a replica that spans nodes, one pod per node, as one LWS group.

templates/leaderworkerset.yaml.j2 lays it out around the shared pod template (templates/_pod.j2).
Facts (kubernetes-sigs/lws v0.10.0, api/leaderworkerset/v1/leaderworkerset_types.go and
pkg/utils/pod/pod_utils.go; shared reference beyond-one-deployment.md section 1):

* ``size`` = pods per group including the leader = nodes per replica; ``replicas`` = groups, with a
  scale subresource whose selector is the leaders only, so KEDA scales groups and the HPA counts
  leaders as its ready pods.
* LWS injects LWS_LEADER_ADDRESS, LWS_GROUP_SIZE and LWS_WORKER_INDEX (0 = leader) into every
  container and labels every pod leaderworkerset.sigs.k8s.io/name and .../worker-index.
* Only the leader runs the API server (HTTP and /metrics): probes, the Service and the PodMonitor
  select it; the workers run headless and have no probes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..catalog import GpuEntry, ModelEntry
from ..errors import InputError
from ..plan import Parts, Target
from ..plan.identity import Identity
from ..plan.pod import PodTemplate
from ..promql import matchers
from ..sizing import SizingPlan
from ..spec import RenderSpec

NAME = "lws"
OMITS: frozenset[str] = frozenset()
REPLACES: frozenset[str] = frozenset()
API_VERSION = "leaderworkerset.x-k8s.io/v1"
NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"  # "0" on the leader
MASTER_PORT = 29501  # torch.distributed rendezvous on the leader
NATIVE_MULTINODE_VLLM = "0.11.1"  # first wheel with --nnodes/--node-rank/--headless (none before)
RAY_SCRIPT = "/vllm-workspace/examples/online_serving/multi-node-serving.sh"  # in vllm/vllm-openai images

# Ray-free launch. `sh -c SCRIPT vllm ARGS...`: the arguments stay in `args` ("$@"), where
# Kubernetes expands $(LWS_WORKER_INDEX) and lint reads them. The leader's address is resolved
# to an IP first because vLLM's ZMQ sockets do not resolve DNS names (KServe's
# LLMInferenceService does the same: config/llmisvcconfig/config-llm-worker-data-parallel.yaml).
NATIVE_SCRIPT = """set -eu
until MASTER_ADDR="$(getent hosts "$LWS_LEADER_ADDRESS" | awk '{print $1; exit}')" && [ -n "$MASTER_ADDR" ]; do
  echo "waiting for $LWS_LEADER_ADDRESS to resolve"; sleep 2
done
exec vllm serve "$@" --master-addr "$MASTER_ADDR"
"""
# The Ray recipe of the vLLM and LWS docs, for images before 0.11.1 (which still ship Ray):
# the leader starts the Ray head, waits for the group, then serves; workers join and block.
RAY_LEADER_SCRIPT = f"""set -eu
bash {RAY_SCRIPT} leader --ray_cluster_size="$LWS_GROUP_SIZE"
exec vllm serve "$@" --distributed-executor-backend ray
"""
RAY_WORKER_SCRIPT = f"""set -eu
exec bash {RAY_SCRIPT} worker --ray_address="$LWS_LEADER_ADDRESS"
"""


@dataclass(frozen=True)
class LeaderWorkerSetTarget(Target):
    leader: PodTemplate
    worker: PodTemplate
    size: int  # pods per group = nodes per replica
    replicas: int | None  # None: KEDA owns the count
    max_surge: int
    max_unavailable: int
    hpa: str
    autoscaled: bool
    namespace: str

    group_traffic = True  # the NetworkPolicy lets the pods of a group reach each other (NCCL, rendezvous)

    def serving_selector(self, identity: Identity) -> dict[str, str]:
        return {**identity.selector, WORKER_INDEX_LABEL: "0"}

    def replica_queries(self, identity: Identity) -> tuple[str, str]:
        """kube-state-metrics has no LeaderWorkerSet metrics. Desired: the HPA's current replicas,
        which the HPA reads from the LWS scale subresource (spec.replicas, 0 when KEDA scaled it to
        zero). Ready: ready leader pods, named <lws>-<group> (workers are <lws>-<group>-<index>)."""
        desired = (f"max(kube_horizontalpodautoscaler_status_current_replicas{{{matchers(namespace=identity.namespace, horizontalpodautoscaler=self.hpa)}}})"
                   if self.autoscaled else f"vector({self.replicas})")
        leaders = matchers(namespace=identity.namespace, condition="true") + f', pod=~"{self.name}-[0-9]+"'
        return desired, f"count(kube_pod_status_ready{{{leaders}}} == 1)"


def check(spec: RenderSpec, model: ModelEntry, gpu: GpuEntry, sizing: SizingPlan) -> None:
    if spec.canary_revision:
        raise InputError("--canary-revision", "the lws target renders no canary (a second LeaderWorkerSet and a route are "
                         "not built yet)", "use --target llmisvc, whose route weights split multi-node services")
    gpus = sizing.tensor_parallel_size * sizing.pipeline_parallel_size
    if gpus % sizing.nodes_per_replica:
        raise InputError("--tensor-parallel-size", f"TP {sizing.tensor_parallel_size} x PP {sizing.pipeline_parallel_size} "
                         f"= {gpus} GPUs do not split evenly over {sizing.nodes_per_replica} nodes",
                         "pick TP x PP divisible by the nodes per replica (e.g. TP = GPUs per node)")


def launch(parts: Parts) -> tuple[PodTemplate, PodTemplate]:
    """Leader and worker variants of the shared pod: the launch wrapper and the multi-node flags."""
    pod, nodes = parts.pod, parts.sizing.nodes_per_replica
    serve = pod.args  # the model folder and the sizing's flags, identical on every rank
    if parts.version.at_least(NATIVE_MULTINODE_VLLM):
        ranks = [*serve, "--distributed-executor-backend", "mp", "--nnodes", str(nodes),
                 "--node-rank", "$(LWS_WORKER_INDEX)", "--master-port", str(MASTER_PORT)]
        leader = dataclasses.replace(pod, command=["/bin/sh", "-c", NATIVE_SCRIPT, "vllm"], args=ranks)
        worker = dataclasses.replace(leader, args=[*ranks, "--headless"])
    else:
        leader = dataclasses.replace(pod, command=["/bin/sh", "-c", RAY_LEADER_SCRIPT, "vllm"], args=list(serve))
        worker = dataclasses.replace(pod, command=["/bin/sh", "-c", RAY_WORKER_SCRIPT], args=[])
    # Workers serve no HTTP; the downloader's marker is waited for by every pod (all read the cache).
    worker = dataclasses.replace(worker, serves_http=False, startup_probe=None, readiness_probe=None, liveness_probe=None)
    return leader, worker


def build(parts: Parts) -> LeaderWorkerSetTarget:
    scaling = parts.scaling
    leader, worker = launch(parts)
    return LeaderWorkerSetTarget(
        api_version=API_VERSION, kind="LeaderWorkerSet", name=parts.identity.names["server"],
        templates=("leaderworkerset",), leader=leader, worker=worker, size=parts.sizing.nodes_per_replica,
        replicas=None if scaling.autoscaled else scaling.min_replicas,
        max_surge=scaling.max_surge, max_unavailable=scaling.max_unavailable,
        hpa=parts.identity.names["hpa"], autoscaled=scaling.autoscaled, namespace=parts.identity.namespace,
    )
