"""Turn raw per-sequence influence scores into the attribution artifact's tables and plots.

Influence mass: the paper's "top ~10% of samples carry ~50% of the influence" needs a notion
of mass. We use **positive mass** as the headline: sequences ranked by score (highest first),
mass = ``max(score, 0)``, so the share is "of all the push towards the head, how much comes from
the top 10% of sequences". Negative scores oppose the head; counting them as mass (``|score|``)
would credit the most *harmful* sequences as "influential" in the same breath. The ``|score|``
share (ranked by ``|score|``) is reported too, for comparison.

A share has no meaning without a reference: pure noise is concentrated too (a Gaussian with
the scores' mean and spread puts ~39% of its positive mass in its top 10% when ~58% of it is
positive). ``lorenz.json`` therefore carries two nulls beside the observed curve, each drawn
``NULL_DRAWS`` times with a fixed seed (mean and 95% band):

* ``sign_permutation``: the observed signs permuted over the observed ``|score|`` values: the
  same magnitudes and the same positive share, but nothing ties the large magnitudes to the
  positive side (random sign flips would also change the positive share, which moves the
  share by itself: fewer positive sequences concentrate the positive mass);
* ``gaussian``: normal draws with the observed mean and standard deviation (about the same
  positive share, no heavy tail): how concentrated noise of this scale would be.

Permuting the scores is *not* a null here: the Lorenz curve depends only on the multiset of
values, so a permutation reproduces it exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from ..artifacts import atomic_write_json, atomic_write_text  # noqa: E402
from .config import CONCENTRATION, DOCUMENTS, EXTREMES, EXTREMES_MD, LORENZ, LORENZ_PNG, SCORES  # noqa: E402
from .window import DataOrder  # noqa: E402

CURVE_POINTS = 201
SNIPPET_TOKENS = 48
TOP_FRACTIONS = (0.01, 0.05, 0.10, 0.20)
NULLS = ("sign_permutation", "gaussian")
NULL_DRAWS = 200
NULL_SEED = 20260101


def score_table(raw: pl.DataFrame, order: DataOrder) -> pl.DataFrame:
    """Per scored sequence: pos, step, seq, score, rank and its documents (as list columns).

    Args:
        raw: (pos, step, seq, score) rows.
        order: the data order, to join sequences back to document slices.
    """
    ranked = raw.sort("score", descending=True).with_columns(
        pl.int_range(1, raw.height + 1, dtype=pl.Int64).alias("rank"))
    docs = order.documents(raw["seq"].unique().to_numpy())
    if docs is None or docs.height == 0:
        empty = pl.lit([], dtype=pl.List(pl.Utf8))
        return ranked.with_columns(empty.alias("doc_ids"), empty.alias("kinds"), empty.alias("sources"),
                                   pl.lit([], dtype=pl.List(pl.Int64)).alias("doc_tokens"))
    per_seq = docs.sort("seq", "offset").group_by("seq", maintain_order=True).agg(
        pl.col("doc_id").alias("doc_ids"), pl.col("kind").alias("kinds"),
        pl.col("source").alias("sources"), pl.col("tokens").alias("doc_tokens"))
    return ranked.join(per_seq, on="seq", how="left").sort("rank")


def document_scores(table: pl.DataFrame) -> pl.DataFrame:
    """Scores per document: each sequence's score split over its documents by token share."""
    if table.height == 0 or table["doc_ids"].list.len().sum() == 0:
        return pl.DataFrame(schema={"doc_id": pl.Utf8, "kind": pl.Utf8, "source": pl.Utf8,
                                    "sequences": pl.UInt32, "score": pl.Float64})
    # One row per (sequence, document slice); a slice gets score x its share of the sequence.
    rows = table.select("score", "doc_ids", "kinds", "sources", "doc_tokens",
                        pl.col("doc_tokens").list.sum().alias("total")).explode(
        "doc_ids", "kinds", "sources", "doc_tokens")
    rows = rows.with_columns((pl.col("score") * pl.col("doc_tokens") / pl.col("total")).alias("part"))
    return (rows.group_by("doc_ids").agg(pl.col("kinds").first().alias("kind"),
                                         pl.col("sources").first().alias("source"),
                                         pl.len().alias("sequences"), pl.col("part").sum().alias("score"))
            .rename({"doc_ids": "doc_id"}).sort("score", descending=True))


def concentration(scores: np.ndarray, mass: str = "positive") -> tuple[np.ndarray, np.ndarray]:
    """Share of influence mass held by the top ``x`` fraction of sequences.

    Args:
        scores: (n,) influence scores.
        mass: ``positive`` (rank by score, mass max(score, 0)) or ``abs`` (rank by and mass |score|).

    Returns:
        ``x`` (n + 1,) fractions of sequences and ``y`` (n + 1,) cumulative mass shares.
    """
    w = np.clip(scores, 0, None) if mass == "positive" else np.abs(scores)
    w = np.sort(w)[::-1]
    total = w.sum()
    y = np.concatenate([[0.0], np.cumsum(w) / total]) if total > 0 else np.zeros(len(w) + 1)
    x = np.arange(len(w) + 1) / max(1, len(w))
    return x, y


def share_at(x: np.ndarray, y: np.ndarray, fraction: float) -> float:
    """Mass share held by the top ``fraction`` of sequences (interpolated)."""
    return float(np.interp(fraction, x, y))


def _curve_points(x: np.ndarray, y: np.ndarray) -> dict:
    pick = np.unique(np.linspace(0, len(x) - 1, min(CURVE_POINTS, len(x))).round().astype(int))
    return {"x": x[pick].tolist(), "y": y[pick].tolist()}


def null_draw(scores: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One draw of the ``kind`` null with the size (and magnitudes or moments) of ``scores``."""
    if kind == "sign_permutation":
        return np.abs(scores) * rng.permutation(np.sign(scores))
    if kind == "gaussian":
        return rng.normal(scores.mean(), scores.std(), size=len(scores))
    raise ValueError(f"unknown null {kind!r}; use one of {', '.join(NULLS)}")


def null_concentration(scores: np.ndarray, kind: str, draws: int = NULL_DRAWS, seed: int = NULL_SEED) -> dict:
    """Positive-mass top-k shares of ``draws`` null draws: mean and 95% band per fraction.

    Returns:
        ``{"top10": {"mean", "low", "high"}, ..., "curve": mean Lorenz curve}``.
    """
    rng = np.random.default_rng([seed, NULLS.index(kind)])
    shares = np.empty((draws, len(TOP_FRACTIONS)))
    curve = np.zeros(len(scores) + 1)
    for d in range(draws):
        x, y = concentration(null_draw(scores, kind, rng), "positive")
        shares[d] = [share_at(x, y, f) for f in TOP_FRACTIONS]
        curve += y / draws
    out = {_key(f): {"mean": float(shares[:, i].mean()), "low": float(np.quantile(shares[:, i], 0.025)),
                     "high": float(np.quantile(shares[:, i], 0.975))} for i, f in enumerate(TOP_FRACTIONS)}
    out["curve"] = _curve_points(x, curve)
    out["draws"] = draws
    return out


def _key(fraction: float) -> str:
    return f"top{round(fraction * 100)}"


def lorenz_summary(scores: np.ndarray, nulls: bool = True) -> dict:
    """Numbers for ``lorenz.json``: top-k shares (positive and |score|), the curves and the nulls.

    Flat keys (what a report table shows): ``top10_share`` (the headline, positive mass),
    ``top10_share_null_sign_permutation`` / ``top10_share_null_gaussian`` (null means) and
    ``top10_excess_over_null`` (observed minus the larger null mean).
    """
    out: dict = {"n": int(len(scores)), "headline_mass": "positive",
                 "positive_fraction": float((scores > 0).mean()) if len(scores) else 0.0,
                 "score_sum": float(scores.sum()), "curves": {}}
    for mass in ("positive", "abs"):
        x, y = concentration(scores, mass)
        for f in TOP_FRACTIONS:
            out[f"{_key(f)}_share_{mass}"] = share_at(x, y, f)
        out["curves"][mass] = _curve_points(x, y)
    out["top10_share"] = out["top10_share_positive"]
    if nulls and len(scores) > 1 and scores.std() > 0:
        draws = int(min(NULL_DRAWS, max(20, 20_000_000 // len(scores))))
        out["null"] = {kind: null_concentration(scores, kind, draws) for kind in NULLS}
        for kind in NULLS:
            out[f"top10_share_null_{kind}"] = out["null"][kind]["top10"]["mean"]
        out["top10_excess_over_null"] = out["top10_share"] - max(out[f"top10_share_null_{k}"] for k in NULLS)
    return out


def concentration_markdown(summary: dict) -> str:
    """Observed top-k shares of positive mass beside the nulls' means and 95% bands."""
    lines = ["| top fraction | observed | sign-permutation null (95% band) | Gaussian null (95% band) |",
             "|---|---|---|---|"]
    for f in TOP_FRACTIONS:
        k = _key(f)
        cells = [f"{summary[f'{k}_share_positive']:.3f}"]
        for kind in NULLS:
            n = summary.get("null", {}).get(kind, {}).get(k)
            cells.append(f"{n['mean']:.3f} [{n['low']:.3f}, {n['high']:.3f}]" if n else "n/a")
        lines.append(f"| {k[3:]}% | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_lorenz(summary: dict, path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    for mass, style in (("positive", "-"), ("abs", "--")):
        c = summary["curves"][mass]
        ax.plot(c["x"], c["y"], style, label=f"{mass} mass (top 10%: {summary[f'top10_share_{mass}']:.2f})")
    for kind, color in zip(NULLS, ("tab:red", "tab:green"), strict=True):
        null = summary.get("null", {}).get(kind)
        if null:
            c, t = null["curve"], null["top10"]
            ax.plot(c["x"], c["y"], ":", color=color,
                    label=f"{kind.replace('_', '-')} null, positive (top 10%: {t['mean']:.2f} [{t['low']:.2f}, {t['high']:.2f}])")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.axvline(0.1, color="grey", lw=0.6)
    ax.set_xlabel("top fraction of sequences (by score)")
    ax.set_ylabel("share of influence mass")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def snippet(order: DataOrder, seq: int, n_tokens: int = SNIPPET_TOKENS) -> str:
    text = order.decode(order.tokens(np.array([seq]))[0][:n_tokens])
    return json.dumps(text, ensure_ascii=False)[1:-1][:240]


def extremes(table: pl.DataFrame, order: DataOrder, k: int) -> dict:
    """Top-k and bottom-k sequences with decoded snippets."""
    def rows(df: pl.DataFrame) -> list[dict]:
        return [{"rank": r["rank"], "score": r["score"], "step": r["step"], "seq": r["seq"],
                 "kinds": sorted(set(r["kinds"] or [])), "text": snippet(order, r["seq"])}
                for r in df.iter_rows(named=True)]

    return {"top": rows(table.head(k)), "bottom": rows(table.tail(k).reverse())}


def extremes_markdown(ext: dict, title: str) -> str:
    lines = [f"# {title}", ""]
    for end in ("top", "bottom"):
        lines += [f"## {end}", "", "| rank | score | step | seq | kinds | text |", "|---|---|---|---|---|---|"]
        for r in ext[end]:
            text = r["text"].replace("|", "\\|")
            lines.append(f"| {r['rank']} | {r['score']:.4g} | {r['step']} | {r['seq']} | "
                         f"{','.join(r['kinds'])} | `{text}` |")
        lines.append("")
    return "\n".join(lines)


def write_outputs(tmp: Path, raw: pl.DataFrame, order: DataOrder, k: int, title: str) -> dict:
    """Write scores.parquet, documents.parquet, extremes.{json,md}, lorenz.{json,png}, concentration.md."""
    table = score_table(raw, order)
    table.write_parquet(tmp / SCORES)
    document_scores(table).write_parquet(tmp / DOCUMENTS)
    ext = extremes(table, order, k)
    atomic_write_json(tmp / EXTREMES, ext)
    atomic_write_text(tmp / EXTREMES_MD, extremes_markdown(ext, title))
    summary = lorenz_summary(table["score"].to_numpy())
    atomic_write_json(tmp / LORENZ, summary)
    plot_lorenz(summary, tmp / LORENZ_PNG, title)
    atomic_write_text(tmp / CONCENTRATION, f"# Concentration of influence: {title}\n\n"
                      + concentration_markdown(summary))
    return summary
