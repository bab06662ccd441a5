"""Run a recipe stage by stage; each stage is a resumable artifact under the run root.

Run root layout (``out_dir/name/``): ``recipe.json`` (the resolved recipe) and one folder per
stage, named as the stage (see :mod:`mda_augment.stages` for the order)::

    corpus/ pack/ train/ attribute/ cluster/ extract/ synthesize/ experiment/ report/

Each stage's ``@name`` references are resolved from the outputs of the stages before it; a
complete stage is skipped (``overwrite`` redoes it), so rerunning the same command after a
crash resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

from .artifacts import atomic_write_json
from .console import say
from .recipe import RecipeBase, refs_in, resolve_refs
from .report.stage import RECIPE
from .stages import STAGES


def run_recipe(recipe: RecipeBase, overwrite: bool = False, only: list[str] | None = None) -> dict[str, Path]:
    """Run every stage of ``recipe`` (or only ``only`` and what they need), in pipeline order.

    Returns:
        stage name -> its output folder, for every stage that ran or was already complete.
    """
    root = recipe.root
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(root / RECIPE, recipe.model_dump(mode="json"))
    wanted = set(recipe.present()) if not only else _with_needs(recipe, only)
    outputs: dict[str, Path] = {}
    references: dict[str, Path | list[Path]] = {}
    for name in recipe.present():
        stage = STAGES.get(name)()
        out = root / name
        if name in wanted:
            cfg = resolve_refs(getattr(recipe, name), references)
            done = stage.complete(out, cfg) and not overwrite
            say(f"[bold]{name}[/bold]: " + ("complete, skipping" if done else "building"))
            if not done:
                stage.build(outputs, out, cfg, overwrite=overwrite)
        elif not stage.complete(out):
            continue  # not asked for and not built: later asked-for stages cannot need it
        outputs[name] = out
        references[name] = stage.reference(out)
    return outputs


def _with_needs(recipe: RecipeBase, names: list[str]) -> set[str]:
    """``names`` and, transitively, every stage they need or refer to with ``@name``."""
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(STAGES.get(name).needs)
        section = getattr(recipe, name, None)
        if section is not None:
            todo.extend(ref[1:] for _, ref in refs_in(section.model_dump(mode="json"), name))
    return seen
