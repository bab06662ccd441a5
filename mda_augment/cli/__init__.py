"""The ``mda-augment`` command: ``run`` for a whole recipe, one verb per stage for direct use.

Each verb module only parses arguments and calls the library; errors are printed as one line
(see :mod:`._app`). Verb modules import nothing heavy at the top, so ``--help`` and the
data-only verbs work on a core install (no torch).
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing a verb module registers its verbs)
    attribute,
    cluster,
    corpus,
    experiment,
    extract,
    pack,
    report,
    run,
    synthesize,
    train,
)
from ._app import app, main  # noqa: F401
