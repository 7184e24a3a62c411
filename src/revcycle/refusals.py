"""Why a received transaction set is refused (DESIGN.md §7): one code and one message without values.

A transaction set (an 835, 999 or 277CA ST..SE) posts only when it is intact: its own envelope (an SE with
the right SE01 segment count and SE02 = ST02, every segment whole), its functional group's (GS..GE with the
right GE01 count and GE02 = GS06) and its interchange's (ISA..IEA, IEA01 and IEA02). The first thing wrong,
looking at the set itself, then its group, then its interchange, is the reason it is refused. A GE or IEA
error therefore refuses every set of that group or interchange: docs/delivery-guarantees.md explains why.

Messages name X12 elements and counts of nothing: never a control number, an amount or a name (the
refused set's ST02 is kept in its own column, and the file by its ledger id).
"""

from __future__ import annotations

from dataclasses import dataclass

from revcycle.x12.reader import EnvelopeLevel, Problem, TransactionSetEnvelope


@dataclass(frozen=True)
class SetRefusal:
    """The reason a transaction set does not post: a stable code and a message an operator can act on."""

    code: str
    message: str


_RESEND = "ask the sender for a corrected copy; the sets it holds that posted before are not posted again"

MESSAGES: dict[str, str] = {
    # the set itself
    "MISSING_TERMINATOR": f"the file ends inside a segment of this set (the file was cut); {_RESEND}",
    "BAD_SEGMENT_ID": f"a segment of this set has an id that is not a segment id (the set is damaged); {_RESEND}",
    "MISSING_SE": f"the set has no SE trailer (the file was cut or the set is incomplete); {_RESEND}",
    "SE01_COUNT": f"SE01 does not match the number of segments in the set (a segment is missing or extra); {_RESEND}",
    "SE02_MISMATCH": f"SE02 does not match ST02; {_RESEND}",
    "ST_OUTSIDE_GROUP": f"the set is not inside a functional group (no GS before it); {_RESEND}",
    # its functional group: every set of the group is refused
    "MISSING_GE": f"its functional group has no GE trailer, so the whole group is refused; {_RESEND}",
    "GE01_COUNT": f"GE01 does not match the number of sets in its functional group, so the whole group is refused; "
    f"{_RESEND}",
    "GE02_MISMATCH": f"GE02 does not match GS06 of its functional group, so the whole group is refused; {_RESEND}",
    "GS_OUTSIDE_INTERCHANGE": f"its functional group is not inside an interchange (no ISA); {_RESEND}",
    # its interchange: every set of the interchange is refused
    "MISSING_IEA": f"its interchange has no IEA trailer, so the whole interchange is refused; {_RESEND}",
    "IEA01_COUNT": f"IEA01 does not match the number of groups in its interchange, so the whole interchange is "
    f"refused; {_RESEND}",
    "IEA02_MISMATCH": f"IEA02 does not match ISA13 of its interchange, so the whole interchange is refused; {_RESEND}",
    # what the loader checks inside an intact set before it writes anything
    "UNEXPECTED_TRANSACTION": "the set is not of the file's transaction type (revcycle loads one type per file); "
    "ask the sender to send it in a file of its own",
    "MISSING_TRACE": "the 835 has no TRN02 trace number, so it cannot be told apart from another payment; "
    "ask the payer for a corrected 835",
    "MISSING_PAYER_IDENTIFIER": "the 835 has no TRN03 payer identifier, the other half of its duplicate key "
    "(a copy that carries it would post a second time); ask the payer for a corrected 835",
    "TRACE_TOO_LONG": "TRN02 is longer than its X12 maximum of 50 characters; ask the payer for a corrected 835",
    "UNREADABLE_AMOUNT": "an amount of the set is missing or is not a number of at most 18 digits, so what the "
    "payer paid cannot be known; ask the payer for a corrected 835",
    "AMOUNT_OUT_OF_RANGE": "an amount of the set is too large to be a payment (10^16 dollars or more); "
    "ask the payer for a corrected 835",
    "VALUE_TOO_LONG": "a quantity of the set is longer than the warehouse keeps (16 characters); "
    "ask the payer for a corrected 835",
}

# The reader's envelope codes, by the level they were found at, as refusal codes (CONTROL_MISMATCH says which
# trailer disagreed; SEGMENT_OUTSIDE_ENVELOPE which header had no parent).
_SET_CODES = {"CONTROL_MISMATCH": "SE02_MISMATCH", "SEGMENT_OUTSIDE_ENVELOPE": "ST_OUTSIDE_GROUP"}
_GROUP_CODES = {"CONTROL_MISMATCH": "GE02_MISMATCH", "SEGMENT_OUTSIDE_ENVELOPE": "GS_OUTSIDE_INTERCHANGE"}
_INTERCHANGE_CODES = {"CONTROL_MISMATCH": "IEA02_MISMATCH"}


def refusal(code: str) -> SetRefusal:
    """The refusal of ``code`` with its message (a code without a message is a bug, and raises KeyError)."""
    return SetRefusal(code, MESSAGES[code])


def _first(problems: list[Problem], codes: dict[str, str]) -> SetRefusal | None:
    for problem in problems:
        code = codes.get(problem.code, problem.code)
        if code in MESSAGES:
            return refusal(code)
    return None


def set_refusal(envelope: TransactionSetEnvelope) -> SetRefusal | None:
    """Why the set itself may not post (its own envelope), whatever its group and interchange; None if intact."""
    return _first(envelope.problems, _SET_CODES)


def group_refusal(group: EnvelopeLevel | None) -> SetRefusal | None:
    """Why no set of the functional group ``group`` may post (final once its GE was read); None if intact."""
    return None if group is None else _first(group.problems, _GROUP_CODES)


def interchange_refusal(interchange: EnvelopeLevel | None) -> SetRefusal | None:
    """Why no set of the interchange may post (final once its IEA was read); None if intact."""
    return None if interchange is None else _first(interchange.problems, _INTERCHANGE_CODES)


def envelope_refusal(envelope: TransactionSetEnvelope) -> SetRefusal | None:
    """Why ``envelope``'s set may not post (its own problems first, then its group's, then its interchange's).

    None when the set, its group and its interchange are intact. Call it once the set's interchange has been
    read to its end: a group's and an interchange's problems are known only after their trailers.
    """
    return set_refusal(envelope) or group_refusal(envelope.group) or interchange_refusal(envelope.interchange)
