"""The HTML report, built from artifacts the real stages wrote (the tiny pipeline)."""

from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib
import pytest

from mda_augment.report.html import signed_pct
from mda_augment.report.stage import sections, write_report

matplotlib.use("Agg")


def test_every_stage_of_the_run_has_a_section_with_content(pipeline_run):
    root, _, _ = pipeline_run
    found = {s.title: s.html for s in sections(root)}
    for title in ("Corpus", "Packed corpus", "Baseline runs", "Attribution (influence on the target head)",
                  "Clusters of high-influence samples", "Generators extracted per cluster", "Synthetic documents",
                  "Experiment (paired by seed, 95% CI)", "Recipe (resolved)"):
        assert title in found, title
        assert "could not be rendered" not in found[title], found[title][:300]
        assert len(re.sub(r"<[^>]+>", "", found[title]).strip()) > 40, title


def test_report_shows_top_samples_with_documents_and_the_cluster_table(pipeline_run):
    root, _, _ = pipeline_run
    text = (root / "report" / "report.html").read_text()
    assert "Top-influence training sequences" in text and "<td class=\"text\">" in text
    attribution = next(s.html for s in sections(root) if s.title.startswith("Attribution"))
    assert re.search(r"[0-9a-f]{16}", attribution)  # document ids of the top sequences
    assert "top 10% share if signs were random (null)" in attribution
    clusters = next(s.html for s in sections(root) if s.title.startswith("Clusters"))
    assert "influence mass share" in clusters and clusters.count("<tr>") >= 3  # header + 2 clusters
    assert "data:image/png;base64," in text and 'src="http' not in text


def test_side_by_side_report_has_every_run(pipeline_run, tmp_path):
    root, _, _ = pipeline_run
    copy = tmp_path / "t2"
    shutil.copytree(root, copy, symlinks=True)
    text = write_report([root, copy], tmp_path / "cmp.html").read_text()
    assert "t: Experiment" in text and "t2: Experiment" in text


def test_report_renders_in_headless_chromium(pipeline_run, tmp_path):
    import matplotlib.image as mpimg

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; `make test` installs it as root)")
    root, _, _ = pipeline_run
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600",
                    f"--screenshot={shot}", (root / "report" / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=90)
    pixels = mpimg.imread(shot)[..., :3]  # (height, width, rgb) in [0, 1]
    assert pixels.shape[0] >= 1000
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.02  # text, tables and plots are drawn, not a blank page
    assert ((pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.4)).mean() > 0.0001  # the headline's blue border (~400 px), plot lines


def test_report_verb_writes_the_page_and_refuses_a_missing_root(pipeline_run, tmp_path):
    from typer.testing import CliRunner

    from mda_augment.cli import app

    root, _, _ = pipeline_run
    ok = CliRunner().invoke(app, ["report", str(root), "--out", str(tmp_path / "r.html")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "r.html").read_text().count("<h2>") >= 8
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "not a run root" in bad.output and "Traceback" not in bad.output


def test_a_change_is_coloured_only_when_its_ci_excludes_zero():
    assert signed_pct(30.0, 0.01, 0.2) == '<span class="pos">+30.0</span>'
    assert signed_pct(30.0, 0.01, 0.2, higher_is_better=False) == '<span class="neg">+30.0</span>'
    assert signed_pct(120.0, -0.4, 0.7) == "+120.0"
