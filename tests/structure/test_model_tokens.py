"""Model-token statistics on hand-made token windows and texts with known answers."""

from __future__ import annotations

import random

import numpy as np
import pytest

from mda_augment.corpus.tokenizers import train_bpe
from mda_augment.structure import model_tokens as mt
from mda_augment.structure.stats import induction_predictable_share


def test_repeated_span_is_predictable_after_its_first_token():
    # a b c d e | a b c d e: t = 6..9 predictable (b..e after the second a), lag 5
    w = np.array([[1, 2, 3, 4, 5, 1, 2, 3, 4, 5]])
    hit, lag, valid = mt.predictable(w)
    assert hit[0].tolist() == [False] * 5 + [True] * 4
    assert lag[0][hit[0]].tolist() == [5, 5, 5, 5]
    s = mt.window_stats(w)
    assert s["induction_share"] == pytest.approx(4 / 9)
    assert s["span_mean"] == pytest.approx(4.0)  # one copied run of 4 predictable tokens
    assert s["lag_median"] == 5 and s["lag_hist"]["3-8"] == 1.0


def test_a_repeated_token_with_new_successors_is_not_predictable():
    assert mt.window_stats(np.array([[7, 1, 7, 2, 7, 3, 7, 4]]))["induction_share"] == 0.0


def test_repeats_do_not_cross_window_boundaries():
    # the second copy sits in another window: nothing predictable
    w = np.array([[1, 2, 3, 4], [1, 2, 3, 4]])
    assert mt.window_stats(w)["induction_share"] == 0.0
    assert mt.per_window_share(np.array([[1, 2, 1, 2], [5, 6, 7, 8]])).tolist() == [pytest.approx(1 / 3), 0.0]


def test_padding_never_counts():
    w = np.array([[1, 2, 1, 2, -1, -1, -1, -1]])
    hit, _, valid = mt.predictable(w)
    assert valid.sum() == 3 and hit.sum() == 1
    assert mt.window_stats(w)["induction_share"] == pytest.approx(1 / 3)


def test_agrees_with_the_word_level_measure_inside_one_window():
    rng = random.Random(0)
    tokens = [rng.randrange(20) for _ in range(128)]
    expected = induction_predictable_share(tokens, context=10_000)
    assert mt.window_stats(np.array([tokens]))["induction_share"] == pytest.approx(expected)


def test_repeated_content_entropy_separates_tags_from_arbitrary_content():
    rng = np.random.default_rng(0)
    tags = np.tile([1, 2, 3, 4], (8, 16))  # the same 4 tokens over and over
    spans = []
    for _ in range(8):
        r = rng.choice(np.arange(10, 500), size=32, replace=False)
        spans.append(np.concatenate([r, r]))
    tag_stats, span_stats = mt.window_stats(tags), mt.window_stats(np.stack(spans))
    assert tag_stats["induction_share"] > 0.9 and span_stats["induction_share"] == pytest.approx(31 / 63)
    assert tag_stats["repeat_entropy"] == pytest.approx(2.0, abs=0.01)  # 4 about equally frequent tokens
    assert span_stats["repeat_entropy"] > 7.0


def test_pack_windows_emulates_packing():
    w = mt.pack_windows([[1, 2, 3], [4, 5]], eos_id=0, seq_len=3)
    assert w.tolist() == [[1, 2, 3], [0, 4, 5]]  # trailing partial [0] dropped
    short = mt.pack_windows([[1, 2]], eos_id=0, seq_len=5)
    assert short.tolist() == [[1, 2, 0, -1, -1]]


def test_ngram_novelty_and_near_duplicates():
    a, b = list(range(20)), list(range(100, 120))
    assert mt.ngram_novelty([a, b], n=4) == 1.0
    assert mt.ngram_novelty([a, list(a)], n=4) == 0.0
    text = "alpha beta gamma delta " * 20
    assert mt.near_duplicate_share([text, text + "x", "completely different words here " * 20]) == pytest.approx(1 / 3)


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 7))) for _ in range(400)]
    texts = [" ".join(rng.choice(words) for _ in range(200)) for _ in range(50)]
    folder = tmp_path_factory.mktemp("tok")
    train_bpe(texts, 300).save(folder)
    return mt.ModelView(str(folder), 64, "bpe-300")


def test_text_stats_in_model_tokens(view):
    rng = random.Random(1)
    fresh = ["".join(rng.choice("klmnopqrstuvwxyz") for _ in range(400)) for _ in range(4)]
    repeated = [s[:20] * 20 for s in fresh]  # 20-token spans: copies well inside 64-token windows
    assert mt.text_stats(repeated, view)["induction_share"] > 0.5
    assert mt.text_stats(fresh, view)["induction_share"] < 0.2
    stats = mt.text_stats(fresh, view)
    assert stats["chars_per_token"] > 0.9 and stats["windows"] >= 4
    # windows decode back to the packed text (end-of-text between documents)
    assert "<|endoftext|>" in "".join(view.decode_windows(view.windows(fresh)))
