"""Prompt templates (jinja2) from the repository's top-level ``prompts/`` folder.

Prompts are data, not code: they live outside the package, are looked up by a versioned
name (``motif_writer_v1`` -> ``prompts/motif_writer_v1.j2``), and each rendered prompt is
hashed so that a generator's header can say exactly which prompt produced it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import jinja2

from ..errors import ConfigError


def prompts_dir() -> Path:
    """The repository's top-level ``prompts/`` folder (next to the package)."""
    from ..paths import data_dir

    return data_dir("prompts")


@lru_cache(maxsize=4)
def _env(folder: str) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                              lstrip_blocks=True)


def render(name: str, folder: Path | None = None, /, **context) -> str:
    """Render ``<folder>/<name>.j2`` (``name`` may contain a subfolder, e.g. ``templates/xml_v1.py``).

    ``name`` and ``folder`` are positional-only so that templates may use a variable ``name``.
    """
    folder = folder or prompts_dir()
    try:
        template = _env(str(folder)).get_template(f"{name}.j2")
    except jinja2.TemplateNotFound:
        raise ConfigError(f"{folder / (name + '.j2')}: no such prompt template; check the name") from None
    return template.render(**context)


def sha(text: str) -> str:
    """Short sha256 of a rendered prompt or code, for headers and records."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
