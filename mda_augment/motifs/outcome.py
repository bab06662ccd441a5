"""One line per cluster saying what extraction did and why, for the CLI and the pipeline.

Built from an extraction artifact's ``summary.json`` (which generator each cluster got, from
where) and ``attempts.jsonl`` (every LLM round and offline variant, with its reason), e.g.::

    cluster 2 (latex, repeated spans, 18.4% of mass): motif_c2_llm_v1 accepted from LLM after 1 repair (repeat share 0.52, cluster 0.47)
    cluster 0 (log lines, 40.1% of mass): fell back to offline (motif_c0_offline_v1, log template): LLM replies truncated 4x at 4096 tokens
    cluster 5 (prose, 2.0% of mass): no generator: LLM error: AuthenticationError 401 ...; offline templates failed 3x (last: structure_mismatch)
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from .extract import ATTEMPTS, SUMMARY


def _num(x) -> str:
    return f"{x:.2f}" if isinstance(x, float) else str(x)


def repeat_note(attempt: dict) -> str:
    """The accepted candidate's repeat share against its target, from the validator's
    ``checks`` when recorded, else from the measured statistics."""
    checks = attempt.get("checks") or []
    pick = next((c for c in checks if any(w in str(c.get("name")) for w in ("induction", "repeat"))), None)
    if pick is not None:
        target = pick.get("target")
        rel = ">= " if isinstance(target, (int, float)) else "target "
        return f"{pick['name']} {_num(pick.get('value'))} {rel}{_num(target)}"
    stats = attempt.get("stats") or {}
    got = stats.get("generated", {}).get("stats", {}).get("induction_share")
    want = stats.get("target", {}).get("stats", {}).get("induction_share")
    if got is None:
        return ""
    return f"repeat share {got:.2f}" + (f", cluster {want:.2f}" if want is not None else "")


def llm_why(rounds: list[dict]) -> str:
    """Why the LLM rounds of one cluster gave no generator."""
    last = rounds[-1]
    failed = Counter(r["reason"] for r in rounds if r["reason"] != "llm_error")
    if last["reason"] == "llm_error":
        kind = " (not retried)" if last.get("fatal") else f" after {last.get('tries')} tries"
        before = f"{sum(failed.values())} round(s) failed, then " if failed else ""
        return f"{before}LLM error{kind}: {str(last.get('message', ''))[:160]}"
    if set(failed) == {"truncated"}:
        return f"LLM replies truncated {len(rounds)}x at {last.get('max_tokens')} tokens"
    counts = ", ".join(f"{n}x {reason}" for reason, n in failed.most_common())
    return f"LLM failed {len(rounds)} round(s) ({counts}; last: {str(last.get('message', ''))[:160]})"


def _accepted_note(rounds: list[dict]) -> str:
    ok = next((r for r in reversed(rounds) if r["reason"] == "ok"), rounds[-1] if rounds else {})
    n = int(ok.get("round", 0))
    how = "at the first ask" if n == 0 else f"after {n} repair{'s' if n > 1 else ''}"
    notes = [repeat_note(ok)]
    notes += sorted({a for r in rounds for a in r.get("adaptations") or []})
    conts = sum(int(r.get("continuations") or 0) for r in rounds)
    if conts:
        notes.append(f"{conts} continuation{'s' if conts > 1 else ''} of cut replies")
    extra = "; ".join(x for x in notes if x)
    return how + (f" ({extra})" if extra else "")


def outcome_line(row: dict, attempts: list[dict]) -> str:
    """The line for one cluster: ``row`` from ``summary.json``, ``attempts`` its records."""
    head = f"cluster {row['cluster']} ({row['label']}, {row['mass_share']:.1%} of mass)"
    llm = [a for a in attempts if a.get("source") == "llm"]
    offline = [a for a in attempts if a.get("source") == "offline"]
    family = (row.get("provenance") or {}).get("family")
    template = f"{family} template" if family else "template"
    if row.get("source") == "llm":
        return f"{head}: {row['generator']} accepted from LLM {_accepted_note(llm)}"
    if row.get("source") == "offline" and llm:
        return f"{head}: fell back to offline ({row['generator']}, {template}): {llm_why(llm)}"
    if row.get("source"):
        return f"{head}: {row['generator']} via {row['source']} ({template})"
    why = [llm_why(llm)] if llm else []
    if offline:
        why.append(f"offline templates failed {len(offline)}x (last: {offline[-1]['reason']})")
    return f"{head}: no generator: {'; '.join(why) or 'nothing was tried'}"


def outcome_lines(extract_dir: str | os.PathLike) -> list[str]:
    """One line per extracted cluster of a complete extraction artifact, in summary order."""
    root = Path(extract_dir)
    summary = json.loads((root / SUMMARY).read_text(encoding="utf-8"))
    path = root / ATTEMPTS
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()] if path.is_file() else []
    return [outcome_line(row, [r for r in records if r.get("cluster") == row["cluster"]])
            for row in summary["clusters"]]
