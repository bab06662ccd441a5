"""Keep the device fed: the next steps' batches are built while the current step runs.

Building a batch means gathering ``global_batch / devices`` rows from the memory-mapped token
file (random rows: page faults on a cold file) and converting them to int64. On a GPU that host
work would otherwise sit between two steps with the device idle. :class:`BatchFeed` does it in
a background thread, ``depth`` steps ahead (a bounded queue, so memory stays at ``depth``
batches), into pinned host memory when the target is CUDA, and the training loop moves each
batch with ``non_blocking=True`` so the copy overlaps the work already queued on the device.

The batches are exactly those the loop would build inline (the same function is called for the
same steps, in order), so results do not depend on ``depth``; ``depth = 0`` builds inline.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import torch

_POLL_S = 0.1


class BatchFeed:
    """Batches of ``steps`` in order, built up to ``depth`` ahead; use as a context manager."""

    def __init__(self, make: Callable[[int], torch.Tensor], steps: range, device: torch.device, depth: int = 2):
        self.make, self.steps, self.device, self.depth = make, steps, torch.device(device), depth
        self.pin = self.device.type == "cuda"
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _host(self, step: int) -> torch.Tensor:
        batch = self.make(step)  # (rows, seq_len) int64 on the host
        return batch.pin_memory() if self.pin else batch

    def _fill(self) -> None:
        for step in self.steps:
            try:
                item = (step, self._host(step))
            except BaseException as err:  # noqa: BLE001 - handed to the consumer, raised there
                item = (step, err)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=_POLL_S)
                    break
                except queue.Full:
                    continue
            if self._stop.is_set() or isinstance(item[1], BaseException):
                return

    def __enter__(self) -> BatchFeed:
        if self.depth > 0:
            self._thread = threading.Thread(target=self._fill, name="batch-feed", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _next(self, step: int) -> tuple:
        while True:
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError(f"batch feed ended before step {step} (it covers {self.steps})") from None

    def get(self, step: int) -> torch.Tensor:
        """The batch of ``step`` on the device (steps must be asked for in order)."""
        if self._thread is None:
            host = self._host(step)
        else:
            got, host = self._next(step)
            if isinstance(host, BaseException):
                raise host
            if got != step:
                raise RuntimeError(f"batch feed out of order: built step {got}, asked for {step}")
        return host.to(self.device, non_blocking=True)
