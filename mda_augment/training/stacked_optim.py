"""AdamW over stacked parameters, per-member gradient clipping, and per-member optimizer state.

AdamW is elementwise, so one fused AdamW over ``(k, ...)`` tensors performs the k members'
updates exactly as k separate optimizers would, provided they share the step count and the
hyper-parameters (the batched trainer requires both). Gradient clipping is not elementwise:
the single trainer scales a member's gradients by ``clip / global_norm`` of *that* member, so
the norm is taken per member here (clipping the stack as a whole would couple the members).

Checkpoints hold each member's state in the single trainer's format: the state dict of
``loop.make_optimizer(model, cfg)``, parameters numbered in its group order, ``exp_avg`` /
``exp_avg_sq`` of the member's shape and the shared ``step``. A member's checkpoint can
therefore be resumed by the single trainer, and a single run's checkpoint can seed a member.
"""

from __future__ import annotations

import copy

import torch
from transformers import GPTNeoXForCausalLM

from ..errors import ArtifactError
from .config import TrainConfig
from .loop import make_optimizer
from .stacked import StackedGPTNeoX


def group_names(model: GPTNeoXForCausalLM, cfg: TrainConfig) -> list[list[str]]:
    """Parameter names per group of the single trainer's optimizer, in its order."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [[names[id(p)] for p in group["params"]] for group in make_optimizer(model, cfg).param_groups]


class StackedAdamW:
    """One fused AdamW over the stack, with the single trainer's weight-decay groups."""

    def __init__(self, stacked: StackedGPTNeoX, groups: list[list[str]], cfg: TrainConfig):
        self.stacked, self.groups, self.clip = stacked, groups, cfg.grad_clip
        decays = (cfg.weight_decay, 0.0)  # loop.make_optimizer: matrices, then the rest
        self.optimizer = torch.optim.AdamW(
            [{"params": [stacked.params[n] for n in names], "weight_decay": wd}
             for names, wd in zip(groups, decays, strict=True)],
            lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=True)
        self.ordered = [stacked.params[n] for names in groups for n in names]

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    @torch.no_grad()
    def clip_per_member(self) -> torch.Tensor:
        """Scale each member's gradients by ``min(1, clip / (norm + 1e-6))``; returns (k,) norms.

        The same formula as ``torch.nn.utils.clip_grad_norm_`` (2-norm of the per-tensor
        2-norms, coefficient clamped at 1 and always applied), taken per member.
        """
        grads = [p.grad for p in self.ordered if p.grad is not None]
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads], dim=1)  # (k, n_tensors)
        total = norms.norm(dim=1)  # (k,)
        coef = (self.clip / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))
        return total

    def step(self) -> None:
        self.clip_per_member()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    # ----- member state in the single trainer's format -----

    def member_state_dict(self, m: int) -> dict:
        """Member ``m``'s optimizer state dict, as ``make_optimizer(model).state_dict()`` gives it."""
        full = self.optimizer.state_dict()
        state = {i: {key: (val if key == "step" else val[m]).clone() for key, val in entry.items()}
                 for i, entry in full["state"].items()}
        return {"state": state, "param_groups": copy.deepcopy(full["param_groups"])}

    def load_member_states(self, states: list[dict]) -> None:
        """Stack k members' saved optimizer states (all at the same step) into the optimizer."""
        if len(states) != self.stacked.k:
            raise ValueError(f"expected {self.stacked.k} optimizer states, got {len(states)}")
        keys = {tuple(sorted(s["state"])) for s in states}
        if len(keys) != 1:
            raise ArtifactError("batched training: members' optimizer states cover different "
                                "parameters (checkpoints from different steps or models)")
        stacked_state = {}
        for i in states[0]["state"]:
            entries = [s["state"][i] for s in states]
            steps = {float(e["step"]) for e in entries}
            if len(steps) != 1:
                raise ArtifactError(f"batched training: members' optimizer steps differ ({sorted(steps)})")
            stacked_state[i] = {key: entries[0][key].clone() if key == "step"
                                else torch.stack([e[key] for e in entries]) for key in entries[0]}
        self.optimizer.load_state_dict({"state": stacked_state,
                                        "param_groups": copy.deepcopy(states[0]["param_groups"])})


class MemberOptimizerView:
    """What ``rundir.save_checkpoint`` needs of an optimizer (``state_dict()``), for one member."""

    def __init__(self, optimizer: StackedAdamW, member: int):
        self.optimizer, self.member = optimizer, member

    def state_dict(self) -> dict:
        return self.optimizer.member_state_dict(self.member)
