"""Streaming X12 tokenizer: delimiter detection from each ISA, segments out, envelope problems on the side.

The reader never raises on bad input. Whatever is wrong (no ISA, counts that disagree, a missing trailer,
a segment id that is not one) is appended to the caller's ``problems`` list and reading goes on.
Problem messages carry positions, segment ids and control numbers only, never element values that may be
PHI.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO

# Bytes read at a time: large enough that per-read work does not show.
CHUNK_SIZE = 32 * 1024
# Characters split into one batch of segments. Small enough that a batch (and the objects a reader builds from
# it) mostly dies before the cyclic GC's youngest generation fills up (700 objects), so collections stay cheap:
# measured on a synthetic 835, 32 KB batches cost the 835 reader 12-20 % more time than 4-8 KB ones.
BLOCK_SIZE = 6 * 1024

# Longest stretch scanned for the 16 ISA element separators; a real ISA is 106 characters.
_ISA_SCAN_LIMIT = 1024
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_WHITESPACE = " \t\r\n\x00\ufeff\x0b\x0c\xa0"
_UTF8_BOM = b"\xef\xbb\xbf"
_first = itemgetter(0)


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    # Bytes that are not UTF-8 are read as Latin-1, so a stray byte never stops the file.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("revcycle_x12_latin1", _latin1_fallback)


@dataclass(frozen=True)
class Delimiters:
    """The four X12 delimiters of one interchange, as read from its ISA."""

    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file: where (segment position, or None for the file), a stable code, a message."""

    segment: int | None
    code: str
    message: str


class Segment:
    """One segment: its 0-based position in the file, its id and its elements (``elements[0]`` is XX01).

    ``parts`` is the segment split on the element delimiter, id first (``parts[1]`` is XX01); the class
    keeps that list as read so building a segment costs next to nothing.
    """

    __slots__ = ("delimiters", "id", "index", "parts")

    def __init__(self, index: int, parts: list[str], delimiters: Delimiters) -> None:
        self.index = index
        self.id = parts[0]
        self.parts = parts
        self.delimiters = delimiters

    @property
    def elements(self) -> tuple[str, ...]:
        """Every element after the id (``elements[0]`` is XX01)."""
        return tuple(self.parts[1:])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return (self.index, self.parts, self.delimiters) == (other.index, other.parts, other.delimiters)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Segment({self.index}, {self.id!r}, {len(self.parts) - 1} elements)"

    def get(self, pos: int, default: str = "") -> str:
        """Element XXnn (1-based, ``get(1)`` is XX01); ``default`` when absent or empty."""
        parts = self.parts
        if 1 <= pos < len(parts):
            value = parts[pos]
            return value if value != "" else default
        return default

    def components(self, pos: int) -> list[str]:
        """Element XXnn split on the component delimiter (``[]`` when the element is absent)."""
        value = self.get(pos)
        return value.split(self.delimiters.component) if value else []

    def repetitions(self, pos: int) -> list[str]:
        """Element XXnn split on the repetition delimiter (one item when the interchange has none)."""
        value = self.get(pos)
        if not value:
            return []
        if self.delimiters.repetition is None:
            return [value]
        return value.split(self.delimiters.repetition)


# ---------------------------------------------------------------------------------------------------------
# bytes -> text


def _sniff_encoding(head: bytes) -> tuple[str, int]:
    """The codec of a file from its first bytes, and how many BOM bytes to skip."""
    if head.startswith(_UTF8_BOM):
        return "utf-8", 3
    if head.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if head.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    even = head[0:32:2]
    odd = head[1:32:2]
    if len(head) >= 4:
        if odd and all(b == 0 for b in odd) and any(b != 0 for b in even):
            return "utf-16-le", 0
        if even and all(b == 0 for b in even) and any(b != 0 for b in odd):
            return "utf-16-be", 0
    return "utf-8", 0


def _byte_chunks(source: bytes | os.PathLike[str] | str | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start : start + CHUNK_SIZE]
        return
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            yield from _read_handle(handle)
        return
    yield from _read_handle(source)


def _read_handle(handle: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = handle.read(CHUNK_SIZE)
        if not chunk:
            return
        if isinstance(chunk, str):  # a text stream handed in by mistake: still readable
            chunk = chunk.encode("utf-8")
        yield chunk


def _decode(chunks: Iterator[bytes]) -> Iterator[str]:
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 64:
            break
    if not head:
        return
    encoding, skip = _sniff_encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)(errors="revcycle_x12_latin1")
    text = decoder.decode(head[skip:])
    if text:
        yield text
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text
    text = decoder.decode(b"", final=True)
    if text:
        yield text


def _looks_like_path(text: str) -> bool:
    if text.lstrip(_WHITESPACE).startswith("ISA"):
        return False
    if len(text) > 4096 or "\n" in text or "\x00" in text:
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _text_chunks(source: bytes | str | os.PathLike[str] | BinaryIO) -> Iterator[str]:
    if isinstance(source, str) and not _looks_like_path(source):
        for start in range(0, len(source), CHUNK_SIZE):
            yield source[start : start + CHUNK_SIZE]
        return
    yield from _decode(_byte_chunks(source))


# ---------------------------------------------------------------------------------------------------------
# envelope checks


@dataclass(eq=False)
class EnvelopeLevel:
    """One interchange (ISA..IEA) or functional group (GS..GE) as read.

    ``problems`` holds what is wrong with its own header and trailer: a missing trailer, a count or a control
    number that disagrees, a header outside its parent envelope. It fills as the file is read: a group's GE
    problems are known once its GE (or what replaced it) was read.
    """

    start: int
    control_number: str
    problems: list[Problem] = field(default_factory=list)


@dataclass(eq=False)
class TransactionSetEnvelope:
    """How one ST..SE transaction set arrived: its place in the file, and what is wrong with it or around it.

    ``ordinal`` counts the file's transaction sets from 1, whatever their type; ``start`` and ``end`` are the
    positions of its ST and its last segment (``end`` is None while the set is still open). ``problems`` are
    its own: a missing SE, an SE01 or SE02 that disagrees, an ST outside a group, a segment cut by the end of
    the file or with an id that is not one. ``group`` and ``interchange`` are the envelopes around it (None
    when it has none). Whether such a set may post is decided by ``revcycle.refusals``.
    """

    ordinal: int
    start: int
    set_id: str
    control_number: str
    group: EnvelopeLevel | None
    interchange: EnvelopeLevel | None
    end: int | None = None
    problems: list[Problem] = field(default_factory=list)


# Syntax problems that damage the transaction set they fall in (a segment cut by the end of the file, a segment
# id that is not one); the others are repaired in place (JUNK_BEFORE_SEGMENT) or lie outside any set.
SET_DAMAGE_CODES = frozenset({"MISSING_TERMINATOR", "BAD_SEGMENT_ID"})


@dataclass
class _Open:
    """An envelope level that has seen its header and waits for its trailer."""

    control: str
    start: int
    children: int = 0
    problems: list[Problem] = field(default_factory=list)
    record: TransactionSetEnvelope | None = None


@dataclass
class _EnvelopeChecker:
    """Follows ISA/GS/ST and their trailers, appending a Problem for every count or number that disagrees.

    Each problem also goes to the envelope it belongs to, and every transaction set gets a
    ``TransactionSetEnvelope`` (appended to ``sets`` when a list is given).
    """

    problems: list[Problem]
    sets: list[TransactionSetEnvelope] | None = None
    isa: _Open | None = None
    gs: _Open | None = None
    st: _Open | None = None
    isa_level: EnvelopeLevel | None = None
    gs_level: EnvelopeLevel | None = None
    ordinal: int = 0
    # the sets that may still receive a syntax problem of the batch being read (see ``assign_damage``)
    recent: list[TransactionSetEnvelope] = field(default_factory=list)

    def _add(self, index: int | None, code: str, message: str, owner: _Open | None = None) -> None:
        problem = Problem(index, code, message)
        self.problems.append(problem)
        if owner is not None:
            owner.problems.append(problem)

    def _close_st_missing(self, index: int | None, end: int | None) -> None:
        st = self.st
        if st is not None:
            self._add(
                index,
                "MISSING_SE",
                f"transaction set {st.control} (segment {st.start}) has no SE trailer",
                st,
            )
            if st.record is not None:
                st.record.end = end if end is not None else st.start
            self.st = None

    def _close_gs_missing(self, index: int | None, end: int | None) -> None:
        self._close_st_missing(index, end)
        if self.gs is not None:
            self._add(
                index,
                "MISSING_GE",
                f"functional group {self.gs.control} (segment {self.gs.start}) has no GE trailer",
                self.gs,
            )
            self.gs = None
            self.gs_level = None

    def _close_isa_missing(self, index: int | None, end: int | None) -> None:
        self._close_gs_missing(index, end)
        if self.isa is not None:
            self._add(
                index,
                "MISSING_IEA",
                f"interchange {self.isa.control} (segment {self.isa.start}) has no IEA trailer",
                self.isa,
            )
            self.isa = None
            self.isa_level = None

    def feed(self, i: int, parts: list[str]) -> None:
        """Check one envelope segment (ISA, IEA, GS, GE, ST, SE, TA1) against the envelope state."""
        sid = parts[0]
        seg = _Fields(parts)
        if sid == "ISA":
            self._close_isa_missing(i, i - 1)
            self.isa = _Open(seg.get(13).strip(), i)
            self.isa_level = EnvelopeLevel(i, self.isa.control, self.isa.problems)
        elif sid == "IEA":
            self._close_gs_missing(i, i - 1)
            if self.isa is None:
                self._add(i, "UNEXPECTED_IEA", "IEA without an open interchange")
                return
            if seg.get(2).strip() != self.isa.control:
                self._add(
                    i,
                    "CONTROL_MISMATCH",
                    f"IEA02 {seg.get(2).strip()!r} does not match ISA13 {self.isa.control!r}",
                    self.isa,
                )
            if _as_int(seg.get(1)) != self.isa.children:
                self._add(
                    i,
                    "IEA01_COUNT",
                    f"IEA01 says {seg.get(1).strip()!r} functional groups, the interchange has {self.isa.children}",
                    self.isa,
                )
            self.isa = None
            self.isa_level = None
        elif sid == "GS":
            self._close_gs_missing(i, i - 1)
            self.gs = _Open(seg.get(6).strip(), i)
            self.gs_level = EnvelopeLevel(i, self.gs.control, self.gs.problems)
            if self.isa is None:
                self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", "GS outside an interchange", self.gs)
            else:
                self.isa.children += 1
        elif sid == "GE":
            self._close_st_missing(i, i - 1)
            if self.gs is None:
                self._add(i, "UNEXPECTED_GE", "GE without an open functional group")
                return
            if seg.get(2).strip() != self.gs.control:
                self._add(
                    i,
                    "CONTROL_MISMATCH",
                    f"GE02 {seg.get(2).strip()!r} does not match GS06 {self.gs.control!r}",
                    self.gs,
                )
            if _as_int(seg.get(1)) != self.gs.children:
                self._add(
                    i,
                    "GE01_COUNT",
                    f"GE01 says {seg.get(1).strip()!r} transaction sets, the group has {self.gs.children}",
                    self.gs,
                )
            self.gs = None
            self.gs_level = None
        elif sid == "ST":
            self._close_st_missing(i, i - 1)
            self.ordinal += 1
            st = self.st = _Open(seg.get(2).strip(), i)
            st.record = TransactionSetEnvelope(
                self.ordinal, i, seg.get(1).strip(), st.control, self.gs_level, self.isa_level, problems=st.problems
            )
            self.recent.append(st.record)
            if self.sets is not None:
                self.sets.append(st.record)
            if self.gs is None:
                self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", "ST outside a functional group", st)
            else:
                self.gs.children += 1
        elif sid == "SE":
            closing = self.st
            if closing is None:
                self._add(i, "UNEXPECTED_SE", "SE without an open transaction set")
                return
            st = closing
            if seg.get(2).strip() != st.control:
                self._add(
                    i,
                    "CONTROL_MISMATCH",
                    f"SE02 {seg.get(2).strip()!r} does not match ST02 {st.control!r}",
                    st,
                )
            # every segment between ST and SE got a position, so the count is the distance
            count = i - st.start + 1
            if _as_int(seg.get(1)) != count:
                self._add(
                    i,
                    "SE01_COUNT",
                    f"SE01 says {seg.get(1).strip()!r} segments, transaction set {st.control} has {count}",
                    st,
                )
            if st.record is not None:
                st.record.end = i
            self.st = None
        elif sid == "TA1" and (self.isa is None or self.gs is not None):
            self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", "TA1 outside an interchange header level")

    def outside(self, i: int, sid: str) -> None:
        """Report a non-envelope segment found while no transaction set is open."""
        self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", f"{sid} outside a transaction set")

    def assign_damage(self, found: Iterable[Problem]) -> None:
        """Give each syntax problem of the batch just checked to the transaction set it falls in.

        ``recent`` holds the set open when the batch began and every set started in it, in file order.
        """
        recent = self.recent
        for problem in found:
            index = problem.segment
            if problem.code not in SET_DAMAGE_CODES or index is None:
                continue
            for record in reversed(recent):
                if record.start <= index:
                    if record.end is None or index <= record.end:
                        record.problems.append(problem)
                    break
        self.recent = [record for record in recent if record.end is None]

    def finish(self, index: int | None) -> None:
        """Report every envelope level still open at the end of the file."""
        self._close_isa_missing(index, index)


class _Fields:
    """``get`` over a parts list, for the envelope checks."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    def get(self, pos: int) -> str:
        return self.parts[pos] if pos < len(self.parts) else ""


ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"})


def _as_int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------
# tokenizer


def _repetition_separator(isa11: str, isa12: str, taken: Iterable[str]) -> str | None:
    # 4010 files put 'U' (US standards) in ISA11; some 5010 files keep it: any letter or digit means none.
    # Blank-like characters mean none too; control characters such as 0x1D (which str.isspace counts as
    # space) are real delimiters.
    if len(isa11) != 1 or isa11.isalnum() or isa11 in taken or isa11 in _WHITESPACE:
        return None
    if isa12.strip() < "00501":
        return None
    return isa11


class _Tokenizer:
    """Splits a stream of text into segments, re-reading the delimiters at every ISA."""

    def __init__(self, chunks: Iterator[str], problems: list[Problem]) -> None:
        self.chunks = chunks
        self.problems = problems
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.index = 0
        self.delims: Delimiters | None = None
        self.strip_chars = _WHITESPACE
        self.found_isa = False
        self._plain_ids: set[str] = set()
        # the segment ids of the batch being yielded, when the fast path knows them (None otherwise)
        self.batch_ids: set[str] | None = None

    def _more(self) -> bool:
        """Append the next chunk to the buffer (dropping what is consumed); False at the end."""
        if self.eof:
            return False
        for chunk in self.chunks:
            if self.pos:
                self.buf = self.buf[self.pos :]
                self.pos = 0
            self.buf += chunk
            return True
        self.eof = True
        return False

    def _problem(self, code: str, message: str, segment: int | None = None) -> None:
        self.problems.append(Problem(segment, code, message))

    def batches(self) -> Iterator[tuple[int, list[list[str]], Delimiters]]:
        """Yield (position of the first segment, segments split into parts, delimiters) in file order."""
        while True:
            if self.delims is None:
                isa = self._seek_isa()
                if isa is None:
                    return
                assert self.delims is not None
                yield self.index - 1, [isa], self.delims
            else:
                yield from self._fast_batches()
                if self.delims is None and self.eof and self.pos >= len(self.buf):
                    if not self.found_isa:
                        return
                    # let _seek_isa report trailing junk, as after any IEA
                    continue
                if self.delims is not None and self.eof and self.pos >= len(self.buf):
                    return

    def _fast_batches(self) -> Iterator[tuple[int, list[list[str]], Delimiters]]:
        """Segments up to the end of the file or to a point that needs the careful ISA search.

        The text up to the last segment terminator in the buffer is split in one ``str.split``; an ISA that
        keeps the element delimiter and terminator is read in place, anything else (a new element
        delimiter, text after an IEA) moves the cursor back to it and returns, with ``delims`` None.
        """
        while True:
            delims = self.delims
            assert delims is not None
            term = delims.segment
            end = self._block_end(term)
            while end < 0:
                if not self._more():
                    break
                end = self._block_end(term)
            if end < 0:
                raw = self.buf[self.pos :].strip(self.strip_chars)
                self.pos = len(self.buf)
                if raw:
                    self._problem("MISSING_TERMINATOR", "the last segment has no segment terminator", self.index)
                    pieces = [raw]
                    block_start = -1
                else:
                    return
            else:
                block_start = self.pos
                pieces = self.buf[self.pos : end].split(term)
                self.pos = end + 1
            cut = yield from self._split_pieces(pieces, block_start)
            if not cut and self.delims is None:
                self._skip_empty_segments(term)
            if cut or self.delims is None or block_start < 0:
                return

    def _skip_empty_segments(self, term: str) -> None:
        """Move past blank segments (terminators and whitespace) after an IEA that ended a block.

        Within a block they are skipped like any blank segment; here they would otherwise be reported as text
        outside an interchange, so the result would depend on where a block happened to end.
        """
        skip = self.strip_chars + term
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in skip:
                self.pos += 1
            if self.pos < n or not self._more():
                return

    def _block_end(self, term: str) -> int:
        """The last segment terminator within BLOCK_SIZE of the cursor (or the first one after it), or -1."""
        end = self.buf.rfind(term, self.pos, self.pos + BLOCK_SIZE)
        return end if end >= 0 else self.buf.find(term, self.pos)

    def _split_pieces(
        self, pieces: list[str], block_start: int
    ) -> Generator[tuple[int, list[list[str]], Delimiters], None, bool]:
        """Turn terminator-split pieces into batches; True when the cursor was moved back for a careful read."""
        delims = self.delims
        assert delims is not None
        strip = self.strip_chars
        element = delims.element
        plain = self._plain_ids
        first = self.index
        # Fast path: split the whole block in C-level loops; when every segment id is one already seen (no
        # ISA, IEA, blank or doubtful id) the block is done. Otherwise the careful loop below reads it again.
        out = [raw.strip(strip).split(element) for raw in pieces]
        ids = set(map(_first, out))
        if plain.issuperset(ids):
            self.index = first + len(out)
            if out:
                self.batch_ids = ids
                yield first, out, delims
                self.batch_ids = None
            return False
        out = []
        index = first
        after_iea = False
        for k, raw in enumerate(pieces):
            raw = raw.strip(strip)
            if not raw:
                continue
            parts = raw.split(element)
            sid = parts[0]
            if sid in plain and not after_iea:
                out.append(parts)
                index += 1
                continue
            if raw.startswith("ISA") and len(raw) > 3 and not raw[3].isalnum():
                new = self._isa_in_place(raw, parts, delims, index) if block_start >= 0 else None
                if new is None:
                    # a different element delimiter or a damaged ISA: read it again the careful way
                    self.index = index
                    if block_start >= 0:
                        self.pos = block_start + sum(len(p) + 1 for p in pieces[:k])
                    self.delims = None
                    if out:
                        yield first, out, delims
                    return True
                if out:
                    self.index = index
                    yield first, out, delims
                delims = new
                element = delims.element
                strip = self.strip_chars
                out = [parts]
                index += 1
                first = index - 1
                self.index = index
                after_iea = False
                continue
            if after_iea:
                # text after an IEA that is not an ISA: the careful search reports it
                self.index = index
                if block_start >= 0:
                    self.pos = block_start + sum(len(p) + 1 for p in pieces[:k])
                self.delims = None
                if out:
                    yield first, out, delims
                return True
            if sid == "IEA":
                after_iea = True
            elif sid not in plain:
                sid = self._check_id(sid, index)
                parts[0] = sid
            out.append(parts)
            index += 1
        self.index = index
        if after_iea:
            self.delims = None
        if out:
            yield first, out, delims
        return False

    def _isa_in_place(self, raw: str, parts: list[str], old: Delimiters, index: int) -> Delimiters | None:
        """The delimiters of an ISA met inside a block, when it keeps the element delimiter and terminator."""
        if len(parts) != 17 or len(parts[16]) != 1:
            return None
        component = parts[16]
        if component.isalnum() or component in (old.element, old.segment) or component.isspace():
            return None
        repetition = _repetition_separator(parts[11], parts[12], (old.element, component, old.segment))
        delims = Delimiters(old.element, component, repetition, old.segment)
        if delims != old:
            self.delims = delims
            used = {old.element, component, old.segment} | ({repetition} if repetition else set())
            self.strip_chars = "".join(ch for ch in _WHITESPACE if ch not in used)
        else:
            delims = old
        self.found_isa = True
        if len(raw) + 1 != 106:
            self._problem("ISA_LENGTH", f"the ISA is {len(raw) + 1} characters long, not 106", index)
        return delims

    def _check_id(self, sid: str, index: int) -> str:
        """A segment id as read: valid ids are remembered; others are repaired or reported."""
        if _SEGMENT_ID.fullmatch(sid):
            if sid not in ("ISA", "IEA"):
                self._plain_ids.add(sid)
            return sid
        cleaned = sid.lstrip("".join(ch for ch in sid if not ch.isalnum()))
        if _SEGMENT_ID.fullmatch(cleaned):
            self._problem("JUNK_BEFORE_SEGMENT", f"characters before segment id {cleaned} were skipped", index)
            return cleaned
        self._problem("BAD_SEGMENT_ID", "a segment id is not 2-3 upper-case letters or digits", index)
        return sid

    def _skip_whitespace(self) -> bool:
        """Move past whitespace; False when the file ends first."""
        while True:
            n = len(self.buf)
            while self.pos < n and self.buf[self.pos] in self.strip_chars:
                self.pos += 1
            if self.pos < n:
                return True
            if not self._more():
                return False

    def _seek_isa(self) -> list[str] | None:
        self.strip_chars = _WHITESPACE
        if not self._skip_whitespace():
            if not self.found_isa:
                self._problem("ISA_NOT_FOUND", "no ISA interchange header in the file")
            return None
        junk = False
        while True:
            at = self.buf.find("ISA", self.pos)
            if at < 0:
                # keep two characters: "ISA" may straddle the chunk boundary
                keep = max(self.pos, len(self.buf) - 2)
                if self.buf[self.pos : keep].strip(_WHITESPACE):
                    junk = True
                self.pos = keep
                if not self._more():
                    if not self.found_isa:
                        self._problem("ISA_NOT_FOUND", "no ISA interchange header in the file")
                    else:
                        self._report_junk(junk or bool(self.buf[self.pos :].strip(_WHITESPACE)))
                    return None
                continue
            if self.buf[self.pos : at].strip(_WHITESPACE):
                junk = True
            self.pos = at
            header = self._parse_isa()
            if header is not None:
                self._report_junk(junk)
                return header
            if self.eof and self.pos >= len(self.buf):
                return None

    def _report_junk(self, junk: bool) -> None:
        if junk:
            self._problem(
                "TEXT_OUTSIDE_INTERCHANGE",
                "text outside any ISA/IEA interchange was skipped",
                self.index if self.found_isa else None,
            )

    def _parse_isa(self) -> list[str] | None:
        """Read the ISA at ``self.pos``; on a false start move past it and return None."""
        while len(self.buf) - self.pos < 4 and self._more():
            pass
        if len(self.buf) - self.pos < 4:
            self.pos = len(self.buf)
            return None
        element = self.buf[self.pos + 3]
        if element.isalnum() or element in _WHITESPACE:
            self.pos += 3
            return None
        # find the 16 element separators (the one after "ISA" and those after ISA01..ISA15); ISA16 is the
        # single character after the last one, and the segment terminator the character after ISA16
        while True:
            cursor, count = self.pos + 3, 0
            limit = min(len(self.buf), self.pos + _ISA_SCAN_LIMIT)
            while count < 16 and cursor < limit:
                cursor = self.buf.find(element, cursor, limit)
                if cursor < 0:
                    cursor = limit
                    break
                count += 1
                cursor += 1
            if count == 16 and cursor + 1 < len(self.buf):
                break
            if len(self.buf) - self.pos >= _ISA_SCAN_LIMIT or not self._more():
                self._problem(
                    "BAD_ISA",
                    "an ISA header without its 16 elements and delimiters was skipped",
                    self.index if self.found_isa else None,
                )
                self.pos += 3
                return None
        component = self.buf[cursor]
        terminator = self.buf[cursor + 1]
        body = self.buf[self.pos + 4 : cursor + 1]
        elements = tuple(body.split(element))
        if terminator.isalnum() or len({element, component, terminator}) < 3:
            self._problem(
                "BAD_DELIMITERS",
                "the ISA delimiters are not usable (letters, digits or repeated)",
                self.index if self.found_isa else None,
            )
            self.pos += 3
            return None
        repetition = _repetition_separator(elements[10], elements[11], (element, component, terminator))
        self.delims = Delimiters(element, component, repetition, terminator)
        used = {element, component, terminator} | ({repetition} if repetition else set())
        self.strip_chars = "".join(ch for ch in _WHITESPACE if ch not in used)
        length = cursor + 2 - self.pos
        self.pos = cursor + 2
        index = self.index
        self.index += 1
        self.found_isa = True
        if length != 106:
            self._problem("ISA_LENGTH", f"the ISA is {length} characters long, not 106", index)
        del index
        return ["ISA", *elements]


def read_batches(
    source: bytes | str | os.PathLike[str] | BinaryIO,
    problems: list[Problem] | None = None,
    sets: list[TransactionSetEnvelope] | None = None,
) -> Iterator[tuple[int, list[list[str]], Delimiters]]:
    """The fast form of ``read_segments``: batches of (first position, segments as parts lists, delimiters).

    Each parts list is one segment split on the element delimiter, id first; the segment at ``batch[k]``
    has position ``first + k``. Envelope and syntax problems are appended to ``problems``, and the envelope
    of every transaction set to ``sets``, as in ``read_segments``. Used by readers that must keep up with
    very large files.
    """
    found = problems if problems is not None else []
    checker = _EnvelopeChecker(found, sets)
    last: int | None = None
    try:
        chunks = _text_chunks(source)
    except OSError as exc:
        found.append(Problem(None, "UNREADABLE", f"the file cannot be read: {type(exc).__name__}"))
        return
    pending: list[Problem] = []
    tokenizer = _Tokenizer(chunks, pending)
    envelope = ENVELOPE_IDS
    try:
        for first, batch, delims in tokenizer.batches():
            mark = len(found)
            # inside a transaction set, a batch without envelope segments has nothing to check
            ids = tokenizer.batch_ids
            if checker.st is None or not envelope.isdisjoint(ids if ids is not None else map(_first, batch)):
                index = first
                for parts in batch:
                    sid = parts[0]
                    if sid in envelope:
                        checker.feed(index, parts)
                    elif checker.st is None:
                        checker.outside(index, sid)
                    index += 1
            last = first + len(batch) - 1
            if pending:
                checker.assign_damage(pending)
                _merge(found, mark, pending)
            elif len(checker.recent) > 1:
                checker.assign_damage(())
            yield first, batch, delims
    except OSError as exc:
        pending.append(Problem(last, "UNREADABLE", f"the file cannot be read: {type(exc).__name__}"))
    mark = len(found)
    checker.finish(last)
    if pending:
        _merge(found, mark, pending)


def _merge(found: list[Problem], mark: int, pending: list[Problem]) -> None:
    """Put the tokenizer's problems among the envelope problems of the same batch, in segment order.

    The order then does not depend on where the chunks of the file happened to end.
    """
    batch = pending + found[mark:]
    pending.clear()
    del found[mark:]
    found.extend(sorted(batch, key=lambda p: -1 if p.segment is None else p.segment))


def read_segments(
    source: bytes | str | os.PathLike[str] | BinaryIO,
    problems: list[Problem] | None = None,
    sets: list[TransactionSetEnvelope] | None = None,
) -> Iterator[Segment]:
    """Yield every segment of an X12 file in order, appending envelope and syntax problems to ``problems``.

    ``source`` is the file's bytes, its text, a path (a ``str`` naming an existing file that does not itself
    start with ``ISA``) or a binary stream. The source is read in chunks, so memory stays flat. When ``sets``
    is given, the ``TransactionSetEnvelope`` of every transaction set is appended to it as its ST is read;
    its problems fill in as the rest of its envelope is read.
    """
    for first, batch, delims in read_batches(source, problems, sets):
        for k, parts in enumerate(batch, first):
            yield Segment(k, parts, delims)
