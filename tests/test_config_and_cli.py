"""Recipes are validated whole before anything is built; bad input is one line, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mda_augment.artifacts import is_complete
from mda_augment.cli import app
from mda_augment.errors import ConfigError, MdaError
from mda_augment.recipe import load_recipe

runner = CliRunner()
RECIPES = sorted(Path("recipes").glob("*.yaml"))
PIPELINE_RECIPES = [p for p in RECIPES if "name:" in p.read_text()]


def write(tmp_path: Path, body: str | bytes, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


BAD = [
    ("", "is empty"),
    ("name: q\n  bad: [\n", "not a valid recipe YAML"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("name: !!python/object/apply:os.system [echo hi]\n", "YAML tags that build objects are not allowed"),
    ("name: q\ntrain: {options: {units: {probes: [!!python/name:os.system '']}}}\n", "not allowed"),
    ("name: q\npack: {seq_len: four}\n", "pack.seq_len: Input should be a valid integer"),
    ("name: q\npack: {seqlen: 4}\n", "pack.seqlen: unknown field; did you mean seq_len?"),
    ("name: q\npack: {seq_len: 0}\n", "pack.seq_len: Input should be greater than or equal to 8"),
    ("name: q\npack: {seq_len: 100000000}\n", "pack.seq_len: Input should be less than or equal to 65536"),
    ("name: q\ntrain: {steps: -5}\n", "train.steps: Input should be greater than or equal to 1"),
    ("name: q\ntrain: {scales: [nano-xl]}\n", "unknown model preset 'nano-xl'"),
    ("name: q\ntrain: {options: {lrr: 0.001}}\n", "train.options.lrr: unknown field; did you mean lr?"),
    ("name: q\ntrain: {options: {units: {n_randomm: 3}}}\n", "train.options.units.n_randomm: unknown field; did you mean n_random?"),
    ("name: q\nattribute: {options: {modee: qk}}\ntrain: {}\n", "attribute.options.modee: unknown field; did you mean mode?"),
    ("name: q\nexperiment: {variants: {s: {variant: synthetic, ratioo: 0.1, synthetic: x}}}\ntrain: {}\n",
     "experiment.variants.s.ratioo: unknown field; did you mean ratio?"),
    ("name: q\nexperiment: {branch: {stepp: 6000}}\ntrain: {}\n", "experiment.branch.stepp: unknown field; did you mean step?"),
    ("name: q\ntrain: {steps: 100}\nexperiment: {branch: {step: 2000}}\n", "branch.step (2000) must be below steps (100)"),
    ("name: q\nattribution: {}\n", "'attribution' is now 'attribute'"),
    ("name: q\ncorpus: {path: some/folder}\n", "corpus.path is set but corpus.source is 'minipile'"),
    ("name: q\ncorpus: {source: folder}\n", "needs corpus.path"),
    ("name: ..\n", "name: String should match pattern"),
    ("name: a/b\n", "name: String should match pattern"),
    ("name: q\nwhat: 1\n", "what: unknown field"),
    ("name: q\ncluster: {}\n", "stage 'cluster' needs stage 'attribute'"),
    ("name: q\ntrain: {}\nexperiment: {variants: {s: {variant: synthetic, synthetic: '@synthesize'}}}\n",
     "'@synthesize' refers to stage 'synthesize', which this recipe does not run"),
    ("name: q\ntrain: {}\nexperiment: {variants: {s: {variant: synthetic, synthetic: '@synthetic'}}}\n",
     "'@synthetic' is now '@synthesize'"),
    ("name: q\ntrain: {}\nexperiment: {variants: {s: {variant: upweight_top, scores: '@nope'}}}\n", "'@nope' names no stage"),
    ("name: q\nsynthesize: {generators: [no_such_generator_v1], n: 3}\n", "no_such_generator_v1"),
]


@pytest.mark.parametrize("body,needle", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_recipes_fail_at_load_with_one_line_naming_file_and_field(tmp_path, body, needle):
    path = write(tmp_path, body)
    with pytest.raises(MdaError) as err:
        load_recipe(path)
    msg = str(err.value)
    assert str(path) in msg and needle in msg and "\n" not in msg, msg


def test_billion_laughs_fails_fast_and_small(tmp_path):
    lines = ["name: q", "a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    start = time.monotonic()
    with pytest.raises(ConfigError, match="anchors and aliases"):
        load_recipe(path)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("data,needle", [
    ("name: q\n".encode("utf-16"), "looks like UTF-16"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)), "binary file"),
    (b"name: caf\xe9\n", "not UTF-8 text"),
    (b"x" * (2 << 20), "too large for a recipe"),
])
def test_non_text_recipe_files_are_refused(tmp_path, data, needle):
    with pytest.raises(ConfigError, match=needle):
        load_recipe(write(tmp_path, data))


def test_paths_are_checked_at_load(tmp_path):
    (tmp_path / "a_file.txt").write_text("x")
    with pytest.raises(ConfigError, match="does not exist"):
        load_recipe(write(tmp_path, f"name: q\ncorpus: {{source: folder, path: {tmp_path / 'missing'}}}\n"))
    with pytest.raises(ConfigError, match="is a file; source 'folder' needs a folder"):
        load_recipe(write(tmp_path, f"name: q\ncorpus: {{source: folder, path: {tmp_path / 'a_file.txt'}}}\n"))
    with pytest.raises(ConfigError, match="is a folder; source 'jsonl' needs a file"):
        load_recipe(write(tmp_path, f"name: q\ncorpus: {{source: jsonl, path: {tmp_path}}}\n"))
    with pytest.raises(ConfigError, match="is an existing file"):
        load_recipe(write(tmp_path, f"name: q\nout_dir: {tmp_path / 'a_file.txt'}\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_recipe(tmp_path)


@pytest.mark.parametrize("path", RECIPES and PIPELINE_RECIPES, ids=lambda p: p.stem)
def test_shipped_pipeline_recipes_pass_check_quickly(path):
    start = time.monotonic()
    result = runner.invoke(app, ["run", str(path), "--check"])
    assert result.exit_code == 0, result.output
    assert "valid; stages: corpus, pack, train" in result.output
    assert time.monotonic() - start < 10  # the 2 s goal is measured on a quiet machine (benchmarks/bench_check.py)


def test_check_builds_nothing(tmp_path):
    path = write(tmp_path, f"name: q\nout_dir: {tmp_path / 'runs'}\n")
    result = runner.invoke(app, ["run", str(path), "--check"])
    assert result.exit_code == 0 and not (tmp_path / "runs").exists()


def test_cli_user_error_is_one_line_exit_2(tmp_path):
    result = runner.invoke(app, ["pack", str(tmp_path / "missing"), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "no complete document store" in result.output and "Traceback" not in result.output


def test_an_out_path_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    result = runner.invoke(app, ["corpus", "read", "folder", str(tmp_path), "--out", str(tmp_path / "f")])
    assert result.exit_code == 2 and "is an existing file" in result.output, result.output


def test_an_internal_error_is_one_line_not_a_traceback(monkeypatch, tmp_path):
    import mda_augment.recipe as recipe

    def broken(path):
        raise KeyError("boom")

    monkeypatch.setattr(recipe, "load_recipe", broken)
    result = runner.invoke(app, ["run", str(tmp_path / "r.yaml")])
    assert result.exit_code == 1 and "internal error (KeyError" in result.output and "MDA_DEBUG=1" in result.output
    assert "Traceback" not in result.output


def test_a_failing_training_worker_comes_back_as_one_line(tmp_path):
    from mda_augment.training.grid import train_runs

    bad = {"preset": "tiny", "corpus": str(tmp_path / "not-packed"), "out": str(tmp_path / "run"), "steps": 2}
    with pytest.raises(MdaError) as err:
        train_runs([bad], 1, "test")
    assert "no complete packed corpus" in str(err.value) and "\n" not in str(err.value)
    typo = {**bad, "lrr": 0.1}
    with pytest.raises(MdaError, match=r"lrr: unknown field; did you mean lr\?"):
        train_runs([typo], 1, "test")


def test_run_recipe_on_a_folder_corpus_and_resume(tmp_path):
    texts = tmp_path / "texts"
    texts.mkdir()
    for i in range(30):
        (texts / f"f{i}.txt").write_text(f"document {i} " + "words and more words " * (5 + i))
    recipe = write(tmp_path, f"name: t\nout_dir: {tmp_path / 'runs'}\ncorpus:\n  source: folder\n  path: {texts}\n"
                   "pack:\n  tokenizer: bpe-260\n  seq_len: 16\n  heldout_fraction: 0.1\n")
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "runs" / "t"
    assert is_complete(root / "corpus") and is_complete(root / "pack") and (root / "recipe.json").is_file()
    again = runner.invoke(app, ["run", str(recipe)])
    assert again.exit_code == 0 and again.output.count("complete, skipping") == 2
