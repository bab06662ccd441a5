"""The LLM client against a real loopback HTTP server that errs, stalls and sends garbage."""

from __future__ import annotations

import pytest

from mda_augment.motifs.llm import LLMClient, LLMConfig

from .loopback import Loopback, strong_answer

MSG = [{"role": "user", "content": "write a generator"}]


@pytest.fixture
def server():
    with Loopback() as srv:
        yield srv


def client(srv, mode, tmp_path, delays=None, **cfg):
    settings = {"base_url": srv.url(mode), "model": "m", "retries": 2, "backoff_s": 0.01,
                "timeout_s": 0.5, **cfg}
    sleep = delays.append if delays is not None else (lambda s: None)
    return LLMClient(LLMConfig(**settings), tmp_path / "cache.sqlite", sleep=sleep)


def test_valid_reply_is_cached_per_request(server, tmp_path):
    c = client(server, "ok", tmp_path)
    first = c.complete(MSG)
    assert first.ok and not first.cached and "def generate" in first.text
    again = c.complete(MSG)
    assert again.cached and again.text == first.text and server.hits["ok"] == 1


def test_samples_of_one_prompt_have_distinct_keys(server, tmp_path):
    c = client(server, "ok", tmp_path)
    a, b = c.complete(MSG, sample=0), c.complete(MSG, sample=1)
    assert a.key != b.key and not b.cached and server.hits["ok"] == 2
    assert len(c.cache) == 2


@pytest.mark.parametrize("mode", ["e500", "garbage", "nochoices"])
def test_errors_are_retried_with_backoff_and_not_cached(server, tmp_path, mode):
    delays = []
    c = client(server, mode, tmp_path, delays)
    reply = c.complete(MSG)
    assert not reply.ok and reply.tries == 3 and len(reply.errors) == 3
    assert server.hits[mode] == 3
    assert delays == [0.01, 0.02]  # exponential: backoff_s * 2**k
    assert len(c.cache) == 0


def test_timeout_is_an_error_and_bounded(server, tmp_path):
    c = client(server, "sleep", tmp_path, retries=1)
    reply = c.complete(MSG)
    assert not reply.ok and reply.tries == 2
    assert any("Timeout" in e for e in reply.errors), reply.errors
    assert reply.wall_s < 5


def test_flaky_endpoint_recovers(server, tmp_path):
    reply = client(server, "flaky", tmp_path).complete(MSG)
    assert reply.ok and reply.tries == 3 and len(reply.errors) == 2


def test_backoff_is_capped(server, tmp_path):
    delays = []
    client(server, "e500", tmp_path, delays, retries=4, backoff_s=1.0, backoff_max_s=2.5).complete(MSG)
    assert delays == [1.0, 2.0, 2.5, 2.5]


def bodies(srv, mode):
    return [body for m, body in srv.requests if m == mode]


def test_rejected_max_tokens_switches_once_for_the_whole_run(server, tmp_path):
    c = client(server, "no_max_tokens", tmp_path)
    first = c.complete(MSG)
    assert first.ok and first.tries == 2 and not first.fatal
    assert first.adaptations == ["max_tokens rejected: sending max_completion_tokens"]
    assert "BadRequestError 400" in first.errors[0] and "max_completion_tokens" in first.errors[0]
    second = c.complete([{"role": "user", "content": "another generator"}])
    assert second.ok and second.tries == 1 and second.adaptations == []  # remembered
    sent = bodies(server, "no_max_tokens")
    assert [("max_tokens" in b, b.get("max_completion_tokens")) for b in sent] == [
        (True, None), (False, 4096), (False, 4096)]


def test_rejected_temperature_falls_back_to_the_server_default(server, tmp_path):
    c = client(server, "no_temperature", tmp_path, temperature=0.7)
    reply = c.complete(MSG)
    assert reply.ok and reply.tries == 2
    assert reply.adaptations == ["temperature rejected: using the server default"]
    assert [b.get("temperature") for b in bodies(server, "no_temperature")] == [0.7, None]


def test_reasoning_server_gets_both_adaptations_without_backoff(server, tmp_path):
    delays = []
    reply = client(server, "reasoning", tmp_path, delays, temperature=0.2).complete(MSG)
    assert reply.ok and reply.tries == 3 and len(reply.adaptations) == 2
    assert delays == []  # an adapted request is not a retry of a transient failure


def test_pinned_token_param_is_not_adapted(server, tmp_path):
    reply = client(server, "no_max_tokens", tmp_path, token_param="max_tokens").complete(MSG)
    assert not reply.ok and reply.fatal and reply.tries == 1 and reply.adaptations == []


@pytest.mark.parametrize("mode", ["e400", "e401", "e403", "e404", "e422"])
def test_client_errors_are_not_retried(server, tmp_path, mode):
    delays = []
    reply = client(server, mode, tmp_path, delays).complete(MSG)
    assert not reply.ok and reply.fatal and reply.tries == 1
    assert server.hits[mode] == 1 and delays == []
    assert mode[1:] in reply.errors[0]


def test_rate_limit_is_retried_after_the_servers_delay(server, tmp_path):
    delays = []
    reply = client(server, "ratelimit", tmp_path, delays).complete(MSG)
    assert reply.ok and reply.tries == 3 and not reply.fatal
    assert all("RateLimitError 429" in e for e in reply.errors)
    assert delays == [0.05, 0.05]  # Retry-After (0.05 s) is longer than the backoff (0.01, 0.02)


def test_reply_cut_at_the_limit_is_continued_and_stitched(server, tmp_path):
    reply = client(server, "cap600", tmp_path, continuations=3).complete(MSG)
    assert reply.ok and not reply.truncated and reply.finish_reason == "stop"
    assert reply.continuations == 2
    assert reply.text == strong_answer(MSG)  # the pieces join without loss or repetition
    cont = bodies(server, "cap600")[1]["messages"]
    assert [m["role"] for m in cont] == ["user", "assistant", "user"] and "Continue" in cont[-1]["content"]


def test_reply_still_cut_is_truncated_and_cached_as_such(server, tmp_path):
    c = client(server, "strong", tmp_path, max_tokens=200, continuations=1)
    reply = c.complete(MSG)
    assert reply.truncated and reply.continuations == 1 and server.hits["strong"] == 2
    again = c.complete(MSG)
    assert again.cached and again.truncated and again.text == reply.text and server.hits["strong"] == 2


def test_refused_endpoint_is_not_asked_again(server, tmp_path):
    c = client(server, "e401", tmp_path)
    assert c.complete(MSG).fatal
    later = c.complete([{"role": "user", "content": "another cluster"}])
    assert later.fatal and later.tries == 0 and "refused an earlier request" in later.errors[0]
    assert server.hits["e401"] == 1


def test_budget_spent_on_reasoning_is_an_empty_truncated_reply(server, tmp_path):
    c = client(server, "thinking", tmp_path, max_tokens=2000)
    reply = c.complete(MSG)
    assert reply.ok and reply.truncated and reply.text == "" and reply.continuations == 0
    assert server.hits["thinking"] == 1  # nothing to continue from
    big = client(server, "thinking", tmp_path / "big").complete(MSG)  # default 4096: 1,096 left per request
    assert big.ok and not big.truncated and big.continuations == 1 and big.text == strong_answer(MSG)
