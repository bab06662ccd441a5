"""Released Pythia checkpoints load through transformers' real hub code, offline, from a local
cache laid out as the Hugging Face cache is (``refs/<revision>`` naming a snapshot).

The loading runs in a fresh process because huggingface_hub reads ``HF_HOME`` and
``HF_HUB_OFFLINE`` once, at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from mda_augment.model.build import build_model
from mda_augment.model.presets import get_preset

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = "5a1b3c9d7e2f4a6b8c0d1e3f5a7b9c2d4e6f8a01"  # a commit hash, as the hub names snapshots

LOAD = """
import json, sys, torch
from mda_augment.errors import EnvironmentUnavailable
from mda_augment.model.build import load_pythia
model = load_pythia("pythia-14m", "step1000")
ids = torch.arange(16)[None] % model.config.vocab_size
result = {"logits": model(ids).logits[0, -1, :8].tolist(), "class": type(model).__name__}
try:
    load_pythia("pythia-14m", "step2000")
except EnvironmentUnavailable as err:
    result["missing"] = str(err)
print(json.dumps(result))
"""


def _cache_pythia_14m(home: Path, model) -> None:
    repo = home / "hub" / "models--EleutherAI--pythia-14m"
    model.save_pretrained(repo / "snapshots" / SNAPSHOT)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "step1000").write_text(SNAPSHOT)


def test_pythia_revision_loads_offline_from_the_hub_cache(tmp_path):
    model = build_model(get_preset("tiny"), vocab_size=300, seq_len=32, seed=7).eval()
    _cache_pythia_14m(tmp_path / "hf", model)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    ids = torch.arange(16)[None] % model.config.vocab_size
    with torch.no_grad():
        expected = model(ids).logits[0, -1, :8]
    assert result["class"] == "GPTNeoXForCausalLM"
    assert torch.allclose(torch.tensor(result["logits"]), expected, atol=1e-5)  # the cached weights
    missing = result["missing"]
    assert "\n" not in missing and "EleutherAI/pythia-14m" in missing and "step2000" in missing
