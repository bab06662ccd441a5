"""The typer application and the error boundary shared by every verb module.

Every verb runs inside :func:`user_errors`: an :class:`~mda_augment.errors.MdaError` (bad input,
missing tool) is printed as one line, exit 2; Ctrl-C says how to resume, exit 130; anything
else is a bug, printed as one line that names it and how to get the traceback
(``MDA_DEBUG=1``), exit 1. No traceback reaches a user by default.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from ..errors import MdaError

app = typer.Typer(
    name="mda-augment",
    help="Find the training data that forms induction heads, and synthesize more of it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn errors into one line on stderr and an exit status (see the module docstring)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MdaError as err:
            typer.secho(f"error: {err}", fg="red", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.secho("interrupted; rerun the same command to resume (finished work is kept)", err=True)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as err:  # noqa: BLE001 - the boundary: a bug, reported in one line
            if os.environ.get("MDA_DEBUG"):
                raise
            first = (str(err).splitlines() or [""])[0][:300]
            typer.secho(f"error: internal error ({type(err).__name__}: {first}); this is a bug in mda-augment: "
                        "rerun with MDA_DEBUG=1 for the traceback and report it", fg="red", err=True)
            raise typer.Exit(1) from None

    return wrapper


def main() -> None:  # pragma: no cover - console entry
    app(prog_name="mda-augment", args=sys.argv[1:])
