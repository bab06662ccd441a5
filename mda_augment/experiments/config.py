"""What an experiment trains and how it is judged, declared before anything trains.

Light on purpose (pydantic and the standard library only: no numpy, torch, scipy or lifelines at
import), so a core install can validate a recipe. The design these fields describe:

* **Common random numbers.** Every variant keeps its seed's base order position by position
  and changes only the slots its intervention declares (see :mod:`.mix`).
* **Seeds vary init and order.** Seed ``s`` initialises the model with ``s`` *and* permutes the
  base order with ``s`` (``order: per_seed``), identically in every arm, so paired runs share
  both and the study generalises over orders.
* **Branching.** With ``branch.step = B > 0`` every arm of seed ``s`` continues the baseline run
  of seed ``s`` from its checkpoint at ``B`` (weights, optimizer and RNG), and interventions act
  only on positions consumed at steps ``[window.start_step, window.end_step)`` with
  ``start_step >= B``. ``B = 0`` trains every arm from the initialisation (in-place pairing).
* **A pre-registered endpoint.** ``endpoint`` names the primary measure (the area under the
  *target head's* prefix-matching curve over ``[endpoint.start_step, steps]``), the head rule
  and the threshold of the secondary time-to-emergence measures; ``stats`` the alpha, the
  correction and the direct comparisons. :func:`mda_augment.experiments.runner.run_experiment`
  records them in ``preregistration.json`` before the first run and refuses to analyse the
  same directory under a different declaration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ..config import StrictModel
from ..errors import ConfigError

Variant = Literal["baseline", "remove_top", "remove_random", "upweight_top", "upweight_random", "synthetic", "natural"]
NEEDS_SCORES = frozenset({"remove_top", "remove_random", "upweight_top", "upweight_random"})
PRIMARY = "auc"

# The experiment directory's files, named once (runner writes them; the CLI and report read them).
PREREGISTRATION = "preregistration.json"  # the design, recorded before the first run
SETTINGS = "experiment.json"  # the resolved config the summary was computed with
RESULTS = "results.parquet"  # one row per run: every measure
SUMMARY = "summary.parquet"  # per (scale, variant, measure): mean, CI, paired difference
SUMMARY_MD = "summary.md"  # the same, readable, headed by the compact one-row-per-variant table
PILOT, PILOT_MD = "pilot.json", "pilot.md"  # the pilot's power table (experiment --pilot)
LOOKS = "looks.jsonl"  # the sequential mode's looks, one per line
LEGACY_ENDPOINT_KEYS = ("threshold", "fixed_step", "metric", "head")


def _lift_endpoint_keys(data: Any) -> Any:
    """Recipes written before the endpoint section set threshold/fixed_step/metric/head at the top."""
    if isinstance(data, dict) and any(k in data for k in LEGACY_ENDPOINT_KEYS):
        data = dict(data)
        endpoint = dict(data.get("endpoint") or {})
        for key in LEGACY_ENDPOINT_KEYS:
            value = data.pop(key, None)
            if value is not None:
                endpoint.setdefault(key, value)
        data["endpoint"] = endpoint
    return data


class MixConfig(StrictModel):
    """One variant of the training corpus: which slots of the base order it changes, and to what."""

    variant: Variant = "baseline"
    k_frac: float = Field(0.1, gt=0, lt=1, description="share of the scored sequences removed/upweighted")
    ratio: float = Field(0.05, ge=0, lt=1, description="share of the window's positions given to synthetic "
                                                        "(synthetic) or other natural (natural) sequences")
    budget: int | None = Field(None, ge=1, description="sequences consumed (`mix` alone; an experiment uses steps x batch)")
    seed: int = Field(0, description="seeds which sequences a random control picks (slots come from the study seed)")
    scores: Path | None = Field(None, description="attribution scores Parquet (columns seq, score); may name "
                                                   "{seed}: each seed's arm then uses its own model's scores")
    synthetic: Path | None = Field(None, description="document store of synthetic documents")
    control: str | None = Field(None, description="a registered control store built from the base corpus "
                                                   "(experiments.controls), instead of `synthetic`")
    control_options: dict[str, Any] = Field(default_factory=dict, description="options of the control builder")
    start_step: int | None = Field(None, ge=0, description="act only from this step on (default: the "
                                                            "experiment's window); the arm branches there")
    end_step: int | None = Field(None, ge=1, description="act only before this step (default: the window's end)")

    def scores_for(self, seed: int) -> Path:
        """The scores the arm acts on in ``seed``'s run.

        Every seed's window holds the same sequences (``mix.OrderPlan``), but each seed trains its
        own model, and an attribution ranks sequences for one model's head: ``{seed}`` in the path
        gives every seed its own ranking instead of seed 0's.
        """
        if self.scores is None:
            raise ConfigError(f"variant '{self.variant}' has no scores")
        return Path(str(self.scores).format(seed=seed))

    @model_validator(mode="after")
    def _inputs(self) -> MixConfig:
        if self.variant in NEEDS_SCORES and self.scores is None:
            raise ValueError(f"variant '{self.variant}' needs scores (an attribution scores Parquet)")
        if self.scores is not None and "{" in str(self.scores):
            try:
                str(self.scores).format(seed=0)
            except (KeyError, IndexError, ValueError):
                raise ValueError(f"scores '{self.scores}': the only placeholder a scores path may name is "
                                 "{seed}") from None
        if self.variant == "synthetic":
            if (self.synthetic is None) == (self.control is None):
                raise ValueError("variant 'synthetic' needs exactly one of synthetic (a document store from "
                                 "`synthesize`) or control (a registered control store, e.g. repeated_spans)")
            if self.control is not None:
                from .controls import CONTROLS  # light: a registry of lazy entries

                CONTROLS.check(self.control)
        elif self.control is not None or self.synthetic is not None:
            raise ValueError(f"variant '{self.variant}' takes no synthetic/control store; use variant: synthetic")
        return self


class BranchConfig(StrictModel):
    """Where the arms leave the shared trunk (the baseline run of the same seed)."""

    step: int = Field(0, ge=0, description="trunk step B; 0 = every arm trains from the initialisation")


class WindowConfig(StrictModel):
    """Steps whose consumed positions an intervention may change (default: [branch.step, steps))."""

    start_step: int | None = Field(None, ge=0)
    end_step: int | None = Field(None, ge=1)


class EndpointConfig(StrictModel):
    """The pre-registered primary endpoint and the secondary time-to-emergence measures."""

    primary: Literal["auc"] = Field(PRIMARY, description="area under the target head's curve over the horizon")
    metric: str = Field("prefix_matching", description="unit metric of the target head")
    head: str = Field("baseline", pattern=r"^(baseline|L\d+H\d+)$",
                      description="'baseline': per seed, the head with the highest score at the horizon in "
                                  "that seed's baseline run (fixed before the arms are compared); or a name")
    start_step: int | None = Field(None, ge=0, description="horizon start (default: branch.step)")
    threshold: float = Field(0.3, gt=0, description="emergence threshold of the secondary measures")
    fixed_step: int | None = Field(None, ge=0, description="step of the descriptive score@step (default: steps // 2)")


class StatsConfig(StrictModel):
    """How the table is tested."""

    alpha: float = Field(0.05, gt=0, lt=0.5)
    correction: Literal["holm", "none"] = Field("holm", description="across every test of the table")
    compare: list[tuple[str, str]] = Field(default_factory=list,
                                           description="direct comparisons [variant, reference] besides "
                                                       "each variant vs baseline, e.g. [mined_5pct, norepeat_5pct]")
    bootstrap: int = Field(2000, ge=0, description="paired-bootstrap resamples for the relative change (0: off)")


class PowerConfig(StrictModel):
    """Pilot: estimate the SD of the paired difference and the seeds needed for a stated effect."""

    seeds: int = Field(3, ge=2, description="pilot seeds (the first ones of `seeds`)")
    effect: float = Field(0.25, gt=0, description="the effect to detect on the primary endpoint")
    effect_scale: Literal["relative", "absolute"] = Field("relative", description="relative: share of the baseline mean")
    power: float = Field(0.8, gt=0, lt=1)


class SequentialConfig(StrictModel):
    """Add seeds until the primary CI excludes zero or ``max_seeds``; alpha spent over the looks."""

    enabled: bool = False
    comparisons: list[str] = Field(default_factory=list, description="variants whose primary CI (vs baseline) "
                                                                     "decides; empty: every non-baseline variant")
    first: int = Field(3, ge=2, description="seeds at the first look")
    step: int = Field(1, ge=1, description="seeds added per look")
    max_seeds: int = Field(12, ge=2)
    spending: Literal["obrien_fleming", "pocock"] = "obrien_fleming"

    @model_validator(mode="after")
    def _order(self) -> SequentialConfig:
        if self.first > self.max_seeds:
            raise ValueError(f"first ({self.first}) must not exceed max_seeds ({self.max_seeds})")
        return self


class ExperimentDesign(StrictModel):
    """The design an experiment declares before anything trains (shared by the runner's config
    and the recipe section): orders, branch point, window, endpoint, statistics, power, looks."""

    order: Literal["per_seed", "shared"] = Field("per_seed", description="per_seed: seed s permutes the order too")
    branch: BranchConfig = Field(default_factory=BranchConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    endpoint: EndpointConfig = Field(default_factory=EndpointConfig)
    stats: StatsConfig = Field(default_factory=StatsConfig)
    power: PowerConfig = Field(default_factory=PowerConfig)
    sequential: SequentialConfig = Field(default_factory=SequentialConfig)

    @model_validator(mode="before")
    @classmethod
    def _legacy_endpoint_keys(cls, data: Any) -> Any:
        return _lift_endpoint_keys(data)


class ExperimentConfig(ExperimentDesign):
    """What to train and how to compare it."""

    variants: dict[str, MixConfig] = Field(default_factory=lambda: {"baseline": MixConfig()},
                                           description="name -> corpus variant; must include 'baseline'")
    scales: list[str] = Field(default_factory=lambda: ["nano"], min_length=1, description="model presets")
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    steps: int = Field(2000, ge=1, description="optimizer steps per run: the horizon of the endpoint")
    eval_every: int = Field(100, ge=1, description="unit evaluations; dense enough to resolve the transition")
    train: dict[str, Any] = Field(default_factory=dict, description="extra TrainConfig fields (lr, units, ...)")
    jobs: int = Field(2, ge=1, description="runs trained at the same time (one thread each)")
    backend: str = Field("process", description="training backend (experiments.backends): process, or a "
                                                "registered one such as a batched trainer")

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        if "baseline" not in self.variants:
            raise ValueError("variants must include 'baseline' (the comparison everything is paired with)")
        if self.variants["baseline"].variant != "baseline":
            raise ValueError("variants.baseline must be variant: baseline (the untouched base order)")
        b, (lo, hi) = self.branch.step, self.window_steps
        if b >= self.steps:
            raise ValueError(f"branch.step ({b}) must be below steps ({self.steps})")
        if not b <= lo < hi <= self.steps:
            raise ValueError(f"window [{lo}, {hi}) must lie inside [branch.step={b}, steps={self.steps}]: "
                             "interventions act only after the branch point")
        if b and b % self.checkpoint_every:
            raise ValueError(f"branch.step ({b}) must be a multiple of train.checkpoint_every "
                             f"({self.checkpoint_every}) so the trunk has a checkpoint there")
        if not b <= self.horizon[0] < self.steps:
            raise ValueError(f"endpoint.start_step ({self.horizon[0]}) must lie in [branch.step, steps)")
        for name in self.variants:
            vlo, vhi = self.variant_window(name)
            if not lo <= vlo < vhi <= hi:
                raise ValueError(f"variants.{name}: start_step/end_step [{vlo}, {vhi}) must lie inside the window "
                                 f"[{lo}, {hi})")
        for pair in self.stats.compare:
            unknown = [v for v in pair if v not in self.variants]
            if unknown:
                raise ValueError(f"stats.compare names unknown variant '{unknown[0]}'")
        unknown = [v for v in self.sequential.comparisons if v not in self.variants or v == "baseline"]
        if unknown:
            raise ValueError(f"sequential.comparisons: '{unknown[0]}' is not a non-baseline variant")
        from .backends import BACKENDS  # light: the registry holds lazy module:attr entries

        BACKENDS.check(self.backend)
        return self

    @property
    def checkpoint_every(self) -> int:
        return int(self.train.get("checkpoint_every", 1000))

    @property
    def window_steps(self) -> tuple[int, int]:
        """Steps ``[lo, hi)`` whose consumed positions interventions may change."""
        lo = self.window.start_step if self.window.start_step is not None else self.branch.step
        hi = self.window.end_step if self.window.end_step is not None else self.steps
        return lo, hi

    def variant_window(self, name: str) -> tuple[int, int]:
        """Steps ``[lo, hi)`` whose positions variant ``name`` may change."""
        lo, hi = self.window_steps
        mix = self.variants[name]
        return (mix.start_step if mix.start_step is not None else lo,
                mix.end_step if mix.end_step is not None else hi)

    def branch_step(self, name: str) -> int:
        """Where arm ``name`` leaves its trunk: the last trunk checkpoint at or before its window start
        (the arm is the trunk until then, so a later branch saves those steps); 0 without branching."""
        if self.branch.step == 0 or name == "baseline":
            return 0
        start = self.variant_window(name)[0]
        return max(self.branch.step, start - start % self.checkpoint_every)

    @property
    def horizon(self) -> tuple[int, int]:
        """Steps ``[start, end]`` over which the primary endpoint integrates."""
        start = self.endpoint.start_step if self.endpoint.start_step is not None else self.branch.step
        return start, self.steps

    @property
    def at_step(self) -> int:
        return self.endpoint.fixed_step if self.endpoint.fixed_step is not None else self.steps // 2

    def preregistration(self) -> dict:
        """What may not change once runs exist: endpoint, arms, seeds' design, horizon, stats."""
        dump = self.model_dump(mode="json")
        keep = ("variants", "scales", "steps", "eval_every", "order", "branch", "window", "endpoint", "stats",
                "sequential")
        return {k: dump[k] for k in keep} | {"train": dump["train"]}


GRID_FIELDS = ("scales", "seeds", "steps", "eval_every", "train", "jobs")


class ExperimentStageConfig(ExperimentDesign):
    """The ``experiment`` section of a recipe: the design of :class:`ExperimentConfig`, with the
    grid (scales, seeds, steps, evaluation, training options, jobs) taken from the ``train``
    section unless set here. The baseline arm is implied."""

    variants: dict[str, MixConfig] = Field(default_factory=dict,
                                           description="name -> corpus variant (the baseline arm is implied)")
    scales: list[str] | None = Field(None, min_length=1, description="default: the train section's")
    seeds: list[int] | None = Field(None, min_length=1, description="default: the train section's")
    steps: int | None = Field(None, ge=1, description="the horizon; default: the train section's steps")
    eval_every: int | None = Field(None, ge=1, description="default: train.options.eval_every")
    train: dict[str, Any] | None = Field(None, description="TrainConfig fields; default: train.options")
    jobs: int | None = Field(None, ge=1, description="default: the train section's jobs")
    backend: str | None = Field(None, description="process, ray or inline; default: ray when the train "
                                                  "section trains on Ray, else process")
    min_coverage: float = Field(0.8, ge=0, le=1, description="share of the selected influence mass a "
                                "synthetic store's generators must cover (its coverage.json)")
    allow_low_coverage: bool = Field(False, description="train synthetic arms below min_coverage anyway")
    pilot: bool = Field(False, description="train only the first power.seeds seeds and write pilot.md: the "
                                           "seeds a two-sided paired test needs for power.effect")

    @model_validator(mode="after")
    def _names(self) -> ExperimentStageConfig:
        for name, mix in self.variants.items():
            if name == "baseline" and mix.variant != "baseline":
                raise ValueError("the variant named 'baseline' must be the unchanged corpus (variant: baseline)")
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"variant name {name!r}: use letters, digits, '_' and '-' (it names a folder)")
        return self

    def resolve(self, grid: Any) -> ExperimentConfig:
        """The runner's config on ``grid`` (a TrainGridConfig): what this section leaves unset."""
        from ..config import validate

        options = grid.options.model_dump(exclude={"threads", "progress"})
        defaults = {"scales": grid.scales, "seeds": grid.seeds, "steps": grid.steps,
                    "eval_every": options.pop("eval_every"), "train": options, "jobs": grid.jobs}
        mine = self.model_dump(exclude={"variants", "backend", "min_coverage", "allow_low_coverage", "pilot"})
        data = {**mine, **{k: mine[k] if mine[k] is not None else defaults[k] for k in GRID_FIELDS},
                "variants": {"baseline": MixConfig(), **self.variants},
                "backend": self.backend or ("ray" if grid.backend == "ray" else "process")}
        return validate(ExperimentConfig, data, "recipe section 'experiment' (with the train section's grid)")
