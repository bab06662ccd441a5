"""The one console every stage prints its status lines to (stderr, so stdout stays for results)."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, highlight=False, soft_wrap=True)  # no line breaks inserted into messages


def say(message: str) -> None:
    console.print(message)
