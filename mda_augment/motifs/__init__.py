"""Motif extraction: turn clusters of high-influence samples into validated generator code.

An LLM (any OpenAI-compatible endpoint) writes a ``generate(seed, n)`` for each cluster from a
prompt in ``prompts/``; the code runs only in the sandbox and is accepted only when it meets
the contract, is deterministic per seed and reproduces the cluster's structure. Without an
LLM, or where the LLM's code never validates, parameterized templates fitted to the
cluster's statistics (the offline extractor) write the generator instead.
"""

from .extract import ExtractConfig, extract
from .llm import LLMClient, LLMConfig
from .outcome import outcome_lines

__all__ = ["ExtractConfig", "LLMClient", "LLMConfig", "extract", "outcome_lines"]
