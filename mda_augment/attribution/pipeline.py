"""Score every training sequence of a window by its influence on a head-level probe.

Stages (timed, see ``timings.json``): rewrite the target heads into their own Linears ->
keep the modules the probe reaches -> EK-FAC covariance on a seeded subset of the window ->
eigendecomposition -> Lambda -> pairwise scores of each window partition against the summed
probe gradient. With ``checkpoint_mode`` ``nearest`` or ``tracin`` these stages run once per
chosen checkpoint of the run and the scores are combined (see :mod:`checkpoints`).

Resumability: factors and finished partitions live in a work directory next to the artifact
(``.NAME.work``), keyed by a fingerprint of the config and model; a crash re-does only the
unfinished partitions (kronfluence itself skips factors it already wrote). The artifact is
assembled from the partitions with :func:`mda_augment.artifacts.building` and the work
directory is then removed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import resource
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import polars as pl
import torch
from torch.utils.data import Dataset

from ..artifacts import atomic_write_json, building, read_json, to_jsonable
from ..errors import ConfigError
from .checkpoints import LrFn, assignments, combine, pick_checkpoints, tracin_weights
from .config import CHECKPOINT_SCORES, TIMINGS, AttributionConfig
from .heads import parse_heads, split_heads
from .probes import get_attribution_probe
from .report import write_outputs
from .task import HeadInfluenceTask, reachable_modules
from .window import DataOrder, partition, probe_tokens, select_window

FACTORS = "ekfac"


class TokenRows(Dataset):
    """A torch Dataset over token rows: item ``i`` is a (seq_len,) int64 tensor."""

    def __init__(self, rows: np.ndarray):
        self.rows = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.rows[i]


def fingerprint(cfg: AttributionConfig, model: torch.nn.Module, extra: dict) -> str:
    """Hash of what determines the scores: config (minus cosmetics), inputs, weights."""
    keep = cfg.model_dump(exclude={"top_k", "threads", "progress", "backend", "ray_address", "ray_workers"})
    h = hashlib.sha256(json.dumps({"cfg": keep, "extra": extra}, sort_keys=True, default=str).encode())
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().numpy().tobytes()[:4096])
    return h.hexdigest()[:16]


def work_dir(out: Path, key: str) -> Path:
    """The resumable scratch directory for ``out``; wiped when it belongs to another config."""
    work = out.parent / f".{out.name}.work"
    marker = work / "fingerprint.json"
    if work.exists() and (not marker.is_file() or read_json(marker).get("key") != key):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    atomic_write_json(marker, {"key": key})
    return work


def probe_half(cfg: AttributionConfig, seq_len: int) -> int:
    return min(cfg.probe_half, (seq_len - 1) // 2)


class Timer:
    """Wall-clock seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Stage:
            def __enter__(self_inner):
                self_inner.t0 = time.perf_counter()

            def __exit__(self_inner, *exc):
                timer.seconds[name] = timer.seconds.get(name, 0.0) + time.perf_counter() - self_inner.t0

        return _Stage()


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def prepare(model: torch.nn.Module, cfg: AttributionConfig, probe_batch: torch.Tensor,
            half: int) -> tuple[torch.nn.Module, HeadInfluenceTask]:
    """Split the heads, keep reachable modules, wrap for kronfluence."""
    from kronfluence.analyzer import prepare_model

    probe = get_attribution_probe(cfg.probe)
    heads = parse_heads(cfg.heads)
    tracked = split_heads(model, heads, cfg.mode)  # type: ignore[arg-type]
    task = HeadInfluenceTask(probe, heads, half, tracked)
    model.eval()
    reached = reachable_modules(model, task, probe_batch, tracked)
    if not reached:
        raise ConfigError(f"probe {cfg.probe!r} does not depend on heads {cfg.heads} in mode "
                          f"{cfg.mode!r}; choose another probe or head")
    task.tracked = reached
    return prepare_model(model, task), task


def fit_factors(analyzer, cfg: AttributionConfig, factor_rows: np.ndarray, timer: Timer) -> None:
    """Covariance, eigendecomposition and Lambda on ``factor_rows`` (kronfluence skips done ones)."""
    from kronfluence.arguments import FactorArguments

    args = FactorArguments(strategy=cfg.strategy, covariance_max_examples=None, lambda_max_examples=None)
    data = TokenRows(factor_rows)
    kw = {"factors_name": FACTORS, "factor_args": args}
    with timer("covariance"):
        analyzer.fit_covariance_matrices(dataset=data, per_device_batch_size=cfg.train_batch, **kw)
    with timer("eigendecomposition"):
        analyzer.perform_eigendecomposition(**kw)
    with timer("lambda"):
        analyzer.fit_lambda_matrices(dataset=data, per_device_batch_size=cfg.train_batch, **kw)


def score_partition(analyzer, cfg: AttributionConfig, order: DataOrder, part: pl.DataFrame,
                    probes: np.ndarray, name: str) -> pl.DataFrame:
    """(pos, step, seq, score) for one window partition."""
    return score_rows(analyzer, cfg, part, order.tokens(part["seq"].to_numpy()), probes, name)


def score_rows(analyzer, cfg: AttributionConfig, part: pl.DataFrame, rows: np.ndarray,
               probes: np.ndarray, name: str) -> pl.DataFrame:
    """Scores of ``part`` whose token rows are ``rows`` (n_part, seq_len), with fitted factors."""
    from kronfluence.arguments import ScoreArguments

    args = ScoreArguments(damping_factor=cfg.damping, aggregate_query_gradients=True)
    analyzer.compute_pairwise_scores(
        scores_name=name, factors_name=FACTORS, query_dataset=TokenRows(probes),
        train_dataset=TokenRows(rows), per_device_query_batch_size=cfg.query_batch,
        per_device_train_batch_size=cfg.train_batch, score_args=args, overwrite_output_dir=True)
    scores = analyzer.load_pairwise_scores(name)["all_modules"]  # (1, n_part): summed query
    return part.with_columns(pl.Series("score", scores[0].double().numpy()))


def attribute(model: torch.nn.Module, order: DataOrder, cfg: AttributionConfig, out: str | os.PathLike,
              *, overwrite: bool = False, record: dict | None = None,
              checkpoints: Mapping[int, Callable[[], torch.nn.Module]] | None = None,
              lr: LrFn | None = None) -> Path:
    """Build the attribution artifact ``out`` for ``model`` (modified in place) on ``order``.

    Args:
        model: the checkpoint to attribute (GPT-NeoX causal LM, any attention implementation).
        order: the training data order (:class:`PackedOrder` or :class:`PythiaOrder`).
        cfg: resolved config (heads are names such as ``L1H0``).
        out: artifact directory.
        overwrite: rebuild a complete artifact.
        record: extra provenance saved in ``config.json`` (run path, emergence step, ...).
        checkpoints: step -> loader of the model at that step; needed by ``checkpoint_mode``
            ``nearest`` and ``tracin`` (see :mod:`checkpoints`).
        lr: the run's learning rate at a step relative to its peak (weights of ``nearest`` and
            ``tracin``); None: constant.
    """
    out = Path(out)
    if cfg.end_step > cfg.step:
        raise ConfigError(f"end_step {cfg.end_step} is after the checkpoint step {cfg.step}; "
                          "the window must be data the checkpoint has seen")
    if cfg.checkpoint_mode != "end" and not checkpoints:
        raise ConfigError(f"checkpoint_mode {cfg.checkpoint_mode!r} needs the run's checkpoints; "
                          "attribute a run directory or use checkpoint_mode end")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    full_record = {"attribution": cfg.model_dump(mode="json"), **(record or {})}
    with building(out, config=full_record, overwrite=overwrite) as tmp:
        if tmp is None:
            return out
        timer = Timer()
        half = probe_half(cfg, order.seq_len)
        window = select_window(order, cfg.start_step, cfg.end_step, cfg.sample, cfg.seed)
        probes = probe_tokens(order, cfg.n_probe, half, cfg.seed)  # (n_probe, 1 + 2 * half)
        key = fingerprint(cfg, model, {k: v for k, v in full_record.items() if k != "attribution"})
        work = work_dir(out, key)
        fit_rows = factor_rows(order, window, cfg)
        n_fit = len(fit_rows)
        run = ScoringRun(cfg, order, probes, half, fit_rows, timer)
        extra: dict = {}
        if cfg.checkpoint_mode == "end":
            raw, tracked = run.score(model, window, work)
        else:
            raw, tracked, per_ckpt, extra = _score_trajectory(run, window, work, checkpoints, lr)
            per_ckpt.write_parquet(tmp / CHECKPOINT_SCORES)
        with timer("report"):
            summary = write_outputs(tmp, raw, order, cfg.top_k,
                                    f"{','.join(cfg.heads)} {cfg.probe}/{cfg.mode} @ step {cfg.step}"
                                    + ("" if cfg.checkpoint_mode == "end" else f" ({cfg.checkpoint_mode})"))
        stats = {"seconds": timer.seconds, "peak_rss_gb": peak_rss_gb(), "scored": raw.height,
                 "tokens_per_s_scores": raw.height * (order.seq_len - 1) / max(1e-9, timer.seconds.get("scores", 0)),
                 "tracked_modules": tracked, "factor_examples": int(n_fit),
                 "top10_share": summary["top10_share"], **extra}
        atomic_write_json(tmp / TIMINGS, to_jsonable(stats))
    shutil.rmtree(out.parent / f".{out.name}.work", ignore_errors=True)
    return out


def factor_rows(order: DataOrder, window: pl.DataFrame, cfg: AttributionConfig) -> np.ndarray:
    """(n_fit, seq_len) tokens of the seeded window subset the EK-FAC factors are fitted on."""
    rng = np.random.default_rng([cfg.seed, 1])
    n_fit = min(cfg.factor_examples, window.height)
    return order.tokens(window["seq"].to_numpy()[np.sort(rng.choice(window.height, n_fit, replace=False))])


class ScoringRun:
    """What every checkpoint of one attribution shares: config, probes, factor rows, timer."""

    def __init__(self, cfg: AttributionConfig, order: DataOrder, probes: np.ndarray, half: int,
                 fit_rows: np.ndarray, timer: Timer):
        self.cfg, self.order, self.probes, self.half = cfg, order, probes, half
        self.fit_rows, self.timer = fit_rows, timer

    def analyzer(self, model: torch.nn.Module, work: Path):
        """Split and wrap ``model``, fit its factors under ``work``; (analyzer, tracked names)."""
        from kronfluence.analyzer import Analyzer

        # Ray tasks rebuild the prepared model from the untouched weights (prepare rewrites it).
        self.original = copy.deepcopy(model) if self.cfg.backend == "ray" else None
        with self.timer("prepare"):
            model, task = prepare(model, self.cfg, torch.from_numpy(self.probes[: self.cfg.query_batch]), self.half)
        logging.getLogger("kronfluence").setLevel(logging.WARNING)
        analyzer = Analyzer("mda", model, task, cpu=True, disable_tqdm=not self.cfg.progress,
                            output_dir=str(work / "kronfluence"))
        torch.manual_seed(self.cfg.seed)  # sampled Fisher labels: same factors on every rerun
        fit_factors(analyzer, self.cfg, self.fit_rows, self.timer)
        return analyzer, task.tracked

    def scores(self, analyzer, rows: pl.DataFrame, work: Path) -> pl.DataFrame:
        """(pos, step, seq, score) of ``rows`` with a fitted ``analyzer``, resumable under ``work``."""
        (work / "parts").mkdir(parents=True, exist_ok=True)
        return _score_all(analyzer, self, rows, work)

    def score(self, model: torch.nn.Module, rows: pl.DataFrame, work: Path) -> tuple[pl.DataFrame, list[str]]:
        """Fit factors for ``model`` and score ``rows``; (scores, tracked module names)."""
        analyzer, tracked = self.analyzer(model, work)
        return self.scores(analyzer, rows, work), tracked


def _score_trajectory(run: ScoringRun, window: pl.DataFrame, work: Path,
                      loaders: Mapping[int, Callable[[], torch.nn.Module]], lr: LrFn | None):
    """Score the window against several checkpoints and combine (``nearest`` / ``tracin``)."""
    cfg = run.cfg
    lr = lr or (lambda _step: 1.0)
    chosen = pick_checkpoints(list(loaders), cfg.start_step, cfg.end_step, cfg.max_checkpoints, cfg.step)
    todo = assignments(window, chosen, cfg.checkpoint_mode)
    per, tracked = [], []
    for c in chosen:
        rows = todo.filter(pl.col("checkpoint") == c).drop("checkpoint")
        if rows.height == 0:
            continue
        scored, tracked = run.score(loaders[c](), rows, work / f"ckpt-{c:08d}")
        per.append(scored.with_columns(pl.lit(c, dtype=pl.Int64).alias("checkpoint")))
    per_ckpt = pl.concat(per)
    weights = tracin_weights(chosen, cfg.start_step, cfg.end_step, lr)
    raw = combine(per_ckpt, cfg.checkpoint_mode, weights, lr)
    extra = {"checkpoints": chosen, "checkpoint_weights": {str(c): w for c, w in weights.items()}}
    return raw, tracked, per_ckpt, extra


def _score_all(analyzer, run: ScoringRun, window: pl.DataFrame, work: Path) -> pl.DataFrame:
    """Score each partition not yet on disk (in this process, or as Ray tasks); all of them, in order."""
    cfg = run.cfg
    parts = partition(window, cfg.partitions)
    paths = [work / "parts" / f"part-{i:05d}.parquet" for i in range(len(parts))]
    todo = [i for i, path in enumerate(paths) if not path.is_file()]

    def save(i: int, scored: pl.DataFrame) -> None:
        tmp = paths[i].with_suffix(".tmp")
        scored.write_parquet(tmp)
        os.replace(tmp, paths[i])
        shutil.rmtree(work / "kronfluence" / "mda" / f"scores_part{i:05d}", ignore_errors=True)

    with run.timer("scores"):
        if cfg.backend == "ray" and todo:
            from .parallel import score_parts_ray

            score_parts_ray(run.original, cfg, run.order, parts, todo, run.probes, run.half, work, save)
        else:
            for i in todo:
                save(i, score_partition(analyzer, cfg, run.order, parts[i], run.probes, f"part{i:05d}"))
    return pl.concat([pl.read_parquet(path) for path in paths])
