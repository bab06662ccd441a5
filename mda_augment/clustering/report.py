"""Human-readable outputs of the clusters artifact: a bar chart and a Markdown table."""

from __future__ import annotations

from pathlib import Path

from ..artifacts import atomic_write_text


def plot_mass(clusters: list[dict], path: Path) -> None:
    """Bar chart: share of total influence mass per cluster, with each cluster's share of
    samples beside it, so a cluster holding more mass than members stands out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_total = sum(c["size"] for c in clusters) or 1
    names = [f"{c['id']}: {c['label']}" for c in clusters]
    mass = [100 * c["influence_mass_share"] for c in clusters]
    size = [100 * c["size"] / n_total for c in clusters]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(clusters) + 1.5))
    y = range(len(clusters))
    ax.barh([i - 0.2 for i in y], mass, height=0.4, label="% of all influence mass")
    ax.barh([i + 0.2 for i in y], size, height=0.4, label="% of selected samples")
    ax.set_yticks(list(y), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("percent")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt_detectors(shares: dict[str, float]) -> str:
    return ", ".join(f"{n.rsplit('_v', 1)[0]} {v:.0%}" for n, v in shares.items() if v >= 0.2) or "-"


def _fmt_model(m: dict | None) -> str:
    """Model-token induction share with its CI, median lag, repeated-content entropy."""
    if not m:
        return "- | - | -"
    lo, hi = m.get("induction_share_ci", [m["induction_share"]] * 2)
    return f"{m['induction_share']:.3f} [{lo:.3f}, {hi:.3f}] | {m['lag_median']:.0f} | {m['repeat_entropy']:.2f}"


def write_markdown(clusters: list[dict], base: dict, summary: dict, path: Path) -> None:
    """clusters.md: one row per cluster and the selection-vs-background detector table."""
    view = summary.get("model_tokens", {})
    lines = [
        "# Clusters of high-influence samples", "",
        f"{summary['selected']} of {summary['scored']} scored sequences selected "
        f"({summary['selected_share_of_scored']:.1%}), holding {summary['selected_mass_share']:.1%} "
        "of the positive influence mass.", "",
        f"Model-token columns: tokenizer {view.get('tokenizer', '?')}, {view.get('seq_len', '?')}-token windows "
        "(share of positions whose bigram already occurred earlier in the window, 95% CI; median lag "
        "in tokens back to the earlier copy; entropy in bits of the repeated tokens). Word share: the "
        "same on word tokens (secondary).", "",
        "| id | label | size | mass share | mean score | detectors firing (share of members) "
        "| model-token share | lag | repeat entropy | word share |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in clusters:
        lines.append(f"| {c['id']} | {c['label']} | {c['size']} | {c['influence_mass_share']:.1%} | "
                     f"{c['mean_score']:.4g} | {_fmt_detectors(c['profile']['detectors'])} | "
                     f"{_fmt_model(c.get('model'))} | {c['profile']['stats']['induction_share']:.3f} |")
    lines.append(f"| background | random training sequences | {base.get('n', '-')} | | | "
                 f"{_fmt_detectors(base['detectors'])} | {_fmt_model(base.get('model'))} | "
                 f"{base['stats']['induction_share']:.3f} |")
    lines += ["", "## Selected samples vs. background (random training sequences)", "",
              "| detector | selected | background | ratio |", "|---|---|---|---|"]
    sel = summary["selected_profile"]["detectors"]
    for name, ratio in summary["over_representation"].items():
        lines.append(f"| {name} | {sel[name]:.1%} | {base['detectors'][name]:.1%} | {ratio:.2f} |")
    lines.append(f"| induction share (mean) | {summary['selected_profile']['stats']['induction_share']:.3f} "
                 f"| {base['stats']['induction_share']:.3f} | |")
    atomic_write_text(path, "\n".join(lines) + "\n")
