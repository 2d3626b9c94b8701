"""The model downloader, run inside the vLLM image by the downloader Job or by a pod's init
container (its source is embedded in the manifest).

Inputs come from environment variables only, so no user-typed value is ever pasted into code.
Idempotent: the marker file, written last, holds REPO@REVISION; a second run with the same inputs
exits at once, an interrupted run resumes (snapshot_download skips complete files). A failure
writes the reason next to it, so pods waiting for the marker stop waiting and show why.
"""
import os
import pathlib
import sys


def main() -> int:
    target = pathlib.Path(os.environ["TARGET_DIR"])
    repo = os.environ["REPO_ID"]
    revision = os.environ.get("REVISION") or None
    marker = target / ".vllmkube-complete"
    failed = target / ".vllmkube-failed"
    want = f"{repo}@{revision or 'main'}"
    target.mkdir(parents=True, exist_ok=True)
    if os.environ.get("COMPILE_DIR"):  # made here, as this uid: a subPath kubelet creates would be root's
        pathlib.Path(os.environ["COMPILE_DIR"]).mkdir(parents=True, exist_ok=True)
    if marker.is_file() and marker.read_text() == want:
        print(f"{want} is already in {target}; nothing to do")
        return 0
    failed.unlink(missing_ok=True)
    try:
        from huggingface_hub import snapshot_download

        # original/ and *.pth hold a second copy of the weights in Meta's format: vLLM reads safetensors.
        snapshot_download(repo_id=repo, revision=revision, local_dir=str(target),
                          ignore_patterns=["original/*", "*.pth"])
    except Exception as exc:  # record why, for the pods that wait; the Job retries
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        if "GatedRepo" in reason or "401" in reason or "403" in reason:
            reason += " (gated repository: check the HF_TOKEN Secret and that its account was granted access)"
        failed.write_text(f"download of {want} failed: {reason}\n")
        print(f"download of {want} failed: {reason}", file=sys.stderr)
        return 1
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(want)
    tmp.replace(marker)  # the serving pods start only once this file holds their revision
    print(f"downloaded {want} to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
