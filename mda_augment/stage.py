"""The Stage protocol: what every pipeline stage declares, once.

A stage is a class with

- ``name``: the recipe key, the output folder under the run root, and the ``run --stage`` name
  (``cluster`` -> ``recipe.cluster``, ``runs/NAME/cluster/``, ``mda-augment run R --stage cluster``);
- ``Config``: the typed model of its recipe section (a light module: no torch at import);
- ``needs``: stages whose outputs :meth:`build` reads (they must be in the recipe, and they
  run first);
- ``files``: the file names it writes, as class constants; every reader (a later stage, the
  report) takes the name from here, so no file name is spelled in two modules;
- :meth:`build` ``(inputs, out, cfg, *, overwrite) -> Path``: make the artifact (resumable,
  atomic; a complete artifact is skipped unless ``overwrite``);
- :meth:`reference`: what ``@name`` means inside another stage's config (the scores table of
  ``attribute``, the document store of ``synthesize``);
- :meth:`check`: validation that needs more than one field or the file system (paths exist,
  are of the right kind), run by ``run --check`` before anything is built;
- :meth:`report_section`: its part of the HTML report, read from its own files.

``mda_augment/stages.py`` registers the stages in pipeline order; the recipe model, the
pipeline, ``run --check`` and the report all iterate over that registry (datatrove's
``PipelineStep``, lm-eval's registry). Adding a stage is a module in its own folder plus one
registration line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .artifacts import is_complete
from .config import StrictModel


@dataclass
class Section:
    """A part of the HTML report: a title and a block of HTML (built with report.html helpers)."""

    title: str
    html: str
    headline: str = ""  # optional one-paragraph summary shown at the top of the page


class Stage:
    """Base class of pipeline stages; see the module docstring for the contract."""

    name: ClassVar[str]
    Config: ClassVar[type[StrictModel]]
    needs: ClassVar[tuple[str, ...]] = ()
    default: ClassVar[bool] = False  # runs even when the recipe omits its section
    summary: ClassVar[str] = ""  # one line for --help and ARCHITECTURE.md

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: Any, *, overwrite: bool = False) -> Path:
        """Build the artifact ``out`` from the outputs of earlier stages (``inputs[name]``)."""
        raise NotImplementedError

    def reference(self, out: Path) -> Path:
        """What ``@<name>`` resolves to in another stage's config (default: the output folder)."""
        return out

    def check(self, cfg: Any, recipe: Any) -> None:
        """Raise :class:`~mda_augment.errors.ConfigError` for what field validation cannot see."""

    def complete(self, out: Path, cfg: Any = None) -> bool:
        """True when ``out`` holds this stage's finished artifact (for ``cfg``, when given)."""
        return is_complete(out)

    def report_section(self, out: Path) -> Section | None:
        """Its part of the report, read from its own files (None: nothing to show)."""
        return None
