"""A readable loop tree of an X12 file (`revcycle x12 inspect FILE`), problems marked where they occur.

For a person debugging a payer's file: every segment is shown at the depth of its loop (ISA, GS, ST, HL
levels, 2300/2400 claims and lines, 2000/2100/2110 remittance loops, 999 2000/2100), with its position,
and each problem the reader found is printed under the segment it belongs to. Segments that carry PHI
(NM1, N3, N4, DMG, REF*SY and friends) are masked unless ``show_values`` is set: only their id and
qualifiers stay visible. The ISA's authorization and security information (ISA02, ISA04) are masked always.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from typing import BinaryIO

from revcycle.x12.document import parse_document
from revcycle.x12.reader import Segment, read_segments

MASK = "###"
# For each PHI-bearing segment, the element positions that stay visible (qualifiers, not values).
_VISIBLE: dict[str, frozenset[int]] = {
    "NM1": frozenset({1, 2, 8}),
    "N3": frozenset(),
    "N4": frozenset(),
    "DMG": frozenset({1}),
    "PER": frozenset({1, 3, 5, 7}),
    "PAT": frozenset({1}),
}
# Credentials, masked even with ``show_values``: ISA02 authorization and ISA04 security information (the
# password some clearinghouses require). X12 5010 has no other password field in the sets we read.
_CREDENTIALS: dict[str, frozenset[int]] = {"ISA": frozenset({2, 4})}
_PHI_REFERENCES = frozenset({"SY", "1W", "IG", "EA", "23", "Y4", "F8", "6P", "Q4"})

_HL_LABELS = {
    "837": {"20": "2000A billing provider", "22": "2000B subscriber", "23": "2000C patient"},
    "277": {
        "20": "2000A information source",
        "21": "2000B information receiver",
        "19": "2000C billing provider",
        "PT": "2000D patient",
        "22": "2000D subscriber",
        "23": "2000E dependent",
    },
    "276": {
        "20": "2000A information source",
        "21": "2000B information receiver",
        "19": "2000C service provider",
        "22": "2000D subscriber",
        "23": "2000E dependent",
    },
}
_HL_LABELS["270"] = _HL_LABELS["271"] = {
    "20": "2000A information source",
    "21": "2000B information receiver",
    "22": "2000C subscriber",
    "23": "2000D dependent",
}


def mask_segment(seg: Segment, element: str = "*", show_values: bool = False) -> str:
    """The segment as text, PHI elements replaced by ``###`` unless ``show_values``; credentials always masked."""
    parts = list(seg.parts)
    for pos in _CREDENTIALS.get(seg.id, frozenset()):
        if pos < len(parts) and parts[pos].strip():
            parts[pos] = "#" * len(parts[pos])  # same width: the ISA is fixed-length
    if not show_values:
        visible = _VISIBLE.get(seg.id)
        if seg.id == "REF" and len(parts) > 1 and parts[1].strip() in _PHI_REFERENCES:
            visible = frozenset({1})
        if visible is not None:
            parts = [parts[0]] + [
                value if (pos in visible or not value) else MASK for pos, value in enumerate(parts[1:], start=1)
            ]
    return element.join(parts)


class _Depth:
    """Follows the loop structure to give each segment its depth and, at a loop start, a label."""

    def __init__(self) -> None:
        self.set_id = ""
        self.base = 3
        self.hl_depth: dict[str, int] = {}
        self.current = 3
        self.claim_depth = 3
        self.hl = ""

    def place(self, seg: Segment) -> tuple[int, str | None]:
        sid = seg.id
        if sid == "ISA":
            return 0, f"interchange {seg.get(13).strip()}"
        if sid == "IEA":
            return 0, None
        if sid in ("GS", "GE"):
            return 1, f"functional group {seg.get(6).strip()} ({seg.get(8).strip()})" if sid == "GS" else None
        if sid == "ST":
            self.set_id = seg.get(1).strip()
            self.hl_depth = {}
            self.current = self.base
            self.claim_depth = self.base
            return 2, f"transaction set {self.set_id} {seg.get(2).strip()}"
        if sid == "SE":
            return 2, None
        if sid == "HL":
            parent = seg.get(2).strip()
            depth = self.hl_depth.get(parent, -1) + 1 if parent else 0
            self.hl = seg.get(1).strip()
            self.hl_depth[self.hl] = depth
            self.claim_depth = self.base
            self.current = self.base + depth
            code = seg.get(3).strip()
            label = _HL_LABELS.get(self.set_id, {}).get(code, f"HL level {code}")
            return self.current, label
        if self.set_id == "837":
            if sid == "CLM":
                self.claim_depth = self.base + self.hl_depth.get(self.hl, 0) + 1
                self.current = self.claim_depth
                return self.claim_depth, "2300 claim"
            if sid == "LX":
                self.current = self.claim_depth + 1
                return self.current, f"2400 service line {seg.get(1).strip()}"
            if sid == "SBR" and self.current >= self.claim_depth > self.base:
                self.current = self.claim_depth + 1
                return self.current, "2320 other subscriber"
        if self.set_id == "835":
            if sid == "LX":
                self.current = self.base
                return self.base, "2000 header number"
            if sid == "CLP":
                self.current = self.base + 1
                return self.current, "2100 claim payment"
            if sid == "SVC":
                self.current = self.base + 2
                return self.current, "2110 service payment"
            if sid == "PLB":
                self.current = self.base
                return self.base, "provider adjustment"
        if self.set_id in ("270", "271") and sid in ("EB", "EQ"):
            self.claim_depth = self.base + self.hl_depth.get(self.hl, 0) + 1
            self.current = self.claim_depth
            return self.current, "2110 eligibility or benefit" if sid == "EB" else "2110 eligibility inquiry"
        if self.set_id == "271" and sid == "LS":
            self.current = self.claim_depth + 1
            return self.current, "2120 benefit related entity"
        if self.set_id == "271" and sid == "LE":
            self.current = self.claim_depth
            return self.claim_depth + 1, None
        if self.set_id in ("276", "277"):
            if sid == "TRN" and self.hl_depth.get(self.hl, 0) >= 3:
                self.claim_depth = self.base + self.hl_depth.get(self.hl, 0) + 1
                self.current = self.claim_depth
                return self.current, "2200 claim status tracking"
            if sid == "SVC":
                self.current = self.claim_depth + 1
                return self.current, "2210/2220 service line"
        if self.set_id == "999":
            if sid == "AK2":
                self.current = self.base
                return self.base, "2000 transaction set response"
            if sid == "IK3":
                self.current = self.base + 1
                return self.current, "2100 segment error"
            if sid == "IK5":
                self.current = self.base
        return (self.base if sid == "AK9" else self.current), None


def inspect_lines(
    source: bytes | str | os.PathLike[str] | BinaryIO, file_name: str, show_values: bool = False
) -> Iterator[str]:
    """The loop tree of an X12 file, one text line at a time (see the module docstring).

    Problems come from ``parse_document`` (envelope, syntax and transaction problems), so the file is read
    twice; ``source`` must therefore be bytes or a path.
    """
    document = parse_document(source, file_name)
    by_segment: dict[int | None, list[str]] = defaultdict(list)
    for problem in document["problems"]:
        by_segment[problem["segment"]].append(f"{problem['code']}: {problem['message']}")
    yield f"{file_name}: {len(document['transactions'])} transaction set(s), {len(document['problems'])} problem(s)"
    for message in by_segment.pop(None, []):
        yield f"!! {message}"
    depth = _Depth()
    for seg in read_segments(source):
        level, label = depth.place(seg)
        indent = "  " * level
        if label is not None:
            yield f"{indent}{label}"
        yield f"{indent}  [{seg.index}] {mask_segment(seg, '*', show_values)}"
        for message in by_segment.pop(seg.index, []):
            yield f"{indent}  !! {message}"
    for index in sorted(i for i in by_segment if i is not None):
        for message in by_segment[index]:
            yield f"!! segment {index}: {message}"
