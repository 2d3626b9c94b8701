"""The shard runner (vllmkube/batch_runner.py) run for real, with a stand-in for `vllm run-batch`
that dies after k answers, leaves a torn line, or is stopped by a reclaim's SIGTERM; restarted
until it succeeds, every input line is answered exactly once, in order."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import vllmkube
from vllmkube.batch_runner import EXIT_BAD_INPUT, RESULTS, answered_lines, bounds

RUNNER = Path(vllmkube.__file__).parent / "batch_runner.py"

# Writes one answer per request in input order, flushed, like vllm run-batch's ordered writer.
# FAKE_DIE_AFTER=k: exit 1 after k answers; FAKE_TORN=1: first write half of the next answer;
# FAKE_WAIT_AFTER=k: after k answers create FAKE_READY and wait for SIGINT (then exit like Python
# does on KeyboardInterrupt, with the file closed). Every request fed is logged to FAKE_LOG.
STAND_IN = r'''
import json, os, sys, time
args = sys.argv[1:]
src, dst = args[args.index("-i") + 1], args[args.index("-o") + 1]
die = int(os.environ.get("FAKE_DIE_AFTER", "-1"))
wait = int(os.environ.get("FAKE_WAIT_AFTER", "-1"))
with open(src) as f:
    requests = [json.loads(line) for line in f if line.strip()]
with open(os.environ["FAKE_LOG"], "a") as log:
    for r in requests:
        log.write(r["custom_id"] + "\n")
out = open(dst, "w")
for n, r in enumerate(requests):
    if n == die:
        if os.environ.get("FAKE_TORN"):
            out.write('{"id": "vllm-x", "custom_id": "' + r["custom_id"][:3])
            out.flush()
        os._exit(1)
    if n == wait:
        open(os.environ["FAKE_READY"], "w").close()
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            out.close()
            sys.exit(130)
    answer = {"id": "vllm-%d" % n, "custom_id": os.environ.get("FAKE_WRONG_ID") or r["custom_id"], "error": None,
              "response": {"status_code": 200, "body": {"echo": r["body"]["messages"][0]["content"]}}}
    out.write(json.dumps(answer) + "\n")
    out.flush()
out.close()
'''


def _input(path: Path, n: int, blank_every: int = 0) -> list[str]:
    ids = []
    with path.open("w") as f:
        for i in range(n):
            cid = f"req-{i}"
            ids.append(cid)
            body = {"model": "m", "messages": [{"role": "user", "content": f"question {i}"}]}
            f.write(json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body}) + "\n")
            if blank_every and i % blank_every == 0:
                f.write("\n")  # vllm run-batch skips blank lines: so does the slicing
    return ids


@pytest.fixture
def batch(tmp_path):
    (tmp_path / "fake_batch.py").write_text(STAND_IN)
    return tmp_path


def _shard(tmp: Path, index: int, shards: int, wait: bool = True, **fake) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "FAKE_LOG": str(tmp / f"fed-{index}.log"), "FAKE_READY": str(tmp / "ready"),
           **{f"FAKE_{k.upper()}": str(v) for k, v in fake.items()}}
    cmd = [sys.executable, str(RUNNER), "shard", "--input", str(tmp / "in.jsonl"), "--output", str(tmp / "out"),
           "--shards", str(shards), "--index", str(index), "--feed-dir", str(tmp), "--stop-after", "20",
           "--", sys.executable, str(tmp / "fake_batch.py")]
    if not wait:
        return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def _results(tmp: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp / "out" / RESULTS).read_text().splitlines()]


def _fed(tmp: Path, index: int) -> list[str]:
    return (tmp / f"fed-{index}.log").read_text().split()


def test_a_shard_that_dies_after_k_answers_resumes_with_the_rest(batch):
    ids = _input(batch / "in.jsonl", 10)
    first = _shard(batch, 0, 1, die_after=4)
    assert first.returncode == 1, first.stderr
    assert not (batch / "out" / RESULTS).exists()
    second = _shard(batch, 0, 1)
    assert second.returncode == 0, second.stderr
    assert [r["custom_id"] for r in _results(batch)] == ids  # each exactly once, in order
    assert _fed(batch, 0) == ids + ids[4:]  # the second attempt was fed only the rest
    assert "4 answered before, attempt 1" in second.stderr
    marker = json.loads((batch / "out" / "shard-00000-of-00001.done").read_text())
    digest = hashlib.sha256((batch / "in.jsonl").read_bytes()).hexdigest()  # no blank lines: the same bytes
    assert marker == {"index": 0, "shards": 1, "first_request": 0, "requests": 10, "errors": 0, "attempts": 2,
                      "input_sha256": digest}
    assert not (batch / "out" / "shard-00000-of-00001").exists()  # parts merged, then removed


def test_a_torn_last_line_is_dropped_and_asked_again(batch):
    ids = _input(batch / "in.jsonl", 8)
    assert _shard(batch, 0, 1, die_after=3, torn=1).returncode == 1
    part = batch / "out" / "shard-00000-of-00001" / "part-0000.jsonl"
    assert not part.read_text().endswith("\n")  # the stand-in really left half a line
    assert [cid for _, cid in answered_lines(part)] == ids[:3]
    assert _shard(batch, 0, 1, die_after=2, torn=1).returncode == 1  # dies again, torn again
    done = _shard(batch, 0, 1)
    assert done.returncode == 0, done.stderr
    assert [r["custom_id"] for r in _results(batch)] == ids
    assert [r["response"]["body"]["echo"] for r in _results(batch)] == [f"question {i}" for i in range(8)]
    assert _fed(batch, 0) == ids + ids[3:] + ids[5:]


def test_shards_take_contiguous_slices_and_the_last_one_merges(batch):
    ids = _input(batch / "in.jsonl", 23, blank_every=5)
    shards = 4
    assert _shard(batch, 2, shards, die_after=1).returncode == 1
    for i in range(shards):
        res = _shard(batch, i, shards)
        assert res.returncode == 0, res.stderr
        lo, hi = bounds(23, shards, i)
        assert _fed(batch, i) == ids[lo:hi] + (ids[lo + 1:hi] if i == 2 else [])  # shard 2 resumed after 1
        assert (batch / "out" / RESULTS).exists() == (i == shards - 1)  # only once every shard is done
    assert [r["custom_id"] for r in _results(batch)] == ids
    again = _shard(batch, 1, shards)  # a finished shard started again does nothing
    assert again.returncode == 0 and "already finished" in again.stderr
    merged = subprocess.run([sys.executable, str(RUNNER), "merge", "--output", str(batch / "out"), "--shards", "4"],
                            capture_output=True, text=True, timeout=60)
    assert merged.returncode == 0 and "23 answers" in merged.stderr


def test_merge_refuses_until_every_shard_has_finished(batch):
    _input(batch / "in.jsonl", 6)
    assert _shard(batch, 0, 2).returncode == 0
    merged = subprocess.run([sys.executable, str(RUNNER), "merge", "--output", str(batch / "out"), "--shards", "2"],
                            capture_output=True, text=True, timeout=60)
    assert merged.returncode == 1 and "1 of 2 shards have no finished marker" in merged.stderr
    assert not (batch / "out" / RESULTS).exists()


def test_a_reclaim_sigterm_keeps_the_answers_so_far(batch):
    ids = _input(batch / "in.jsonl", 9)
    proc = _shard(batch, 0, 1, wait=False, wait_after=5)
    deadline = time.monotonic() + 30
    while not (batch / "ready").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)  # what the kubelet sends on a Spot reclaim
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "stopping vllm run-batch" in err
    done = _shard(batch, 0, 1)
    assert done.returncode == 0, done.stderr
    assert "5 answered before" in done.stderr
    assert [r["custom_id"] for r in _results(batch)] == ids
    assert _fed(batch, 0) == ids + ids[5:]


def test_a_bad_input_line_fails_only_its_index_before_any_work(batch):
    ids = _input(batch / "in.jsonl", 6)
    with (batch / "in.jsonl").open("a") as f:
        f.write('{"custom_id": "broken", "method": "POST"\n')  # request 6: not JSON
    bad = _shard(batch, 1, 2)  # requests 3..6
    assert bad.returncode == EXIT_BAD_INPUT
    assert "request 6 is not JSON" in bad.stderr
    assert not (batch / "fed-1.log").exists()  # rejected before the batch runner started
    good = _shard(batch, 0, 2)  # requests 0..2 do not include it
    assert good.returncode == 0, good.stderr
    assert _fed(batch, 0) == ids[:3]


def test_an_input_changed_under_a_half_done_shard_is_refused(batch):
    _input(batch / "in.jsonl", 6)
    assert _shard(batch, 0, 1, die_after=3).returncode == 1
    text = (batch / "in.jsonl").read_text().replace("req-1", "req-X")
    (batch / "in.jsonl").write_text(text)
    res = _shard(batch, 0, 1)
    assert res.returncode == EXIT_BAD_INPUT
    assert "custom_id 'req-1' but request 1 is 'req-X'" in res.stderr


def test_a_crash_of_the_batch_runner_itself_is_retried_not_failed(batch):
    """Only the runner's own verdict may use the FailIndex exit code."""
    _input(batch / "in.jsonl", 3)
    (batch / "fake_batch.py").write_text("import sys\nsys.exit(42)\n")
    res = _shard(batch, 0, 1)
    assert res.returncode == 1


@pytest.mark.parametrize("shards", [1, 3, 7, 10])
def test_bounds_cover_every_request_once(shards):
    total = 10
    spans = [bounds(total, shards, i) for i in range(shards)]
    assert spans[0][0] == 0 and spans[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_the_runner_waits_for_an_input_copied_late_and_gives_up_with_42(batch):
    late = _shard(batch, 0, 1, wait=False)
    time.sleep(1.5)
    ids = _input(batch / "in.jsonl", 3)
    _, err = late.communicate(timeout=30)
    assert late.returncode == 0 and "waiting for the input" in err
    assert [r["custom_id"] for r in _results(batch)] == ids
    (batch / "in.jsonl").unlink()
    cmd = [sys.executable, str(RUNNER), "shard", "--input", str(batch / "in.jsonl"), "--output", str(batch / "o2"),
           "--shards", "1", "--index", "0", "--input-wait", "0", "--", sys.executable, str(batch / "fake_batch.py")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == EXIT_BAD_INPUT and "is not there after 0 s" in res.stderr


def test_answers_for_the_wrong_requests_are_refused_before_the_marker(batch):
    _input(batch / "in.jsonl", 4)
    res = _shard(batch, 0, 1, wrong_id="someone-else")
    assert res.returncode == EXIT_BAD_INPUT and "custom_id 'someone-else' but request 0 is 'req-0'" in res.stderr
    assert not (batch / "out" / "shard-00000-of-00001.done").exists()


def test_a_new_input_in_an_old_output_folder_is_refused_not_mixed(batch):
    _input(batch / "in.jsonl", 6)
    assert _shard(batch, 0, 2).returncode == 0
    assert _shard(batch, 1, 2).returncode == 0
    first = (batch / "out" / RESULTS).read_text()
    text = (batch / "in.jsonl").read_text().replace("question", "query")  # same ids, other requests
    (batch / "in.jsonl").write_text(text)
    res = _shard(batch, 1, 2)
    assert res.returncode == EXIT_BAD_INPUT and "holds a finished shard-00001-of-00002 for another input" in res.stderr
    (batch / "out" / "shard-00000-of-00002.done").unlink()  # shard 0 done again for the new input ...
    assert _shard(batch, 0, 2).returncode == 0
    assert (batch / "out" / RESULTS).read_text() == first  # ... is not merged with shard 1's old answers
