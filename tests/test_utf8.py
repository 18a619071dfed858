"""Texts as UTF-8 buffers (graphlinker/templates/utf8.py) against the xxhash package and Python's str."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import xxhash

from graphlinker.templates.utf8 import Codepoints, codepoints, utf8_buffers, xxh64

ALPHABET = "ab cdé中文字😀\n\t\u00a0ß" + "".join(chr(c) for c in range(0x20, 0x7F))


def texts(seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = ["", "a", "中", "😀" * 9]
    for length in list(range(0, 70)) + [100, 255, 256, 257, 1000, 4099]:  # every tail of 32-, 8-, 4- and 1-byte steps
        out.append("".join(rng.choice(ALPHABET) for _ in range(length)))
    return out


def test_xxh64_equals_the_xxhash_package_for_every_length_and_seed():
    strings = texts()
    offsets, data = utf8_buffers(pa.array(strings))
    for seed in (0, 1, 2**63 + 5):
        expected = [xxhash.xxh64_intdigest(s.encode("utf-8"), seed) for s in strings]
        assert xxh64(offsets, data, seed).tolist() == expected


def test_codepoints_are_pythons_and_the_same_as_from_strings():
    strings = texts(2)
    decoded = codepoints(*utf8_buffers(pa.array(strings, pa.string())))  # 32-bit offsets too
    assert [decoded.cps[a:b].tolist() for a, b in zip(decoded.starts[:-1], decoded.starts[1:])] == [[ord(c) for c in s] for s in strings]
    direct = Codepoints.of_strings(strings)
    assert np.array_equal(direct.cps, decoded.cps) and np.array_equal(direct.starts, decoded.starts)


def test_sliced_chunked_and_null_arrays_read_the_right_texts():
    strings = texts(3)
    chunked = pa.chunked_array([pa.array(strings[:10]), pa.array([None, "x"]), pa.array(strings[10:])])
    offsets, data = utf8_buffers(chunked.slice(3, 20))
    expected = (strings[:10] + ["", "x"] + strings[10:])[3:23]
    assert xxh64(offsets, data).tolist() == [xxhash.xxh64_intdigest(s.encode()) for s in expected]


def test_take_and_range_pick_whole_texts():
    strings = texts(4)
    cps = Codepoints.of_strings(strings)
    rows = np.array([5, 0, 77, 5, 3])
    picked = cps.take(rows)
    assert [picked.cps[a:b].tolist() for a, b in zip(picked.starts[:-1], picked.starts[1:])] == [[ord(c) for c in strings[r]] for r in rows]
    part = cps.range(10, 14)
    assert len(part) == 4 and part.cps.tolist() == [ord(c) for c in "".join(strings[10:14])]


def test_a_sequence_cut_short_stays_inside_its_text():
    """Arrow does not always validate UTF-8 read from files: a truncated sequence must not read the next text."""
    offsets = np.array([0, 2, 3], dtype=np.int64)
    data = np.frombuffer(b"a\xe4b", dtype=np.uint8)  # text 0: "a" + the first byte of a 3-byte sequence; text 1: "b"
    decoded = codepoints(offsets, data)
    assert decoded.starts.tolist() == [0, 2, 3]
    assert decoded.cps.tolist() == [ord("a"), 0xE4 & 0x0F, ord("b")]  # the cut sequence: its lead byte's bits alone
