"""OpenAI-compatible servers on loopback (http.server in a thread) that behave like real ones.

The first path segment picks the behaviour (``srv.url("reasoning")`` ->
``http://127.0.0.1:PORT/reasoning/v1``):

- failures: ``e500`` (HTTP 500), ``sleep`` (past the client's timeout), ``garbage`` (non-JSON),
  ``nochoices`` (JSON without choices), ``flaky`` (500 twice, then a generator),
  ``e400``/``e401``/``e403``/``e404``/``e422`` (that status, with an OpenAI-style error body that
  names no unsupported parameter), ``ratelimit`` (429 with ``Retry-After`` twice, then
  ``strong``), ``nocode`` (prose only);
- ``ok``: a short valid generator, always;
- ``strong``: a capable coding model: one sentence, then a ~100-line generator in a fenced
  block (:mod:`strong_generator`, log or XML depending on the detectors the prompt asks for).
  It honours the request's budget (``max_tokens`` or ``max_completion_tokens``, counted in
  words and marks with their leading space: ~1,230 for the generator) and cuts the reply at
  it with ``finish_reason: "length"``; asked to continue (the partial reply as the
  assistant's turn, then a user turn asking to continue), it sends the rest of the same
  answer; asked for a shorter generator, a compact one;
- ``capN`` (e.g. ``cap300``): ``strong`` behind a server-side output limit of N tokens;
- ``reasoning``: ``strong`` that, like current OpenAI reasoning models, rejects ``max_tokens``
  and any non-default ``temperature`` with OpenAI's 400 bodies; ``no_max_tokens`` and
  ``no_temperature`` reject only one of them;
- ``thinking``: ``strong`` behind 3,000 reasoning tokens that count against the budget, as
  reasoning models' do: a smaller budget gets an empty reply with ``finish_reason: "length"``;
- ``first_bad``: a generator without the cluster's structure until it is sent a repair
  prompt, then ``strong``.

``hits`` counts requests per mode; ``requests`` keeps every request body in order.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GOOD_CODE = '''```python
import random


def generate(seed, n):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ids = [f"{rng.getrandbits(48):012x}" for _ in range(3)]
        lines = [f"2024-01-0{rng.randint(1, 9)}T10:{rng.randint(10, 59)}:{rng.randint(10, 59)}Z INFO [api] "
                 f"request_id={rng.choice(ids)} status={rng.choice([200, 404])}" for _ in range(12)]
        out.append("\\n".join(lines))
    return out
```'''
STRONG_CODE = (Path(__file__).parent / "strong_generator.py").read_text()
BAD_CODE = '''import random

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]


def generate(seed, n):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) + str(rng.randint(0, 10**6)) for _ in range(60)) for _ in range(n)]
'''
MAX_TOKENS_ERROR = {"error": {
    "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
               "Use 'max_completion_tokens' instead.",
    "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}}
TEMPERATURE_ERROR = {"error": {
    "message": "Unsupported value: 'temperature' does not support {value} with this model. "
               "Only the default (1) value is supported.",
    "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"}}
OTHER_ERRORS = {
    400: ("Invalid 'messages[0].content': string too long.", "invalid_request_error", "messages",
          "string_above_max_length"),
    401: ("Incorrect API key provided.", "invalid_request_error", None, "invalid_api_key"),
    403: ("You are not allowed to use this model.", "permission_error", None, "model_not_allowed"),
    404: ("The model 'm' does not exist or you do not have access to it.", "invalid_request_error", None,
          "model_not_found"),
    422: ("Unprocessable request.", "invalid_request_error", None, None),
}
_TOKENS = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")  # words or marks with their leading space, like BPE


def completion(text: str, finish_reason: str = "stop", tokens: int = 1) -> dict:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1}}


def strong_answer(messages: list[dict]) -> str:
    """What a capable model answers to this conversation (continuations aside)."""
    if any("shorter" in m["content"].lower() for m in messages if m["role"] == "user"):
        return "Here is a compact generator.\n\n" + GOOD_CODE + "\n"
    prompt = messages[0]["content"]
    style = "xml" if "xml_tags_v1" in prompt and "log_lines_v1" not in prompt else "log"
    code = STRONG_CODE.replace('STYLE = "log"', f'STYLE = "{style}"')
    return (f"This generator writes {style} documents in which a small pool of ids recurs within a few "
            f"lines, as in the examples.\n\n```python\n{code}```\n")


def _continuing(messages: list[dict]) -> bool:
    return (len(messages) >= 3 and messages[-2]["role"] == "assistant"
            and "continue" in messages[-1]["content"].lower())


def strong_reply(body: dict, cap: int | None = None, answer=strong_answer, thinking: int = 0) -> dict:
    """The answer to ``body`` cut at the request's budget (and the server's ``cap``); asked
    to continue, the rest of the answer after the partial reply."""
    messages = body["messages"]
    done = ""
    if _continuing(messages):
        done, messages = messages[-2]["content"], messages[:-2]
    full = answer(messages)
    rest = full[len(done):] if full.startswith(done) else full
    budgets = [b - thinking for b in (body.get("max_completion_tokens"), body.get("max_tokens")) if b]
    budgets = [max(b, 0) for b in budgets] + ([cap] if cap else [])
    tokens = _TOKENS.findall(rest)
    if budgets and len(tokens) > min(budgets):
        return completion("".join(tokens[:min(budgets)]), "length", min(budgets))
    return completion(rest, "stop", len(tokens))


def first_bad_answer(messages: list[dict]) -> str:
    repaired = any(m["role"] == "assistant" for m in messages)
    if repaired:
        return strong_answer(messages)
    return f"A simple generator.\n\n```python\n{BAD_CODE}```\n"


class Handler(BaseHTTPRequestHandler):
    hits: Counter = Counter()
    requests: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes | dict, ctype: str = "application/json",
              headers: dict | None = None) -> None:
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server API
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.path.strip("/").split("/")[0]
        self.hits[mode] += 1
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        self.requests.append((mode, body))
        self._respond(mode, body)

    def _rejects(self, mode: str, body: dict) -> dict | None:
        """The 400 body this mode sends for ``body``, or None when it accepts it."""
        if mode in ("reasoning", "no_max_tokens") and "max_tokens" in body:
            return MAX_TOKENS_ERROR
        if mode in ("reasoning", "no_temperature") and body.get("temperature", 1) != 1:
            err = json.loads(json.dumps(TEMPERATURE_ERROR))
            err["error"]["message"] = err["error"]["message"].format(value=body["temperature"])
            return err
        return None

    def _respond(self, mode: str, body: dict) -> None:  # noqa: C901 - one branch per behaviour
        status = int(mode[1:]) if re.fullmatch(r"e4\d\d", mode) else None
        if mode == "ok":
            self._send(200, completion(GOOD_CODE))
        elif mode in ("strong", "reasoning", "no_max_tokens", "no_temperature"):
            rejected = self._rejects(mode, body)
            self._send(400, rejected) if rejected else self._send(200, strong_reply(body))
        elif re.fullmatch(r"cap\d+", mode):
            self._send(200, strong_reply(body, cap=int(mode[3:])))
        elif mode == "thinking":
            self._send(200, strong_reply(body, thinking=3000))
        elif mode == "first_bad":
            self._send(200, strong_reply(body, answer=first_bad_answer))
        elif mode == "ratelimit":
            if self.hits[mode] <= 2:
                self._send(429, {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                           "param": None, "code": "rate_limit_exceeded"}},
                           headers={"Retry-After": "0.05"})
            else:
                self._send(200, strong_reply(body))
        elif status in OTHER_ERRORS:
            message, kind, param, code = OTHER_ERRORS[status]
            self._send(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})
        elif mode == "nocode":
            self._send(200, completion("Sure! Here is how you could do it: use a loop."))
        elif mode == "e500" or (mode == "flaky" and self.hits[mode] <= 2):
            self._send(500, b'{"error": {"message": "boom"}}')
        elif mode == "flaky":
            self._send(200, completion(GOOD_CODE))
        elif mode == "sleep":
            time.sleep(1.5)
            self._send(200, completion(GOOD_CODE))
        elif mode == "garbage":
            self._send(200, b"<html>not json at all", "application/json")
        elif mode == "nochoices":
            self._send(200, b'{"id": "x", "object": "chat.completion"}')
        else:
            self._send(404, b"{}")


class Loopback:
    """Context manager: ``with Loopback() as srv: srv.url("e500")``."""

    def __enter__(self):
        Handler.hits = Counter()
        Handler.requests = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{mode}/v1"

    @property
    def hits(self) -> Counter:
        return Handler.hits

    @property
    def requests(self) -> list[tuple[str, dict]]:
        return Handler.requests

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
