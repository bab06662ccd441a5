"""Live progress: every run writes progress.json; the board shows one line per run."""

from __future__ import annotations

import io
import time

from rich.console import Console

from mda_augment.artifacts import read_json
from mda_augment.training.config import TrainConfig
from mda_augment.training.loop import train
from mda_augment.training.progress import PROGRESS, Board, ProgressWriter, status


def test_a_training_run_reports_step_loss_score_and_eta(packed_corpus, tmp_path):
    cfg = TrainConfig(preset="tiny", corpus=packed_corpus, out=tmp_path / "run", steps=12, threads=1,
                      eval_every=4, progress=False, units={"probes": ["prefix_matching"], "n_random": 4})
    run = train(cfg)
    p = read_json(run / PROGRESS)
    assert p["step"] == p["steps"] == 12
    assert p["loss"] > 0 and 0 <= p["score"] <= 1 and p["eta_s"] is not None
    assert status(run, "tiny/seed0")[1] == "done"


def test_status_of_a_run_in_progress_and_of_one_not_started(tmp_path):
    w = ProgressWriter(tmp_path / "a", steps=100, start_step=0, every_s=0.0)
    (tmp_path / "a").mkdir()
    w.eval_rows([{"metric": "prefix_matching", "layer": 1, "head": 0, "value": 0.25},
                 {"metric": "prefix_matching", "layer": 1, "head": 1, "value": 0.05},
                 {"metric": "icl", "layer": -1, "head": -1, "value": 0.9}])
    w.t0 -= 10  # 10 s for 20 steps: 80 steps left at 2 steps/s
    w.update(20, 3.5)
    label, state, step, loss, score, eta = status(tmp_path / "a", "a")
    assert (state, step, loss, score) == ("training", "20/100", "3.500", "0.250")
    assert eta == "0m40s"
    assert status(tmp_path / "b", "b")[1] == "waiting"


def test_board_prints_status_lines_when_not_on_a_terminal(tmp_path):
    (tmp_path / "a").mkdir()
    ProgressWriter(tmp_path / "a", 50, 0, every_s=0.0).update(10, 2.0)
    board = Board({"nano/seed0": tmp_path / "a"}, "train", log_every_s=0.05)
    board.console = Console(file=io.StringIO(), force_terminal=False)
    with board:
        time.sleep(0.3)
    text = board.console.file.getvalue()
    assert "train nano/seed0: step 10/50, loss 2.000" in text
