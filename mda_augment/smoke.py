"""``run RECIPE --smoke``: the same recipe, every stage, at a size a CPU finishes in minutes.

A GPU recipe (``recipes/paper-14m.yaml``, ``recipes/cross-scale.yaml``) runs for hours on
hardware CI does not have; its smoke run keeps what makes it that recipe (the model presets,
the tokenizer, the stages and their references, the experiment's variants and endpoint) and
shrinks everything that only sets the size: a tiny offline corpus, short sequences, tens of
steps, a few probe sequences per unit evaluation, a small attribution window, a few synthetic
documents. So the real-scale plumbing (the 50k-vocabulary Pythia shapes, the trunk/arm
branching, every report section) is exercised end to end where no GPU is.

The transform is data, declared once here:

* :data:`SMOKE_CORPUS` replaces the ``corpus`` section whole: the folder reader over this
  package's own Python source (``{package}`` is its directory), which every install has, so a
  smoke run needs no network (the minipile would download Debian packages);
* :data:`OVERRIDES` is merged into each section the recipe has (nested mappings merge key by
  key, ``None`` removes the key so the field takes its default, any other value replaces); the
  experiment's grid fields are removed so they follow the shortened train section;
* ``name`` becomes ``<name>-smoke``, so smoke outputs never mix with a real run's.

The result is validated and checked like any recipe; a recipe the transform cannot shrink
(e.g. a variant whose own ``start_step`` lies beyond the smoke horizon) is one
:class:`~mda_augment.errors.ConfigError` line naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .recipe import RecipeBase, parse_recipe

SUFFIX = "-smoke"
PACKAGE = "{package}"  # replaced by this package's directory

STEPS, CHECKPOINT_EVERY = 20, 10  # the branch and the checkpoints in between fall on multiples of 10

SMOKE_CORPUS: dict[str, Any] = {"source": "folder", "path": PACKAGE, "pattern": "**/*.py"}

OVERRIDES: dict[str, dict[str, Any]] = {
    # ~150 source files: a few thousand 64-token sequences; 10% of files held out for the probes
    "pack": {"seq_len": 64, "heldout_fraction": 0.1},
    "train": {
        "seeds": [0, 1],  # two seeds: the experiment's paired statistics need a pair
        "steps": STEPS,
        "jobs": 2,
        "options": {"global_batch": 4, "micro_batch": 4, "warmup_steps": 2,
                    # auto: bf16 where a GPU is (the recipe's path), fp32 on CPU, where bf16 autocast
                    # is ~8x slower (no AVX512-BF16) and is not the GPU's kernel path anyway
                    "precision": "auto",
                    "checkpoint_log_until": 0, "checkpoint_every": CHECKPOINT_EVERY, "eval_every": 5,
                    # every probe, on few sequences: the default 32 + 128 cost ~50 s per evaluation
                    "units": {"n_random": 4, "n_natural": 8}},
    },
    "attribute": {"step": None, "seed": None,
                  "options": {"sample": 32, "factor_examples": 32, "train_batch": 8, "query_batch": 4,
                              "n_probe": 4, "probe_half": 16, "partitions": 1}},
    "cluster": {"top_fraction": 0.25, "top_k": None, "min_score": None, "k": 2, "background": 20},
    # an untrained model's top samples need not out-repeat the background: plumbing, not quality
    "extract": {"validation": {"cluster_factor": 0, "background_factor": 0, "share_margin": 0}},
    "synthesize": {"n": 40, "max_mb": None},
    "experiment": {
        "steps": None, "seeds": None, "eval_every": None, "train": None, "jobs": None,  # the smoked train grid
        "branch": {"step": CHECKPOINT_EVERY}, "window": {"start_step": None, "end_step": None},
        "endpoint": {"start_step": None, "fixed_step": 15},
        "power": {"seeds": 2}, "stats": {"bootstrap": 200}, "sequential": {"enabled": False},
        "allow_low_coverage": True, "pilot": False,
    },
}


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` applied: mappings merge key by key, ``None`` removes the key (the
    field's default applies; every field smoke resets has ``None`` as its default, or derives it), other
    values replace."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            out[key] = merge(out[key] if isinstance(out.get(key), dict) else {}, value)
        else:
            out[key] = value
    return out


def smoke_data(data: dict[str, Any]) -> dict[str, Any]:
    """The smoke transform of a recipe's data (as dumped with ``exclude_unset``)."""
    package = str(Path(__file__).resolve().parent)
    out = dict(data, name=f"{data['name']}{SUFFIX}",
               corpus={k: (package if v == PACKAGE else v) for k, v in SMOKE_CORPUS.items()})
    for section, override in OVERRIDES.items():
        if section in out or section == "pack":  # pack is a default stage: it runs even when unset
            out[section] = merge(out.get(section) or {}, override)
    return out


def with_data(recipe: RecipeBase, data: dict[str, Any], source: str) -> RecipeBase:
    """``recipe`` re-validated and re-checked with ``data`` merged into what it set."""
    return parse_recipe(merge(recipe.model_dump(mode="json", exclude_unset=True), data), source)


def smoke_recipe(recipe: RecipeBase, source: str = "recipe") -> RecipeBase:
    """The smoke version of a validated recipe; a recipe that cannot be smoked is one ConfigError line."""
    if recipe.name.endswith(SUFFIX):
        raise ConfigError(f"{source}: name '{recipe.name}' is already a smoke run; drop --smoke")
    try:
        return parse_recipe(smoke_data(recipe.model_dump(mode="json", exclude_unset=True)), f"{source} --smoke")
    except ConfigError as err:
        raise ConfigError(f"{err} (this recipe cannot be smoked as it is; see mda_augment/smoke.py)") from None
