"""Write acknowledgments: the 999 implementation acknowledgment (005010X231A1) and the TA1.

A 999 answers one received functional group: one AK2/IK5 per received transaction set and an AK9 for
the group. A TA1 answers a whole interchange (e.g. a duplicate ISA13) without looking inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from revcycle.x12.writer import DEFAULT_DELIMITERS, Delimiters, Envelope, SegmentWriter

VERSION_999 = "005010X231A1"


@dataclass(frozen=True)
class ElementError:
    """IK4: one data element in error (IK401 position, IK403 error code, IK404 bad value)."""

    position: int
    error_code: str  # e.g. 1 mandatory missing, 7 invalid code value, 8 invalid date
    component_position: int | None = None
    element_reference: str | None = None  # IK402, the data element reference number
    bad_value: str | None = None


@dataclass(frozen=True)
class SegmentError:
    """IK3: one segment in error, with its element errors."""

    segment_id: str
    position: int  # IK302: the segment's position in the transaction set, ST = 1
    error_code: str | None = None  # IK304: e.g. 8 segment has data element errors, 3 mandatory missing
    loop_id: str | None = None
    element_errors: tuple[ElementError, ...] = ()

    def __post_init__(self) -> None:
        if self.loop_id is not None and not 1 <= len(self.loop_id) <= 4:
            raise ValueError("IK303 loop id is 1 to 4 characters (e.g. 2010)")


@dataclass(frozen=True)
class TransactionAck:
    """AK2 … IK5: the verdict on one received transaction set."""

    set_id: str  # AK201, e.g. 837
    control_number: str  # AK202, the received ST02
    accepted: bool
    implementation: str | None = None  # AK203, the received ST03
    segment_errors: tuple[SegmentError, ...] = ()
    error_codes: tuple[str, ...] = ()  # IK502..IK506; defaults to 5 (segments in error) on rejection


@dataclass(frozen=True)
class GroupAck:
    """AK1 … AK9: the verdict on one received functional group."""

    functional_id_code: str  # AK101, the received GS01 (HC for an 837)
    group_control_number: int  # AK102, the received GS06
    version: str  # AK103, the received GS08
    transactions: tuple[TransactionAck, ...]
    group_error_codes: tuple[str, ...] = field(default=())  # AK905..AK909


def _ik5_codes(ack: TransactionAck) -> tuple[str, ...]:
    if ack.accepted:
        return ()
    return ack.error_codes[:5] or ("5",)


def write_999(
    group: GroupAck,
    envelope: Envelope,
    transaction_control_number: int = 1,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """A 999 interchange acknowledging the received functional group ``group``."""
    if envelope.functional_id_code != "FA" or envelope.version != VERSION_999:
        raise ValueError(f"a 999 envelope needs GS01 FA and GS08 {VERSION_999}")
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.open_group()
    w.open_transaction("999", transaction_control_number, VERSION_999)
    w.segment("AK1", group.functional_id_code, str(group.group_control_number), group.version)
    for ack in group.transactions:
        w.segment("AK2", ack.set_id, ack.control_number, ack.implementation)
        for error in ack.segment_errors:
            w.segment("IK3", error.segment_id, str(error.position), error.loop_id, error.error_code)
            for element in error.element_errors:
                position: tuple[str, ...] = (str(element.position),)
                if element.component_position is not None:
                    position += (str(element.component_position),)
                w.segment("IK4", position, element.element_reference, element.error_code, element.bad_value)
        w.segment("IK5", "A" if ack.accepted else "R", *_ik5_codes(ack))
    accepted = sum(1 for a in group.transactions if a.accepted)
    received = len(group.transactions)
    if accepted == received and not group.group_error_codes:
        verdict = "A"
    elif accepted == 0:
        verdict = "R"
    else:
        verdict = "P"
    w.segment("AK9", verdict, str(received), str(received), str(accepted), *group.group_error_codes[:5])
    w.close_transaction()
    w.close_group()
    w.close_interchange()
    return w.getvalue()


@dataclass(frozen=True)
class InterchangeAck:
    """TA1: the verdict on a received interchange as a whole."""

    interchange_control_number: int  # TA101, the received ISA13
    interchange_date: datetime  # TA102/TA103: the received ISA09/ISA10
    code: str  # TA104: A accepted, E accepted with errors, R rejected
    note_code: str = "000"  # TA105: 000 no error, 025 duplicate interchange control number ...

    def __post_init__(self) -> None:
        if self.code not in ("A", "E", "R"):
            raise ValueError("TA104 must be A, E or R")
        if len(self.note_code) != 3 or not self.note_code.isdigit():
            raise ValueError("TA105 is a 3-digit note code")


def write_ta1(
    ack: InterchangeAck,
    envelope: Envelope,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> bytes:
    """An interchange holding only ISA, TA1 and IEA (no functional group)."""
    w = SegmentWriter(delimiters, newline)
    w.open_interchange(envelope)
    w.segment(
        "TA1",
        f"{ack.interchange_control_number:09d}",
        ack.interchange_date.strftime("%y%m%d"),
        ack.interchange_date.strftime("%H%M"),
        ack.code,
        ack.note_code,
    )
    w.close_interchange()
    return w.getvalue()
