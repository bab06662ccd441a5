"""Per-cluster coverage and repetition in the model's tokens: clusters vs generators vs natural text.

Usage:
    python benchmarks/bench_cluster_coverage.py --packed RUN/packed --clusters RUN/clusters \\
        --motifs RUN/motifs [--synthetic RUN/synthetic] [--name quickstart] [--out FILE.md]

For every cluster (most influence mass first): its share of the selected mass; the model-token
induction share (share of positions whose bigram already occurred earlier in the same
``seq_len`` window of the packed corpus's tokenizer) of its members, of the natural background
and of the generator that covers it, measured on the synthetic store's documents of that
generator (or, without a store, on documents it generates in the sandbox), packed as the model
sees them; the generator's token 8-gram novelty and near-duplicate share; its matched no-repeat
control; and, as the baseline measured in the same run, the fixed-family template the old
offline extractor would have used for the cluster. Then the positive control, the store's
mass-weighted share and the done-when checks of issue 12. Works for any run (quickstart, nano
study, 14m): everything is read from the artifacts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mda_augment.clustering import load_clusters  # noqa: E402
from mda_augment.clustering.model_stats import model_reference  # noqa: E402
from mda_augment.corpus.packed import PackedCorpus  # noqa: E402
from mda_augment.corpus.store import read_table  # noqa: E402
from mda_augment.motifs.offline import render_generator, variants  # noqa: E402
from mda_augment.sandbox import SandboxConfig, run_code  # noqa: E402
from mda_augment.structure.model_tokens import (  # noqa: E402
    ModelView,
    near_duplicate_share,
    ngram_novelty,
    per_window_share,
    ratio_ci,
    text_stats,
    window_stats,
)

SANDBOX = SandboxConfig(timeout_s=120, cpu_s=120, memory_mb=2048)


def natural_share(packed_dir: Path, n: int, seed: int = 0) -> dict:
    """Model-token statistics of ``n`` random training windows of the packed corpus."""
    packed = PackedCorpus(packed_dir)
    rng = np.random.default_rng(seed)
    seqs = np.sort(rng.choice(packed.n_sequences, size=min(n, packed.n_sequences), replace=False))
    windows = np.asarray(packed.tokens[seqs], dtype=np.int64)
    stats = window_stats(windows)
    stats["induction_share_ci"] = list(ratio_ci(per_window_share(windows)))
    return stats


def store_docs(store: Path | None) -> dict[str, list[str]]:
    """Synthetic store documents by generator name."""
    if store is None:
        return {}
    table = read_table(store, ["text", "source"])
    out: dict[str, list[str]] = {}
    for source in pc.unique(table["source"]).to_pylist():
        mask = pc.equal(table["source"], source)
        out[source.removeprefix("generator:")] = table.filter(mask)["text"].to_pylist()
    return out


def measure_docs(docs: list[str], view: ModelView) -> dict:
    stats = text_stats(docs, view)
    windows = view.windows(docs)
    stats["induction_share_ci"] = list(ratio_ci(per_window_share(windows)))
    stats["novelty"] = ngram_novelty(view.encode_docs(docs[:200]))
    stats["near_duplicates"] = near_duplicate_share(docs[:200])
    return stats


def run_file(path: Path, n: int, seed: int = 7) -> list[str]:
    result = run_code(path.read_text(encoding="utf-8"), seed, n, SANDBOX, filename=str(path))
    if not result.ok:
        raise RuntimeError(f"{path}: {result.reason}: {result.message[:200]}")
    return result.docs


def old_template_share(cluster: dict, clusters_dir: Path, view: ModelView, n: int) -> dict:
    """The fixed-family template (first variant) the old offline extractor fitted: the baseline."""
    family, params = variants(cluster)[0]
    code = render_generator(cluster, family, params, f"baseline_c{cluster['id']}_v1", str(clusters_dir))
    result = run_code(code, 7, n, SANDBOX)
    return {"family": family, **(text_stats(result.docs, view) if result.ok else {"induction_share": float("nan")})}


def _boost(row: dict | None) -> str:
    """How the accepted mined generator was tuned (the ladder rung's knobs), or the family."""
    prov = (row or {}).get("provenance") or {}
    p = prov.get("params") or {}
    if "echo" in p:
        knobs = [f"echo {p['echo']:g}x{p.get('copies', 1)}" if p["echo"] else "",
                 f"merge {p['merge']:g}" if p.get("merge") else "", f"focus {p['focus']:g}" if p.get("focus") else ""]
        return ", ".join(k for k in knobs if k) or "as mined"
    return prov.get("family", "-")


def _detectors(row: dict | None, cluster: dict) -> str:
    """Members' vs generated fire share of each detector the generator had to reproduce."""
    checks = [c for c in (row or {}).get("checks") or [] if c["name"].startswith("detector:")]
    fired = cluster["profile"]["detectors"]
    return ", ".join(f"{c['name'][9:].rsplit('_v', 1)[0]} {fired[c['name'][9:]]:.0%}->{c['value']:.0%}"
                     for c in checks) or "none dominant"


def cluster_rows(args, clusters, per_cluster, coverage, docs_by_gen, view, extract_rows) -> list[dict]:
    samples = pl.read_parquet(Path(args.clusters) / "samples.parquet", columns=["cluster", "text"])
    # the members' own windows as documents, re-packed at other offsets (no selection on alignment)
    member_texts = {int(k[0]): g["text"].to_list() for k, g in samples.group_by("cluster")}
    rows = []
    motifs = Path(args.motifs)
    for entry in coverage["clusters"]:
        cluster = next(c for c in clusters if c["id"] == entry["cluster"])
        member = per_cluster[cluster["id"]]
        row = {"id": cluster["id"], "label": cluster["label"], "size": cluster["size"],
               "mass_share": entry["mass_share"], "cluster": member["induction_share"],
               "cluster_ci": member.get("induction_share_ci", [np.nan, np.nan]),
               "cluster_lag": member["lag_median"], "cluster_entropy": member["repeat_entropy"],
               "word_share": cluster["profile"]["stats"]["induction_share"],
               "generator": entry["generator"], "method": entry["source"] or "none",
               "status": entry["status"], "reason": entry.get("reason", ""),
               "boost": _boost(extract_rows.get(cluster["id"])),
               "as_mined": (extract_rows.get(cluster["id"]) or {}).get("as_mined"),
               "detectors": _detectors(extract_rows.get(cluster["id"]), cluster)}
        if entry["generator"]:
            docs = docs_by_gen.get(entry["generator"]) or run_file(motifs / "generators" / f"{entry['generator']}.py", args.n)
            row["gen"] = measure_docs(docs, view)
            row["gen_from"] = "store" if entry["generator"] in docs_by_gen else "sandbox"
            control = motifs / "controls" / f"{entry['generator'].replace('_v1', '_norepeat_v1')}.py"
            if control.is_file():
                row["control"] = text_stats(run_file(control, args.n), view)
        row["old"] = old_template_share(cluster, Path(args.clusters), view, args.n)
        row["repacked"] = text_stats(member_texts.get(cluster["id"], []), view)["induction_share"] \
            if member_texts.get(cluster["id"]) else float("nan")
        rows.append(row)
    return rows


def _f(x, fmt=".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)


def table(rows: list[dict], natural: dict, background: dict) -> list[str]:
    lines = ["| cluster | label | mass share | cluster share [95% CI] | lag / entropy | background | "
             "generator share [95% CI] | x natural | novelty / near-dup | no-repeat control | "
             "old template (baseline) | covered by | members re-packed | as mined, no boost | tuned | "
             "detectors members->generated | word share (cluster) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g = r.get("gen") or {}
        ci = g.get("induction_share_ci", [None, None])
        gen = f"{_f(g.get('induction_share'))} [{_f(ci[0])}, {_f(ci[1])}]" if g else "-"
        cover = f"{r['method']}: `{r['generator']}`" if r["generator"] else f"none ({r['reason'][:90]})"
        lines.append(
            f"| {r['id']} | {r['label']} | {r['mass_share']:.1%} | {r['cluster']:.3f} "
            f"[{_f(r['cluster_ci'][0])}, {_f(r['cluster_ci'][1])}] | {r['cluster_lag']:.0f} / {r['cluster_entropy']:.2f} "
            f"| {background['induction_share']:.3f} | {gen} | {_f(g.get('induction_share', np.nan) / natural['induction_share'], '.2f')} "
            f"| {_f(g.get('novelty'), '.2f')} / {_f(g.get('near_duplicates'), '.0%')} "
            f"| {_f((r.get('control') or {}).get('induction_share'))} "
            f"| {_f(r['old'].get('induction_share'))} ({r['old']['family']}) | {cover} | {_f(r['repacked'])} "
            f"| {_f(r['as_mined'])} | {r['boost']} "
            f"| {r['detectors']} | {r['word_share']:.3f} |")
    return lines


def done_when(rows: list[dict], natural: dict, coverage: dict, factor: float = 1.5) -> tuple[list[str], dict]:
    nat = natural["induction_share"]
    covered = [r for r in rows if r.get("gen")]
    mass = sum(r["mass_share"] for r in covered)
    weighted = sum(r["mass_share"] * r["gen"]["induction_share"] for r in covered) / mass if mass else float("nan")
    major = [r for r in rows if r["mass_share"] >= 0.05]
    major_ok = [r for r in major if r.get("gen") and r["gen"]["induction_share"] >= r["cluster"]
                and r["gen"]["induction_share"] >= factor * nat]
    checks = {
        "coverage >= 90% of the selected mass": (coverage["covered_mass_share"], coverage["covered_mass_share"] >= 0.9),
        f"every cluster >= 5% of mass: generator share >= cluster's and >= {factor}x natural ({factor * nat:.3f})":
            (f"{len(major_ok)} of {len(major)}", len(major_ok) == len(major)),
        f"mass-weighted share of the store >= {factor}x natural ({factor * nat:.3f})":
            (round(weighted, 3), weighted >= factor * nat),
    }
    lines = ["| done-when goal | measured | met |", "|---|---|---|"]
    lines += [f"| {k} | {v} | {'yes' if ok else '**no**'} |" for k, (v, ok) in checks.items()]
    return lines, {"mass_weighted_share": weighted, **{k: ok for k, (_, ok) in checks.items()}}


def excerpts(rows: list[dict], clusters: list[dict], docs_by_gen: dict[str, list[str]], chars: int = 360) -> list[str]:
    """The top exemplar of each covered cluster next to the start of one generated document."""
    fence = "~~~"
    out = ["## Excerpts: top member vs generated document", ""]
    for r in rows:
        if not r["generator"] or r["generator"] not in docs_by_gen:
            continue
        member = next(c for c in clusters if c["id"] == r["id"])["exemplars"][0]["text"][:chars]
        generated = docs_by_gen[r["generator"]][0][:chars]
        out += [f"Cluster {r['id']} ({r['label']}), top member:", "", fence, member, fence, "",
                f"`{r['generator']}`, first document:", "", fence, generated, fence, ""]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packed", required=True)
    ap.add_argument("--clusters", required=True)
    ap.add_argument("--motifs", required=True)
    ap.add_argument("--synthetic", default=None, help="synthetic store built from the motifs' generators")
    ap.add_argument("--name", default="quickstart")
    ap.add_argument("--natural", type=int, default=3000, help="random training windows for the natural share")
    ap.add_argument("--n", type=int, default=64, help="documents per sandboxed measurement")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    start = time.monotonic()
    clusters, _, _ = load_clusters(args.clusters)
    view, background, per_cluster = model_reference(args.clusters)
    summary = json.loads((Path(args.motifs) / "summary.json").read_text())
    natural = natural_share(Path(args.packed), args.natural)
    docs_by_gen = store_docs(Path(args.synthetic) if args.synthetic else None)
    extract_rows = {r["cluster"]: r for r in summary["clusters"]}
    for line in (Path(args.motifs) / "attempts.jsonl").read_text().splitlines():
        att = json.loads(line)  # the faithful reproduction: the first mined rung, before any boost
        if att.get("method") == "mined" and att["round"] == 0 and att["cluster"] in extract_rows:
            shares = [c["value"] for c in att.get("checks", []) if c["name"] == "model_induction_share"]
            extract_rows[att["cluster"]]["as_mined"] = shares[0] if shares else None
    rows = cluster_rows(args, clusters, per_cluster, summary["coverage"], docs_by_gen, view, extract_rows)
    goals, result = done_when(rows, natural, summary["coverage"])
    out = [f"# Cluster coverage in model tokens: {args.name}", "",
           f"Command: `python benchmarks/bench_cluster_coverage.py --packed {args.packed} --clusters {args.clusters} "
           f"--motifs {args.motifs}" + (f" --synthetic {args.synthetic}" if args.synthetic else "") +
           f" --name {args.name}`", "",
           f"Tokenizer {view.name}, {view.seq_len}-token windows. Share = share of positions whose bigram already "
           "occurred earlier in the same window; generated documents are packed as training packs them "
           "(document + end-of-text, concatenated, cut into windows). Natural corpus: "
           f"{natural['windows']} random training windows, share {natural['induction_share']:.3f} "
           f"[{natural['induction_share_ci'][0]:.3f}, {natural['induction_share_ci'][1]:.3f}]. Background: the "
           f"clusters artifact's random sample, {background['induction_share']:.3f}. Lag: median tokens back to the "
           "earlier copy; entropy: bits of the repeated tokens. Novelty: share of a document's token 8-grams in no "
           "other document. No-repeat control: the same mined file with REPEAT = False. Old template: the fixed "
           "family the previous offline extractor used (first variant), measured in this run as the baseline. "
           "Members re-packed: the members' own window texts as documents, packed at other offsets (what the "
           "cluster's text repeats when its window alignment is not the one it was selected at). "
           "As mined: the share of the mined generator before any added repetition (first rung, validation "
           "sample). Tuned: the knobs of the ladder rung at which the mined generator was accepted (echo p x copies: "
           "recent lines repeated; merge: values paired in nearby slots; focus: the more repetitive skeletons "
           "drawn more often). Detectors: fire share on members -> on the generator's windows (validation sample).", "",
           *table(rows, natural, background), "",
           f"Accepted generators cover **{summary['coverage']['covered_mass_share']:.1%}** of the selected mass. "
           f"Mass-weighted generator share: **{result['mass_weighted_share']:.3f}** "
           f"({result['mass_weighted_share'] / natural['induction_share']:.2f}x natural).", ""]
    pos = summary.get("controls", {}).get("repeat_spans_v1")
    if pos and pos.get("model"):
        rt = pos.get("retokenization", {})
        null = summary["controls"].get("repeat_spans_norepeat_v1", {}).get("model", {})
        out += [f"Positive control `repeat_spans_v1`: share {pos['model']['induction_share']:.3f} (intended ids "
                f"{_f(rt.get('intended_share'))}, after re-tokenizing its text {_f(rt.get('retokenized_share'))}); "
                f"its null `repeat_spans_norepeat_v1`: {_f(null.get('induction_share'))}.", ""]
    out += ["## Done-when goals (issue 12)", "", *goals, ""]
    out += excerpts(rows, clusters, docs_by_gen)
    out += [f"Wall time {time.monotonic() - start:.0f} s."]
    text = "\n".join(out) + "\n"
    print(text)
    dest = Path(args.out or Path(__file__).parent / "results" / f"cluster_coverage_{args.name}.md")
    dest.write_text(text)
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
