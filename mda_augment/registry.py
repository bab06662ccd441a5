"""One registry type for every kind of plug-in: probes, detectors, presets, generators, measures.

lm-eval's ``registry.py`` pattern: a :class:`Registry` maps stable, versioned names
(``copy_target``, ``xml_tags_v1``, ``nano``) to objects. Adding a name twice raises, so two
plug-ins can never silently replace each other. An entry may also be *lazy*: the string
``"package.module:attr"`` is imported the first time the name is looked up, so a light module
(a config, the CLI's help) can list every name without importing torch.

Usage::

    PROBES = Registry("probe")

    @PROBES.register("prefix_matching")
    def prefix_matching(...): ...

    PROBES.add_lazy("copying_resid", "mda_augment.units.probes:copying_resid")
    PROBES.get("prefix_matching")     # one-line ConfigError naming the known names if absent
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class _Lazy:
    """A ``module:attr`` reference, resolved on first use."""

    def __init__(self, target: str):
        module, sep, attr = target.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"lazy registry entry {target!r} must look like 'package.module:attr'")
        self.module, self.attr = module, attr

    def load(self) -> object:
        return getattr(importlib.import_module(self.module), self.attr)


class Registry(Generic[T]):
    """Name -> object, duplicates refused, lazy ``module:attr`` entries resolved on lookup."""

    def __init__(self, kind: str):
        self.kind = kind  # used in messages: "unknown probe 'x'"
        self._entries: dict[str, T | _Lazy] = {}

    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` under ``name``; a name already taken raises ``ValueError`` (a bug)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = obj
        return obj

    def add_lazy(self, name: str, target: str) -> None:
        """Register ``package.module:attr`` under ``name`` without importing it yet."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = _Lazy(target)

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def wrap(obj: T) -> T:
            return self.add(name, obj)

        return wrap

    def get(self, name: str) -> T:
        """The object for ``name``; a one-line :class:`ConfigError` listing the known names if absent."""
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries) or '(none)'}")
        entry = self._entries[name]
        if isinstance(entry, _Lazy):
            entry = entry.load()  # type: ignore[assignment]
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def check(self, name: str) -> str:
        """Validate a name without loading a lazy entry (for light config validators)."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries) or '(none)'}")
        return name

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        for name in list(self._entries):
            yield name, self.get(name)
