"""Mutations of X12 files: bytes, segments, elements, envelopes, delimiters and encodings.

Each mutation takes the file's bytes and the case's random source and returns new bytes and a label. Labels
name the operation and positions (segment ids, element numbers, offsets), never a value from the file, so
they can be printed and logged. ``mutate`` stacks one to three mutations and, at random, re-counts the
envelope trailers afterwards so that a mutant also gets past the set-grain checks into the loaders.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from fuzz import x12_sets

Mutation = Callable[[random.Random, bytes], tuple[bytes, str]]

# Values an element can be changed to: numbers of every odd shape, text the readers must survive.
_ODD_NUMBERS = (
    "",
    "0",
    "-0",
    "-1",
    "00000000000000000001",
    "1.005",
    "0.001",
    "-99999999.99",
    "99999999999999999999",
    "9" * 40,
    "1E+30",
    "1e-30",
    "1E+999999",
    "1E+9999999",
    "-1E-9999999",
    "NaN",
    "-Infinity",
    "sNaN",
    "1_000",
    " 12 ",
    "+5",
    "\u0661\u0662",  # Arabic-Indic digits
    "１２",  # full-width digits
    "12.",
    ".5",
    "1,000.00",
)
_ODD_TEXT = (
    "",
    " ",
    "É",
    "Zoë Ñúñez",
    "\u00a0",
    "\u2028",
    "\U0001f600",
    "\x00",
    "\x1d",
    "\r\n",
    "A" * 300,
    "X" * 5000,
    "ISA",
    "SE",
    "~",
    "*",
    ":",
    "^",
    "|",
    "\ufeff",
)
# Elements that carry counts, control numbers and amounts: (segment id, element number).
_TARGETED = (
    ("SE", 1),
    ("SE", 2),
    ("ST", 2),
    ("GE", 1),
    ("GE", 2),
    ("GS", 6),
    ("IEA", 1),
    ("IEA", 2),
    ("ISA", 13),
    ("BPR", 2),
    ("BPR", 3),
    ("BPR", 16),
    ("TRN", 2),
    ("TRN", 3),
    ("CLP", 1),
    ("CLP", 2),
    ("CLP", 3),
    ("CLP", 4),
    ("CLP", 5),
    ("SVC", 1),
    ("SVC", 2),
    ("SVC", 3),
    ("SVC", 5),
    ("CAS", 1),
    ("CAS", 3),
    ("CAS", 4),
    ("PLB", 3),
    ("PLB", 4),
    ("AK1", 2),
    ("IK5", 1),
    ("AK9", 1),
    ("TA1", 1),
    ("TA1", 4),
    ("TRN", 1),
    ("STC", 1),
    ("STC", 3),
    ("CLM", 1),
    ("CLM", 2),
    ("SV1", 2),
    ("HL", 1),
    ("HL", 2),
    ("DTM", 2),
)
_JUNK = (
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\r",
    b"\n",
    b"~",
    b"*",
    b"ISA",
    b"SE*",
    b"\xc3\xa9",
    b"\xe9",
    b"\x80\x81",
    b"~~~",
    b"   \t",
    b"GS*HP*X~",
    b"ST*835*0001~",
)


def _position(rng: random.Random, size: int) -> int:
    return rng.randrange(size + 1) if size else 0


# ---------------------------------------------------------------------------------------------------------
# byte level


def flip_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Flip a bit in, or overwrite, one to eight bytes."""
    if not data:
        return bytes([rng.randrange(256)]), "flip@0"
    out = bytearray(data)
    count = rng.randint(1, 8)
    first = rng.randrange(len(out))
    for _ in range(count):
        at = rng.randrange(len(out))
        out[at] = out[at] ^ (1 << rng.randrange(8)) if rng.random() < 0.5 else rng.randrange(256)
    return bytes(out), f"flip{count}@{first}"


def truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Cut the file at any byte."""
    at = _position(rng, len(data))
    return data[:at], f"truncate@{at}"


def truncate_in_segment(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Cut the file inside a segment of a chosen kind (mid-CLP, mid-SVC, mid-SE ...)."""
    sid = rng.choice((b"CLP", b"SVC", b"CAS", b"SE", b"PLB", b"BPR", b"IK5", b"STC", b"CLM", b"GE", b"IEA"))
    spots = [k for k in range(len(data)) if data.startswith(sid, k)]
    if not spots:
        return truncate(rng, data)
    start = rng.choice(spots)
    at = start + rng.randint(1, 12)
    return data[:at], f"truncate-in-{sid.decode()}@{at}"


def insert_junk(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Insert a junk byte string (NUL, BOM, stray delimiters, non-UTF-8) anywhere."""
    at = _position(rng, len(data))
    junk = rng.choice(_JUNK) if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return data[:at] + junk + data[at:], f"junk{len(junk)}@{at}"


def delete_range(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Remove a run of 1 to 64 bytes."""
    if not data:
        return data, "delete-range@0"
    at = rng.randrange(len(data))
    length = rng.randint(1, 64)
    return data[:at] + data[at + length :], f"delete{length}@{at}"


def encode_differently(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Re-encode or re-wrap the file: BOM, UTF-16 with or without BOM, CR-only or CRLF line ends, indentation."""
    choice = rng.choice(("bom", "utf16le", "utf16be", "utf16le-nobom", "cr", "crlf", "indent", "latin1-upper"))
    text = data.decode("latin-1")
    if choice == "bom":
        return b"\xef\xbb\xbf" + data, "bom"
    if choice == "utf16le":
        return b"\xff\xfe" + text.encode("utf-16-le"), "utf16le"
    if choice == "utf16be":
        return b"\xfe\xff" + text.encode("utf-16-be"), "utf16be"
    if choice == "utf16le-nobom":
        return text.encode("utf-16-le"), "utf16le-nobom"
    if choice == "cr":
        return data.replace(b"\r\n", b"\r").replace(b"\n", b"\r"), "cr-only"
    if choice == "crlf":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), "crlf"
    if choice == "indent":
        return data.replace(b"\n", b"\n    "), "indent"
    # characters 0x80-0xFF spread over the file (Latin-1 text, not UTF-8)
    out = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(0x80, 0x100)
    return bytes(out), "latin1-bytes"


# ---------------------------------------------------------------------------------------------------------
# segment level (needs a readable ISA; falls back to a byte mutation otherwise)


def _segments(data: bytes) -> x12_sets.Split | None:
    parts = x12_sets.split(data, exact=True)
    return parts if parts.decided and parts.segments else None


def _write(parts: x12_sets.Split, pairs: list[tuple[str, list[str]]]) -> bytes:
    parts.leads = [lead for lead, _seg in pairs]
    parts.segments = [seg for _lead, seg in pairs]
    return x12_sets.join(parts)


def segment_edit(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Delete, duplicate, swap or move whole segments (possibly many, e.g. a run of CLP loops)."""
    parts = _segments(data)
    if parts is None:
        return flip_bytes(rng, data)
    pairs = list(zip(parts.leads, parts.segments, strict=True))
    n = len(pairs)
    op = rng.choice(("delete", "duplicate", "swap", "move", "delete-run", "duplicate-run", "repeat"))
    a = rng.randrange(n)
    sid = pairs[a][1][0]
    if op == "delete":
        del pairs[a]
    elif op == "duplicate":
        pairs.insert(a, (pairs[a][0], list(pairs[a][1])))
    elif op == "swap":
        b = rng.randrange(n)
        pairs[a], pairs[b] = pairs[b], pairs[a]
    elif op == "move":
        item = pairs.pop(a)
        pairs.insert(rng.randrange(len(pairs) + 1), item)
    elif op == "delete-run":
        del pairs[a : a + rng.randint(2, 20)]
    elif op == "duplicate-run":
        run = [(lead, list(seg)) for lead, seg in pairs[a : a + rng.randint(2, 20)]]
        pairs[a:a] = run
    else:  # one segment repeated many times: a big file from a small one (at most about 2 MB more)
        size = len(parts.element.join(pairs[a][1])) + 1
        count = min(rng.randint(50, 2000), max(1, 2_000_000 // size))
        pairs[a:a] = [(pairs[a][0], list(pairs[a][1])) for _ in range(count)]
    return _write(parts, pairs), f"segment-{op}-{_safe_id(sid)}@{a}"


def _safe_id(sid: str) -> str:
    return sid if sid.isascii() and sid.isalnum() and len(sid) <= 3 else "?"


def element_edit(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Change one element: a count, control number or amount (targeted), or any element, to an odd value."""
    parts = _segments(data)
    if parts is None:
        return flip_bytes(rng, data)
    segments = parts.segments
    targeted = [(k, pos) for k, seg in enumerate(segments) for sid, pos in _TARGETED if seg[0] == sid]
    if targeted and rng.random() < 0.7:
        k, pos = rng.choice(targeted)
    else:
        k = rng.randrange(len(segments))
        pos = rng.randint(1, max(1, len(segments[k]) + 1))
    seg = segments[k]
    current = seg[pos] if pos < len(seg) else ""
    roll = rng.random()
    if roll < 0.35 and current.strip().lstrip("-").replace(".", "", 1).isdigit():
        value = _nudge(rng, current.strip())
        how = "nudge"
    elif roll < 0.7:
        value = rng.choice(_ODD_NUMBERS)
        how = "number"
    else:
        value = rng.choice(_ODD_TEXT)
        how = "text"
    while len(seg) <= pos:
        seg.append("")
    seg[pos] = value
    return x12_sets.join(parts), f"element-{how}-{_safe_id(seg[0])}{pos:02d}@{k}"


def _nudge(rng: random.Random, text: str) -> str:
    if len(text) > 30:  # beyond any real count or amount: grow it instead
        return text + "1"
    try:
        if "." in text:
            from decimal import Decimal

            return str(Decimal(text) + Decimal(rng.choice(("0.01", "-0.01", "1", "-1", "100"))))
        width = len(text)
        return str(int(text) + rng.choice((1, -1, 2, 10, -10))).zfill(width if not text.startswith("-") else 0)
    except (ValueError, ArithmeticError):  # int("1.2.3") raises ValueError, Decimal("1.2.3") InvalidOperation
        return text + "1"


def delimiter_swap(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Change delimiters: consistently (a valid file with other delimiters) or in the ISA only (inconsistent)."""
    parts = _segments(data)
    if parts is None:
        return flip_bytes(rng, data)
    candidates = [c for c in "*|~^:!`>{}\\@#$%&+\n\r\x1d\x1c\x1e\x1f" if c not in (parts.element, parts.terminator)]
    how = rng.choice(("element", "terminator", "component", "isa-only", "newline-terminator"))
    if how == "element":
        parts.element = rng.choice(candidates)
    elif how == "terminator":
        parts.terminator = rng.choice(candidates)
    elif how == "newline-terminator":
        parts.terminator = "\n"
        parts.leads = ["" for _ in parts.leads]
    elif how == "component":
        isa = next((seg for seg in parts.segments if seg[0] == "ISA"), None)
        if isa is not None and len(isa) > 16:
            isa[16] = rng.choice(candidates)
    else:
        changed = bytearray(data)
        at = changed.find(b"ISA")
        if at >= 0 and len(changed) > at + 3:
            changed[at + 3] = ord(rng.choice([c for c in "|!^" if ord(c) != changed[at + 3]]))
        return bytes(changed), "delimiter-isa-only"
    return x12_sets.join(parts), f"delimiter-{how}"


def huge_value(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """An element grown to tens of kilobytes, or an amount with hundreds of digits."""
    parts = _segments(data)
    if parts is None:
        return data + b"9" * rng.randint(1000, 50000), "huge-tail"
    k = rng.randrange(len(parts.segments))
    seg = parts.segments[k]
    pos = rng.randint(1, max(1, len(seg) - 1))
    while len(seg) <= pos:
        seg.append("")
    seg[pos] = rng.choice(("9", "A", "1.", "É")) * rng.randint(100, 60000)
    return x12_sets.join(parts), f"huge-{_safe_id(seg[0])}{pos:02d}@{k}"


def splice(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    """Glue part of another file into this one (two interchanges, a set inside a set ...)."""
    a = _position(rng, len(data))
    b = _position(rng, len(other))
    c = _position(rng, len(other))
    lo, hi = min(b, c), max(b, c)
    return data[:a] + other[lo:hi] + data[a:], f"splice{hi - lo}@{a}"


MUTATIONS: tuple[tuple[Mutation, float], ...] = (
    (flip_bytes, 3.0),
    (truncate, 2.0),
    (truncate_in_segment, 3.0),
    (insert_junk, 2.0),
    (delete_range, 1.0),
    (encode_differently, 1.5),
    (segment_edit, 4.0),
    (element_edit, 6.0),
    (delimiter_swap, 1.0),
    (huge_value, 0.5),
)


def mutate(rng: random.Random, data: bytes, others: list[bytes] | None = None) -> tuple[bytes, list[str]]:
    """One to three stacked mutations of ``data``, then maybe the envelope counts made right again."""
    labels: list[str] = []
    functions = [m for m, _w in MUTATIONS]
    weights = [w for _m, w in MUTATIONS]
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        if others and rng.random() < 0.05:
            data, label = splice(rng, data, rng.choice(others))
        else:
            function = rng.choices(functions, weights)[0]
            data, label = function(rng, data)
        labels.append(label)
    if rng.random() < 0.4:
        parts = _segments(data)
        if parts is not None:
            x12_sets.recount(parts)
            data = x12_sets.join(parts)
            labels.append("recount")
    return data, labels
