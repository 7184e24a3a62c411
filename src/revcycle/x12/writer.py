"""Shared X12 writing machinery: delimiters, safe values, envelopes and segment counting.

Value rule (X12 has no escape character, so a value can never carry a delimiter):

1. The value is Unicode-normalised with NFKD and every combining mark is dropped, so accented letters
   become their ASCII base letter (``É`` → ``E``, ``ñ`` → ``n``, ``ß`` stays non-ASCII and is dropped).
2. Every remaining non-ASCII character is dropped.
3. Every character that is one of the four delimiters in use (element, component, repetition, segment
   terminator) is replaced by a space.
4. Every character outside the X12 5010 extended character set (``A-Z a-z 0-9``, space and
   ``! " & ' ( ) * + , - . / : ; ? = % ~ @ [ ] _ { } \\ | < > ^ ` # $``) is dropped; this removes
   control characters such as tab, CR and LF.
5. Runs of spaces are collapsed to one space and the value is stripped at both ends.

Case is never changed. A value that becomes empty is written as an empty element.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

_EXTENDED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !\"&'()*+,-./:;?=%~@[]_{}\\|<>^`#$"
)
_SPACES = re.compile(r" {2,}")


@dataclass(frozen=True)
class Delimiters:
    """The four X12 separators used when writing (ISA element 4, ISA11, ISA16, terminator)."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def __post_init__(self) -> None:
        chars = (self.element, self.component, self.repetition, self.segment)
        if any(len(c) != 1 for c in chars):
            raise ValueError("each delimiter must be exactly one character")
        if len(set(chars)) != 4:
            raise ValueError("delimiters must be four different characters")
        if any(c.isalnum() or c == " " for c in chars):
            raise ValueError("delimiters must not be letters, digits or space")

    @property
    def all(self) -> frozenset[str]:
        """The four delimiter characters."""
        return frozenset((self.element, self.component, self.repetition, self.segment))


DEFAULT_DELIMITERS = Delimiters()


@functools.lru_cache(maxsize=16)
def _unchanged_pattern(delimiters: Delimiters) -> re.Pattern[str]:
    """Matches exactly the values the rule leaves as they are: extended characters other than the delimiters,
    with single spaces between words and none at either end (the empty value too)."""
    word = "[" + re.escape("".join(sorted(_EXTENDED - delimiters.all - {" "}))) + "]+"
    return re.compile(f"(?:{word}(?: {word})*)?")


_DEFAULT_UNCHANGED = _unchanged_pattern(DEFAULT_DELIMITERS)


def clean_value(value: str, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
    """``value`` rewritten by the module's value rule so it is safe inside an X12 element."""
    # Nearly every value (ids, codes, dates, amounts, plain names) is already clean; one regex match spares
    # the per-character walk below, which was the top cost of writing a large 837.
    unchanged = _DEFAULT_UNCHANGED if delimiters is DEFAULT_DELIMITERS else _unchanged_pattern(delimiters)
    if unchanged.fullmatch(value):
        return value
    decomposed = unicodedata.normalize("NFKD", value)
    out: list[str] = []
    delims = delimiters.all
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        if ch in delims:
            out.append(" ")
        elif ch in _EXTENDED:
            out.append(ch)
    return _SPACES.sub(" ", "".join(out)).strip()


def format_amount(amount: Decimal) -> str:
    """An X12 R (decimal) value for money: rounded to cents, no trailing zeros (``100``, ``12.5``)."""
    return format_decimal(amount.quantize(Decimal("0.01")))


def format_decimal(value: Decimal) -> str:
    """An X12 R value: plain notation, no exponent, no trailing fractional zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def format_date(day: date) -> str:
    """CCYYMMDD (a D8 date)."""
    return day.strftime("%Y%m%d")


def format_date_range(start: date, end: date | None) -> tuple[str, str]:
    """The (qualifier, value) pair of a date or date range: ``D8`` or ``RD8``."""
    if end is None or end == start:
        return "D8", format_date(start)
    return "RD8", f"{format_date(start)}-{format_date(end)}"


def inquiry_gender(value: str | None) -> str | None:
    """DMG03 of a 270, 271 or 276: F or M. Any other value (U, unknown) leaves the situational DMG03 out.

    The 005010X279A1 and X212 code lists for DMG03 hold F and M only (as x12sdk's models have them), unlike
    the 837's F, M and U.
    """
    return value if value in ("F", "M") else None


@dataclass(frozen=True)
class Envelope:
    """ISA and GS values for one interchange holding one functional group."""

    sender_id: str
    receiver_id: str
    interchange_control_number: int
    group_control_number: int
    usage_indicator: str  # ISA15: T test, P production; always from configuration
    created: datetime
    functional_id_code: str  # GS01: HC 837, HP 835, FA 999, HN 277
    version: str  # GS08, e.g. 005010X222A1
    application_sender_code: str | None = None  # GS02; defaults to sender_id
    application_receiver_code: str | None = None  # GS03; defaults to receiver_id
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    acknowledgment_requested: str = "0"  # ISA14

    def __post_init__(self) -> None:
        if not 1 <= self.interchange_control_number <= 999_999_999:
            raise ValueError("interchange control number must be within 1..999999999")
        if not 1 <= self.group_control_number <= 999_999_999:
            raise ValueError("group control number must be within 1..999999999")
        if self.usage_indicator not in ("T", "P"):
            raise ValueError("usage indicator must be T or P")
        for name, ident in (("sender", self.sender_id), ("receiver", self.receiver_id)):
            if not 1 <= len(ident) <= 15:
                raise ValueError(f"{name} id must be 1 to 15 characters")
        if len(self.sender_qualifier) != 2 or len(self.receiver_qualifier) != 2:
            raise ValueError("id qualifiers are 2 characters")
        if self.acknowledgment_requested not in ("0", "1"):
            raise ValueError("ISA14 must be 0 or 1")

    @property
    def isa13(self) -> str:
        """The interchange control number as written (9 digits, zero padded)."""
        return f"{self.interchange_control_number:09d}"


class Repeated(tuple[str, ...]):
    """An element written as repetitions (joined by the repetition separator), e.g. EB03 service types."""


Element = str | Sequence[str] | None


class SegmentWriter:
    """Builds an interchange segment by segment, counting segments for SE/GE/IEA."""

    def __init__(self, delimiters: Delimiters = DEFAULT_DELIMITERS, newline: bool = True) -> None:
        self.delimiters = delimiters
        self._end = delimiters.segment + ("\n" if newline else "")
        self._parts: list[str] = []
        self._st_count = 0
        self._st_control: str | None = None
        self._sets_in_group = 0
        self._groups = 0
        self._envelope: Envelope | None = None

    # -- values -----------------------------------------------------------------------------------
    def _element(self, element: Element) -> str:
        if element is None:
            return ""
        if isinstance(element, str):
            return clean_value(element, self.delimiters)
        if isinstance(element, Repeated):
            values = [v for v in (clean_value(r, self.delimiters) for r in element) if v]
            return self.delimiters.repetition.join(values)
        components = [clean_value(c, self.delimiters) for c in element]
        while components and components[-1] == "":
            components.pop()
        return self.delimiters.component.join(components)

    def segment(self, segment_id: str, *elements: Element) -> None:
        """Append one segment; trailing empty elements are trimmed; counts toward SE01."""
        values = [self._element(e) for e in elements]
        while values and values[-1] == "":
            values.pop()
        self._parts.append(self.delimiters.element.join([segment_id, *values]) + self._end)
        if self._st_control is not None:
            self._st_count += 1

    # -- envelopes --------------------------------------------------------------------------------
    def open_interchange(self, envelope: Envelope) -> None:
        """Write the ISA: fixed width, 106 characters with its terminator."""
        d = self.delimiters
        fields = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            envelope.sender_qualifier,
            clean_value(envelope.sender_id, d).ljust(15),
            envelope.receiver_qualifier,
            clean_value(envelope.receiver_id, d).ljust(15),
            envelope.created.strftime("%y%m%d"),
            envelope.created.strftime("%H%M"),
            d.repetition,
            "00501",
            envelope.isa13,
            envelope.acknowledgment_requested,
            envelope.usage_indicator,
            d.component,
        ]
        isa = d.element.join(fields) + d.segment
        if len(isa) != 106:
            raise ValueError("ISA must be 106 characters; check the sender and receiver ids")
        self._parts.append(isa + self._end[1:])
        self._envelope = envelope
        self._groups = 0

    def open_group(self) -> None:
        """Write the GS of the interchange's functional group."""
        env = self._require_envelope()
        self.segment(
            "GS",
            env.functional_id_code,
            env.application_sender_code or env.sender_id,
            env.application_receiver_code or env.receiver_id,
            format_date(env.created.date()),
            env.created.strftime("%H%M"),
            str(env.group_control_number),
            "X",
            env.version,
        )
        self._sets_in_group = 0

    def open_transaction(self, set_id: str, control_number: int, implementation: str | None) -> None:
        """Write ST and start counting segments (ST itself counts)."""
        control = f"{control_number:04d}"
        if len(control) > 9:
            raise ValueError("transaction set control number has more than 9 digits")
        self._st_control = control
        self._st_count = 0
        self.segment("ST", set_id, control, implementation)

    def close_transaction(self) -> None:
        """Write SE with the number of segments from ST to SE inclusive."""
        if self._st_control is None:
            raise ValueError("no open transaction set")
        control = self._st_control
        count = self._st_count + 1
        self._st_control = None
        self.segment("SE", str(count), control)
        self._sets_in_group += 1

    def close_group(self) -> None:
        """Write GE with the number of transaction sets in the group."""
        env = self._require_envelope()
        self.segment("GE", str(self._sets_in_group), str(env.group_control_number))
        self._groups += 1

    def close_interchange(self) -> None:
        """Write IEA with the number of functional groups."""
        env = self._require_envelope()
        self.segment("IEA", str(self._groups), env.isa13)

    def _require_envelope(self) -> Envelope:
        if self._envelope is None:
            raise ValueError("no open interchange")
        return self._envelope

    def getvalue(self) -> bytes:
        """Everything written so far, ASCII encoded."""
        return "".join(self._parts).encode("ascii")
