"""Live progress of training runs: each run writes ``progress.json``, a board shows them all.

A run (in this process or in a spawned worker) rewrites its small ``progress.json`` atomically
every couple of seconds: step, steps, smoothed loss, the best head's latest prefix-matching
score, tokens/s and an ETA from its own speed since it (re)started. :class:`Board` polls the
run directories of a grid and shows one line per run: a rich live table on a terminal, a plain
status line per run every ``log_every_s`` seconds otherwise (logs of ``nohup`` runs and CI).
Reading files, not pipes, keeps the workers independent of the display: a crashed display
cannot stop a run, and a second terminal can watch the same runs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ..artifacts import atomic_write_json, is_complete, read_json

PROGRESS = "progress.json"
SCORE_METRIC = "prefix_matching"  # shown per run: the best head's latest value


class ProgressWriter:
    """Rate-limited ``progress.json`` writer for one run."""

    def __init__(self, out: Path, steps: int, start_step: int, every_s: float = 2.0):
        self.path = Path(out) / PROGRESS
        self.steps, self.start_step, self.every_s = steps, start_step, every_s
        self.t0 = time.monotonic()
        self.last = 0.0
        self.loss: float | None = None
        self.score: float | None = None

    def eval_rows(self, rows: list[dict]) -> None:
        """Take the best head's score from one unit evaluation's rows."""
        values = [r["value"] for r in rows if r["metric"] == SCORE_METRIC and r["layer"] >= 0]
        if values:
            self.score = max(values)

    def update(self, step: int, loss: float | None, tokens_per_s: float | None = None, force: bool = False) -> None:
        if loss is not None:
            self.loss = loss if self.loss is None else 0.95 * self.loss + 0.05 * loss
        now = time.monotonic()
        if not force and now - self.last < self.every_s:
            return
        self.last = now
        done = step - self.start_step
        rate = done / (now - self.t0) if done > 0 else None  # steps per second, evaluations included
        atomic_write_json(self.path, {
            "step": step, "steps": self.steps, "loss": self.loss, "score": self.score,
            "tokens_per_s": tokens_per_s, "eta_s": (self.steps - step) / rate if rate else None,
            "updated": time.time()})


def read_progress(run: Path) -> dict | None:
    path = Path(run) / PROGRESS
    try:
        return read_json(path) if path.is_file() else None
    except (OSError, ValueError):  # being replaced right now: show the last state next poll
        return None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def status(run: Path, label: str) -> tuple[str, str, str, str, str, str]:
    """(label, state, step, loss, score, eta) of one run, as text."""
    if is_complete(run):
        return label, "done", "", "", "", ""
    p = read_progress(run)
    if p is None:
        return label, "waiting", "", "", "", ""
    loss = "-" if p.get("loss") is None else f"{p['loss']:.3f}"
    score = "-" if p.get("score") is None else f"{p['score']:.3f}"
    return label, "training", f"{p['step']}/{p['steps']}", loss, score, _duration(p.get("eta_s"))


class Board:
    """Shows every run of a grid while the block runs (a background thread polls their files)."""

    def __init__(self, runs: dict[str, Path], title: str, log_every_s: float = 30.0, poll_s: float = 1.0):
        from rich.console import Console

        self.runs, self.title = runs, title
        self.console = Console(stderr=True)
        self.log_every_s, self.poll_s = log_every_s, poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def table(self):
        from rich.table import Table

        t = Table(title=self.title, title_justify="left", expand=False)
        for col in ("run", "state", "step", "loss", f"{SCORE_METRIC} (best head)", "ETA"):
            t.add_column(col, justify="left" if col in ("run", "state") else "right")
        for label, run in self.runs.items():
            t.add_row(*status(run, label))
        return t

    def _live(self) -> None:
        from rich.live import Live

        with Live(self.table(), console=self.console, refresh_per_second=2, transient=False) as live:
            while not self._stop.wait(self.poll_s):
                live.update(self.table())
            live.update(self.table())

    def _log(self) -> None:
        while not self._stop.wait(self.log_every_s):
            self._print_lines()

    def _print_lines(self) -> None:
        for label, state, step, loss, score, eta in (status(r, n) for n, r in self.runs.items()):
            if state == "training":
                self.console.print(f"{self.title} {label}: step {step}, loss {loss}, "
                                   f"{SCORE_METRIC} {score}, ETA {eta}", highlight=False)

    def __enter__(self) -> Board:
        target = self._live if self.console.is_terminal else self._log
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
