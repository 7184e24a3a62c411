"""An independent, deliberately small X12 splitter: which transaction sets of a file are intact.

It shares no code with ``revcycle.x12.reader``, so the set-grain invariant does not trust the reader it
checks. It also serves the mutators (segment positions, re-counted envelopes).

A set is *broken* when it is plainly so: no SE before the next ST, GE, IEA, ISA or the end of the file; an
SE02 that is not the ST02; an SE01 of plain digits that is not the number of segments from ST to SE. It is
*intact* when its SE agrees on both. Whatever the splitter cannot judge with certainty is *undecided*: the
whole file when it has no readable ISA, is UTF-16, or holds a damaged segment id that may hide an envelope
segment; one set when its SE01 is not plain digits. The invariant checks broken sets only, so a reader that
is more lenient or stricter than this splitter on undecided input is never flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ISA_LENGTH = 106
_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")


@dataclass
class SetInfo:
    """One ST..SE transaction set as found: its id, ST02, its 835 trace (TRN02) and whether it is intact."""

    set_id: str
    control: str
    start: int  # index of the ST among the file's segments
    state: str = "broken"  # intact, broken or undecided
    trace: str = ""
    payer: str = ""  # TRN03


@dataclass
class Split:
    """A file split into segments (text, as element lists) with its sets; ``decided`` False when unsure."""

    decided: bool
    element: str = "*"
    terminator: str = "~"
    segments: list[list[str]] = field(default_factory=list)
    sets: list[SetInfo] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)  # the blank text before each segment (newlines ...)
    prefix: str = ""
    tail: str = ""  # what follows the last terminator
    unterminated: bool = False  # the last segment has no terminator


# What X12 readers commonly skip around segments (the project's reader does the same; a difference here
# would make this splitter count a segment the reader does not).
_BLANK = " \t\r\n\x00\ufeff\x0b\x0c\xa0"


def _decode(data: bytes, exact: bool) -> str | None:
    if data.startswith(b"\xef\xbb\xbf") and not exact:
        data = data[3:]
    if b"\x00" in data[:64] or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    if exact:
        return data.decode("latin-1")  # one character per byte: join() gives the same bytes back
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # byte by byte: UTF-8 sequences where valid, Latin-1 for every other byte
        return "".join(_mixed(data))


def _mixed(data: bytes) -> list[str]:
    out = []
    k = 0
    while k < len(data):
        for width in (1, 2, 3, 4):
            try:
                out.append(data[k : k + width].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            k += width
            break
        else:
            out.append(data[k : k + 1].decode("latin-1"))
            k += 1
    return out


def split(data: bytes, *, exact: bool = False) -> Split:
    """Split ``data`` into segments and find its transaction sets (one interchange delimiter set per file).

    ``exact`` reads one character per byte, so ``join`` writes the very bytes back (for the mutators);
    otherwise the text is decoded as X12 readers do (UTF-8, other bytes as Latin-1, a UTF-8 BOM skipped).
    """
    text = _decode(data, exact)
    if text is None:
        return Split(False)
    start = text.find("ISA")
    if start < 0 or len(text) < start + _ISA_LENGTH or text[:start].strip():
        return Split(False)
    element = text[start + 3]
    terminator = text[start + _ISA_LENGTH - 1]
    isa = text[start : start + _ISA_LENGTH - 1]
    if isa.count(element) != 16 or element.isalnum() or terminator.isalnum() or element == terminator:
        return Split(False)
    out = Split(True, element, terminator, prefix=text[:start])
    pieces = text[start:].split(terminator)
    blank = "".join(ch for ch in _BLANK if ch not in (element, terminator))
    *complete, last = pieces
    for raw in complete:
        stripped = raw.strip(blank)
        if stripped:
            out.leads.append(raw[: len(raw) - len(raw.lstrip(blank))])
            out.segments.append(stripped.split(element))
    if last.strip(blank):  # a last segment without its terminator
        out.leads.append(last[: len(last) - len(last.lstrip(blank))])
        out.segments.append(last.strip(blank).split(element))
        out.unterminated = True
    else:
        out.tail = last
    for seg in out.segments:
        sid = seg[0]
        if sid.startswith("ISA") and (sid != "ISA" or len(element.join(seg)) != _ISA_LENGTH - 1):
            out.decided = False  # an interchange with other delimiters, or a damaged ISA: not decidable here
        elif not _ID.match(sid) and _ENVELOPE_INSIDE.search(sid):
            out.decided = False  # a damaged id that a lenient reader may read as an envelope segment
    _find_sets(out)
    return out


_ENVELOPE_INSIDE = re.compile(r"(SE|ST|GE|GS|IEA|ISA)\Z")


def _find_sets(out: Split) -> None:
    current: SetInfo | None = None
    for index, seg in enumerate(out.segments):
        sid = seg[0]
        if sid == "ST":
            current = SetInfo(_get(seg, 1), _get(seg, 2), index)
            out.sets.append(current)
        elif sid in ("GE", "IEA", "ISA", "GS"):
            current = None
        elif current is None:
            continue
        elif sid == "TRN" and not current.trace and current.set_id == "835":
            current.trace = _get(seg, 2).strip()
            current.payer = _get(seg, 3).strip()
        elif sid == "SE":
            count = index - current.start + 1
            se01 = _get(seg, 1).strip()
            if _get(seg, 2).strip() != current.control.strip():
                current.state = "broken"
            elif not (se01.isascii() and se01.isdigit()):
                current.state = "undecided"
            else:
                current.state = "intact" if (se01.lstrip("0") or "0") == str(count) else "broken"
            current = None


def _get(seg: list[str], pos: int) -> str:
    return seg[pos] if pos < len(seg) else ""


def join(parts: Split) -> bytes:
    """The segments written back with the file's delimiters and blank text as found (from ``exact`` splits)."""
    body = [
        lead + parts.element.join(seg) + parts.terminator for lead, seg in zip(parts.leads, parts.segments, strict=True)
    ]
    text = parts.prefix + "".join(body) + parts.tail
    if parts.unterminated and text.endswith(parts.terminator):
        text = text[:-1]
    return text.encode("latin-1", errors="replace")


def recount(parts: Split) -> None:
    """Make every envelope trailer agree with what it closes: SE01/SE02, GE01/GE02, IEA01/IEA02."""
    st_at: int | None = None
    st_control = ""
    sets_in_group = 0
    groups = 0
    gs_control = ""
    isa_control = ""
    for index, seg in enumerate(parts.segments):
        sid = seg[0]
        if sid == "ISA":
            groups = 0
            isa_control = _get(seg, 13)
        elif sid == "GS":
            groups += 1
            sets_in_group = 0
            gs_control = _get(seg, 6)
        elif sid == "ST":
            st_at = index
            st_control = _get(seg, 2)
            sets_in_group += 1
        elif sid == "SE" and st_at is not None:
            _set(seg, 1, str(index - st_at + 1))
            _set(seg, 2, st_control)
            st_at = None
        elif sid == "GE":
            _set(seg, 1, str(sets_in_group))
            _set(seg, 2, gs_control)
        elif sid == "IEA":
            _set(seg, 1, str(groups))
            _set(seg, 2, isa_control)


def _set(seg: list[str], pos: int, value: str) -> None:
    while len(seg) <= pos:
        seg.append("")
    seg[pos] = value
