"""A small OpenAI-compatible chat client: reply cache, error classes, request adaptation, continuations.

Any server speaking ``/v1/chat/completions`` works (a hosted API, vLLM, llama.cpp's server,
the in-process ``xllamacpp`` server of :mod:`local_server`). The ``openai`` package does the
HTTP; this module adds what extraction needs from servers that differ:

- **Errors are classified.** 429, 5xx, timeouts, connection errors and malformed replies are
  transient: retried with bounded exponential backoff (a dead endpoint must not stall a
  run). 400/401/403/404/422 are not: the same request would fail the same way, so it is not
  repeated.
- **Unsupported parameters are adapted once.** Current OpenAI reasoning models reject
  ``max_tokens`` (they take ``max_completion_tokens``) and any non-default ``temperature``
  with a 400 naming the parameter. The client switches the budget parameter or drops the
  sampling parameter, retries at once, and keeps the adaptation for the rest of the run.
  After a 401/403/404 (wrong key, no access, no such model) nothing more is sent.
- **A reply cut at the budget is not a reply.** When ``finish_reason`` is ``"length"`` the
  client asks the model to continue exactly where it stopped (the partial reply as the
  assistant's turn, then a "continue" turn) and stitches the pieces, up to
  ``continuations`` times. What is still cut comes back marked ``truncated``, so the caller
  can ask for something shorter instead of validating half a program.

A :class:`Reply` says what happened instead of raising, so that every attempt can be
recorded and the offline extractor can take over.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config import StrictModel
from ..errors import EnvironmentUnavailable
from .cache import ReplyCache, request_key
from .code import stitch

TokenParam = Literal["auto", "max_tokens", "max_completion_tokens"]
BUDGET_PARAMS = ("max_tokens", "max_completion_tokens")
CONTINUE = ("Your reply was cut off by the length limit. Continue exactly where you stopped, even in the "
            "middle of a line: do not repeat anything, add no preamble and do not reopen the code block.")
_UNSUPPORTED = re.compile(r"unsupported|not supported|does not support|unrecognized|unknown (?:parameter|field)|"
                          r"not permitted|not allowed", re.I)
_NAMED = re.compile(r"unsupported (?:parameter|value):\s*'([\w.]+)'", re.I)


class LLMConfig(StrictModel):
    """Where the LLM is and how to call it. The API key is read from the environment
    variable named by ``api_key_env`` (never stored in configs or artifacts)."""

    base_url: str = Field(..., description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8765/v1")
    model: str = Field(..., description="model name sent with each request")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the key")
    max_tokens: int = Field(4096, ge=16, description="completion budget per request; a 60-150-line generator "
                            "is 800-1,200 tokens, and reasoning models spend the budget on reasoning too")
    token_param: TokenParam = Field("auto", description="request field carrying the budget; auto sends max_tokens "
                                    "and switches to max_completion_tokens when the server rejects it")
    temperature: float | None = Field(None, ge=0, le=2, description="None: the server's default (reasoning "
                                      "models accept only that)")
    continuations: int = Field(2, ge=0, le=8, description="times a reply cut at the budget is asked to continue")
    timeout_s: float = Field(120.0, gt=0, description="per-request timeout")
    retries: int = Field(3, ge=0, le=10, description="retries of transient failures (429, 5xx, timeouts, garbage)")
    backoff_s: float = Field(1.0, ge=0, description="first retry delay; doubles per retry")
    backoff_max_s: float = Field(30.0, ge=0, description="longest delay, also caps a server's Retry-After")
    cache: str | None = Field(None, description="SQLite cache file (default: OUT.llm_cache.sqlite next to the artifact)")


@dataclass
class Reply:
    """Outcome of one logical request. ``text`` is None when the endpoint gave no reply;
    ``truncated`` when the reply is still cut at the budget after the continuations."""

    text: str | None
    key: str
    cached: bool = False
    tries: int = 0
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    finish_reason: str | None = None
    continuations: int = 0
    adaptations: list[str] = field(default_factory=list)
    fatal: bool = False  # the last error was not transient (a 4xx): repeating the request is pointless

    @property
    def ok(self) -> bool:
        return self.text is not None

    @property
    def truncated(self) -> bool:
        return self.ok and self.finish_reason == "length"


@dataclass(frozen=True)
class _Completion:
    text: str
    finish_reason: str | None


def is_transient(err: Exception) -> bool:
    """Whether retrying the same request may succeed: rate limits, server errors, timeouts,
    dropped connections and malformed replies, but no other HTTP status (a 400 stays a 400)."""
    status = getattr(err, "status_code", None)
    if status is None or getattr(err, "response", None) is None:
        return True
    return status in (408, 409, 429) or status >= 500


def rejected_param(err: Exception, sent: set[str]) -> str | None:
    """The request parameter a 400/422 says the model does not support, if it names one we sent.

    OpenAI's error body names it in ``param`` (``{"param": "max_tokens", "code":
    "unsupported_parameter"}``); other servers only say it in the message, so the message is
    read too, and a parameter is taken from it only when exactly one sent name appears.
    """
    if getattr(err, "status_code", None) not in (400, 422):
        return None
    param = getattr(err, "param", None)
    if param in sent:
        return param
    message = str(getattr(err, "message", None) or err)
    if not _UNSUPPORTED.search(message):
        return None
    named = _NAMED.search(message)
    if named and named.group(1) in sent:
        return named.group(1)
    found = [p for p in sent if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", message)]
    return found[0] if len(found) == 1 else None


def _retry_after(err: Exception) -> float:
    """Seconds a 429/503 asks us to wait (``Retry-After`` header), 0 when it does not say."""
    headers = getattr(getattr(err, "response", None), "headers", None) or {}
    try:
        return max(0.0, float(headers.get("retry-after", 0) or 0))
    except ValueError:  # an HTTP date: fall back to our own backoff
        return 0.0


def _describe(err: Exception) -> str:
    status = getattr(err, "status_code", None)
    return f"{type(err).__name__}{f' {status}' if status else ''}: {str(err)[:300]}"


class LLMClient:
    """Chat completions with caching, retries, adaptation and continuations; see the module docstring."""

    def __init__(self, cfg: LLMConfig, cache_path: str | Path, sleep=time.sleep):
        try:
            import openai
        except ImportError:
            raise EnvironmentUnavailable("the LLM client needs the 'openai' package; "
                                         "pip install 'mda-augment[llm]'") from None
        self.cfg = cfg
        self.cache = ReplyCache(cache_path)
        self._sleep = sleep
        self._client = openai.OpenAI(base_url=cfg.base_url, api_key=os.environ.get(cfg.api_key_env) or "none",
                                     timeout=cfg.timeout_s, max_retries=0)
        # adaptations learnt from the server's 400s, kept for the rest of the run
        self.budget_param: str | None = "max_tokens" if cfg.token_param == "auto" else cfg.token_param
        self.dropped: set[str] = set()
        self.adaptations: list[str] = []
        self.refused: str | None = None  # a 401/403/404: key, permission or model is wrong for the run

    def request(self, messages: list[dict], sample: int = 0) -> dict:
        """The logical request as cached: everything that changes the reply, sample included.
        How the budget is spelled on the wire is not part of it (a rerun adapts again)."""
        return {"base_url": self.cfg.base_url, "model": self.cfg.model, "messages": messages,
                "max_tokens": self.cfg.max_tokens, "temperature": self.cfg.temperature,
                "sample": sample}

    def complete(self, messages: list[dict], sample: int = 0) -> Reply:
        """One reply for ``messages`` (sample ``sample``), from the cache or the endpoint;
        a reply cut at the budget is continued up to ``continuations`` times."""
        req = self.request(messages, sample)
        key = request_key(req)
        hit = self.cache.get(key)
        if hit is not None:
            return Reply(text=hit.text, key=key, cached=True, finish_reason=hit.finish_reason,
                         continuations=hit.continuations)
        if self.refused is not None:
            return Reply(text=None, key=key, fatal=True,
                         errors=[f"not sent: the endpoint refused an earlier request ({self.refused})"])
        reply = Reply(text=None, key=key)
        start = time.monotonic()
        first = self._exchange(messages, sample, reply)
        whole = first is not None
        if first is not None:
            text, finish = first.text, first.finish_reason
            while finish == "length" and text.strip() and reply.continuations < self.cfg.continuations:
                reply.continuations += 1
                more = self._exchange([*messages, {"role": "assistant", "content": text},
                                       {"role": "user", "content": CONTINUE}], sample, reply)
                if more is None:  # keep what we have, marked cut; not cached (the failure may pass)
                    whole = False
                    break
                text, finish = stitch(text, more.text), more.finish_reason
            reply.text, reply.finish_reason = text, finish
        reply.wall_s = time.monotonic() - start
        if reply.ok and whole:
            self.cache.put(key, req, reply.text, reply.finish_reason, reply.continuations)
        return reply

    def _params(self, sample: int) -> dict:
        """Optional request fields, as adapted so far."""
        params = {"seed": sample}
        if self.budget_param is not None:
            params[self.budget_param] = self.cfg.max_tokens
        if self.cfg.temperature is not None:
            params["temperature"] = self.cfg.temperature
        return {k: v for k, v in params.items() if k not in self.dropped}

    def _adapt(self, param: str) -> str | None:
        """Change the request so that the server stops rejecting ``param``; a note saying how,
        or None when that parameter was adapted before (or the config pins it)."""
        if param in BUDGET_PARAMS:
            if self.cfg.token_param != "auto" or param != self.budget_param:
                return None
            other = next(p for p in BUDGET_PARAMS if p != param)
            tried = any(note.startswith(f"{other} rejected") for note in self.adaptations)
            self.budget_param = None if tried else other
            note = f"{param} rejected: sending {'no budget (server default)' if tried else other}"
        elif param in ("temperature", "seed") and param not in self.dropped:
            self.dropped.add(param)
            note = f"{param} rejected: using the server default"
        else:
            return None
        self.adaptations.append(note)
        return note

    def _delay(self, retry: int, err: Exception) -> float:
        backoff = self.cfg.backoff_s * 2 ** retry
        return min(max(backoff, _retry_after(err)), self.cfg.backoff_max_s)

    def _exchange(self, messages: list[dict], sample: int, reply: Reply) -> _Completion | None:
        """One completion, with adaptation to rejected parameters and retries of transient
        failures; None (with ``reply.errors``, ``reply.fatal``) when there is none."""
        retry = 0
        while True:
            params = self._params(sample)
            reply.tries += 1
            try:
                return self._call(messages, params)
            except Exception as err:  # noqa: BLE001 - every failure is classified and recorded
                reply.errors.append(_describe(err))
                param = rejected_param(err, set(params))
                note = self._adapt(param) if param else None
                if note is not None:
                    reply.adaptations.append(note)
                    continue
                if not is_transient(err):
                    reply.fatal = True
                    if getattr(err, "status_code", None) in (401, 403, 404):
                        self.refused = reply.errors[-1]
                    return None
                if retry >= self.cfg.retries:
                    return None
                self._sleep(self._delay(retry, err))
                retry += 1

    def _call(self, messages: list[dict], params: dict) -> _Completion:
        """One HTTP request; raises on transport errors and on replies without text (a reply
        cut at the budget may be empty: reasoning models can spend all of it thinking)."""
        resp = self._client.chat.completions.create(model=self.cfg.model, messages=messages, **params)
        choices = getattr(resp, "choices", None)
        if not choices:
            raise ValueError(f"reply has no choices: {str(resp)[:200]}")
        finish = getattr(choices[0], "finish_reason", None)
        text = getattr(getattr(choices[0], "message", None), "content", None)
        if finish == "length" and not isinstance(text, str):
            text = ""
        if not isinstance(text, str) or (not text.strip() and finish != "length"):
            raise ValueError("reply has no message content")
        return _Completion(text, finish)

    def close(self) -> None:
        self.cache.close()
        self._client.close()
