"""Mine a generator skeleton from a cluster's own members.

A cluster's members are training windows. Each becomes a *skeleton*: its lines, with the
structural boilerplate kept verbatim and the content replaced by typed slots, plus the
cluster's repetition pattern on those slots. A mined generator (``prompts/templates/
mined_v1.py.j2``) refills the slots with fresh values and so emits new documents that have the
members' surface and repeat their content exactly where, and at the lags, the members do.

Boilerplate vs content. Text is lexed into *values* (runs of letters and digits; a ``0x``
prefix stays literal) and literal text between them. A value is boilerplate when it occurs in
at least ``min_df`` of the cluster's source documents (tag and key names, mnemonics, keywords,
common words) or is a single character; everything else is content: ids, codepoints,
translations, labels, the things that differ from one document to the next.

Repetition. Inside a skeleton, equal content values share one *group*: the generator fills a
group once and writes it at every occurrence, so a mapping line ``0x00A0 0x00A0`` becomes
``0x3F1B 0x3F1B`` and an id reused three lines later is reused three lines later. A numeric
content value that is a small increment of an earlier one (consecutive codepoints, line
numbers) is *derived* from that group. Both are what the matched no-repeat control resamples.

Fresh content keeps each value's *shape* (character classes and length, e.g. ``Aaa9999``).
A value that recurs is filled with random characters of its shape: arbitrary content, many
tokens, each predictable at its next occurrence. A letter-only value that occurs once is
mostly drawn from the pool of the cluster's content words instead, so that prose and names
stay word-like (random letters would cost several unpredictable tokens each, diluting the
window with content real text carries in one or two).

Knobs add repetition beyond the members' own, for when refilled skeletons fall short of the
cluster's share (they do: members were selected at their window's alignment, and a document
re-cut into windows at other offsets regresses toward its mean): ``focus`` (skeletons drawn
in proportion to score x own share ** focus: the cluster's more repetitive forms more often),
``merge`` (a singleton content value shares its value with an earlier one of its class
within the window, in pairs) and ``echo`` (recent spans or lines repeated at line and clause
ends, ``copies`` times).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from ..corpus.tokenizers import EOS

VALUE = re.compile(r"[^\W_]+")
LETTERS_DIGITS = re.compile(r"[^\W\d_]+|\d+")
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
HEX_RUN = re.compile(r"^[0-9A-Fa-f]+$")
HEX_PREFIX = re.compile(r"^(0[xX])([0-9A-Fa-f]+)$")
HEX_LOWER = re.compile(r"^[0-9a-f]+$")
HEX_UPPER = re.compile(r"^[0-9A-F]+$")
UPPER_0X = re.compile(r"0[xX][0-9]*[A-F]")
LOWER_0X = re.compile(r"0[xX][0-9]*[a-f]")


@dataclass
class MineConfig:
    """Limits of the mined data (it is embedded in the generator file)."""

    max_skeletons: int = 200
    max_chars: int = 300_000  # embedded skeleton text, all together
    min_segment_chars: int = 40
    min_df_share: float = 0.01  # boilerplate: in at least this share of source documents...
    min_df: int = 3  # ...and at least this many
    min_df_share_numbers: float = 0.2  # numbers recur by chance: boilerplate only when this common
    max_increment: int = 256
    chunk: int = 4  # values of 3+ chunks are split into chunks of this many characters
    pool_size: int = 3000  # content words per letter class
    neighbors: int = 8


@dataclass
class Skeleton:
    lines: list[list]  # each line: literal strings and int group ids
    groups: list[list] = field(default_factory=list)  # [shape, derived_from, delta, merge_candidates, repeated]
    keys: set = field(default_factory=set)  # line templates, for neighbours


def lex(text: str) -> list[tuple[bool, str]]:
    """``(is_value, piece)`` pieces whose concatenation is ``text``.

    Values are runs of letters and digits; a run that is not all hex digits is split where
    letters and digits meet and at camelCase humps, and a ``0x`` prefix is literal.
    """
    out, pos = [], 0
    for m in VALUE.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos:m.start()]))
        run = m.group(0)
        hexed = HEX_PREFIX.match(run)
        if hexed:
            out += [(False, hexed.group(1)), (True, hexed.group(2))]
        elif HEX_RUN.match(run):
            out.append((True, run))
        else:  # a timestamp like 06T17, a name like Bgv4254, camelCase: apart
            out += [(True, w) for p in LETTERS_DIGITS.findall(run) for w in CAMEL.split(p)]
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def shape_of(value: str, after_0x: bool = False, upper_hex: bool = True) -> str:
    """Character-class shape, one marker per character: ``a``/``A`` ASCII letters, ``9`` a
    digit, ``1`` a leading non-zero digit, ``u`` any other letter; in hex values ``x``/``X``
    a hex letter and ``d``/``D`` a digit (lower/upper-case notation), so that refills keep
    where the digits and letters sit (``ffff`` stays letters, ``4C46`` digit-letter-digits).
    A ``0x`` value of digits only takes the case ``upper_hex`` (its neighbours' notation)."""
    has_digit, has_alpha = any(c.isdigit() for c in value), any(c.isalpha() for c in value)
    if len(value) >= 2 and HEX_RUN.match(value) and (after_0x or (has_digit and has_alpha)):
        upper = upper_hex if value.isdigit() else True if HEX_UPPER.match(value) else \
            False if HEX_LOWER.match(value) else None
        if upper is not None:  # (mixed-case runs like aB12 are not hex notation)
            return "".join(("D" if upper else "d") if c.isdigit() else ("X" if upper else "x") for c in value)
    out = []
    for i, c in enumerate(value):
        if c.isdigit() and c.isascii():
            out.append("1" if i == 0 and c != "0" and len(value) > 1 else "9")
        elif c.isascii() and c.isalpha():
            out.append("a" if c.islower() else "A")
        else:
            out.append("u")
    return "".join(out)


def shape_class(shape: str) -> str:
    """Coarse class of a shape: which fills are interchangeable."""
    chars = set(shape)
    if chars <= {"d", "x"} or chars <= {"D", "X"}:
        return "hex"
    if chars <= {"1", "9"}:
        return "num"
    if chars == {"a"}:
        return "lower"
    if chars == {"A"}:
        return "upper" if len(shape) > 1 else "title"
    if shape[0] == "A" and set(shape[1:]) == {"a"}:
        return "title"
    return "mixed"


def _numeric(value: str, shape: str) -> int | None:
    cls = shape_class(shape)
    if cls == "hex":
        return int(value, 16)
    if cls == "num":
        return int(value)
    return None


def segments(text: str) -> list[str]:
    """The document pieces of one training window, partial edge lines trimmed.

    A window starts and ends mid-document (unless an end-of-text token is there), so its
    first and last lines are usually cut; they are dropped when the piece has 3+ lines.
    """
    parts = text.split(EOS)
    out = []
    for i, part in enumerate(parts):
        lines = part.split("\n")
        if len(lines) >= 3:
            lines = lines[1 if i == 0 else 0: len(lines) - 1 if i == len(parts) - 1 else len(lines)]
        out.append("\n".join(lines).strip("\n"))
    return out


def document_frequency(units: list[list[str]]) -> Counter:
    """In how many source documents each value occurs (``units``: segments per document)."""
    df: Counter = Counter()
    for segs in units:
        df.update({v for s in segs for is_v, v in lex(s) if is_v})
    return df


class _SkeletonBuilder:
    """Turns one segment into a :class:`Skeleton` (groups, increments, merge candidates)."""

    def __init__(self, boiler: set[str], cfg: MineConfig, max_lag_chars: int):
        self.boiler, self.cfg, self.max_lag = boiler, cfg, max_lag_chars

    def build(self, text: str) -> Skeleton:
        sk = Skeleton(lines=[])
        self.upper_hex = len(UPPER_0X.findall(text)) >= len(LOWER_0X.findall(text))
        by_value: dict[str, int] = {}
        recent: list[tuple[int, int, str, str]] = []  # (group, char position, shape, value)
        counts: Counter = Counter()
        pos = 0
        for raw in text.split("\n"):
            line, key, prev_lit = [], [], ""
            for is_value, piece in lex(raw):
                if not is_value or piece in self.boiler or len(piece) <= 1:
                    line.append(piece)
                    key.append(piece)
                    prev_lit = piece
                else:
                    after_0x = prev_lit.endswith(("0x", "0X"))
                    for chunk, hexed in _chunks(piece, after_0x, self.cfg.chunk):
                        gid = self._group(sk, chunk, after_0x or hexed, by_value, recent, pos)
                        counts[gid] += 1
                        line.append(gid)
                        pos += len(chunk)
                    key.append("{" + shape_class(sk.groups[gid][0]) + "}")
                    continue
                pos += len(piece)
            pos += 1
            sk.lines.append(_merge_literals(line))
            sk.keys.add("".join(key))
        for gid, g in enumerate(sk.groups):  # only singletons that are not derived may merge
            if counts[gid] > 1 or g[1] >= 0:
                g[3] = []
            g.append(int(counts[gid] > 1))  # repeated: filled with random characters, not a word
        return sk

    def _group(self, sk: Skeleton, value: str, hexed: bool, by_value: dict, recent: list, pos: int) -> int:
        if value in by_value:
            return by_value[value]
        shape = shape_of(value, hexed, self.upper_hex)
        gid = len(sk.groups)
        derived, delta, merge = -1, 0, []
        number = _numeric(value, shape)
        for g, gpos, gshape, gvalue in reversed(recent):
            if pos - gpos > self.max_lag:
                break
            if number is not None and derived < 0 and len(gshape) == len(shape) and gshape[-1] == shape[-1]:
                step = number - (_numeric(gvalue, gshape) or 0)
                if 1 <= step <= self.cfg.max_increment:
                    derived, delta = g, step
            # merge candidates: up to 4 earlier groups of the class, not the adjacent piece
            if len(merge) < 4 and shape_class(gshape) == shape_class(shape) and pos - gpos > len(gvalue) + 2:
                merge.append(g)
        sk.groups.append([shape, derived, delta, merge])
        by_value[value] = gid
        recent.append((gid, pos, shape, value))
        return gid


def _chunks(value: str, after_0x: bool, size: int) -> list[tuple[str, bool]]:
    """A long value as ``size``-character chunks (hex dumps, base64, hashes): each chunk is its
    own group, so repetition *inside* a value (``868d868d``) is kept. Chunks of a hex value
    stay hex even when one has no digit (``ffff``)."""
    hexed = after_0x or bool(HEX_RUN.match(value))
    if len(value) < 3 * size or not (hexed or any(c.isdigit() for c in value)):
        return [(value, False)]  # words stay whole
    return [(value[i:i + size], hexed) for i in range(0, len(value), size)]


def _merge_literals(line: list) -> list:
    out: list = []
    for piece in line:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] += piece
        elif piece != "":
            out.append(piece)
    return out


def _pools(segs: list[str], boiler: set[str], cfg: MineConfig) -> tuple[dict[str, list[str]], str]:
    """Content words per letter class (most frequent first) and the non-ASCII letters seen."""
    words: dict[str, Counter] = {"lower": Counter(), "title": Counter(), "upper": Counter()}
    uni: Counter = Counter()
    for s in segs:
        for is_value, v in lex(s):
            if not is_value or v in boiler or len(v) <= 1:
                continue
            cls = shape_class(shape_of(v))
            if cls in words:
                words[cls][v] += 1
            uni.update(c for c in v if not c.isascii() and c.isalpha())
    pools = {k: [w for w, _ in c.most_common(cfg.pool_size)] for k, c in words.items()}
    return pools, "".join(c for c, _ in uni.most_common(200))


def _neighbors(skeletons: list[Skeleton], k: int) -> list[list[int]]:
    """For each skeleton, the most similar ones by Jaccard of line templates (itself first)."""
    out = []
    for i, a in enumerate(skeletons):
        sims = []
        for j, b in enumerate(skeletons):
            if j != i and a.keys and b.keys:
                inter = len(a.keys & b.keys)
                if inter:
                    sims.append((inter / len(a.keys | b.keys), j))
        out.append([i] + [j for _, j in sorted(sims, reverse=True)[: k - 1]])
    return out


@dataclass
class Member:
    """One cluster member as mining needs it."""

    text: str
    score: float
    doc_ids: list[str]
    share: float = 0.0  # model-token induction share of the member's own window


def mine(members: list[Member], seq_len: int, chars_per_token: float, doc_tokens: float,
         cfg: MineConfig | None = None) -> dict:
    """The data a mined generator embeds: skeletons, weights, pools, document length.

    Args:
        members: the cluster's members, highest score first.
        seq_len: the model's window (tokens); repeats farther apart than that cannot teach.
        chars_per_token: characters per model token in the members (sets lags in characters).
        doc_tokens: typical length (tokens) of the members' source documents.
    """
    cfg = cfg or MineConfig()
    per_member = [segments(m.text) for m in members]
    units: dict[str, list[str]] = {}
    for m, segs in zip(members, per_member, strict=True):
        ids = m.doc_ids if len(m.doc_ids) == len(segs) else [f"w{id(m)}"] * len(segs)
        for doc, seg in zip(ids, segs, strict=True):
            units.setdefault(doc, []).append(seg)
    df = document_frequency(list(units.values()))
    min_df = max(cfg.min_df, math.ceil(cfg.min_df_share * len(units)))
    min_df_num = max(cfg.min_df, math.ceil(cfg.min_df_share_numbers * len(units)))
    boiler = {v for v, c in df.items() if c >= (min_df_num if v.isdigit() else min_df)}
    builder = _SkeletonBuilder(boiler, cfg, max_lag_chars=int(0.9 * seq_len * chars_per_token))
    skeletons, weights, shares, used = [], [], [], 0
    for m, segs in zip(members, per_member, strict=True):
        # one skeleton per member: its document pieces in window order, as the window shows them
        text = "\n".join(seg for seg in segs if seg)
        if len(text) < cfg.min_segment_chars or used + len(text) > cfg.max_chars:
            continue
        skeletons.append(builder.build(text))
        weights.append(max(m.score, 0.0) + 1e-9)
        shares.append(round(m.share, 4))
        used += len(text)
        if len(skeletons) >= cfg.max_skeletons:
            break
    pools, uni = _pools([s for segs in per_member for s in segs], boiler, cfg)
    window_chars = seq_len * chars_per_token
    doc_chars = min(max(doc_tokens * chars_per_token, 2 * window_chars), 8 * window_chars)
    return {
        "skeletons": [{"l": s.lines, "g": s.groups, "n": nb}
                      for s, nb in zip(skeletons, _neighbors(skeletons, cfg.neighbors), strict=True)],
        "weights": [round(w / sum(weights), 6) for w in weights],
        "shares": shares,
        "pools": pools, "uni": uni or "\u00e9\u00e8\u00fc\u00f6",
        "doc_chars": [int(doc_chars * 0.5), int(doc_chars * 1.5)],
        "echo_lag": int(0.5 * window_chars),
        "summary": {"members": len(members), "source_documents": len(units), "boilerplate_values": len(boiler),
                    "min_df": min_df, "skeletons": len(skeletons), "skeleton_chars": used,
                    "content_groups": sum(len(s.groups) for s in skeletons),
                    "repeated_groups": sum(_repeated(s) for s in skeletons),
                    "derived_groups": sum(g[1] >= 0 for s in skeletons for g in s.groups)},
    }


def _repeated(sk: Skeleton) -> int:
    counts = Counter(p for line in sk.lines for p in line if isinstance(p, int))
    return sum(c > 1 for c in counts.values())
