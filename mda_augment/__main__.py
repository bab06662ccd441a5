"""``python -m mda_augment ...`` is the ``mda-augment`` command."""

from .cli import main

main()
