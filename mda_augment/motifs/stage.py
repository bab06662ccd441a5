"""The ``extract`` stage: a validated generator per cluster (LLM or offline), run only in the sandbox.

``@extract`` in ``synthesize.generators`` means every generator this stage accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..artifacts import read_json
from ..stage import Section, Stage
from .extract import GENERATORS, SUMMARY, ExtractConfig


class ExtractStage(Stage):
    """Write generator code for each cluster worth it; record every attempt."""

    name = "extract"
    Config = ExtractConfig
    needs = ("cluster",)
    summary = "generators/*.py (accepted, with provenance headers), attempts.jsonl, summary.json"

    def reference(self, out: Path) -> list[Path]:
        return sorted(p.resolve() for p in (out / GENERATORS).glob("*.py"))

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: ExtractConfig, *, overwrite: bool = False) -> Path:
        from ..console import say
        from .coverage import coverage_lines
        from .extract import extract
        from .outcome import outcome_lines

        extract(inputs["cluster"], out, cfg, overwrite=overwrite)
        for line in outcome_lines(out) + coverage_lines(read_json(out / SUMMARY)):
            say(f"  {line}")
        return out

    def report_section(self, out: Path) -> Section | None:
        import polars as pl

        from ..report.html import table

        rows = read_json(out / SUMMARY)["clusters"]
        frame = pl.DataFrame([{"cluster": r["cluster"], "label": r["label"], "mass share": r.get("mass_share"),
                               "generator": r.get("generator") or "none", "source": r.get("source") or "-"}
                              for r in rows])
        return Section("Generators extracted per cluster", table(frame))
