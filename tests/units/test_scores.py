"""Scores on hand-built attention patterns: a perfect head must score high, a uniform one low."""

from __future__ import annotations

import torch

from mda_augment.units import scores
from mda_augment.units.probes import probe_token_pool, repeated_random

HALF = 8
SEQ = 1 + 2 * HALF


def _uniform(batch: int = 2, heads: int = 1, seq: int = SEQ) -> torch.Tensor:
    """Causal uniform attention: row i spreads 1/(i+1) over keys 0..i."""
    mask = torch.ones(seq, seq).tril()
    return (mask / mask.sum(-1, keepdim=True)).expand(batch, heads, seq, seq).clone()


def _induction(batch: int = 2) -> torch.Tensor:
    """A perfect induction head on [bos] + R + R: second-copy query i -> key i - HALF + 1."""
    attn = torch.zeros(batch, 1, SEQ, SEQ)
    for i in range(SEQ):
        attn[:, 0, i, i - HALF + 1 if i >= 1 + HALF else 0] = 1.0
    return attn


def _previous(batch: int = 2, seq: int = SEQ) -> torch.Tensor:
    attn = torch.zeros(batch, 1, seq, seq)
    attn[:, 0, 0, 0] = 1.0
    for i in range(1, seq):
        attn[:, 0, i, i - 1] = 1.0
    return attn


def _repeated_tokens(batch: int = 2) -> torch.Tensor:
    r = torch.stack([torch.randperm(50)[:HALF] + 1 for _ in range(batch)])  # distinct, no bos id
    return torch.cat([torch.zeros(batch, 1, dtype=torch.long), r, r], dim=1)


def test_prefix_matching_perfect_head_scores_one() -> None:
    assert torch.allclose(scores.prefix_matching(_induction(), HALF), torch.ones(1))


def test_prefix_matching_uniform_and_previous_token_heads_score_low() -> None:
    assert scores.prefix_matching(_uniform(), HALF).item() < 0.1
    assert scores.prefix_matching(_previous(), HALF).item() == 0.0


def test_previous_token_score() -> None:
    assert scores.previous_token(_previous()).item() == 1.0
    expected = torch.tensor([1 / (i + 1) for i in range(1, SEQ)]).mean()
    assert torch.isclose(scores.previous_token(_uniform())[0], expected)


def test_induction_tl_hand_computed() -> None:
    """TransformerLens 'mul' score: only the HALF second-copy rows (of SEQ) match the pattern."""
    tokens = _repeated_tokens()
    perfect = scores.induction_tl(_induction(), tokens).item()
    assert abs(perfect - HALF / SEQ) < 1e-6  # ~0.5, as FACTS.md says
    uniform = scores.induction_tl(_uniform(), tokens).item()
    # by hand: row i = 1 + HALF + j has one matching key out of i + 1
    by_hand = sum(1 / (1 + HALF + j + 1) for j in range(HALF)) / SEQ
    assert abs(uniform - by_hand) < 1e-6


def test_induction_pattern_marks_token_after_earlier_copy() -> None:
    tokens = torch.tensor([[5, 6, 7, 5, 6]])
    p = scores.induction_pattern(tokens)[0]
    assert p[3].nonzero().flatten().tolist() == [1]  # second 5 -> the 6 after the first 5
    assert p[4].nonzero().flatten().tolist() == [2]
    assert p[:3].sum() == 0


def test_icl_score_sign_and_value() -> None:
    seq = 128
    losses = torch.full((4, seq - 1), 3.0)
    early, late, w = scores.icl_positions(seq)
    losses[:, late - w - 1 :] = 2.5  # later tokens predicted better
    assert abs(scores.icl_score(losses) - (-0.5)) < 1e-6
    assert (early, late) == (12, 125)


def test_copying_score_identity_vs_constant() -> None:
    toks = torch.arange(10)
    identity = torch.eye(10)[None] * 5.0  # (heads=1, n, vocab): boosts exactly the attended token
    assert scores.copying(identity, toks).item() > 0.99
    noise = torch.randn(1, 10, 10, generator=torch.Generator().manual_seed(0))
    assert scores.copying(noise, toks).item() < 0.5


def test_copying_top_k_is_one_for_a_copier_and_zero_for_a_fixed_token_booster() -> None:
    toks = torch.arange(3, 13)
    copier = torch.zeros(1, 10, 20)
    copier[0, torch.arange(10), toks] = 4.0
    booster = torch.zeros(1, 10, 20)
    booster[0, :, 0] = 4.0  # always the same (non-source) token
    booster[0, :, 1] = 3.0
    assert scores.copying_top_k(copier, toks, k=1).item() == 1.0
    assert scores.copying_top_k(booster, toks, k=2).item() == 0.0


def test_seen_before_marks_predictions_from_a_repeated_current_token() -> None:
    tokens = torch.tensor([[5, 6, 5, 7, 6]])
    # entry k predicts token k+1 from tokens[k]: 5 (new), 6 (new), 5 (seen), 7 (new); the last
    # token predicts nothing and is dropped
    assert scores.seen_before(tokens).tolist() == [[False, False, True, False]]


def test_token_losses_match_cross_entropy() -> None:
    logits = torch.randn(2, 6, 11)
    tokens = torch.randint(0, 11, (2, 6))
    ref = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 11), tokens[:, 1:].reshape(-1),
                                            reduction="none").view(2, 5)
    assert torch.allclose(scores.token_losses(logits, tokens), ref, atol=1e-6)


def test_probe_pool_skips_common_and_rare_tokens() -> None:
    counts = {1: 1000, 2: 500, **{t: 5 for t in range(3, 60)}, 60: 1}
    stream = torch.tensor([t for t, c in counts.items() for _ in range(c)]).numpy()
    pool = probe_token_pool(stream, eos_id=0, vocab=64, skip_top=0.05)
    assert 1 not in pool and 60 not in pool and 0 not in pool
    seqs = repeated_random(pool, n=3, half=HALF, eos_id=0, seed=1)
    assert seqs.shape == (3, SEQ) and (seqs[:, 1 : 1 + HALF] == seqs[:, 1 + HALF :]).all()
