"""What a strong coding model writes for a log or XML cluster (the loopback server's answer).

Request logs or XML records with a small pool of ids that recur within a window. The
loopback server sets STYLE from the prompt and sends this file in a fenced block after a
sentence, the way a capable model answers; at ~1,200 tokens it is as long as the
repository's own generators, so a 600-token budget cuts it.
"""

import random
import string

STYLE = "log"  # "log": timestamped service log lines; "xml": records in a catalog
SERVICES = ["api", "auth", "billing", "search", "worker", "gateway", "cache", "scheduler"]
LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
ACTIONS = ["GET /v1/items", "POST /v1/orders", "GET /v1/users", "DELETE /v1/sessions",
           "PUT /v1/items", "GET /healthz", "POST /v1/login", "GET /v1/search"]
STATUSES = [200, 200, 200, 201, 204, 301, 400, 404, 500, 503]
TAGS = ["item", "entry", "record", "node"]
ECHO = 0.85  # share of log lines that repeat one of the last three (retries)
FIELDS = ["name", "title", "owner", "group", "label"]


def hex_id(rng, width=12):
    """A random lowercase hex identifier, like a request or trace id."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(width))


def word(rng, low=4, high=9):
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(low, high)))


class IdPool:
    """Keeps a few recent ids; most lines reuse one, so each id recurs a few lines later.

    This in-window repetition (the same id, then the same continuation) is what the
    target statistic measures; fresh ids on every line would never repeat.
    """

    def __init__(self, rng, size, reuse):
        self.rng = rng
        self.size = size
        self.reuse = reuse
        self.recent = [hex_id(rng) for _ in range(size)]

    def next(self):
        if self.rng.random() < self.reuse:
            return self.rng.choice(self.recent)
        fresh = hex_id(self.rng)
        self.recent = self.recent[1:] + [fresh]
        return fresh


def timestamp(rng, state):
    """Monotone timestamps: each line a few seconds after the previous one."""
    state["t"] += rng.randint(0, 7)
    t = state["t"]
    day, rest = divmod(t, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"2024-03-{1 + day % 28:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def log_line(rng, pool, state, service):
    level = rng.choice(LEVELS)
    rid = pool.next()
    action = rng.choice(ACTIONS)
    status = rng.choice(STATUSES)
    ms = rng.randint(1, 900)
    return (f"{timestamp(rng, state)} {level} [{service}] request_id={rid} "
            f"{action} status={status} {ms}ms")


def xml_record(rng, pool, tag):
    rid, ref = pool.next(), pool.next()
    field = rng.choice(FIELDS)
    return (f'  <{tag} id="{rid}" ref="{ref}">\n'
            f"    <{field}>{word(rng)}</{field}>\n"
            f"  </{tag}>")


def log_document(rng):
    pool = IdPool(rng, size=rng.randint(1, 2), reuse=rng.uniform(0.85, 0.95))
    state = {"t": rng.randint(0, 86400 * 20)}
    service = rng.choice(SERVICES)
    lines = []
    for _ in range(rng.randint(14, 30)):
        if rng.random() < 0.15:
            service = rng.choice(SERVICES)
        if lines and rng.random() < ECHO:
            # the prompt's target is a repeat share above the cluster's: a retried request
            # logs its line again a few lines later, the content an induction head can copy
            lines.append(rng.choice(lines[-3:]))
            continue
        lines.append(log_line(rng, pool, state, service))
    return "\n".join(lines)


def xml_document(rng):
    pool = IdPool(rng, size=rng.randint(1, 2), reuse=rng.uniform(0.85, 0.95))
    tag = rng.choice(TAGS)
    body = []
    for _ in range(rng.randint(6, 14)):
        body.append(rng.choice(body[-3:]) if body and rng.random() < ECHO else xml_record(rng, pool, tag))
    root = rng.choice(["catalog", "inventory", "registry"])
    return f'<?xml version="1.0"?>\n<{root}>\n' + "\n".join(body) + f"\n</{root}>"


def generate(seed, n):
    """n documents; the same seed always gives the same documents."""
    rng = random.Random(seed)
    make = xml_document if STYLE == "xml" else log_document
    return [make(rng) for _ in range(n)]
