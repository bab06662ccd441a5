"""The cluster and extract verbs, end to end through the CLI (offline extractor)."""

from __future__ import annotations

from typer.testing import CliRunner

from mda_augment.cli import app


def test_cluster_then_extract(scored, tmp_path):
    packed, scores = scored
    runner = CliRunner()
    res = runner.invoke(app, ["cluster", str(scores), "--packed", str(packed), "--out", str(tmp_path / "cl"),
                              "--top-fraction", "0.3", "--k", "2", "--background", "100"])
    assert res.exit_code == 0, res.output
    assert "of influence mass" in res.output and (tmp_path / "cl" / "influence_mass.png").is_file()
    res = runner.invoke(app, ["extract", str(tmp_path / "cl"), "--out", str(tmp_path / "ex"), "--max-clusters", "1"])
    assert res.exit_code == 0, res.output
    assert "via offline" in res.output


def test_user_errors_are_one_line(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["extract", str(tmp_path / "missing"), "--out", str(tmp_path / "ex")])
    assert res.exit_code == 2 and "no complete clusters artifact" in res.output
    res = runner.invoke(app, ["extract", str(tmp_path), "--out", str(tmp_path / "ex"), "--llm-model", "m"])
    assert res.exit_code == 2 and "go together" in res.output


def test_extract_with_an_llm_prints_a_line_per_cluster(scored, tmp_path):
    """A server rejecting max_tokens and temperature (like current reasoning models): the line
    says the generator came from the LLM and how the request was adapted."""
    from .loopback import Loopback

    packed, scores = scored
    runner = CliRunner()
    res = runner.invoke(app, ["cluster", str(scores), "--packed", str(packed), "--out", str(tmp_path / "cl"),
                              "--top-fraction", "0.3", "--k", "2", "--background", "100"])
    assert res.exit_code == 0, res.output
    with Loopback() as srv:
        res = runner.invoke(app, ["extract", str(tmp_path / "cl"), "--out", str(tmp_path / "ex"), "--max-clusters", "1",
                                  "--llm-base-url", srv.url("reasoning"), "--llm-model", "m",
                                  "--llm-temperature", "0.7", "--allow-code-execution"])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if x.strip().startswith("cluster 0"))
    assert "accepted from LLM at the first ask" in line and "of mass" in line
    assert "max_tokens rejected" in line and "temperature rejected" in line
