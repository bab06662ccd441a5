"""The registered pipeline stages, in the order a recipe runs them.

One line per stage. The recipe model (:mod:`.recipe`), the pipeline (:mod:`.pipeline`),
``run --check`` and the report iterate over this registry; stage modules are light to import
(their heavy work is imported inside ``build``).
"""

from __future__ import annotations

from .registry import Registry
from .stage import Stage

STAGES: Registry[type[Stage]] = Registry("stage")
STAGES.add_lazy("corpus", "mda_augment.corpus.stage:CorpusStage")
STAGES.add_lazy("pack", "mda_augment.corpus.stage:PackStage")
STAGES.add_lazy("train", "mda_augment.training.stage:TrainStage")
STAGES.add_lazy("attribute", "mda_augment.attribution.stage:AttributeStage")
STAGES.add_lazy("cluster", "mda_augment.clustering.stage:ClusterStage")
STAGES.add_lazy("extract", "mda_augment.motifs.stage:ExtractStage")
STAGES.add_lazy("synthesize", "mda_augment.synthesis.stage:SynthesizeStage")
STAGES.add_lazy("experiment", "mda_augment.experiments.stage:ExperimentStage")
STAGES.add_lazy("report", "mda_augment.report.stage:ReportStage")
