"""Run spawning: which runs an experiment needs, where they branch, and handing them to a backend.

Layout under the experiment directory::

    variants/<variant>/                      the variant's content (tokens, index; see mix)
    variants/<variant>/orders/<scale>/seed<s>/   its order for seed s (links the content)
    runs/<variant>/<scale>/seed<s>/          one training run each (see training.rundir)

With ``branch.step = B > 0`` the baseline run of a seed is the trunk: it trains from the
initialisation to the horizon, and every other arm of that seed starts from a copy of its
checkpoint at ``B`` (weights, optimizer, RNG) in its own run directory, which the trainer then
resumes as if it had crashed there. Its curve before ``B`` *is* the trunk's; the arm logs
from ``B`` on. Resuming reproduces an uninterrupted run bit for bit (tests/training), so
an arm with nothing changed is the baseline itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..artifacts import is_complete
from ..training.branch import seed_checkpoint  # noqa: F401 - re-exported
from .backends import BACKENDS
from .config import ExperimentConfig
from .mix import OrderPlan, build_seed_variant


@dataclass(frozen=True)
class RunSpec:
    """One run of the experiment: its TrainConfig fields and, for an arm, the trunk it branches from."""

    variant: str
    scale: str
    seed: int
    config: dict
    trunk: Path | None = None  # the baseline run whose checkpoint at ``branch_step`` this arm copies
    branch_step: int = 0

    @property
    def out(self) -> Path:
        return Path(self.config["out"])

    def __getitem__(self, key: str):
        """Read a TrainConfig field like a job dict (``spec["out"]``), as callers of the earlier API did."""
        return self.config[key]


def run_dir(root: Path, variant: str, scale: str, seed: int) -> Path:
    return Path(root) / "runs" / variant / scale / f"seed{seed}"


def order_dir(content: Path, scale: str, seed: int) -> Path:
    return Path(content) / "orders" / scale / f"seed{seed}"


def global_batch(cfg: ExperimentConfig, scale: str) -> int:
    """The scale's sequences per step, after the experiment's train overrides."""
    from ..model.presets import get_preset

    return int(cfg.train.get("global_batch") or get_preset(scale).global_batch)


def order_plan(cfg: ExperimentConfig, scale: str, seed: int, variant: str = "baseline") -> OrderPlan:
    """Seed ``seed``'s order at ``scale`` for ``variant``: budget, its window and the shared block, in positions."""
    gb = global_batch(cfg, scale)
    blo, bhi = cfg.window_steps
    lo, hi = cfg.variant_window(variant)
    return OrderPlan(seed=seed, budget=cfg.steps * gb, window=(lo * gb, hi * gb), per_seed=cfg.order == "per_seed",
                     block=(blo * gb, bhi * gb))


def run_specs(cfg: ExperimentConfig, root: Path, contents: dict[str, Path],
              seeds: list[int] | None = None) -> list[RunSpec]:
    """Build every seed's order for ``contents`` (variant -> content dir) and describe its runs."""
    specs = []
    for variant, content in contents.items():
        for scale in cfg.scales:
            for seed in seeds if seeds is not None else cfg.seeds:
                plan = order_plan(cfg, scale, seed, variant)
                corpus = build_seed_variant(content, order_dir(content, scale, seed), plan)
                config = {"preset": scale, "corpus": str(corpus), "out": str(run_dir(root, variant, scale, seed)),
                          "steps": cfg.steps, "seed": seed, "eval_every": cfg.eval_every, "threads": 1,
                          "progress": False, **cfg.train}
                step = cfg.branch_step(variant)
                specs.append(RunSpec(variant, scale, seed, config,
                                     trunk=run_dir(root, "baseline", scale, seed) if step else None, branch_step=step))
    return specs


def backend_job(spec: RunSpec) -> dict:
    """What a backend receives: the TrainConfig fields, plus ``branch`` for an arm (see backends)."""
    if spec.trunk is None:
        return dict(spec.config)
    return {**spec.config, "branch": {"trunk": str(spec.trunk), "step": spec.branch_step}}


def train_specs(specs: list[RunSpec], jobs: int, backend: str = "process", **options: object) -> None:
    """Train what is not complete with ``backend``: trunks first, then arms seed by seed.

    One call, so a free worker starts an arm of a seed whose trunk has passed the branch point
    while other trunks still train (arms wait for their trunk's checkpoint if they must; every
    trunk is dispatched before any arm, so the wait always ends).
    """
    todo = [s for s in specs if not is_complete(s.out)]
    todo.sort(key=lambda s: (s.trunk is not None, s.seed if s.trunk is not None else 0))
    BACKENDS.get(backend)([backend_job(s) for s in todo], jobs, **options)
