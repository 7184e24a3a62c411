"""Derive a claim's current status from its events, whatever order the files arrived in (DESIGN.md §5)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from revcycle.domain import ClaimStatus

# How far along the lifecycle an event is. The current status is the latest event of the furthest phase,
# so an 835 that arrived before its 277CA is not undone by the late 277CA.
_PHASE: dict[ClaimStatus, int] = {
    ClaimStatus.BUILT: 0,
    ClaimStatus.SUBMITTED: 1,
    ClaimStatus.ACCEPTED: 2,
    ClaimStatus.REJECTED: 2,
    ClaimStatus.PAID: 3,
    ClaimStatus.PARTIALLY_PAID: 3,
    ClaimStatus.DENIED: 3,
    ClaimStatus.REVERSED: 3,
    ClaimStatus.CORRECTED: 3,
    ClaimStatus.VOIDED: 4,
}


_ADJUDICATED = frozenset({ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED})
_AFTER_ADJUDICATION = frozenset({ClaimStatus.REVERSED, ClaimStatus.CORRECTED})


def derive_status(events: Sequence[ClaimStatus]) -> ClaimStatus:
    """The current status from a claim's events in the order they were recorded.

    Each reversal (CLP02 22) cancels one adjudication, the earliest one still standing, so a reversal
    followed (or preceded, in the same 835) by its correction leaves the claim with the corrected
    payment's status; a reversal with no correction yet leaves it reversed.

    A later version (built after an adjudication or a rejection) with no adjudication of its own yet leaves the
    claim at that version's front-end status (built, submitted, accepted or rejected) until its 835 arrives.
    """
    if not events:
        return ClaimStatus.BUILT
    if ClaimStatus.VOIDED in events:
        return ClaimStatus.VOIDED
    rebuilt = max((i for i, status in enumerate(events) if status is ClaimStatus.BUILT), default=0)
    since = events[rebuilt:]
    if rebuilt > 0 and not any(s in _ADJUDICATED for s in since):
        # A later version (a replacement built after an adjudication, or an original resent after a front-end
        # rejection) is in process: the claim stands where that version stands at the front end (accepted:
        # awaiting its adjudication), not at the payment it will replace or the rejection it follows. The
        # reversal of the replaced payment (CLP02 22) may come before the new payment; it does not end the wait.
        return _furthest([s for s in since if s not in _AFTER_ADJUDICATION])
    adjudications = [status for status in events if status in _ADJUDICATED]
    reversals = sum(1 for status in events if status == ClaimStatus.REVERSED)
    if adjudications or reversals:
        if [s for s in events if s in _ADJUDICATED or s in _AFTER_ADJUDICATION][-1] == ClaimStatus.CORRECTED:
            return ClaimStatus.CORRECTED
        standing = adjudications[reversals:]
        return standing[-1] if standing else ClaimStatus.REVERSED
    return _furthest(events)


def _furthest(events: Sequence[ClaimStatus]) -> ClaimStatus:
    """The latest event of the furthest phase (``events`` not empty)."""
    best_index = 0
    for index, status in enumerate(events):
        if _PHASE[status] >= _PHASE[events[best_index]]:
            best_index = index
    return events[best_index]


def adjudication_status(
    clp02: str, paid: Decimal, patient_responsibility: Decimal, has_denied_line: bool
) -> ClaimStatus:
    """The lifecycle status an 835 claim payment means.

    CLP02 22 is a reversal and 4 a denial. A processed claim with nothing paid and nothing owed by the
    patient is a denial too. A claim with some lines paid and a line denied (paid nothing, nothing owed by
    the patient) is partly paid; a claim paid at the contracted rate (a CO-45 write-off) is paid.
    """
    if clp02 == "22":
        return ClaimStatus.REVERSED
    if clp02 == "4" or (paid == 0 and patient_responsibility == 0):
        return ClaimStatus.DENIED
    if paid > 0 and has_denied_line:
        return ClaimStatus.PARTIALLY_PAID
    return ClaimStatus.PAID
