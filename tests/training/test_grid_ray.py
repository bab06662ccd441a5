"""The Ray backend of the grid runner: same results as the local runner, survives a killed
worker, and user errors come back as the same one line (not retried).

One 2-CPU local Ray session is shared by the module; the local runner's grid is trained once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mda_augment.artifacts import atomic_write_bytes, read_json
from mda_augment.errors import ArtifactError, ConfigError, MdaError
from mda_augment.training.grid import WORKER, RunFailed, train_one, train_runs
from mda_augment.training.loop import TIMING_COLUMNS
from mda_augment.training.progress import PROGRESS
from mda_augment.training.rundir import list_checkpoints

ray = pytest.importorskip("ray", reason="ray is in the dev extra: pip install -e '.[dev]'")

STEPS = 80


def _jobs(corpus: Path, root: Path, seeds=(0, 1)) -> list[dict]:
    return [{"preset": "tiny", "corpus": str(corpus), "out": str(root / f"seed{s}"), "steps": STEPS,
             "seed": s, "threads": 1, "progress": False, "checkpoint_log_until": 4,
             "checkpoint_every": 20, "eval_every": 40, "flush_every_s": 0.05,
             "units": {"probes": ["prefix_matching", "heldout_loss"], "n_random": 4, "n_natural": 8}}
            for s in seeds]


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def local_grid(packed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local")
    train_runs(_jobs(packed_corpus, root), 2, "local", root=root)
    return root


def _assert_same_results(a: Path, b: Path) -> None:
    for seed in (0, 1):
        ra, rb = a / f"seed{seed}", b / f"seed{seed}"
        ma, mb = (pl.read_parquet(r / "metrics.parquet").drop(list(TIMING_COLUMNS)).sort("step") for r in (ra, rb))
        assert ma.height == STEPS and ma.equals(mb), f"seed {seed}: metrics differ"
        ua, ub = (pl.read_parquet(r / "units.parquet").sort("step", "metric", "layer", "head") for r in (ra, rb))
        assert ua.height > 0 and ua.equals(ub), f"seed {seed}: units differ"
        assert list_checkpoints(ra) == list_checkpoints(rb)
    # the seeds differ, so equality above is not trivially true
    la, lb = (pl.read_parquet(a / f"seed{s}" / "metrics.parquet")["loss"] for s in (0, 1))
    assert (la - lb).abs().max() > 1e-3


def _kill_once_past_checkpoint(run: Path, min_step: int, done: threading.Event,
                               errors: list[BaseException]) -> int:
    """SIGKILL the process training ``run`` once it has a checkpoint past ``min_step``."""
    deadline = time.monotonic() + 900  # generous: a loaded CI machine trains slowly

    while time.monotonic() < deadline and not done.is_set():
        worker = read_json(run / WORKER) if (run / WORKER).is_file() else {}
        if "pid" in worker and any(s >= min_step for s in list_checkpoints(run)):
            os.kill(worker["pid"], signal.SIGKILL)
            return worker["pid"]
        time.sleep(0.01)
    assert not errors, errors  # the grid failed before the run could be killed
    pytest.fail("the run finished (or never started) before it could be killed; raise STEPS")


def test_ray_grid_equals_the_local_runners_even_with_a_worker_killed(ray_session, local_grid, packed_corpus,
                                                                      tmp_path, capsys):
    """seed1 trains undisturbed; seed0's worker is SIGKILLed mid-run and Ray retries it."""
    errors: list[BaseException] = []
    done = threading.Event()

    def grid() -> None:
        try:
            train_runs(_jobs(packed_corpus, tmp_path), 2, "ray", root=tmp_path, backend="ray")
        except BaseException as err:  # noqa: BLE001 - reported by the test below
            errors.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=grid)
    thread.start()
    killed = _kill_once_past_checkpoint(tmp_path / "seed0", 20, done, errors)
    thread.join(timeout=300)
    assert not errors, errors
    _assert_same_results(local_grid, tmp_path)
    worker = read_json(tmp_path / "seed0" / WORKER)
    assert worker["attempt"] == 2 and worker["pid"] != killed  # Ray ran it again, in a new worker
    undisturbed = read_json(tmp_path / "seed1" / WORKER)
    assert undisturbed["backend"] == "ray" and undisturbed["attempt"] == 1 and undisturbed["pid"] != os.getpid()
    for seed in (0, 1):
        assert read_json(tmp_path / f"seed{seed}" / PROGRESS)["step"] == STEPS  # what the board reads
    printed = capsys.readouterr().err
    assert "ray seed0: " in printed and "ray seed1: " in printed and "tokens/s" in printed


def test_a_user_error_comes_back_as_the_local_runners_line_and_is_not_retried(ray_session, tmp_path):
    job = _jobs(tmp_path / "not-packed", tmp_path / "ray")[0]
    with pytest.raises(ArtifactError) as on_ray:
        train_runs([job], 1, "ray", backend="ray", max_retries=2)
    assert read_json(Path(job["out"]) / WORKER)["attempt"] == 1
    with pytest.raises(ArtifactError) as local:
        train_one(job)  # what a local worker process runs and its pool re-raises
    assert str(on_ray.value) == str(local.value) and "\n" not in str(on_ray.value)


def test_an_unexpected_crash_is_retried_then_reported_in_one_line(ray_session, packed_corpus, tmp_path):
    broken = tmp_path / "packed"
    broken.mkdir()
    for f in packed_corpus.rglob("*"):
        if f.is_file():
            target = broken / f.relative_to(packed_corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    tokens = broken / "tokens.bin"
    atomic_write_bytes(tokens, np.fromfile(tokens, dtype=np.uint8)[:100].tobytes())  # a truncated file
    job = _jobs(broken, tmp_path / "runs")[0]
    with pytest.raises(RunFailed) as err:
        train_runs([job], 1, "ray", backend="ray", max_retries=1)
    assert isinstance(err.value, MdaError) and "\n" not in str(err.value)
    assert "traceback in" in str(err.value)
    assert read_json(Path(job["out"]) / WORKER)["attempt"] == 2  # retried once


def test_a_run_asking_for_a_gpu_the_local_ray_lacks_fails_at_once(ray_session, packed_corpus, tmp_path):
    job = {**_jobs(packed_corpus, tmp_path)[0], "device": "cuda"}
    with pytest.raises(ConfigError, match=r"asks Ray for 1 GPU\(s\), this machine's Ray has 0"):
        train_runs([job], 1, "ray", backend="ray")


def test_the_backend_is_a_train_stage_field_with_one_line_errors():
    from mda_augment.config import validate
    from mda_augment.training.config import TrainGridConfig

    cfg = validate(TrainGridConfig, {"backend": "ray", "ray_address": "ray://head:10001"}, "recipe.yaml")
    assert cfg.backend_options() == {"backend": "ray", "ray_address": "ray://head:10001", "num_cpus": 1.0,
                                     "num_gpus": None, "max_retries": 3}
    assert TrainGridConfig().backend == "local"
    with pytest.raises(MdaError, match="recipe.yaml: backend") as err:
        validate(TrainGridConfig, {"backend": "slurm"}, "recipe.yaml")
    assert "\n" not in str(err.value)
