"""Typed configuration shared by every stage, and the one safe way to read a recipe file.

Configs are pydantic models with ``extra="forbid"``, so a misspelt key is an error and not a
silently ignored setting. YAML is data, never code: it is read with a ``SafeLoader`` that also
refuses anchors/aliases (a "billion laughs" file would otherwise expand into gigabytes once
validated), any tag outside YAML's plain types, files over 1 MiB, non-UTF-8 and binary files.
Validation errors become one line naming the file, the field path and the fix, with a
"did you mean" for misspelt keys.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

M = TypeVar("M", bound=BaseModel)
MAX_RECIPE_BYTES = 1 << 20


class StrictModel(BaseModel):
    """Base for all configs: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def _inner(annotation: Any) -> Any:
    """Unwrap Optional / list / dict annotations down to the model class they hold (if any)."""
    for _ in range(4):
        args = typing.get_args(annotation)
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else args[0]
        elif origin in (list, tuple, set):
            annotation = args[0] if args else Any
        elif origin is dict:
            return _DictOf(args[1]) if args else None
        else:
            break
    return annotation


class _DictOf:
    """Marker: the location is a free-form mapping whose values are ``value`` models."""

    def __init__(self, value: Any):
        self.value = value


def _walk_loc(model: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The model class the location ``loc`` (field names, dict keys) points into, if any."""
    current: Any = model
    i = 0
    while i < len(loc):
        if isinstance(current, _DictOf):
            current = _inner(current.value)
            i += 1
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(loc[i]))
        if field is None:
            return None
        current = _inner(field.annotation)
        i += 1
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _problem(err: dict, model: type[BaseModel] | None) -> str:
    """The message for one pydantic error, with the fix."""
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        parent = _walk_loc(model, loc[:-1]) if model is not None else None
        known = sorted(parent.model_fields) if parent is not None else []
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]}?" if guess else (f"known fields: {', '.join(known)}" if known else "remove it")
        return f"unknown field; {hint}"
    if kind == "missing":
        return "required field missing; add it"
    got = err.get("input")
    got_txt = "" if isinstance(got, (dict, list)) else f" (got {str(got)[:80]!r})" if isinstance(got, str) \
        else f" (got {str(got)[:80]})"
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{msg}{got_txt}; fix this value" if kind != "value_error" else msg


def format_validation_error(source: str, err: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One line: ``source: a.b: <problem>; <fix>``; further errors counted."""
    errors = err.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"]) or "<root>"
    more = len(errors) - 1
    tail = f" [+{more} more]" if more else ""
    return f"{source}: {loc}: {_problem(first, model)}{tail}"


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` as ``model``; raise :class:`ConfigError` with a one-line message."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err, model)) from None


class _RecipeLoader(yaml.SafeLoader):
    """A SafeLoader that refuses aliases: recipes have no use for them, and they are the way in
    for exponential blow-ups (a few lines of ``*a`` referencing lists of ``*a``)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name / *name) are not allowed in a recipe; write the values out",
                event.start_mark)
        return super().compose_node(parent, index)


def _text_of(path: Path) -> str:
    """The file as UTF-8 text, or a one-line error for what it is instead."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file; pass the path of a recipe YAML")
    if not path.is_file():
        raise ConfigError(f"{path}: is a directory, not a recipe file; pass a .yaml file")
    size = path.stat().st_size
    if size > MAX_RECIPE_BYTES:
        raise ConfigError(f"{path}: {size} bytes is too large for a recipe (limit {MAX_RECIPE_BYTES}); "
                          "is this the right file?")
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"\x00" in raw[:4096] and raw[1:2] == b"\x00"):
        raise ConfigError(f"{path}: looks like UTF-16 text; save the recipe as UTF-8")
    if b"\x00" in raw:
        raise ConfigError(f"{path}: is a binary file (NUL bytes), not a recipe; pass a YAML text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); save the recipe as UTF-8") from None


def load_data(path: str | os.PathLike) -> dict:
    """Read a YAML mapping safely (see the module docstring); one-line errors."""
    path = Path(path)
    text = _text_of(path)
    try:
        data = yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        if "constructor for the tag" in str(err):
            problem = f"{problem} (recipes are data: YAML tags that build objects are not allowed)"
        raise ConfigError(f"{path}:{where}: not a valid recipe YAML ({problem})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a recipe") from None
    if data is None:
        raise ConfigError(f"{path}: is empty; a recipe needs at least 'name' (see recipes/quickstart.yaml)")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys to values (got a {type(data).__name__})")
    return data


def load_yaml(path: str | os.PathLike, model: type[M]) -> M:
    """Read a YAML file safely and validate it as ``model``."""
    return validate(model, load_data(path), str(path))
