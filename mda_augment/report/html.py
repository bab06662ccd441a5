"""HTML building blocks for the report: tables, inlined images, the page around the sections.

This module knows no stage and reads no artifact: each stage renders its own section from its
own files (``Stage.report_section``) with these helpers, and :mod:`mda_augment.report.stage`
puts the sections on one self-contained page (images inlined as base64 data URIs, so the file
can be mailed or archived alone).
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import polars as pl

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}td.text{text-align:left;font-family:ui-monospace,monospace;font-size:.75rem;max-width:44rem;white-space:pre-wrap;word-break:break-all}
.headline{background:#f0f6ff;border-left:4px solid #2a6fdb;padding:.75rem 1rem;font-size:1.05rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1rem}
pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.75rem;max-height:18rem;white-space:pre-wrap}
img{max-width:100%}.missing{color:#999;font-style:italic}.neg{color:#b00}.pos{color:#070}
"""


def esc(text: object) -> str:
    return html.escape(str(text))


def img(path: Path, alt: str | None = None) -> str:
    """A PNG inlined as a data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{esc(alt or Path(path).stem)}" src="data:image/png;base64,{data}">'


def images(paths: list[Path]) -> str:
    """PNGs side by side (empty string for none)."""
    return f'<div class="grid">{"".join(img(p) for p in paths)}</div>' if paths else ""


def fmt(v: object, digits: int = 4) -> str:
    """Numbers readably (large ones as integers with separators), None/NaN as a dash."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        return esc(", ".join(str(x) for x in v))
    return esc(v)


def table(frame: pl.DataFrame, columns: list[str] | None = None, text_columns: tuple[str, ...] = ()) -> str:
    """A table of ``frame`` (chosen columns); ``text_columns`` are shown as left-aligned code."""
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)

    def cell(c: str, v: Any) -> str:
        return f'<td class="text">{esc(v)}</td>' if c in text_columns else f"<td>{fmt(v)}</td>"

    body = "".join("<tr>" + "".join(cell(c, r[c]) for c in cols) + "</tr>" for r in frame.iter_rows(named=True))
    return f"<table><tr>{head}</tr>{body}</table>"


def kv_table(values: dict[str, Any]) -> str:
    """Two columns, key and value, for the scalar entries of ``values``."""
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{fmt(v)}</td></tr>" for k, v in values.items()
                   if not isinstance(v, dict))
    return f"<table>{rows}</table>"


def pre(text: str, limit: int = 4000) -> str:
    return f"<pre>{esc(text[:limit])}</pre>"


def missing(what: str) -> str:
    return f'<p class="missing">{esc(what)}</p>'


def signed_pct(value: float | None, low: float | None, high: float | None, higher_is_better: bool = True) -> str:
    """A change in %, coloured only when its 95% CI (low, high) excludes zero (green good, red bad).

    A large mean change from a few seeds whose CI spans zero is printed plain: colour would
    read as a finding.
    """
    if value is None or math.isnan(value):
        return "–"
    if low is None or high is None or math.isnan(low) or math.isnan(high) or low <= 0 <= high:
        return f"{value:+.1f}"
    cls = "pos" if (value > 0) == higher_is_better else "neg"
    return f'<span class="{cls}">{value:+.1f}</span>'


def json_block(data: Any) -> str:
    return pre(json.dumps(data, indent=2, default=str), limit=20000)


def page(title: str, headline: str, sections: list[tuple[str, str]]) -> str:
    """The whole page: title, headline box, then one ``<h2>`` per (title, html) section."""
    box = f'<div class="headline">{headline}</div>' if headline else ""
    body = "".join(f"<h2>{esc(t)}</h2>\n{h}\n" for t, h in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{box}{body}</body></html>")
