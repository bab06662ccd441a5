"""Per-head scores computed from attention patterns, losses and weights (pure functions).

Definitions follow Olsson et al. (2022) and TransformerLens; see FACTS.md. Every function
takes plain tensors so that tests can feed hand-built patterns (a perfect induction head, a
uniform head) and check the numbers.
"""

from __future__ import annotations

import torch


def prefix_matching(attn: torch.Tensor, half: int, offset: int = 1) -> torch.Tensor:
    """Olsson's prefix-matching score on ``[offset tokens] + R + R`` inputs, ``len(R) == half``.

    Each token of the second copy should attend to the token right after its previous
    occurrence, i.e. from query ``i`` to key ``i - half + 1``.

    Args:
        attn: (batch, heads, seq, seq) attention probabilities.
        half: length of the repeated random block.
        offset: tokens before the first copy (a BOS-like token).

    Returns:
        (heads,) mean attention on the induction target over the second copy.
    """
    return prefix_matching_per_sequence(attn, half, offset).mean(dim=0)


def prefix_matching_per_sequence(attn: torch.Tensor, half: int, offset: int = 1) -> torch.Tensor:
    """:func:`prefix_matching` of each probe sequence separately: (batch, heads).

    The spread of these values over the probe set is the probe's own sampling error (the
    ``prefix_matching_sq`` probe records their mean square so that the standard error of the
    mean can be computed afterwards from batch-additive sums).
    """
    queries = torch.arange(offset + half, offset + 2 * half, device=attn.device)
    keys = queries - half + 1
    picked = attn[:, :, queries, keys]  # (batch, heads, half)
    return picked.mean(dim=2)


def previous_token(attn: torch.Tensor) -> torch.Tensor:
    """Mean ``A[i, i-1]`` over positions ``i >= 1``.

    Args:
        attn: (batch, heads, seq, seq) attention probabilities on natural text.

    Returns:
        (heads,) previous-token score.
    """
    diag = torch.diagonal(attn, offset=-1, dim1=-2, dim2=-1)  # (batch, heads, seq-1)
    return diag.mean(dim=(0, 2))


def induction_pattern(tokens: torch.Tensor) -> torch.Tensor:
    """TransformerLens' induction detection pattern: ``P[i, j] = 1`` iff ``j - 1 < i`` and
    ``tokens[j - 1] == tokens[i]`` (attend to the token after an earlier copy of the current one).

    Args:
        tokens: (batch, seq) token ids.

    Returns:
        (batch, seq, seq) float pattern.
    """
    seq = tokens.shape[1]
    same = tokens[:, :, None] == tokens[:, None, :]  # (batch, seq_i, seq_j): tok_i == tok_j
    earlier = torch.ones(seq, seq, dtype=torch.bool, device=tokens.device).tril(-1)
    duplicate = same & earlier  # (batch, seq, seq): j < i with the same token
    pattern = torch.zeros_like(duplicate)
    pattern[:, :, 1:] = duplicate[:, :, :-1]  # shift one key to the right
    return pattern.float()


def induction_tl(attn: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """TransformerLens ``detect_head(..., "induction_head", error_measure="mul")``.

    ``sum(A * P) / sum(A)`` per sequence, averaged over the batch. Every query row is included
    (TransformerLens' defaults), so a perfect induction head on ``[bos] + R + R`` scores only
    about ``half / (2 * half + 1)`` ~ 0.5.

    Args:
        attn: (batch, heads, seq, seq) attention probabilities.
        tokens: (batch, seq) the input ids.

    Returns:
        (heads,) score.
    """
    pattern = induction_pattern(tokens)[:, None]  # (batch, 1, seq, seq)
    per_seq = (attn * pattern).sum(dim=(-2, -1)) / attn.sum(dim=(-2, -1))  # (batch, heads)
    return per_seq.mean(dim=0)


def token_losses(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy per position.

    Args:
        logits: (batch, seq, vocab).
        tokens: (batch, seq).

    Returns:
        (batch, seq - 1): entry ``k`` is the loss of token ``k + 1`` given tokens ``<= k``.
    """
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    return -logp.gather(-1, tokens[:, 1:, None]).squeeze(-1)


def icl_positions(seq_len: int) -> tuple[int, int, int]:
    """(early, late, half_window) token indices for the ICL score at this context length.

    Olsson et al. use the 50th and 500th token of 512-token contexts; we keep those ratios
    (token ``round(seq_len * 50/512)`` and ``round(seq_len * 500/512)``) and average each over a
    window of ``+-seq_len/64`` tokens to cut noise at small contexts.
    """
    early = max(2, round(seq_len * 50 / 512))
    late = min(seq_len - 1, round(seq_len * 500 / 512))
    return early, late, max(0, seq_len // 64)


def icl_score(losses: torch.Tensor) -> float:
    """Mean loss near the late token minus mean loss near the early token.

    Args:
        losses: (batch, seq - 1) from :func:`token_losses`.

    Returns:
        A negative number when later tokens are predicted better (in-context learning);
        Olsson et al. report magnitudes of ~0.15 nats before the phase change, ~0.4 after.
    """
    seq_len = losses.shape[1] + 1
    early, late, w = icl_positions(seq_len)

    def around(token: int) -> torch.Tensor:
        lo, hi = max(1, token - w), min(seq_len - 1, token + w)
        return losses[:, lo - 1 : hi].mean()  # losses[:, k-1] is token k

    return float(around(late) - around(early))


def copying(ov_logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Olsson's copying score from direct-path logit effects.

    ReLU of each token's logit effect minus its mean over the vocabulary; the score is the share
    of that positive mass on the attended token itself, averaged over tokens.

    Args:
        ov_logits: (heads, n_tokens, vocab) logit effect of attending to each token.
        tokens: (n_tokens,) the attended token ids.

    Returns:
        (heads,) copying score in [0, 1].
    """
    centered = torch.relu(ov_logits - ov_logits.mean(dim=-1, keepdim=True))
    own = centered[:, torch.arange(len(tokens)), tokens]  # (heads, n_tokens)
    return (own / centered.sum(dim=-1).clamp_min(1e-12)).mean(dim=-1)


def copying_top_k(ov_logits: torch.Tensor, tokens: torch.Tensor, k: int = 5) -> torch.Tensor:
    """Share of source positions whose own token is among the top ``k`` of the head's logit effect.

    Unlike the ReLU share above (whose positive mass is spread over the whole vocabulary, so it
    reads near zero even for a head that copies), this is a rate with an obvious chance level,
    ``k / vocab``, and 1 for a perfect copier.

    Args:
        ov_logits: (heads, n_tokens, vocab) logit effect of attending to each source position.
        tokens: (n_tokens,) the token at each source position.

    Returns:
        (heads,) share in [0, 1].
    """
    top = ov_logits.topk(min(k, ov_logits.shape[-1]), dim=-1).indices  # (heads, n, k)
    return (top == tokens[None, :, None]).any(dim=-1).float().mean(dim=-1)


def seen_before(tokens: torch.Tensor) -> torch.Tensor:
    """Which predictions an induction head could help: the current token occurred earlier.

    Args:
        tokens: (batch, seq).

    Returns:
        (batch, seq - 1) bool, aligned with :func:`token_losses`: entry ``k`` (predicting token
        ``k + 1``) is True when ``tokens[k]`` also appears at some position ``j < k``.
    """
    seq = tokens.shape[1]
    earlier = torch.ones(seq, seq, dtype=torch.bool, device=tokens.device).tril(-1)  # j < k
    rows = [((t[:, None] == t[None, :]) & earlier).any(dim=1) for t in tokens]  # one (seq, seq) at a time
    return torch.stack(rows)[:, :-1]
