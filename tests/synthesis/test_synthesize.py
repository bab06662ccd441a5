"""End-to-end synthesis through real sandboxes: schema, stats, dedup, failures, resume."""

from __future__ import annotations

import json

import polars as pl
import pytest

from mda_augment.corpus.store import iter_documents
from mda_augment.errors import ConfigError, GeneratorError
from mda_augment.synthesis import SynthesisConfig, resolve, synthesize
from mda_augment.synthesis.synthesize import _generate_counts, _local_runner, parts_root

FAST = {"timeout_s": 20, "cpu_s": 20}


def _write(tmp_path, name, body, kind="prose"):
    path = tmp_path / f"{name}.py"
    path.write_text(f'"""Test generator."""\nNAME = "{name}"\nKIND = "{kind}"\n{body}')
    return str(path)


def test_reference_generators_to_a_store_with_provenance(tmp_path):
    out = tmp_path / "store"
    stats = synthesize(out, generators=["log_uuid_v1", "xml_nested_v1"], n=6, shard_docs=3,
                       workers=2, sandbox=FAST)
    docs = list(iter_documents(out))
    assert len(docs) == 12 and stats["log_uuid_v1"]["documents"] == 6
    log = [d for d in docs if d.source == "generator:log_uuid_v1"]
    assert {d.kind for d in log} == {"log"}
    spec = resolve("log_uuid_v1")
    assert log[0].meta["code_sha256"] == spec.sha256 and log[0].meta["generator_version"] == 1
    assert {"generator", "seed"} <= set(log[0].meta)
    assert json.loads((out / "stats.json").read_text())["xml_nested_v1"]["shards_ok"] == 2
    assert pl.read_parquet(out / "shard-00000.parquet").columns == \
        ["id", "text", "source", "path", "kind", "license", "meta"]
    assert not parts_root(out).exists()


def test_output_does_not_depend_on_the_number_of_workers(tmp_path):
    ids = []
    for workers in (1, 3):
        out = tmp_path / f"w{workers}"
        synthesize(out, generators=["pem_bundle_v1"], n=6, shard_docs=2, workers=workers, sandbox=FAST)
        ids.append([d.id for d in iter_documents(out)])
    assert ids[0] == ids[1]


def test_exact_and_near_duplicates_are_counted_and_dropped(tmp_path):
    same = _write(tmp_path, "same_v1", "def generate(seed, n):\n    return ['fixed text'] * n\n")
    near = _write(tmp_path, "near_v1", "BASE = ' '.join(f'w{i}' for i in range(300))\n"
                  "def generate(seed, n):\n    return [BASE + f' tail{seed}-{i}' for i in range(n)]\n")
    stats = synthesize(tmp_path / "out", generators=[same, near], n=4, shard_docs=2,
                       allow_code_execution=True, sandbox=FAST)
    assert (stats["same_v1"]["documents"], stats["same_v1"]["exact_duplicates"]) == (1, 3)
    assert (stats["near_v1"]["documents"], stats["near_v1"]["near_duplicates"]) == (1, 3)


def test_failing_shards_are_recorded_with_reasons(tmp_path):
    bad = _write(tmp_path, "bad_v1", "def generate(seed, n):\n    raise RuntimeError('nope')\n")
    stats = synthesize(tmp_path / "out", generators=[bad, "html_docs_v1"], n=2, shard_docs=1,
                       allow_code_execution=True, sandbox=FAST)
    assert stats["bad_v1"]["shards_failed"] == 2 and stats["bad_v1"]["documents"] == 0
    assert {f["reason"] for f in stats["bad_v1"]["failures"]} == {"exception"}
    assert "RuntimeError: nope" in stats["bad_v1"]["failures"][0]["message"]
    assert stats["html_docs_v1"]["documents"] == 2  # the healthy generator is unaffected


def test_outside_code_needs_consent(tmp_path):
    path = _write(tmp_path, "toy_v1", "def generate(seed, n):\n    return ['x'] * n\n")
    with pytest.raises(GeneratorError, match="allow_code_execution"):
        synthesize(tmp_path / "out", generators=[path], n=1)


def test_config_needs_exactly_one_budget(tmp_path):
    with pytest.raises(ConfigError, match="exactly one"):
        synthesize(tmp_path / "out", generators=["log_uuid_v1"])


def test_byte_budget_stops_once_reached(tmp_path):
    stats = synthesize(tmp_path / "out", generators=["log_uuid_v1"], max_mb=0.02, shard_docs=2,
                       workers=2, sandbox=FAST)
    row = stats["log_uuid_v1"]
    assert row["mb"] >= 0.02 * 0.9 and row["shards_ok"] <= 4


def test_rerun_after_a_crash_reuses_finished_shards(tmp_path):
    out = tmp_path / "store"
    cfg = SynthesisConfig(generators=["json_records_v1"], n=4, shard_docs=2, sandbox=FAST)
    spec = resolve("json_records_v1")
    first = _generate_counts([spec], cfg, out, _local_runner(2))  # a run that "crashed" here
    walls = sum(r["wall_s"] for r in first["json_records_v1"])
    stats = synthesize(out, cfg)
    assert stats["json_records_v1"]["sandbox_wall_s"] == pytest.approx(walls)  # not rerun
    again = synthesize(out, cfg)  # complete store: skipped, same stats
    assert again == stats


CLOCK = "import time\ndef generate(seed, n):\n    return [f'doc {i} at {time.time_ns()}' for i in range(n)]\n"


def test_a_generator_that_reads_the_clock_is_refused(tmp_path):
    clock = _write(tmp_path, "clock_v1", CLOCK)
    stats = synthesize(tmp_path / "out", generators=[clock, "html_docs_v1"], n=4, shard_docs=2,
                       allow_code_execution=True, sandbox=FAST)
    row = stats["clock_v1"]
    assert row["deterministic"] is False and row["documents"] == 0 and row["shards_ok"] == 2
    assert "different documents" in row["refused"] and "\n" not in row["refused"]
    assert stats["html_docs_v1"]["deterministic"] is True and stats["html_docs_v1"]["documents"] == 4
    assert stats["html_docs_v1"]["refused"] is None
    skipped = json.loads((tmp_path / "out" / "skipped.json").read_text())
    assert set(skipped["refused_generators"]) == {"clock_v1"}
    assert {d.source for d in iter_documents(tmp_path / "out")} == {"generator:html_docs_v1"}


def test_allow_nondeterministic_keeps_the_documents_and_says_so(tmp_path):
    clock = _write(tmp_path, "clock_v1", CLOCK)
    stats = synthesize(tmp_path / "out", generators=[clock], n=4, shard_docs=2,
                       allow_code_execution=True, allow_nondeterministic=True, sandbox=FAST)
    assert stats["clock_v1"]["deterministic"] is False and stats["clock_v1"]["documents"] == 4
    assert stats["clock_v1"]["refused"] is None


def test_a_forking_generator_is_always_a_failed_shard(tmp_path):
    bomb = _write(tmp_path, "bomb_v1", "import os\ndef generate(seed, n):\n    while True:\n"
                  "        try:\n            os.fork()\n        except OSError:\n            break\n"
                  "    return [f'doc {i}' for i in range(n)]\n")
    stats = synthesize(tmp_path / "out", generators=[bomb], n=3, shard_docs=1, workers=2,
                       allow_code_execution=True, sandbox=FAST)
    row = stats["bomb_v1"]
    assert (row["shards_failed"], row["documents"]) == (3, 0)
    assert {f["reason"] for f in row["failures"]} == {"forked"}
