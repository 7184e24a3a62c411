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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 64 * 1024

# Longest stretch scanned for the 16 ISA element separators; a real ISA is 106 characters.
_ISA_SCAN_LIMIT = 1024
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_WHITESPACE = " \t\r\n\x00\ufeff\x0b\x0c\xa0"
_UTF8_BOM = b"\xef\xbb\xbf"


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


@dataclass(frozen=True)
class Segment:
    """One segment: its 0-based position in the file, its id and its elements (``elements[0]`` is XX01)."""

    index: int
    id: str
    elements: tuple[str, ...]
    delimiters: Delimiters

    def get(self, pos: int, default: str = "") -> str:
        """Element XXnn (1-based, ``get(1)`` is XX01); ``default`` when absent or empty."""
        if 1 <= pos <= len(self.elements):
            value = self.elements[pos - 1]
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


@dataclass
class _Open:
    """An envelope level that has seen its header and waits for its trailer."""

    control: str
    start: int
    children: int = 0


@dataclass
class _EnvelopeChecker:
    """Follows ISA/GS/ST and their trailers, appending a Problem for every count or number that disagrees."""

    problems: list[Problem]
    isa: _Open | None = None
    gs: _Open | None = None
    st: _Open | None = None
    st_segments: int = 0
    saw_transaction: bool = field(default=False)

    def _add(self, index: int | None, code: str, message: str) -> None:
        self.problems.append(Problem(index, code, message))

    def _close_st_missing(self, index: int | None) -> None:
        if self.st is not None:
            self._add(
                index,
                "MISSING_SE",
                f"transaction set {self.st.control} (segment {self.st.start}) has no SE trailer",
            )
            self.st = None

    def _close_gs_missing(self, index: int | None) -> None:
        self._close_st_missing(index)
        if self.gs is not None:
            self._add(
                index,
                "MISSING_GE",
                f"functional group {self.gs.control} (segment {self.gs.start}) has no GE trailer",
            )
            self.gs = None

    def _close_isa_missing(self, index: int | None) -> None:
        self._close_gs_missing(index)
        if self.isa is not None:
            self._add(
                index,
                "MISSING_IEA",
                f"interchange {self.isa.control} (segment {self.isa.start}) has no IEA trailer",
            )
            self.isa = None

    def feed(self, seg: Segment) -> None:
        """Check one segment against the envelope state."""
        sid, i = seg.id, seg.index
        if self.st is not None:
            self.st_segments += 1
        if sid == "ISA":
            self._close_isa_missing(i)
            self.isa = _Open(seg.get(13).strip(), i)
        elif sid == "IEA":
            self._close_gs_missing(i)
            if self.isa is None:
                self._add(i, "UNEXPECTED_IEA", "IEA without an open interchange")
                return
            if seg.get(2).strip() != self.isa.control:
                self._add(
                    i,
                    "CONTROL_MISMATCH",
                    f"IEA02 {seg.get(2).strip()!r} does not match ISA13 {self.isa.control!r}",
                )
            if _as_int(seg.get(1)) != self.isa.children:
                self._add(
                    i,
                    "IEA01_COUNT",
                    f"IEA01 says {seg.get(1).strip()!r} functional groups, the interchange has {self.isa.children}",
                )
            self.isa = None
        elif sid == "GS":
            self._close_gs_missing(i)
            if self.isa is None:
                self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", "GS outside an interchange")
            else:
                self.isa.children += 1
            self.gs = _Open(seg.get(6).strip(), i)
        elif sid == "GE":
            self._close_st_missing(i)
            if self.gs is None:
                self._add(i, "UNEXPECTED_GE", "GE without an open functional group")
                return
            if seg.get(2).strip() != self.gs.control:
                self._add(
                    i,
                    "CONTROL_MISMATCH",
                    f"GE02 {seg.get(2).strip()!r} does not match GS06 {self.gs.control!r}",
                )
            if _as_int(seg.get(1)) != self.gs.children:
                self._add(
                    i,
                    "GE01_COUNT",
                    f"GE01 says {seg.get(1).strip()!r} transaction sets, the group has {self.gs.children}",
                )
            self.gs = None
        elif sid == "ST":
            self._close_st_missing(i)
            if self.gs is None:
                self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", "ST outside a functional group")
            else:
                self.gs.children += 1
            self.st = _Open(seg.get(2).strip(), i)
            self.st_segments = 1
        elif sid == "SE":
            if self.st is None:
                self._add(i, "UNEXPECTED_SE", "SE without an open transaction set")
                return
            if seg.get(2).strip() != self.st.control:
                self._add(
                    i,
                    "CONTROL_MISMATCH",
                    f"SE02 {seg.get(2).strip()!r} does not match ST02 {self.st.control!r}",
                )
            if _as_int(seg.get(1)) != self.st_segments:
                self._add(
                    i,
                    "SE01_COUNT",
                    f"SE01 says {seg.get(1).strip()!r} segments, transaction set "
                    f"{self.st.control} has {self.st_segments}",
                )
            self.st = None
        elif sid == "TA1":
            if self.isa is None or self.gs is not None:
                self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", "TA1 outside an interchange header level")
        elif self.st is None:
            self._add(i, "SEGMENT_OUTSIDE_ENVELOPE", f"{sid} outside a transaction set")

    def finish(self, index: int | None) -> None:
        """Report every envelope level still open at the end of the file."""
        self._close_isa_missing(index)


def _as_int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------
# tokenizer


def _repetition_separator(isa11: str, isa12: str, taken: Iterable[str]) -> str | None:
    # 4010 files put 'U' (US standards) in ISA11; some 5010 files keep it: any letter or digit means none.
    if len(isa11) != 1 or isa11.isalnum() or isa11 in taken or isa11.isspace():
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

    def segments(self) -> Iterator[Segment]:
        while True:
            if self.delims is None:
                isa = self._seek_isa()
                if isa is None:
                    return
                yield isa
            else:
                seg = self._next_segment()
                if seg is None:
                    return
                if seg.id == "IEA":
                    self.delims = None
                yield seg

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

    def _seek_isa(self) -> Segment | None:
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

    def _parse_isa(self) -> Segment | None:
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
        return Segment(index, "ISA", elements, self.delims)

    def _next_segment(self) -> Segment | None:
        delims = self.delims
        assert delims is not None
        while True:
            if not self._skip_whitespace():
                return None
            if (
                self.buf.startswith("ISA", self.pos)
                and len(self.buf) - self.pos >= 4
                and not self.buf[self.pos + 3].isalnum()
            ):
                # a new interchange without the IEA of the previous one: its delimiters may differ
                self.delims = None
                isa = self._seek_isa()
                return isa
            end = self.buf.find(delims.segment, self.pos)
            while end < 0:
                searched = len(self.buf) - self.pos
                if not self._more():
                    break
                end = self.buf.find(delims.segment, self.pos + searched)
            if end < 0:
                raw = self.buf[self.pos :]
                self.pos = len(self.buf)
                raw = raw.strip(self.strip_chars)
                if not raw:
                    return None
                self._problem("MISSING_TERMINATOR", "the last segment has no segment terminator", self.index)
            else:
                raw = self.buf[self.pos : end].strip(self.strip_chars)
                self.pos = end + 1
            if raw:
                return self._make_segment(raw, delims)

    def _make_segment(self, raw: str, delims: Delimiters) -> Segment:
        parts = raw.split(delims.element)
        sid = parts[0].strip(self.strip_chars)
        index = self.index
        self.index += 1
        if not _SEGMENT_ID.fullmatch(sid):
            cleaned = sid.lstrip("".join(ch for ch in sid if not ch.isalnum()))
            if _SEGMENT_ID.fullmatch(cleaned):
                self._problem("JUNK_BEFORE_SEGMENT", f"characters before segment id {cleaned} were skipped", index)
                sid = cleaned
            else:
                self._problem("BAD_SEGMENT_ID", "a segment id is not 2-3 upper-case letters or digits", index)
        return Segment(index, sid, tuple(parts[1:]), delims)


def read_segments(
    source: bytes | str | os.PathLike[str] | BinaryIO, problems: list[Problem] | None = None
) -> Iterator[Segment]:
    """Yield every segment of an X12 file in order, appending envelope and syntax problems to ``problems``.

    ``source`` is the file's bytes, its text, a path (a ``str`` naming an existing file that does not itself
    start with ``ISA``) or a binary stream. The source is read in chunks, so memory stays flat.
    """
    found = problems if problems is not None else []
    checker = _EnvelopeChecker(found)
    last: int | None = None
    try:
        chunks = _text_chunks(source)
    except OSError as exc:
        found.append(Problem(None, "UNREADABLE", f"the file cannot be read: {type(exc).__name__}"))
        return
    tokenizer = _Tokenizer(chunks, found)
    try:
        for seg in tokenizer.segments():
            checker.feed(seg)
            last = seg.index
            yield seg
    except OSError as exc:
        found.append(Problem(last, "UNREADABLE", f"the file cannot be read: {type(exc).__name__}"))
    checker.finish(last)
