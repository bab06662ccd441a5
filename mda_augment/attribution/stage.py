"""The ``attribute`` stage: influence of every window sequence on a baseline run's target head.

It attributes one run of the ``train`` stage (first scale): ``seed`` if given, else the first
seed whose target head emerged; at ``step`` if given, else the checkpoint before emergence (the
last checkpoint, with a warning, when the head never crossed the threshold in the budget).
``@attribute`` in another stage's config means this artifact's scores table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..artifacts import CONFIG_NAME, read_json
from ..stage import Section, Stage
from .config import EXTREMES, LORENZ, LORENZ_PNG, SCORES, AttributeStageConfig


def pick_run(train_dir: Path, cfg: AttributeStageConfig, say=print) -> tuple[Path, int | None]:
    """(baseline run to attribute, checkpoint step or None for 'before emergence')."""
    from ..training import rundir
    from ..training.stage import grid_of, run_path
    from .runs import emergence, resolve_heads

    grid = grid_of(train_dir)
    runs = {s: run_path(train_dir, grid.scales[0], s) for s in grid.seeds}
    if cfg.seed is not None and cfg.seed not in runs:
        from ..errors import ConfigError

        raise ConfigError(f"attribute.seed: {cfg.seed} is not a seed of the train stage ({grid.seeds})")
    emerged = {s: emergence(r, resolve_heads(r, cfg.heads), cfg.threshold) for s, r in runs.items()}
    seed = cfg.seed if cfg.seed is not None else next((s for s in grid.seeds if emerged[s] is not None), grid.seeds[0])
    say(f"attribute: baseline seed {seed} (emergence steps by seed: {emerged})")
    step = cfg.step
    if step is None and emerged[seed] is None:
        # No head crossed the threshold inside the budget: attribute where training stopped
        # (the head is then still forming) rather than fail the whole recipe; say so.
        step = rundir.list_checkpoints(runs[seed])[-1]
        say(f"attribute: heads '{cfg.heads}' never reach prefix matching >= {cfg.threshold} in {runs[seed]}; "
            f"attributing the last checkpoint (step {step}) instead")
    return runs[seed], step


class AttributeStage(Stage):
    """EK-FAC influence (kronfluence) in the target head's parameter subspace."""

    name = "attribute"
    Config = AttributeStageConfig
    needs = ("train",)
    summary = "scores.parquet (seq, step, score, rank, documents), Lorenz curve, top/bottom samples"
    files = (SCORES, LORENZ, LORENZ_PNG, EXTREMES)

    def reference(self, out: Path) -> Path:
        return out / SCORES

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: AttributeStageConfig, *,
              overwrite: bool = False) -> Path:
        from ..console import say
        from .runs import attribute_run

        run, step = pick_run(inputs["train"], cfg, say=say)
        return attribute_run(run, out, heads=cfg.heads, step=step, threshold=cfg.threshold, overwrite=overwrite,
                             **cfg.options.model_dump(exclude_unset=True))

    def report_section(self, out: Path) -> Section | None:
        import polars as pl

        from ..report.html import images, kv_table, table

        lorenz = read_json(out / LORENZ)
        config = read_json(out / CONFIG_NAME)
        att = config.get("attribution", {})
        facts = {"run": config.get("run"), "heads": att.get("heads"), "probe": att.get("probe"),
                 "mode": att.get("mode"), "checkpoint step": att.get("step"),
                 "window steps": f"{att.get('start_step')}..{att.get('end_step')}",
                 "sequences scored": lorenz.get("n"),
                 "top 10% share of positive mass": lorenz.get("top10_share_positive"),
                 "top 10% share of |score|": lorenz.get("top10_share_abs"),
                 "positive scores": lorenz.get("positive_fraction")}
        nulls = {"top10_share_null_sign_permutation": "top 10% share if signs were random (null)",
                 "top10_share_null_gaussian": "top 10% share of Gaussian scores (null)",
                 "top10_excess_over_null": "top 10% share above the sign-permutation null"}
        facts.update({label: lorenz[key] for key, label in nulls.items() if key in lorenz})
        top = pl.read_parquet(out / SCORES).sort("rank").head(10)
        texts = {r["seq"]: r["text"] for r in read_json(out / EXTREMES)["top"]}
        top = top.with_columns(pl.col("seq").replace_strict(texts, default="").alias("text"),
                               pl.col("kinds").list.join(", ").alias("kinds"),
                               pl.col("sources").list.join(", ").alias("sources"),
                               pl.col("doc_ids").list.join(", ").alias("documents"))
        body = (kv_table(facts) + images([out / LORENZ_PNG]) + "<h3>Top-influence training sequences</h3>"
                + table(top, ["rank", "score", "step", "seq", "kinds", "sources", "documents", "text"],
                        text_columns=("text", "documents")))
        return Section("Attribution (influence on the target head)", body)
