"""The ``synthesize`` stage: run generators in parallel sandboxes into a de-duplicated store.

``@synthesize`` in another stage's config means this document store.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..artifacts import read_json
from ..errors import ConfigError
from ..stage import Section, Stage
from .synthesize import STATS, SynthesisConfig


def _from_extract(cfg: SynthesisConfig) -> bool:
    """Whether some generators are the extract stage's (``@extract`` resolves to its generators/)."""
    from ..motifs.extract import GENERATORS

    return any(Path(g).parent.name == GENERATORS and Path(g).parent.parent.name == "extract" for g in cfg.generators)


class SynthesizeStage(Stage):
    """Documents from generators (registry names, files, or ``@extract``), exact and near de-duplicated."""

    name = "synthesize"
    Config = SynthesisConfig
    summary = "shard-*.parquet documents (source generator:NAME, code sha, seed), stats.json per generator"

    def check(self, cfg: SynthesisConfig, recipe) -> None:
        from ..errors import GeneratorError
        from .registry import resolve

        for i, g in enumerate(cfg.generators):
            if not g.startswith("@"):
                try:
                    resolve(g)  # an unknown name or a malformed file
                except GeneratorError as err:
                    raise GeneratorError(f"synthesize.generators[{i}]: {err}") from None

    def complete(self, out: Path, cfg: SynthesisConfig | None = None) -> bool:
        from ..motifs.coverage import STORE_FILE

        done = super().complete(out)
        return done and (cfg is None or not _from_extract(cfg) or (out / STORE_FILE).is_file())

    def build(self, inputs: Mapping[str, Path], out: Path, cfg: SynthesisConfig, *, overwrite: bool = False) -> Path:
        from ..motifs.coverage import write_store_coverage
        from .synthesize import synthesize

        if not cfg.generators:
            raise ConfigError(f"synthesize: no generator to run (the extract stage accepted none; see "
                              f"{inputs.get('extract', 'the extract artifact')}/attempts.jsonl), or name "
                              "reference generators in synthesize.generators")
        synthesize(out, cfg, overwrite=overwrite)
        if _from_extract(cfg):
            write_store_coverage(inputs["extract"], out)  # what share of the influence mass the store stands for
        return out

    def report_section(self, out: Path) -> Section | None:
        import polars as pl

        from ..corpus.store import iter_documents
        from ..report.html import pre, table

        stats = read_json(out / STATS)
        rows = pl.DataFrame([{"generator": name, "kind": s["kind"], "documents": s["documents"], "MB": s["mb"],
                              "exact duplicates": s["exact_duplicates"], "near duplicates": s["near_duplicates"],
                              "failed shards": s["shards_failed"]}
                             for name, s in stats.items() if not name.startswith("_")])
        samples, seen = [], set()
        for doc in iter_documents(out):
            if doc.source not in seen:
                seen.add(doc.source)
                samples.append(f"<h3>{doc.source}</h3>" + pre(doc.text, 1500))
        return Section("Synthetic documents", table(rows) + '<div class="grid">' + "".join(samples[:6]) + "</div>")
