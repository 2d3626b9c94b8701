"""The model downloader the Job runs inside the vLLM image (its source is embedded in the Job).

Inputs come from environment variables only, so no user-typed value is ever pasted
into code. Idempotent: a marker file records which repository and revision the
folder holds; a second run with the same inputs exits at once, an interrupted run
resumes (snapshot_download skips complete files).
"""
import json
import os
import pathlib
import sys


def main() -> int:
    target = pathlib.Path(os.environ["TARGET_DIR"])
    repo = os.environ["REPO_ID"]
    revision = os.environ.get("REVISION") or None
    marker = target / ".vllmkube-complete"
    want = json.dumps({"repo": repo, "revision": revision}, sort_keys=True)
    if marker.is_file() and marker.read_text() == want:
        print(f"{repo}@{revision or 'main'} is already in {target}; nothing to do")
        return 0
    from huggingface_hub import snapshot_download

    target.mkdir(parents=True, exist_ok=True)
    # original/ and *.pth hold a second copy of the weights in Meta's format: vLLM reads safetensors.
    snapshot_download(repo_id=repo, revision=revision, local_dir=str(target), ignore_patterns=["original/*", "*.pth"])
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(want)
    tmp.replace(marker)  # the serving pods start only once this file exists
    print(f"downloaded {repo}@{revision or 'main'} to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
