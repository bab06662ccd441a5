"""Statistics in the model's own tokens and context window.

What an induction head can learn from is decided by the tokens the model sees, not by words:
``queue_lxnaa`` is one word but ~10 BPE-512 tokens, and a 128-token window holds ~400
characters. So every statistic here is computed on *windows of token ids* exactly as
training consumes them: the packed corpus's tokenizer, cut into ``seq_len`` rows.

Windowing of generated text (:meth:`ModelView.windows`) emulates packing: documents are
encoded, each followed by the end-of-text token, concatenated in order and cut into
``seq_len`` rows, as ``corpus.packing`` does for a synthetic store (a window may span two
documents, just as in training). The trailing partial row is dropped when at least one full
row exists, since training never sees it either. Cluster members need no emulation: their
windows are rows of the packed corpus itself.

Per window, position ``t`` (1 <= t < seq_len) is *predictable* when the bigram
``(x[t-1], x[t])`` already started at some ``j < t-1`` in the same window: an induction head
at ``x[t-1]`` attends to the token after the earlier ``x[t-1]`` and copies it. Its *lag* is
``t-1-j`` for the most recent such ``j`` (how far back the earlier copy is). The
*repeated-content entropy* is the entropy of the tokens predicted that way: low when the
repeats are the same few tags in every window, high when arbitrary content recurs.
"""

from __future__ import annotations

import math
import os
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..corpus.tokenizers import Tok

# lag bins (tokens back to the earlier copy), upper bounds inclusive; the last is open-ended
LAG_BINS = (2, 8, 32, 128, 512)
ENTROPY_SAMPLE = 2048  # predicted tokens the repeated-content entropy is estimated on


@lru_cache(maxsize=4)
def _load_tok(directory: str) -> Tok:
    return Tok.load(directory)


@dataclass(frozen=True)
class ModelView:
    """The tokenizer and window length of the packed corpus a mixture is for."""

    tokenizer_dir: str
    seq_len: int
    name: str = ""

    @classmethod
    def from_packed(cls, packed_dir: str | os.PathLike) -> ModelView:
        from ..corpus.packed import PackedCorpus

        packed = PackedCorpus(packed_dir)
        return cls(str((packed.dir / "tokenizer").resolve()), packed.seq_len, packed.meta.get("tokenizer", ""))

    @classmethod
    def from_record(cls, record: dict) -> ModelView:
        """Inverse of :meth:`record` (what the clusters artifact stores)."""
        return cls(record["tokenizer_dir"], int(record["seq_len"]), record.get("tokenizer", ""))

    def record(self) -> dict:
        return {"tokenizer": self.name, "tokenizer_dir": self.tokenizer_dir, "seq_len": self.seq_len,
                "windowing": "documents + end-of-text, concatenated, cut into seq_len rows; "
                             "trailing partial row dropped when a full one exists"}

    @property
    def tok(self) -> Tok:
        return _load_tok(self.tokenizer_dir)

    def encode_docs(self, texts: list[str]) -> list[list[int]]:
        return self.tok.encode_batch(list(texts)) if texts else []

    def windows(self, texts: list[str]) -> np.ndarray:
        """(n_windows, seq_len) token ids of ``texts`` packed as training packs them; -1 pads
        the only row when the texts fill less than one window."""
        return pack_windows(self.encode_docs(texts), self.tok.eos_id, self.seq_len)

    def decode_windows(self, windows: np.ndarray) -> list[str]:
        """The text of each window (what detectors read), end-of-text tokens included."""
        return [self.tok.decode(row[row >= 0].tolist()) for row in windows]


def pack_windows(docs: list[list[int]], eos_id: int, seq_len: int) -> np.ndarray:
    """Concatenate ``doc + [eos]`` for each document and cut into rows of ``seq_len``."""
    stream = np.fromiter((t for d in docs for t in (*d, eos_id)), dtype=np.int64)
    full = len(stream) // seq_len
    if full:
        return stream[: full * seq_len].reshape(full, seq_len)
    out = np.full((1, seq_len), -1, dtype=np.int64)
    out[0, : len(stream)] = stream
    return out


def predictable(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which positions an induction head could predict, and from how far back.

    Args:
        windows: (n, seq_len) token ids; negative ids are padding.

    Returns:
        ``(hit, lag, valid)``, each (n, seq_len - 1) for positions t = 1..seq_len-1:
        ``hit`` whether the bigram ending at t started earlier in the window, ``lag`` the
        distance in tokens between the bigram's start and its latest earlier start (0 where
        no hit), ``valid`` whether position t holds a real token pair.
    """
    w = np.asarray(windows, dtype=np.int64)
    n, length = w.shape
    valid = (w[:, :-1] >= 0) & (w[:, 1:] >= 0)  # (n, L-1)
    vocab = int(w.max()) + 2 if w.size else 2
    key = (w[:, :-1] + 1) * vocab + (w[:, 1:] + 1)  # (n, L-1), unique per bigram
    key = np.where(valid, key, -1 - np.arange(length - 1)[None, :])  # padding never matches
    key = key + np.arange(n)[:, None] * (vocab * vocab + length)  # rows never match each other
    flat = key.reshape(-1)
    order = np.argsort(flat, kind="stable")  # equal keys stay in position order
    same = flat[order][1:] == flat[order][:-1]
    lag = np.zeros(flat.shape, dtype=np.int64)
    lag[order[1:][same]] = order[1:][same] - order[:-1][same]  # same row: flat distance = lag
    lag = lag.reshape(n, length - 1)
    hit = (lag > 0) & valid
    return hit, np.where(hit, lag, 0), valid


def _entropy_bits(values: np.ndarray) -> float:
    if len(values) == 0:
        return 0.0
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _span_mean(hit: np.ndarray, lag: np.ndarray) -> float:
    """Mean length (tokens) of runs of consecutive predictable positions sharing one lag:
    a copied span of k tokens after its first token gives one run of k."""
    starts = hit.copy()
    starts[:, 1:] &= ~(hit[:, :-1] & (lag[:, :-1] == lag[:, 1:]))
    runs = int(starts.sum())
    return float(hit.sum() / runs) if runs else 0.0


def lag_histogram(lags: np.ndarray) -> dict[str, float]:
    """Share of predictable positions per lag bin (``"<=2"``, ``"3-8"``, ..., ``">512"``)."""
    out, lo = {}, 1
    total = max(len(lags), 1)
    for hi in LAG_BINS:
        out[f"{lo}-{hi}" if lo > 1 else f"<={hi}"] = float(((lags >= lo) & (lags <= hi)).sum() / total)
        lo = hi + 1
    out[f">{LAG_BINS[-1]}"] = float((lags >= lo).sum() / total)
    return out


def window_stats(windows: np.ndarray, seed: int = 0) -> dict:
    """Model-token statistics of a set of windows (see the module docstring).

    Keys: ``windows``, ``tokens``; ``induction_share`` (predictable positions over valid
    positions); ``lag_median``, ``lag_p90`` and ``lag_hist`` (of predictable positions);
    ``span_mean`` (tokens per copied run); ``repeat_entropy`` (bits, on a seeded sample of at
    most :data:`ENTROPY_SAMPLE` predicted tokens, so that sets of different size compare);
    ``token_entropy`` (mean per-window unigram entropy, bits); ``zlib_ratio`` (mean per-window
    compressed over raw size of the token ids as uint16/uint32).
    """
    w = np.asarray(windows, dtype=np.int64)
    hit, lag, valid = predictable(w)
    lags = lag[hit]
    predicted = w[:, 1:][hit]
    rng = np.random.default_rng(seed)
    sample = predicted if len(predicted) <= ENTROPY_SAMPLE else rng.choice(predicted, ENTROPY_SAMPLE, replace=False)
    dtype = np.uint16 if w.size and w.max() < 65536 else np.uint32
    rows = [row[row >= 0] for row in w]
    zlib_ratios = [len(zlib.compress(r.astype(dtype).tobytes(), 9)) / max(r.astype(dtype).nbytes, 1)
                   for r in rows if len(r)]
    n_valid = int(valid.sum())
    return {
        "windows": int(len(w)),
        "tokens": int(sum(len(r) for r in rows)),
        "induction_share": float(hit.sum() / n_valid) if n_valid else 0.0,
        "lag_median": float(np.median(lags)) if len(lags) else 0.0,
        "lag_p90": float(np.percentile(lags, 90)) if len(lags) else 0.0,
        "lag_hist": lag_histogram(lags),
        "span_mean": _span_mean(hit, lag),
        "repeat_entropy": _entropy_bits(sample),
        "token_entropy": float(np.mean([_entropy_bits(r) for r in rows if len(r)])) if rows else 0.0,
        "zlib_ratio": float(np.mean(zlib_ratios)) if zlib_ratios else 0.0,
    }


def per_window_share(windows: np.ndarray) -> np.ndarray:
    """(n,) induction share of each window (for distributions and confidence intervals)."""
    hit, _, valid = predictable(windows)
    return hit.sum(1) / np.maximum(valid.sum(1), 1)


def text_stats(texts: list[str], view: ModelView, seed: int = 0) -> dict:
    """:func:`window_stats` of ``texts`` packed as the model sees them, plus
    ``chars_per_token`` (how much text one model token carries: the tokenizer's compression)."""
    docs = view.encode_docs(texts)
    stats = window_stats(pack_windows(docs, view.tok.eos_id, view.seq_len), seed)
    n_tokens = sum(len(d) for d in docs)
    stats["chars_per_token"] = sum(len(t) for t in texts) / n_tokens if n_tokens else 0.0
    stats["documents"] = len(texts)
    stats["doc_tokens_mean"] = n_tokens / len(texts) if texts else 0.0
    return stats


def ngram_novelty(docs: list[list], n: int = 8, group: int = 8) -> float:
    """Mean over documents of the share of a document's distinct n-grams that occur in no
    other document of its group: 1 for unrelated documents, 0 when every n-gram is shared (a
    template with a few values changed). Documents are compared in consecutive groups of
    ``group`` (the last group may be smaller), so the figure does not fall as more documents
    are measured. Tokens may be ids or strings; documents shorter than ``n`` are skipped."""
    grams = [{tuple(d[i:i + n]) for i in range(len(d) - n + 1)} for d in docs if len(d) >= n]
    if len(grams) < 2:
        return 1.0 if grams else 0.0
    shares = []
    for start in range(0, len(grams), group):
        chunk = grams[start:start + group] if len(grams) - start >= 2 else grams[-group:]
        doc_count: Counter = Counter()
        for g in chunk:
            doc_count.update(g)
        shares += [sum(doc_count[k] == 1 for k in g) / len(g) for g in grams[start:start + group]]
    return float(np.mean(shares))


def near_duplicate_share(texts: list[str], threshold: float = 0.8) -> float:
    """Share of documents that are MinHash near-duplicates of an earlier one."""
    from ..synthesis.minhash import NearDuplicateIndex

    index = NearDuplicateIndex(threshold=threshold)
    dups = sum(index.add_if_new(str(i), t) is not None for i, t in enumerate(texts))
    return dups / len(texts) if texts else 0.0


def ratio_ci(values: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """Normal-approximation 95% interval of the mean of per-window values."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return (float(v.mean()) if len(v) else 0.0,) * 2
    half = z * float(v.std(ddof=1)) / math.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)

