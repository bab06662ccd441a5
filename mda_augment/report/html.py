"""One self-contained HTML page per run (or several runs side by side).

The page is built from whatever stage artifacts a run root holds (see :mod:`mda_augment.pipeline`
for the layout): the experiment's headline numbers and results table, the target unit's
curves per variant, the attribution's Lorenz curve and top samples, the cluster shares,
synthetic output next to top samples, and the exact recipe. Missing stages are named, not
hidden. Images are inlined as base64 data URIs so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path

import polars as pl

from ..artifacts import atomic_write_text, read_json
from ..experiments.runner import compact_table

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.headline{background:#f0f6ff;border-left:4px solid #2a6fdb;padding:.75rem 1rem;font-size:1.05rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1rem}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.75rem;max-height:18rem;white-space:pre-wrap}
img{max-width:100%}.missing{color:#999;font-style:italic}.neg{color:#b00}.pos{color:#070}
"""


def img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def fmt(v: object, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"
    return html.escape(str(v))


def table(frame: pl.DataFrame, columns: list[str] | None = None) -> str:
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{fmt(r[c])}</td>" for c in cols) + "</tr>" for r in frame.iter_rows(named=True))
    return f"<table><tr>{head}</tr>{body}</table>"


def headline(summary: pl.DataFrame, fixed_step: int | None) -> str:
    """One sentence per non-baseline variant: score change, emergence shift, held-out loss cost."""
    lines = []
    if summary.is_empty() or "diff_mean" not in summary.columns:
        return '<p class="missing">no comparison with a baseline yet</p>'
    for (scale, variant), g in summary.filter(pl.col("variant") != "baseline").group_by(["scale", "variant"], maintain_order=True):
        row = {r["measure"]: r for r in g.iter_rows(named=True)}
        s, e, h = row.get("score_at_fixed_step"), row.get("emergence_step"), row.get("heldout_loss")
        parts = [f"<b>{html.escape(variant)}</b> at <b>{html.escape(scale)}</b>:"]
        if s:
            parts.append(f"target-unit score at step {fixed_step} {_signed(s)}% vs baseline "
                         f"(difference {fmt(s['diff_mean'], 3)}, 95% CI [{fmt(s['diff_ci_low'], 3)}, {fmt(s['diff_ci_high'], 3)}], "
                         f"p={fmt(s['p_value'], 2)}, n={s['n']});")
        if e:
            capped = row.get("emergence_or_budget")
            also = f" ({fmt(capped['diff_mean'])} counting unformed runs at the step budget)" if capped else ""
            parts.append(f"emergence step {fmt(e['mean'])} (formed {e.get('formed', '?')}), "
                         f"shift {fmt(e['diff_mean'])} steps{also};")
        if h:
            parts.append(f"held-out loss {_signed(h, higher_is_better=False)}% (CI of difference [{fmt(h['diff_ci_low'], 3)}, "
                         f"{fmt(h['diff_ci_high'], 3)}]).")
        lines.append(" ".join(parts))
    return '<div class="headline">' + "<br>".join(lines) + "</div>"


def _signed(row: dict, higher_is_better: bool = True) -> str:
    """The paired change in %, coloured only when its 95% CI excludes zero (green good, red bad).

    A large mean change from three seeds whose CI spans zero is printed plain: colour would
    read as a finding.
    """
    v = row.get("rel_change_pct")
    if v is None or math.isnan(v):
        return "–"
    low, high = row.get("diff_ci_low"), row.get("diff_ci_high")
    if low is None or high is None or math.isnan(low) or math.isnan(high) or low <= 0 <= high:
        return f"{v:+.1f}"
    cls = "pos" if (v > 0) == higher_is_better else "neg"
    return f'<span class="{cls}">{v:+.1f}</span>'


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


def _missing(what: str) -> str:
    return f'<p class="missing">{html.escape(what)}: not produced by this run</p>'


def experiment_section(root: Path) -> tuple[str, str]:
    """(headline html, results html) from ``experiment/``."""
    exp = root / "experiment"
    if not (exp / "summary.parquet").is_file():
        return "", _section("Results", _missing("experiment"))
    summary = pl.read_parquet(exp / "summary.parquet")
    cfg = read_json(exp / "experiment.json") if (exp / "experiment.json").is_file() else {}
    fixed = cfg.get("fixed_step") or (cfg.get("steps", 0) // 2 or None)
    compact = table(compact_table(summary, fixed)) if fixed else ""
    body = compact + "<h3>Every measure</h3>" + table(summary, ["scale", "variant", "measure", "n", "mean", "ci_low", "ci_high", "formed",
                           "diff_mean", "diff_ci_low", "diff_ci_high", "p_value", "rel_change_pct"])
    curves = "".join(img(p, p.stem) for p in sorted(exp.glob("curves-*.png")))
    sweeps = "".join(img(p, p.stem) for p in sorted(exp.glob("sweep-*.png")))
    sweep = _section("Mixture ratio sweep (paired change vs baseline, 95% CI)",
                     f'<div class="grid">{sweeps}</div>') if sweeps else ""
    return headline(summary, fixed), _section("Results (mean over seeds, 95% CI, paired with baseline)", body) + \
        _section("Target unit over training", f'<div class="grid">{curves}</div>' if curves else _missing("curves")) + sweep


def attribution_section(root: Path) -> str:
    att = root / "attribution"
    if not att.is_dir():
        return _section("Attribution", _missing("attribution"))
    parts = []
    for name in ("summary.json", "lorenz.json"):
        if (att / name).is_file():
            info = read_json(att / name)
            flat = {k: v for k, v in info.items() if not isinstance(v, (list, dict))}
            parts.append("<table>" + "".join(f"<tr><td>{html.escape(k)}</td><td>{fmt(v)}</td></tr>" for k, v in flat.items()) + "</table>")
            break
    pngs = "".join(img(p, p.stem) for p in sorted(att.glob("*.png")))
    return _section("Attribution (influence on the target head)", "".join(parts) + f'<div class="grid">{pngs}</div>')


def clusters_section(root: Path) -> str:
    cl = root / "clusters"
    if not cl.is_dir():
        return _section("Clusters of high-influence samples", _missing("clustering"))
    body = ""
    for name in ("clusters.parquet", "clusters.csv"):
        if (cl / name).is_file():
            frame = pl.read_parquet(cl / name) if name.endswith("parquet") else pl.read_csv(cl / name)
            keep = [c for c in frame.columns if frame[c].dtype != pl.List and frame[c].dtype != pl.Struct][:9]
            body += table(frame.select(keep))
            break
    pngs = "".join(img(p, p.stem) for p in sorted(cl.glob("*.png")))
    return _section("Clusters of high-influence samples", body + f'<div class="grid">{pngs}</div>')


def exemplars_section(root: Path, top_texts: list[str], synth_texts: list[str]) -> str:
    if not top_texts and not synth_texts:
        return _section("Top samples and synthetic output", _missing("exemplars"))

    def column(title: str, texts: list[str]) -> str:
        items = "".join(f"<pre>{html.escape(t[:1500])}</pre>" for t in texts) or _missing(title)
        return f"<div><h3>{html.escape(title)}</h3>{items}</div>"

    return _section("Top samples and synthetic output, side by side",
                    f'<div class="grid">{column("top-influence training samples", top_texts)}'
                    f'{column("synthetic documents", synth_texts)}</div>')


def _exemplar_texts(root: Path, n: int = 3) -> tuple[list[str], list[str]]:
    top, synth = [], []
    for candidate in (root / "attribution" / "top.parquet", root / "attribution" / "top_samples.parquet"):
        if candidate.is_file():
            frame = pl.read_parquet(candidate)
            col = next((c for c in ("text", "snippet") if c in frame.columns), None)
            if col:
                top = frame[col].head(n).to_list()
            break
    shards = sorted((root / "synthetic").glob("shard-*.parquet"))
    if shards:
        synth = pl.read_parquet(shards[0])["text"].head(n).to_list()
    return top, synth


def recipe_section(root: Path) -> str:
    path = root / "recipe.json"
    if not path.is_file():
        return _section("Recipe", _missing("recipe.json"))
    return _section("Recipe (resolved)", f"<pre>{html.escape(json.dumps(read_json(path), indent=2))}</pre>")


def run_page_body(root: Path) -> tuple[str, str]:
    head, results = experiment_section(root)
    top, synth = _exemplar_texts(root)
    body = results + attribution_section(root) + clusters_section(root) + exemplars_section(root, top, synth) + recipe_section(root)
    return head, body


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def write_report(roots: list[str | os.PathLike], out: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` for one run root, or a side-by-side page for several."""
    paths = [Path(r) for r in roots]
    if len(paths) == 1:
        head, body = run_page_body(paths[0])
        text = page(f"mda-augment report: {paths[0].name}", head + body)
        target = Path(out) if out else paths[0] / "report.html"
    else:
        text = page("mda-augment: runs side by side", compare_body(paths))
        target = Path(out) if out else Path("report-compare.html")
    atomic_write_text(target, text)
    return target


def compare_body(roots: list[Path]) -> str:
    """Headline numbers and curves of several runs in columns (recipe exploration)."""
    frames = []
    for root in roots:
        f = root / "experiment" / "summary.parquet"
        if f.is_file():
            frames.append(pl.read_parquet(f).with_columns(pl.lit(root.name).alias("run")))
    rows = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    main = rows.filter(pl.col("measure").is_in(["score_at_fixed_step", "emergence_step", "heldout_loss"])) if frames else rows
    tbl = table(main, ["run", "scale", "variant", "measure", "n", "mean", "diff_mean", "diff_ci_low", "diff_ci_high",
                       "p_value", "rel_change_pct"]) if frames else _missing("experiment summaries")
    cols = "".join(
        f"<div><h3>{html.escape(r.name)}</h3>" + "".join(img(p, p.stem) for p in sorted((r / "experiment").glob("curves-*.png")))
        + recipe_section(r) + "</div>" for r in roots)
    return _section("Comparison", tbl) + f'<div class="grid">{cols}</div>'
