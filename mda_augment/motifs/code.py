"""Get generator code out of an LLM reply and check the contract before anything runs.

Replies wrap code in Markdown fences (```python ... ```), sometimes several, sometimes none,
sometimes an unclosed one when the reply hit ``max_tokens``. :func:`extract_code` picks the
block that defines ``generate``; :func:`check_contract` reads it with :mod:`ast` (never
executing it) for the contract: a top-level ``generate(seed, n)`` and imports from the
standard library, faker and polars only. The sandbox is what keeps the code from doing
harm; this check only gives the LLM an early, precise repair message. :func:`stitch` joins a
reply cut at the token budget with the continuation the model was asked for.
"""

from __future__ import annotations

import ast
import re
import sys

ALLOWED_PACKAGES = {"faker", "polars"}


def fenced_blocks(reply: str) -> list[tuple[str, str]]:
    """``(language, body)`` of each Markdown fence. A fence line with a language tag always
    opens a block, even inside an open one (small models write an empty ```` ``` ```` first);
    an unclosed block runs to the end (replies cut at ``max_tokens``)."""
    blocks: list[tuple[str, str]] = []
    lang, body = None, []
    for line in (reply or "").splitlines():
        fence = line.strip()
        if fence.startswith("```"):
            tag = fence[3:].strip().lower()
            if lang is not None:
                blocks.append((lang, "\n".join(body).strip()))
                lang, body = (tag, []) if tag else (None, [])
            else:
                lang, body = tag, []
        elif lang is not None:
            body.append(line)
    if lang is not None:
        blocks.append((lang, "\n".join(body).strip()))
    return [(tag, text) for tag, text in blocks if text]


def extract_code(reply: str) -> str | None:
    """The Python code in ``reply``, or None when there is none.

    Preference: a fenced block defining ``generate``; else the whole reply when it parses
    and defines ``generate``; else the longest fenced block tagged python or untagged (so
    the contract check can say what is missing).
    """
    blocks = fenced_blocks(reply)
    with_generate = [b for _, b in blocks if re.search(r"^\s*def generate\s*\(", b, re.M)]
    if with_generate:
        return max(with_generate, key=len)
    bare = (reply or "").strip()
    if re.search(r"^def generate\s*\(", bare, re.M):
        try:
            ast.parse(bare)
            return bare
        except SyntaxError:
            pass
    python = [b for lang, b in blocks if lang in ("python", "py", "python3", "")]
    return max(python, key=len) if python else None


def _imported_roots(tree: ast.Module) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def check_contract(code: str) -> tuple[bool, str]:
    """``(ok, message)``: parses, defines top-level ``generate(seed, n)``, imports only the
    standard library, faker and polars."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return False, f"syntax error at line {err.lineno}: {err.msg}"
    gen = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "generate"]
    if not gen:
        return False, "no top-level function generate(seed, n)"
    args = gen[0].args
    if len(args.posonlyargs) + len(args.args) != 2:
        return False, "generate must take exactly two arguments: generate(seed, n)"
    foreign = sorted(r for r in _imported_roots(tree)
                     if r not in sys.stdlib_module_names and r not in ALLOWED_PACKAGES)
    if foreign:
        return False, f"imports {', '.join(foreign)}; only the standard library, faker and polars are allowed"
    return True, "ok"


def _inside_fence(text: str) -> bool:
    """Whether ``text`` ends inside an open Markdown code fence."""
    return sum(1 for line in text.splitlines() if line.strip().startswith("```")) % 2 == 1


def stitch(partial: str, more: str, min_overlap: int = 40, max_overlap: int = 4000) -> str:
    """``partial`` (a reply cut at the token budget) followed by its continuation ``more``.

    Asked to continue exactly where they stopped, models mostly do; some first reopen the
    code fence (```` ```python ````), restart the line that was cut, or repeat the last lines.
    A reopened fence is dropped when ``partial`` ends inside one; a restarted line replaces
    the cut one; a repeated tail is dropped when it is at least ``min_overlap`` characters
    long. Shorter matches (a run of spaces, ``)``) are as likely to be the genuine next
    characters, and dropping those would corrupt the code.
    """
    if _inside_fence(partial):
        first, _, rest = more.partition("\n")
        if first.strip().startswith("```") and len(first.strip()) > 3:
            more = rest
    cut = partial.rpartition("\n")[2]
    if len(cut.strip()) >= 8 and len(more) > len(cut) and more.partition("\n")[0].startswith(cut):
        return partial[: len(partial) - len(cut)] + more
    longest = min(len(partial), len(more), max_overlap)
    for k in range(longest, min_overlap - 1, -1):
        if partial.endswith(more[:k]):
            return partial + more[k:]
    return partial + more
