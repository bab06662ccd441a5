"""Where the data folders that are not code live: ``generators/``, ``prompts/``, ``recipes/``.

They sit next to the package in a checkout (an editable install reads them there) and are
installed as data files under ``<prefix>/share/mda-augment/`` by a plain ``pip install .``
(see ``pyproject.toml``), so a core install finds its reference generators and prompts too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import EnvironmentUnavailable

SHARE = Path("share") / "mda-augment"


def data_dir(name: str) -> Path:
    """The folder ``name`` (``generators``, ``prompts``, ``recipes``): the checkout's, else the installed copy."""
    checkout = Path(__file__).resolve().parents[1] / name
    if checkout.is_dir():
        return checkout
    for prefix in (sys.prefix, sys.base_prefix):
        installed = Path(prefix) / SHARE / name
        if installed.is_dir():
            return installed
    raise EnvironmentUnavailable(f"the '{name}' data folder is neither next to the package ({checkout}) nor "
                                 f"installed under {Path(sys.prefix) / SHARE}; reinstall mda-augment")
