"""Mining skeletons from members: lexing, shapes, boilerplate, groups and increments."""

from __future__ import annotations

from mda_augment.motifs.mine import Member, lex, mine, segments, shape_class, shape_of


def test_lex_round_trips_and_splits_values():
    text = '0x00A0\t<l:gentext key="Abstract"/> 2024-03-06T17:14 Bgv4254 e35cbf0f'
    pieces = lex(text)
    assert "".join(p for _, p in pieces) == text
    values = [p for is_value, p in pieces if is_value]
    # 0x stays literal; a timestamp and a name with digits split; hex runs stay whole
    assert values[:4] == ["00A0", "l", "gentext", "key"]
    assert "06" in values and "T" in values and "Bgv" in values and "4254" in values and "e35cbf0f" in values
    assert (False, "0x") in pieces


def test_shapes_keep_character_classes():
    assert shape_of("Bgv") == "Aaa" and shape_class("Aaa") == "title"
    # hex keeps where its digits and letters sit, and its notation's case
    assert shape_of("4C46") == "DXDD" and shape_class("DXDD") == "hex"
    assert shape_of("e35cbf0f") == "xddxxxdx" and shape_class("xddxxxdx") == "hex"
    assert shape_of("37546") == "19999" and shape_class("19999") == "num"
    assert shape_of("0020", after_0x=True) == "DDDD" and shape_of("0020", after_0x=True, upper_hex=False) == "dddd"
    assert shape_of("DUPLOYAN") == "AAAAAAAA" and shape_class("AAAAAAAA") == "upper"


def test_segments_drop_cut_edge_lines_but_keep_document_boundaries():
    window = "ial line\nfull one\nfull two\ncut<|endoftext|>start\nmiddle\nend cu"
    assert segments(window) == ["full one\nfull two\ncut", "start\nmiddle"]


def _table(start: int, names: list[str]) -> str:
    return "\n".join(f"x\n0x{start + i:04X}\t0x{start + i:04X}\t# {n} LETTER" for i, n in enumerate(names))


def test_mine_finds_boilerplate_repeats_and_increments():
    members = [Member(_table(0x1000 + 97 * k, [f"N{k}A{i}" for i in range(6)]) + "\ntail", 1.0 - k / 10,
                      [f"doc{k}"]) for k in range(6)]
    data = mine(members, seq_len=128, chars_per_token=2.0, doc_tokens=400)
    sk = data["skeletons"][0]
    lines = [line for line in sk["l"] if any(isinstance(p, int) for p in line)]
    # "LETTER" is in every document: boilerplate, kept verbatim; the code is content
    assert "LETTER" in "".join(p for p in lines[0] if isinstance(p, str))
    first = lines[0]
    gids = [p for p in first if isinstance(p, int)]
    assert gids[0] == gids[1]  # both columns of a line are one group: a repeat
    groups = sk["g"]
    nxt = [p for p in lines[1] if isinstance(p, int)][0]
    assert groups[nxt][1] == gids[0] and groups[nxt][2] == 1  # next code derived: previous + 1
    assert data["summary"]["repeated_groups"] >= 6 and data["summary"]["derived_groups"] >= 5
    assert data["weights"][0] > data["weights"][-1]  # higher-scoring members weigh more
    assert len(sk["n"]) > 1 and sk["n"][0] == 0  # neighbours: itself first, then similar ones
