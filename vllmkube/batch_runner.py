"""The shard runner of `vllmkube batch`: one Indexed Job index answers one slice of the input.

Standalone (standard library only): the Job mounts this file from a ConfigMap and runs it in the
vLLM image. The resume contract (docs/batch.md):

* The input's requests are its non-blank lines, numbered from 0 (vllm run-batch skips blank
  lines too). Shard i of S takes the contiguous lines [N*i//S, N*(i+1)//S).
* vllm run-batch truncates its output file and writes responses in input order, so after a
  crash that file holds answers to a prefix of what it was fed. Every attempt therefore writes
  a new part file, OUT/shard-i-of-S/part-NNNN.jsonl; the lines already answered are the
  complete (newline-terminated, parseable) lines of the parts in order, a torn last line is
  dropped, and the attempt is fed only the rest.
* Each answered line must carry the custom_id of the input line at its position; a mismatch
  means the input changed under a half-done shard (exit 42, the index fails).
* When the shard is answered in full, its parts are merged into OUT/shard-i-of-S.jsonl and the
  finished marker OUT/shard-i-of-S.done (with the sha256 of the input's requests) is written
  last. The shard that finds every marker present, all for this input, writes OUT/results.jsonl:
  one answer per request, in input order (`merge` does the same by hand).

Exit codes: 0 done; 42 retrying cannot help (bad input line, input changed, output not
writable): the Job's podFailurePolicy fails only this index (FailIndex); anything else is
retried up to backoffLimitPerIndex; a Spot reclaim is ignored by the Job (DisruptionTarget).

    python3 batch_runner.py shard --input IN --output OUT --shards S [--index I] -- vllm run-batch ...
    python3 batch_runner.py merge --output OUT --shards S
"""
import argparse
import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

EXIT_BAD_INPUT = 42  # the podFailurePolicy's FailIndex exit code (vllmkube/targets/batch.py reads it)
RESULTS = "results.jsonl"


class Unrecoverable(Exception):
    """Retrying this index cannot help."""


def log(msg):
    print(f"batch-runner: {msg}", file=sys.stderr, flush=True)


def request_lines(path):
    """(request number, line) for every non-blank line, as vllm run-batch reads them."""
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield n, line
                n += 1


def bounds(total, shards, index):
    return total * index // shards, total * (index + 1) // shards


def shard_name(index, shards):
    return f"shard-{index:05d}-of-{shards:05d}"


def answered_lines(part):
    """The answers a part file holds: its longest prefix of complete, parseable lines.
    A torn last line (no newline: the writer died mid-line) and anything after a damaged
    line are not answers; they are asked again."""
    data = pathlib.Path(part).read_bytes()
    out = []
    for raw in data.split(b"\n")[:-1]:  # the piece after the last newline is torn (or empty)
        try:
            obj = json.loads(raw)
        except ValueError:
            break
        if not isinstance(obj, dict) or not isinstance(obj.get("custom_id"), str):
            break
        out.append((raw.decode("utf-8"), obj["custom_id"]))
    return out


def parts_of(work):
    return sorted(work.glob("part-*.jsonl"))


def answered(work):
    return [a for p in parts_of(work) for a in answered_lines(p)]


def check_request(number, line):
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise Unrecoverable(f"request {number} is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise Unrecoverable(f"request {number} is not a JSON object")
    for key, kind in (("custom_id", str), ("method", str), ("url", str), ("body", dict)):
        if not isinstance(obj.get(key), kind):
            raise Unrecoverable(f"request {number} lacks {key!r} ({kind.__name__}): OpenAI batch format "
                                '{"custom_id": ..., "method": "POST", "url": "/v1/chat/completions", "body": {...}}')
    return obj["custom_id"]


def survey(input_path):
    """(requests, sha256 of the requests): the markers record which input they answer."""
    digest = hashlib.sha256()
    total = 0
    try:
        for _, line in request_lines(input_path):
            digest.update(line.encode("utf-8") + b"\n")
            total += 1
    except OSError as exc:
        raise Unrecoverable(f"cannot read the input {input_path}: {exc.strerror or exc}") from None
    return total, digest.hexdigest()


def plan_feed(input_path, shards, index, done, feed, total):
    """Check this shard's slice against the answers so far and write the rest to ``feed``.
    Returns (first request, requests in the slice)."""
    start, end = bounds(total, shards, index)
    if len(done) > end - start:
        raise Unrecoverable(f"{len(done)} answers for a slice of {end - start} requests: the input changed")
    with open(feed, "w", encoding="utf-8") as out:
        for number, line in request_lines(input_path):
            if number < start:
                continue
            if number >= end:
                break
            cid = check_request(number, line)
            k = number - start
            if k < len(done):
                if done[k][1] != cid:
                    raise Unrecoverable(f"answer {k} of this shard is for custom_id {done[k][1]!r} but request "
                                        f"{number} is {cid!r}: the input changed; delete the shard's folder to start it again")
            else:
                out.write(line + "\n")
    return start, end - start


def run_child(command, stop_after):
    """Run vllm run-batch. On SIGTERM (a reclaim or a drain) stop it with SIGINT, so Python
    unwinds and closes (flushes) its output file, and kill it if it has not exited in time."""
    child = subprocess.Popen(command)
    stopping = []

    def stop(signum, frame):
        if not stopping:
            log(f"signal {signum}: stopping vllm run-batch; answered lines are kept")
            stopping.append(time.monotonic())
            child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            return child.wait(timeout=1)
        except subprocess.TimeoutExpired:
            if stopping and time.monotonic() - stopping[0] > stop_after:
                child.kill()


def write_atomic(path, chunks):
    """Write under a unique temporary name, then rename: readers never see half a file, and two
    pods (each its own PID 1) finishing at once never share a temporary file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for whoever fetches them
    os.replace(tmp, path)


def merge(out, shards, digest=None, quiet=False):
    """OUT/results.jsonl from every shard's file, once every finished marker is there and all of
    them answer the same input (``digest``, when known). Returns the number of shards missing
    (0: written)."""
    markers = []
    for i in range(shards):
        marker = out / (shard_name(i, shards) + ".done")
        if marker.is_file():
            markers.append(json.loads(marker.read_text(encoding="utf-8")))
    digest = digest or (markers[0].get("input_sha256") if markers else None)
    stale = [m["index"] for m in markers if m.get("input_sha256") != digest]
    missing = shards - len(markers) + len(stale)
    if missing:
        if not quiet:
            log(f"{shards - len(markers)} of {shards} shards have no finished marker yet"
                + (f", shards {stale} answered another input" if stale else "") + "; nothing merged")
        return missing
    covered = 0
    for m in markers:
        if m["first_request"] != covered:
            raise Unrecoverable(f"shard {m['index']} starts at request {m['first_request']}, expected {covered}")
        covered += m["requests"]

    def lines():
        for i in range(shards):
            with open(out / (shard_name(i, shards) + ".jsonl"), encoding="utf-8") as f:
                yield from f

    write_atomic(out / RESULTS, lines())
    log(f"all {shards} shards finished: {covered} answers in {out / RESULTS}")
    return 0


def wait_for_input(path, seconds):
    """The input may be copied to the volume after the Job is applied: wait for it (a GPU waits too)."""
    start = time.monotonic()
    while not path.is_file():
        waited = time.monotonic() - start
        if waited >= seconds:
            raise Unrecoverable(f"the input {path} is not there after {seconds:.0f} s; copy it to the data volume "
                                "and start the Job again")
        if int(waited) % 60 == 0:
            log(f"waiting for the input {path}")
        time.sleep(1)


def shard(args, command):
    shards, index = args.shards, args.index
    if index is None:
        index = int(os.environ["JOB_COMPLETION_INDEX"])  # set by Kubernetes for Indexed Jobs
    if not 0 <= index < shards:
        raise Unrecoverable(f"index {index} is outside 0..{shards - 1}")
    out = pathlib.Path(args.output)
    name = shard_name(index, shards)
    marker, result, work = out / f"{name}.done", out / f"{name}.jsonl", out / name
    if marker.is_file():
        wait_for_input(pathlib.Path(args.input), args.input_wait)
        _, digest = survey(args.input)
        if json.loads(marker.read_text(encoding="utf-8")).get("input_sha256") != digest:
            raise Unrecoverable(f"{out} holds a finished {name} for another input; use a new --output folder "
                                "(or delete the old one)")
        log(f"{name} already finished")
        merge(out, shards, digest, quiet=True)
        return 0
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Unrecoverable(f"cannot create {work}: {exc.strerror or exc} (is the data volume writable by uid "
                            f"{os.getuid()}?)") from None
    wait_for_input(pathlib.Path(args.input), args.input_wait)
    parts = parts_of(work)
    attempt = int(parts[-1].name[5:9]) + 1 if parts else 0
    done = answered(work)
    feed = pathlib.Path(args.feed_dir or tempfile.gettempdir()) / f"{name}.feed-{attempt:04d}.jsonl"
    total, digest = survey(args.input)
    first, size = plan_feed(args.input, shards, index, done, feed, total)
    log(f"{name}: requests {first}..{first + size - 1} of {args.input}, {len(done)} answered before, "
        f"attempt {attempt}")
    if len(done) < size:
        part = work / f"part-{attempt:04d}.jsonl"
        rc = run_child(command + ["-i", str(feed), "-o", str(part)], args.stop_after)
        feed.unlink()
        done = answered(work)
        log(f"{name}: vllm run-batch exited {rc}; {len(done)} of {size} answered")
        if len(done) > size:
            raise Unrecoverable(f"{len(done)} answers for {size} requests")
        if len(done) < size:
            if rc == 0:
                log(f"{name}: vllm run-batch exited 0 with {size - len(done)} requests unanswered; retrying")
            # 42 is ours (FailIndex): any exit of the batch runner itself is retried
            return 1 if rc in (0, EXIT_BAD_INPUT) else (128 - rc if rc < 0 else rc)
        plan_feed(args.input, shards, index, done, feed, total)  # every answer is for its own request, in order
    feed.unlink()
    errors = sum(1 for line, _ in done if json.loads(line).get("error") is not None)
    write_atomic(result, (line + "\n" for line, _ in done))
    info = {"index": index, "shards": shards, "first_request": first, "requests": size, "errors": errors,
            "attempts": attempt + 1, "input_sha256": digest}
    write_atomic(marker, [json.dumps(info, sort_keys=True) + "\n"])
    shutil.rmtree(work)  # the marker is written: the parts are in the shard's file
    log(f"{name} finished: {size} answers ({errors} error responses) in {result}")
    merge(out, shards, digest, quiet=True)
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="batch_runner.py")
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("shard", help="answer one shard (the Job's command)")
    s.add_argument("--input", required=True)
    s.add_argument("--output", required=True)
    s.add_argument("--shards", type=int, required=True)
    s.add_argument("--index", type=int, default=None, help="default: $JOB_COMPLETION_INDEX")
    s.add_argument("--feed-dir", default=None, help="where each attempt's input goes (default: the temp dir)")
    s.add_argument("--stop-after", type=float, default=10.0, help="seconds between SIGINT and SIGKILL on SIGTERM")
    s.add_argument("--input-wait", type=float, default=1800.0, help="seconds to wait for the input to appear")
    m = sub.add_parser("merge", help="write OUT/results.jsonl once every shard has finished")
    m.add_argument("--output", required=True)
    m.add_argument("--shards", type=int, required=True)
    args = parser.parse_args(own)
    try:
        if args.mode == "merge":
            return 1 if merge(pathlib.Path(args.output), args.shards) else 0
        if not command:
            parser.error("shard needs the batch command after --, e.g. -- vllm run-batch --model ...")
        return shard(args, command)
    except Unrecoverable as exc:
        log(f"error: {exc}")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
