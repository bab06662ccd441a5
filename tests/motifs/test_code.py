"""Code extraction from replies and the static contract check."""

from __future__ import annotations

import pytest

from mda_augment.motifs.code import check_contract, extract_code, stitch

GEN = "import random\n\ndef generate(seed, n):\n    return [str(seed)] * n"


def test_prefers_the_fenced_block_defining_generate():
    reply = f"Here:\n```python\nprint('hi')\n```\nand\n```python\n{GEN}\n```\nDone."
    assert extract_code(reply) == GEN


def test_unclosed_fence_and_bare_code():
    assert extract_code(f"```python\n{GEN}") == GEN  # cut off at max_tokens
    assert extract_code(GEN) == GEN
    assert extract_code("```\n" + GEN + "\n```") == GEN


def test_no_code():
    assert extract_code("I cannot help with that.") is None
    assert extract_code("") is None


def test_contract():
    assert check_contract(GEN) == (True, "ok")
    assert not check_contract("def generate(seed):\n    return []")[0]
    assert not check_contract("def gen(seed, n):\n    return []")[0]
    ok, msg = check_contract("import requests\n" + GEN)
    assert not ok and "requests" in msg
    assert check_contract("import faker, polars, json\n" + GEN)[0]
    assert "syntax" in check_contract("def generate(seed, n) return")[1]


def test_empty_fence_before_the_code_block():
    """SmolLM2 replied '```\\n\\n```python\\n...' (an empty block, then the code)."""
    reply = "```\n\n```python\nimport random\n\ndef generate_words(k):\n    return []\n"
    code = extract_code(reply)
    assert code is not None and code.startswith("import random")
    assert "generate(seed, n)" in check_contract(code)[1]


def test_several_blocks_pick_the_one_with_generate():
    reply = "```\ndef helper():\n    pass\n```\n\n```python\n" + GEN + "\n```"
    assert extract_code(reply) == GEN


FULL = "Here you go.\n```python\nimport random\n\n\ndef generate(seed, n):\n    rng = random.Random(seed)\n    return [str(rng.random()) * 40 for _ in range(n)]\n```\n"


@pytest.mark.parametrize("cut", [20, 47, 80, len(FULL) - 5])
def test_stitch_exact_continuation(cut):
    assert stitch(FULL[:cut], FULL[cut:]) == FULL


def test_stitch_drops_a_reopened_fence_and_a_restarted_line():
    cut = FULL.index("rng.random")
    assert stitch(FULL[:cut], "```python\n" + FULL[cut:]) == FULL
    line_start = FULL.rindex("\n", 0, cut) + 1
    assert stitch(FULL[:cut], FULL[line_start:]) == FULL  # the model rewrote the cut line whole


def test_stitch_drops_a_long_repeated_tail_but_keeps_short_coincidences():
    cut = FULL.index("    return")
    assert stitch(FULL[:cut], FULL[cut - 45:]) == FULL  # repeated 45 characters
    partial, more = "x = f(a)\n", "\ny = 1\n"  # a newline that is really the next character
    assert stitch(partial, more) == partial + more
