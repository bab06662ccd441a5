"""The ``report`` stage: one self-contained HTML page from every stage's own report section.

The page asks each registered stage, in pipeline order, for its section of the run root
(:meth:`~mda_augment.stage.Stage.report_section`), so file names stay with the stage that
writes them. A stage whose section cannot be rendered is shown with the reason, not dropped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from ..artifacts import atomic_write_text, read_json
from ..config import StrictModel
from ..stage import Section, Stage
from .html import esc, json_block, missing, page

REPORT = "report.html"
RECIPE = "recipe.json"  # the resolved recipe, written at the run root by the pipeline


class ReportConfig(StrictModel):
    """The ``report`` stage (it has nothing to tune but its title)."""

    title: str | None = Field(None, description="page title (default: the run name)")


def sections(root: Path) -> list[Section]:
    """Every stage's section for the run root ``root``, in pipeline order."""
    from ..stages import STAGES

    found = []
    for name, stage in STAGES.items():
        out = Path(root) / name
        if name == "report" or not out.is_dir():
            continue
        try:
            section = stage().report_section(out)
        except Exception as err:  # noqa: BLE001 - shown in the page: a broken section must be visible
            section = Section(name, missing(f"this section could not be rendered ({type(err).__name__}: {err})"))
        if section is not None:
            found.append(section)
    if (Path(root) / RECIPE).is_file():
        found.append(Section("Recipe (resolved)", json_block(read_json(Path(root) / RECIPE))))
    return found


def render(roots: list[Path], title: str) -> str:
    """The HTML of one run root, or several one after another (their names prefix the titles)."""
    heads, parts = [], []
    for root in roots:
        prefix = f"{root.name}: " if len(roots) > 1 else ""
        for s in sections(root):
            parts.append((prefix + s.title, s.html))
            if s.headline:
                heads.append((f"<b>{esc(root.name)}</b>: " if len(roots) > 1 else "") + s.headline)
    return page(title, "<br>".join(heads), parts)


def write_report(roots: list[str | os.PathLike], out: str | os.PathLike | None = None, title: str | None = None) -> Path:
    """Write the report of one run root (``ROOT/report/report.html``) or several (``report-compare.html``)."""
    paths = [Path(r) for r in roots]
    if out is None:
        out = paths[0] / "report" / REPORT if len(paths) == 1 else Path("report-compare.html")
    name = title or (f"mda-augment report: {paths[0].name}" if len(paths) == 1 else "mda-augment: runs side by side")
    atomic_write_text(out, render(paths, name))
    return Path(out)


class ReportStage(Stage):
    """Everything above on one page (images inlined, so the file can be mailed alone)."""

    name = "report"
    Config = ReportConfig
    default = True
    summary = "report.html: each stage's section, the headline numbers, the resolved recipe"

    def complete(self, out: Path, cfg: ReportConfig | None = None) -> bool:
        return False  # cheap, and it must show the latest state of every stage

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: ReportConfig, *, overwrite: bool = False) -> Path:
        return write_report([out.parent], out / REPORT, cfg.title)
