"""Structural detectors: does a document contain XML tags, LaTeX, UUIDs, base64, logs ...?

Each detector is registered under a versioned name (``xml_tags_v1``), names the structure it
looks for (``markup``) and maps a document to a score in [0, 1], usually the share of
characters or lines covered by the structure; it *fires* when the score reaches its
threshold. Scores feed clustering (as features) and readable cluster labels (from the
detectors that fire); thresholds were set on the labelled minipile set and are measured in
``benchmarks/results/detectors.md``. Changing a detector's rule means a new version, so that
cluster profiles computed with different rules are never compared by accident.

Only the first :data:`MAX_CHARS` characters are read: detectors describe the surface form a
training window sees, and must stay cheap over thousands of documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..registry import Registry
from . import stats

MAX_CHARS = 50_000


@dataclass(frozen=True)
class Detector:
    """A registered detector: ``fn(text) -> score``; fires when ``score >= threshold``."""

    name: str
    structure: str
    threshold: float
    fn: Callable[[str], float]
    doc: str

    def score(self, text: str) -> float:
        return float(self.fn(text[:MAX_CHARS]))


REGISTRY: Registry[Detector] = Registry("detector")


def register(name: str, structure: str, threshold: float):
    """Decorator: add ``fn`` to :data:`REGISTRY` under ``name`` (a name registered twice raises)."""

    def wrap(fn: Callable[[str], float]) -> Callable[[str], float]:
        doc = ((fn.__doc__ or "").strip().splitlines() or [""])[0]
        REGISTRY.add(name, Detector(name, structure, threshold, fn, doc))
        return fn

    return wrap


def _coverage(pattern: re.Pattern, text: str) -> float:
    """Share of characters inside matches of ``pattern``."""
    return sum(len(m.group(0)) for m in pattern.finditer(text)) / len(text) if text else 0.0


def _line_share(text: str, keep: Callable[[str], bool]) -> float:
    """Share of non-blank lines for which ``keep`` holds."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return sum(1 for ln in lines if keep(ln)) / len(lines) if lines else 0.0


_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]{0,400})?/?>|<!--.{0,400}?-->|<\?xml[^>]*\?>")
_LATEX = re.compile(r"\\[A-Za-z@]+\*?(?:\[[^\]\n]{0,80}\])?(?:\{[^{}\n]{0,80}\})?")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_B64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
_HEX_RUN = re.compile(r"\b(?:0x)?[0-9a-fA-F]{8,}\b")
_TIME = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b|\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\[\d{2}/\w{3}/\d{4}:")
_CODE_LINE = re.compile(
    r"[;{}]\s*(?://.*|/\*.*|#.*)?$"  # statement or block ends
    r"|^\s*(?:def|class|return|import|from|if|elif|else|for|while|func|package|public|private|"
    r"static|void|int|char|const|var|let|struct|#include|#define|sub|my|use|fn|switch|case)\b"
    r"|^\s*[A-Za-z_][\w.\[\]]*\s*(?:[+\-*/|&]?=|:=)\s*\S"  # assignment
    r"|^\s*(?://|/\*|\*|#(?!\s*$))"  # comment lines
)
_JSON_LINE = re.compile(r'^\s*[\[{]?\s*"[^"\n]{1,80}"\s*:\s*|^\s*[\[{]\s*"|^\s*[}\]],?\s*$')
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


@register("xml_tags_v1", "markup", 0.10)
def xml_tags(text: str) -> float:
    """Share of characters inside XML/HTML tags, comments and declarations."""
    return _coverage(_TAG, text)


@register("latex_v1", "latex", 0.06)
def latex(text: str) -> float:
    """Share of characters inside LaTeX control sequences with their first argument."""
    return _coverage(_LATEX, text)


@register("uuid_v1", "uuid", 0.01)
def uuids(text: str) -> float:
    """Share of characters inside canonical 8-4-4-4-12 UUIDs."""
    return _coverage(_UUID, text)


def _looks_base64(run: str) -> bool:
    # a base64 run mixes cases and digits; a long path or identifier usually does not
    body = run.rstrip("=")
    return (any(c.isupper() for c in body) and any(c.islower() for c in body)
            and any(c.isdigit() for c in body))


@register("base64_v1", "base64", 0.20)
def base64_runs(text: str) -> float:
    """Share of characters inside runs of 40+ base64 characters mixing cases and digits."""
    if not text:
        return 0.0
    return sum(len(m.group(0)) for m in _B64_RUN.finditer(text) if _looks_base64(m.group(0))) / len(text)


def _looks_hex(run: str) -> bool:
    body = run[2:] if run[:2] in ("0x", "0X") else run
    # a hash or address mixes digits and a-f letters; plain numbers and words do not count
    return any(c.isdigit() for c in body) and any(c.isalpha() for c in body)


@register("hex_v1", "hex", 0.01)
def hex_runs(text: str) -> float:
    """Share of characters inside 8+ digit hex runs (hashes, addresses, ids), UUIDs excluded."""
    if not text:
        return 0.0
    text = _UUID.sub(" ", text)
    return sum(len(m.group(0)) for m in _HEX_RUN.finditer(text) if _looks_hex(m.group(0))) / len(text)


@register("log_lines_v1", "log", 0.40)
def log_lines(text: str) -> float:
    """Share of non-blank lines carrying a clock time or ISO timestamp in their first 64 chars."""
    return _line_share(text, lambda ln: bool(_TIME.search(ln[:64])))


@register("code_v1", "code", 0.45)
def code_lines(text: str) -> float:
    """Share of non-blank lines that look like program code (statement ends, keywords,
    assignments, comment leaders)."""
    # log lines often end in ``key=value;`` or ``{...}``: a timestamped line is a record, not code
    return _line_share(text, lambda ln: bool(_CODE_LINE.search(ln)) and not _TIME.search(ln[:64]))


@register("json_v1", "json", 0.40)
def json_like(text: str) -> float:
    """1 when the document (or each of its lines) parses as JSON objects, else the share of
    lines shaped like JSON members (``"key": value``, brackets)."""
    stripped = text.strip()
    if stripped[:1] in "[{":
        try:
            json.loads(stripped)
            return 1.0
        except ValueError:
            pass
    return _line_share(text, lambda ln: bool(_JSON_LINE.search(ln)))


def _is_table_row(line: str) -> bool:
    return line.count("|") >= 2 or line.count("\t") >= 2 or len(re.findall(r"\S {3,}\S", line)) >= 2


@register("table_v1", "table", 0.40)
def table_rows(text: str) -> float:
    """Share of non-blank lines split into 3+ cells by pipes, tabs or runs of spaces."""
    return _line_share(text, _is_table_row)


def _is_prose_line(line: str) -> bool:
    words = _WORD.findall(line)
    letters = sum(len(w) for w in words)
    # base64 lines are mostly letters too; sentences also have spaces between short words
    spaced = line.count(" ") >= 5 and letters / max(len(words), 1) <= 10
    return len(words) >= 6 and spaced and letters >= 0.7 * len(line.strip())


@register("prose_v1", "prose", 0.50)
def prose(text: str) -> float:
    """Share of characters in lines that read as sentences (6+ words, mostly letters)."""
    lines = text.splitlines()
    total = sum(len(ln) for ln in lines)
    return sum(len(ln) for ln in lines if _is_prose_line(ln)) / total if total else 0.0


def detector_scores(text: str, names: list[str] | None = None) -> dict[str, float]:
    """Scores of the named detectors (all registered ones by default), by name."""
    return {name: REGISTRY[name].score(text) for name in (names or list(REGISTRY))}


def fired(scores: dict[str, float]) -> list[str]:
    """Names of the detectors whose score reaches their threshold."""
    return [name for name, value in scores.items() if value >= REGISTRY[name].threshold]


def structure_profile(text: str, context: int = 256, mode: str = "words") -> dict[str, float]:
    """Everything clustering and validation know about one document: detector scores (keyed
    by detector name), the statistics of :mod:`stats` and the line-length profile."""
    text = text[:MAX_CHARS]
    row = detector_scores(text)
    row.update(stats.document_stats(text, context=context, mode=mode))
    row.update(stats.line_length_profile(text))
    return row
