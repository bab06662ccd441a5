"""The HTML report: built from real stage artifacts, self-contained, and it renders in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402

from mda_augment.experiments.runner import ExperimentConfig, summarize_results  # noqa: E402
from mda_augment.report.html import write_report  # noqa: E402


def fake_run(root, gain: float):
    """A run root whose experiment results are made here (3 seeds, baseline vs synthetic)."""
    exp = root / "experiment"
    exp.mkdir(parents=True)
    rows = []
    for variant, bonus in (("baseline", 0.0), ("synthetic", gain)):
        for seed in range(3):
            rows.append({"variant": variant, "scale": "nano", "seed": seed,
                         "emergence_step": 1000.0 - 300 * bonus - 10 * seed, "area": 0.1 + bonus / 5,
                         "score_at_fixed_step": 0.2 + bonus * 0.2 + 0.01 * seed, "final_score": 0.5,
                         "icl": 0.3, "heldout_loss": 4.0 + 0.001 * seed})
    cfg = ExperimentConfig(steps=2000)
    summarize_results(pl.DataFrame(rows), cfg).write_parquet(exp / "summary.parquet")
    (exp / "experiment.json").write_text(json.dumps(cfg.model_dump(mode="json")))
    fig, ax = plt.subplots()
    ax.plot(np.arange(10), np.linspace(0, 0.6, 10), label="baseline")
    ax.legend()
    fig.savefig(exp / "curves-nano.png")
    plt.close(fig)
    (root / "attribution").mkdir()
    (root / "attribution" / "summary.json").write_text(json.dumps({"top10_mass_share": 0.48, "n_scored": 4000}))
    pl.DataFrame({"text": ["<item id='a1'>x</item><item id='a1'>"]}).write_parquet(root / "attribution" / "top.parquet")
    (root / "recipe.json").write_text(json.dumps({"name": root.name, "pack": {"seq_len": 128}}))
    return root


def test_single_run_report_is_self_contained_with_headline(tmp_path):
    root = fake_run(tmp_path / "quick", gain=0.5)
    out = write_report([root])
    text = out.read_text()
    assert "data:image/png;base64," in text and "<img" in text
    assert "synthetic</b> at <b>nano" in text and "% vs baseline" in text
    assert "top10_mass_share" in text and "item id=&#x27;a1&#x27;" in text
    assert "Clusters of high-influence samples" in text and "not produced by this run" in text
    assert 'src="http' not in text  # nothing fetched from elsewhere


def test_side_by_side_report_has_every_run(tmp_path):
    a = fake_run(tmp_path / "ratio2", gain=0.2)
    b = fake_run(tmp_path / "ratio10", gain=0.8)
    text = write_report([a, b], tmp_path / "cmp.html").read_text()
    assert "ratio2" in text and "ratio10" in text and text.count("<img") >= 2


def test_report_renders_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; `make test` installs it as root)")
    out = write_report([fake_run(tmp_path / "quick", gain=0.5)])
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600",
                    f"--screenshot={shot}", out.as_uri()], check=True, capture_output=True, timeout=90)
    pixels = mpimg.imread(shot)[..., :3]  # (height, width, rgb) in [0, 1]
    assert pixels.shape[0] >= 1000
    inked = (pixels.mean(axis=2) < 0.9).mean()
    assert inked > 0.02  # text, tables and the plot are drawn, not a blank page
    blue = ((pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.4)).mean()
    assert blue > 0.0005  # the matplotlib line / headline border actually rendered
    shutil.copy(shot, tmp_path.parent / "last-report-screenshot.png")


def test_report_verb_writes_side_by_side_page(tmp_path):
    from typer.testing import CliRunner

    from mda_augment.cli import app

    a, b = fake_run(tmp_path / "a", 0.1), fake_run(tmp_path / "b", 0.4)
    result = CliRunner().invoke(app, ["report", str(a), str(b), "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c.html").read_text().count("<h3>") >= 2


def test_headline_colours_a_change_only_when_its_ci_excludes_zero():
    from mda_augment.report.html import _signed

    significant = {"rel_change_pct": 30.0, "diff_ci_low": 0.01, "diff_ci_high": 0.2}
    spanning = {"rel_change_pct": 120.0, "diff_ci_low": -0.4, "diff_ci_high": 0.7}
    assert _signed(significant) == '<span class="pos">+30.0</span>'
    assert _signed(significant, higher_is_better=False) == '<span class="neg">+30.0</span>'
    assert _signed(spanning) == "+120.0"
