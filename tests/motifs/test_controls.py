"""The positive control (probe-pool spans repeated) and its null, on a real packed corpus."""

from __future__ import annotations

import pytest

from mda_augment.corpus.packed import PackedCorpus
from mda_augment.motifs.controls import (
    POSITIVE,
    POSITIVE_NULL,
    pool_tokens,
    retokenization,
    write_positive_controls,
)
from mda_augment.sandbox import run_code
from mda_augment.structure.model_tokens import ModelView, text_stats
from mda_augment.synthesis.registry import load_spec

from . import table_corpus


@pytest.fixture(scope="module")
def packed_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctl")
    table_corpus.build(root)
    return root / "packed"


def test_pool_tokens_re_encode_to_themselves(packed_dir):
    packed = PackedCorpus(packed_dir)
    ids, texts = pool_tokens(packed)
    tok = packed.tokenizer()
    assert len(ids) >= 16 and packed.eos_id not in ids
    assert all(tok.encode(t) == [i] for i, t in zip(ids, texts, strict=True))


def test_positive_control_repeats_and_its_null_does_not(packed_dir, tmp_path):
    paths = write_positive_controls(packed_dir, tmp_path)
    specs = {p.stem: load_spec(p, tmp_path) for p in paths}
    assert set(specs) == {POSITIVE, POSITIVE_NULL} and all(s.kind == "control" for s in specs.values())
    view = ModelView.from_packed(packed_dir)
    shares = {}
    for name, spec in specs.items():
        result = run_code(spec.code, 3, 8)
        assert result.ok, (result.reason, result.message)
        shares[name] = text_stats(result.docs, view)["induction_share"]
    assert shares[POSITIVE] > 0.4 and shares[POSITIVE_NULL] < 0.1 * shares[POSITIVE]
    # re-tokenizing the text keeps (nearly) the intended repeats
    rt = retokenization(specs[POSITIVE].code, packed_dir, n=8)
    assert rt["ok"] and rt["retokenized_share"] == pytest.approx(rt["intended_share"], abs=0.05)
    assert 0.9 < rt["tokens_retokenized"] / rt["tokens_intended"] < 1.25
