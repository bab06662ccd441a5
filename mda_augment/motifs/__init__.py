"""Motif extraction: turn clusters of high-influence samples into validated generator code.

An LLM (any OpenAI-compatible endpoint) writes a ``generate(seed, n)`` for each cluster from a
prompt in ``prompts/``; the code runs only in the sandbox and is accepted only when it meets
the contract, is deterministic per seed, reproduces the cluster's structure and repeats, in
the model's own tokens and window, at least as much as the cluster's members and clearly
more than natural text. Without an LLM, or where the LLM's code never validates, the offline
extractor mines a generator from the members themselves (:mod:`.mine`), with the fixed
template families as the named fallback. Controls (:mod:`.controls`) and the coverage of the
selected influence mass (:mod:`.coverage`) are recorded with every extraction.
"""

from .extract import ExtractConfig, extract
from .llm import LLMClient, LLMConfig
from .outcome import outcome_lines

__all__ = ["ExtractConfig", "LLMClient", "LLMConfig", "extract", "outcome_lines"]
