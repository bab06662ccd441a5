"""Recipes: one YAML file with a typed section per stage; ``mda-augment run`` chains them.

The :class:`Recipe` model is made from the stage registry (:mod:`.stages`): one optional field
per stage, typed by that stage's ``Config``, so every key at every depth is validated at load
and a new stage needs no edit here. Stages whose section is absent are skipped, except the
default ones (corpus, pack, report), which run with their defaults.

Later stages refer to earlier outputs with ``@stage`` placeholders (``@attribute``: the
scores table; ``@synthesize``: the synthetic document store; ``@extract`` in
``synthesize.generators``: every generator the extract stage accepted). :func:`check_recipe`
validates them, the stages' ``needs``, and what only the file system can tell (paths exist,
are of the right kind) before anything is built: ``mda-augment run RECIPE --check``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, create_model, model_validator

from .config import StrictModel, load_data, validate
from .errors import ConfigError, MdaError
from .stages import STAGES

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # a folder name: no path separators, not '.' or '..'

# Keys of recipes written before the Stage protocol, and what replaced them.
RENAMED = {"attribution": "attribute", "synthetic": "synthesize", "motifs": "extract", "clusters": "cluster",
           "packed": "pack"}
OLD_REFS = {"@attribution": "@attribute", "@synthetic": "@synthesize", "@motifs": "@extract"}


class RecipeBase(StrictModel):
    """What every recipe has besides its stage sections."""

    name: str = Field(..., pattern=NAME_PATTERN, description="run name; outputs go to out_dir/name")
    out_dir: Path = Field(Path("runs"), description="parent directory of all runs")

    @model_validator(mode="before")
    @classmethod
    def _old_keys(cls, data: Any) -> Any:
        """Name the new key for keys recipes used before (one line, not 'extra inputs')."""
        if not isinstance(data, dict):
            return data
        for old, new in RENAMED.items():
            if old in data:
                raise ValueError(f"'{old}' is now '{new}' (a stage's recipe key, output folder and name are one word); "
                                 f"rename the section")
        return data

    @property
    def root(self) -> Path:
        return self.out_dir / self.name

    def present(self) -> list[str]:
        """Names of the stages this recipe runs, in pipeline order."""
        return [name for name in STAGES if getattr(self, name, None) is not None]


@functools.lru_cache(maxsize=1)
def recipe_model() -> type[RecipeBase]:
    """The Recipe class: RecipeBase plus one field per registered stage."""
    fields: dict[str, Any] = {}
    for name, stage in STAGES.items():
        cfg = stage.Config
        fields[name] = (cfg, Field(default_factory=cfg)) if stage.default else (cfg | None, None)
    return create_model("Recipe", __base__=RecipeBase, **fields)


def refs_in(data: Any, path: str = "") -> list[tuple[str, str]]:
    """``(field path, '@name')`` for every stage reference in a config's dumped data."""
    if isinstance(data, dict):
        return [r for k, v in data.items() for r in refs_in(v, f"{path}.{k}" if path else str(k))]
    if isinstance(data, (list, tuple)):
        return [r for i, v in enumerate(data) for r in refs_in(v, f"{path}[{i}]")]
    text = str(data) if isinstance(data, (str, os.PathLike)) else ""
    return [(path, text)] if text.startswith("@") else []


def check_refs(recipe: RecipeBase, source: str) -> None:
    """Every ``@name`` names a stage this recipe runs *before* the stage that uses it."""
    order = list(STAGES)
    present = set(recipe.present())
    for name in recipe.present():
        section = getattr(recipe, name)
        for where, ref in refs_in(section.model_dump(mode="json"), name):
            target = ref[1:]
            if ref in OLD_REFS:
                raise ConfigError(f"{source}: {where}: '{ref}' is now '{OLD_REFS[ref]}'; rename it")
            if target not in order:
                raise ConfigError(f"{source}: {where}: '{ref}' names no stage; use one of "
                                  + ", ".join("@" + s for s in order))
            if target not in present:
                raise ConfigError(f"{source}: {where}: '{ref}' refers to stage '{target}', which this recipe "
                                  f"does not run; add a '{target}' section or give a path")
            if order.index(target) >= order.index(name):
                raise ConfigError(f"{source}: {where}: '{ref}' refers to a stage that runs after '{name}'")


def check_needs(recipe: RecipeBase, source: str) -> None:
    present = set(recipe.present())
    for name in recipe.present():
        for need in STAGES.get(name).needs:
            if need not in present:
                raise ConfigError(f"{source}: stage '{name}' needs stage '{need}'; add a '{need}' section")


def check_out(recipe: RecipeBase, source: str) -> None:
    """The run root can be a folder: nothing on its way is an existing file."""
    for path in (recipe.out_dir, recipe.root):
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{source}: out_dir/name: {path} is an existing file; choose another out_dir or name")


def check_recipe(recipe: RecipeBase, source: str = "recipe") -> RecipeBase:
    """Everything that can be known before building: needs, references, paths, each stage's own checks."""
    check_needs(recipe, source)
    check_refs(recipe, source)
    check_out(recipe, source)
    for name in recipe.present():
        try:
            STAGES.get(name)().check(getattr(recipe, name), recipe)
        except MdaError as err:
            raise type(err)(f"{source}: {err}") from None
    return recipe


def load_recipe(path: str | os.PathLike) -> RecipeBase:
    """Read, validate and check a recipe file; every problem is one line naming the field."""
    return check_recipe(validate(recipe_model(), load_data(path), str(path)), str(path))


def parse_recipe(data: dict, source: str = "recipe") -> RecipeBase:
    """Validate and check recipe data (tests, programmatic use)."""
    return check_recipe(validate(recipe_model(), data, source), source)


def resolve_refs(cfg: BaseModel, outputs: dict[str, Path | list[Path]]) -> BaseModel:
    """A copy of a stage config with every ``@name`` replaced by that stage's reference.

    A reference that is a list (``@extract``: accepted generator files) is spliced into the
    list that holds it.
    """
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            out: list = []
            for v in value:
                r = walk(v)
                out.extend(str(p) for p in r) if isinstance(r, list) and _is_ref(v) else out.append(r)
            return out
        if _is_ref(value):
            return outputs[str(value)[1:]]
        return value

    return type(cfg).model_validate(walk(cfg.model_dump()))


def _is_ref(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike)) and str(value).startswith("@")
