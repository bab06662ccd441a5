"""Finite-difference check: does one step on a sequence move the probe the way its score says?

Sign convention (see :mod:`task`): kronfluence's score is ``s(z) = grad f^T H^-1 grad L(z)`` with
``f = -probe``. To first order, a step ``theta <- theta - lr * d`` changes the probe by
``-lr * grad probe . d``, so

* a **preconditioned** step ``d = H^-1 grad L(z)`` restricted to the tracked modules changes
  the probe by ``+lr * s(z)`` (i.e. the measurement ``f`` by ``-lr * s(z)``): the relation the
  EK-FAC score predicts exactly, up to second order in ``lr``;
* a **plain** SGD step ``d = grad L(z)`` changes it by ``+lr * g(z)`` with ``g(z) = grad f .
  grad L(z)``, the gradient dot product (``strategy: identity``), not the EK-FAC score. How
  well the EK-FAC score ranks plain steps is an empirical question (FACTS: Spearman 0.93 in
  the head's qk block) and is reported, not assumed;
* a plain step on *more* parameters than the tracked ones (e.g. all of the layer's attention)
  is outside what a head-subspace score speaks about at all.

``H^-1`` here is rebuilt from kronfluence's stored EK-FAC factors (eigenvectors ``Q_A``,
``Q_S`` and the fitted ``Lambda``, damping ``0.1 x mean(Lambda)`` per module as kronfluence
does), independently of kronfluence's scoring code, so :func:`predicted` is a second,
independent computation of the score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import torch
from scipy import stats
from torch import nn

from .task import HeadInfluenceTask, sequence_loss

Preconditioner = Callable[[list[torch.Tensor]], list[torch.Tensor]]
DAMPING_SCALE = 0.1  # kronfluence's heuristic damping: 0.1 x mean eigenvalue


def linears(model: nn.Module, names: list[str]) -> list[nn.Linear]:
    """The ``nn.Linear`` modules called ``names`` (unwrapping kronfluence's TrackedModule)."""
    modules = dict(model.named_modules())
    out = []
    for name in names:
        m = modules[name]
        out.append(getattr(m, "original_module", m))
    return out


def module_gradients(loss: torch.Tensor, modules: list[nn.Linear]) -> list[torch.Tensor]:
    """Per module the gradient as kronfluence lays it out: (out, in) or (out, in + 1) = [dW | db]."""
    params = [p for m in modules for p in ((m.weight, m.bias) if m.bias is not None else (m.weight,))]
    grads = iter(torch.autograd.grad(loss, params))
    out = []
    for m in modules:
        gw = next(grads)
        out.append(torch.cat([gw, next(grads)[:, None]], dim=1) if m.bias is not None else gw)
    return out


def ekfac_preconditioner(factors: dict, names: list[str], damping: float | None = None) -> Preconditioner:
    """``G -> H^-1 G`` per module from kronfluence's factors (``Analyzer.load_all_factors``).

    EK-FAC: ``H^-1 G = Q_S ((Q_S^T G Q_A) / (Lambda + damping)) Q_A^T``.
    """
    blocks = []
    for name in names:
        q_a = factors["activation_eigenvectors"][name].double()
        q_s = factors["gradient_eigenvectors"][name].double()
        lam = factors["lambda_matrix"][name].double() / factors["num_lambda_processed"][name].double()
        lam = lam + (DAMPING_SCALE * lam.mean() if damping is None else damping)
        blocks.append((q_a, q_s, lam))

    def apply(grads: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for g, (q_a, q_s, lam) in zip(grads, blocks, strict=True):
            rotated = q_s.t() @ g.double() @ q_a / lam
            out.append((q_s @ rotated @ q_a.t()).to(g.dtype))
        return out

    return apply


def identity(grads: list[torch.Tensor]) -> list[torch.Tensor]:
    return grads


def _step(modules: list[nn.Linear], directions: list[torch.Tensor], lr: float) -> None:
    """``theta -= lr * d`` in place for each module (weight columns, then the bias column)."""
    with torch.no_grad():
        for m, d in zip(modules, directions, strict=True):
            m.weight.sub_(lr * d[:, : m.in_features])
            if m.bias is not None:
                m.bias.sub_(lr * d[:, m.in_features])


def probe_total(model: nn.Module, task: HeadInfluenceTask, probes: torch.Tensor) -> float:
    """The probe summed over the probe set (what the scores target, up to the sign of ``f``)."""
    with torch.no_grad():
        return float(task.probe_values(probes, model).double().sum())


@dataclass
class Directions:
    """Per training sequence: its (preconditioned) loss gradient over the tracked modules."""

    grads: list[list[torch.Tensor]]

    def norms(self) -> np.ndarray:
        return np.array([float(torch.sqrt(sum((g.double() ** 2).sum() for g in gs))) for gs in self.grads])


def directions(model: nn.Module, modules: list[nn.Linear], rows: torch.Tensor,
               precondition: Preconditioner = identity) -> Directions:
    """``precondition(grad L(z))`` for each row of ``rows`` (n, seq_len): the step directions."""
    out = []
    for row in rows:
        loss = sequence_loss(model, row[None])
        out.append([d.detach() for d in precondition(module_gradients(loss, modules))])
    return Directions(out)


def probe_deltas(model: nn.Module, task: HeadInfluenceTask, modules: list[nn.Linear], probes: torch.Tensor,
                 steps: Directions, lr: float) -> np.ndarray:
    """(n,) probe change after one step ``theta -= lr * d`` along each direction, from ``theta``."""
    saved = [(m.weight.detach().clone(), None if m.bias is None else m.bias.detach().clone()) for m in modules]
    base = probe_total(model, task, probes)
    out = np.empty(len(steps.grads))
    for i, d in enumerate(steps.grads):
        _step(modules, d, lr)
        out[i] = probe_total(model, task, probes) - base
        with torch.no_grad():
            for m, (w, b) in zip(modules, saved, strict=True):
                m.weight.copy_(w)
                if b is not None:
                    m.bias.copy_(b)
    return out


def predicted(model: nn.Module, task: HeadInfluenceTask, modules: list[nn.Linear], probes: torch.Tensor,
              steps: Directions) -> np.ndarray:
    """(n,) ``grad f . d`` with ``f = -probe``: the score each direction implies (``lr = 1``)."""
    grad_f = module_gradients(task.compute_measurement(probes, model), modules)
    return np.array([float(sum((a.double() * b.double()).sum() for a, b in zip(grad_f, d, strict=True)))
                     for d in steps.grads])


def lr_for(model: nn.Module, modules: list[nn.Linear], steps: Directions, relative: float) -> float:
    """The lr at which the median step moves the tracked weights by ``relative`` of their norm."""
    size = float(torch.sqrt(sum((m.weight.detach().double() ** 2).sum() for m in modules)))
    return relative * size / float(np.median(steps.norms()))


def agreement(scores: np.ndarray, deltas: np.ndarray) -> dict:
    """Sign agreement and Spearman between scores and probe changes, with the fitted slope.

    ``slope``: least-squares ``deltas ~ slope * scores`` through the origin; with ``deltas`` in
    units of ``lr`` it is 1 when the first-order relation holds exactly.
    """
    nonzero = scores != 0
    rho = stats.spearmanr(scores, deltas).statistic if len(scores) > 2 else float("nan")
    return {"n": int(len(scores)), "sign_agreement": float((np.sign(scores[nonzero]) == np.sign(deltas[nonzero])).mean()),
            "spearman": float(rho), "slope": float(scores @ deltas / max(1e-300, scores @ scores)),
            "mean_delta": float(deltas.mean()), "share_up": float((deltas > 0).mean())}


def groups(scores: pl.DataFrame, k: int, seed: int) -> pl.DataFrame:
    """``k`` top-, ``k`` bottom- and ``k`` random-scored rows of (seq, score), tagged by ``group``."""
    ranked = scores.sort("score", descending=True)
    rng = np.random.default_rng(seed)
    rand = ranked[np.sort(rng.choice(ranked.height, size=min(k, ranked.height), replace=False))]
    return pl.concat([ranked.head(k).with_columns(pl.lit("top").alias("group")),
                      ranked.tail(k).with_columns(pl.lit("bottom").alias("group")),
                      rand.with_columns(pl.lit("random").alias("group"))])


def summary_rows(frame: pl.DataFrame, score: str, delta: str) -> list[dict]:
    """:func:`agreement` of ``score`` vs ``delta`` over all rows and per group."""
    rows = [{"group": "all", **agreement(frame[score].to_numpy(), frame[delta].to_numpy())}]
    for g in ("top", "bottom", "random"):
        part = frame.filter(pl.col("group") == g)
        if part.height:
            rows.append({"group": g, **agreement(part[score].to_numpy(), part[delta].to_numpy())})
    return rows


def layer_linears(model: nn.Module, layers: set[int]) -> tuple[list[str], list[nn.Linear]]:
    """Every ``nn.Linear`` of the attention of ``layers`` (split or not): the whole-layer step."""
    prefixes = tuple(f"gpt_neox.layers.{layer}.attention." for layer in sorted(layers))
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.startswith(prefixes)]
    return [n for n, _ in named], [m for _, m in named]


@dataclass
class CheckSetup:
    """A scored window and the chosen sequences' step directions, ready for :func:`measure`."""

    chosen: pl.DataFrame  # (seq, score, group): kronfluence scores of the chosen sequences
    model: nn.Module  # fp64 copy of the checkpoint, heads split, every parameter trainable
    task: HeadInfluenceTask
    probes: torch.Tensor  # (n_probe, 1 + 2 * half)
    steps: dict[str, tuple[list[nn.Linear], Directions]]  # precond / plain / layer

    def lr_for(self, kind: str, relative: float) -> float:
        return lr_for(self.model, *self.steps[kind], relative)


def prepare_check(model: nn.Module, order, cfg, work, *, k: int = 40, layer: bool = True) -> CheckSetup:
    """Score a window with kronfluence and build the steps for ``k`` top/bottom/random sequences.

    Args:
        model: the checkpoint (a copy is split for the steps; ``model`` itself is consumed).
        order: the data order (:mod:`window`).
        cfg: an :class:`AttributionConfig` (mode, heads, probe, window, damping, ...).
        work: scratch directory for kronfluence.
        k: sequences per group.
        layer: also prepare plain steps on all of the target layers' attention.
    """
    import copy

    from .heads import parse_heads, split_heads
    from .pipeline import FACTORS, ScoringRun, Timer, factor_rows, probe_half
    from .probes import get_attribution_probe
    from .window import probe_tokens, select_window

    half = probe_half(cfg, order.seq_len)
    window = select_window(order, cfg.start_step, cfg.end_step, cfg.sample, cfg.seed)
    probes = probe_tokens(order, cfg.n_probe, half, cfg.seed)
    clean = copy.deepcopy(model)
    run = ScoringRun(cfg, order, probes, half, factor_rows(order, window, cfg), Timer())
    analyzer, tracked = run.analyzer(model, work)
    chosen = groups(run.scores(analyzer, window, work).select("seq", "score"), k, cfg.seed)
    heads = parse_heads(cfg.heads)
    split_heads(clean, heads, cfg.mode)
    clean.double().requires_grad_(True)  # fp64: probe changes of tiny steps are exact
    task = HeadInfluenceTask(get_attribution_probe(cfg.probe), heads, half, tracked)
    rows = torch.from_numpy(order.tokens(chosen["seq"].to_numpy()))
    modules = linears(clean, tracked)
    inverse = ekfac_preconditioner(analyzer.load_all_factors(FACTORS), tracked, cfg.damping)
    steps = {"precond": (modules, directions(clean, modules, rows, inverse)),
             "plain": (modules, directions(clean, modules, rows))}
    if layer:
        _, whole = layer_linears(clean, {h.layer for h in heads})
        steps["layer"] = (whole, directions(clean, whole, rows))
    return CheckSetup(chosen, clean, task, torch.from_numpy(probes), steps)


def measure(setup: CheckSetup, lrs: dict[str, float]) -> pl.DataFrame:
    """The chosen rows with ``score_ekfac`` (this module's ``grad f . H^-1 grad L``), ``graddot``
    (``grad f . grad L`` in the tracked block; ``graddot_layer`` on the whole layer) and, per step kind in ``lrs``, ``delta_<kind>``: the probe change per
    unit lr after one step of that lr (``precond``: ``H^-1 grad L`` in the tracked block;
    ``plain``: ``grad L`` in the tracked block; ``layer``: ``grad L`` on the whole layer)."""
    m, t, p = setup.model, setup.task, setup.probes
    cols = {"score_ekfac": predicted(m, t, setup.steps["precond"][0], p, setup.steps["precond"][1]),
            "graddot": predicted(m, t, setup.steps["plain"][0], p, setup.steps["plain"][1])}
    if "layer" in setup.steps:
        cols["graddot_layer"] = predicted(m, t, setup.steps["layer"][0], p, setup.steps["layer"][1])
    for kind, lr in lrs.items():
        modules, steps = setup.steps[kind]
        cols[f"delta_{kind}"] = probe_deltas(m, t, modules, p, steps, lr) / lr
    return setup.chosen.with_columns(*(pl.Series(name, v) for name, v in cols.items()))


def check(model: nn.Module, order, cfg, work, *, k: int = 40, relative: float = 1e-3,
          layer: bool = True) -> tuple[pl.DataFrame, dict]:
    """:func:`prepare_check` then :func:`measure` with every step at ``relative`` of the weights.

    Returns:
        The measured rows (see :func:`measure`) and the lr of each step kind.
    """
    setup = prepare_check(model, order, cfg, work, k=k, layer=layer)
    lrs = {kind: setup.lr_for(kind, relative) for kind in setup.steps}
    return measure(setup, lrs), lrs
