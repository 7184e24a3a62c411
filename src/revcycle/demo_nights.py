"""The multi-night demo's calendar: which nights run, when, and which visits the synthetic EHR sends each night.

The demo (``revcycle demo --days N``) runs the real nightly flow once per simulated night on one
``SimulatedClock``: the clock is set to the practice's evening hour of each night (in the practice's
timezone) before the night runs, the EHR drops that night's visits (service dates before the night) and the
sandbox clearinghouse, in realistic timing, answers 999, 277CA and 835 over the following days and weeks.

After the last night with visits the demo stops, unless asked to settle: then it keeps running nights with
no new visits until the sandbox has nothing left to send (issue 8, Done-when 1: "nights with no new visits
until the sandbox's longest lag has passed"), within ``max_settle_nights`` days of the last visit night. Of
those, only the nights on which a payer answer falls due are run (see ``_settle``).

The EHR also sends, at seeded rates, changes to visits it sent on earlier nights (``ehr_changes``): a
corrected export (the encounter's lines again, one line's amount changed, same charge ids), a late charge
(a new charge id on the encounter) or a cancellation (the encounter's lines again, ``visit_status``
``cancelled``). Each falls due a seeded number of days after its visit was first sent and
goes out on the first night run on or after that day; while changes are due the demo keeps running nights.
Which visits change, how and when depends on the seed only (docs/sandbox.md, "The simulated EHR over nights").

This module is pure: the flow, the clearinghouse and the export writer are handed in by the command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from revcycle.charge_export import VISIT_CANCELLED
from revcycle.clock import SimulatedClock
from revcycle.payers import PayerProfile
from revcycle.synth import generate_charge_rows
from revcycle.tables import render_table
from revcycle.warehouse.db import create_warehouse_engine
from revcycle.warehouse.kpi.ar import AGING_BUCKETS, ar_aging
from revcycle.warehouse.kpi.payments import days_to_payment_by_payer
from revcycle.warehouse.report import default_period

# A fixed first night, so a seed gives the same calendar (and the same answers) whatever day it runs.
DEFAULT_FIRST_NIGHT = date(2026, 1, 5)
# The practice's nightly run: after the office closes, in the practice's timezone.
EVENING = time(21, 30)
DEFAULT_CLAIMS_PER_NIGHT = 20
# The sandbox's longest tail is 120 days plus reversals and recoupments up to 75 days after the 835.
DEFAULT_MAX_SETTLE_NIGHTS = 220
# A change reaches the EHR export 3 to 40 days after its visit was first sent: some before the payer's 835
# (the claim waits for its adjudication, then goes out as a replacement), most after it.
CHANGE_DAYS = (3, 40)
# The late charge the EHR adds to a visit: a venipuncture posted after the visit was billed.
LATE_CHARGE = {"procedure_code": "36415", "charge_amount": "15.00", "units": "1"}

ChangeKind = Literal["corrected", "late", "cancelled"]


@dataclass(frozen=True)
class NightsPlan:
    """What the multi-night demo runs: ``nights`` nights with visits from ``first_night``, then maybe settling."""

    nights: int
    claims_per_night: int = DEFAULT_CLAIMS_PER_NIGHT
    seed: int = 7
    first_night: date = DEFAULT_FIRST_NIGHT
    evening: time = EVENING
    settle: bool = False
    max_settle_nights: int = DEFAULT_MAX_SETTLE_NIGHTS
    correction_rate: float = 0.0  # share of visits the EHR later re-sends corrected (same charge ids)
    late_rate: float = 0.0  # share of visits the EHR later adds a late charge to (a new charge id)
    cancel_rate: float = 0.0  # share of visits the EHR later cancels (same charge ids, visit_status cancelled)
    change_days: tuple[int, int] = CHANGE_DAYS
    institutional_share: float = 0.0  # share of visits to payers taking 837I that are hospital bills
    secondary_rate: float = 0.0  # share of visits whose patient has a secondary coverage (billed after the 835)

    def __post_init__(self) -> None:
        if self.nights < 1:
            raise ValueError("the demo needs at least one night")
        if self.claims_per_night < 1:
            raise ValueError("each night needs at least one visit")
        rates = (self.correction_rate, self.late_rate, self.cancel_rate)
        if min(rates) < 0 or sum(rates) > 1:
            raise ValueError("the correction, late-charge and cancellation rates are shares: each >= 0, together <= 1")
        if not 0 <= self.secondary_rate <= 1:
            raise ValueError("the secondary coverage rate is a share: between 0 and 1")
        if not 0 < self.change_days[0] <= self.change_days[1]:
            raise ValueError("changes fall due at least one day after the visit was sent")

    def night(self, index: int) -> date:
        """The date of night ``index`` (0 is the first night)."""
        return self.first_night + timedelta(days=index)


def night_seed(seed: int, index: int) -> int:
    """The seed of night ``index``'s visits: distinct per night, fixed by the demo's seed."""
    return seed * 10_000 + index


def visits_of_night(payers: Sequence[PayerProfile], plan: NightsPlan, index: int) -> list[dict[str, str]]:
    """The charge rows the synthetic EHR sends on night ``index``: visits dated 1 to 29 days before the night.

    Ids carry the night (``S<seed>N<night>-E...``) so that no two nights share an encounter or charge id.
    """
    return list(
        generate_charge_rows(
            payers,
            encounters=plan.claims_per_night,
            seed=night_seed(plan.seed, index),
            as_of=plan.night(index),
            id_prefix=f"S{plan.seed}N{index + 1:03d}",
            institutional_share=plan.institutional_share,
            secondary_share=plan.secondary_rate,
        )
    )


def _roll(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts`` (the same on every machine and run)."""
    text = "|".join(str(p) for p in parts)
    return int(hashlib.sha256(text.encode()).hexdigest()[:13], 16) / 16**13


@dataclass(frozen=True)
class EhrChange:
    """A change the EHR sends about a visit it sent before: its kind, the charge it names, and when it is due."""

    kind: ChangeKind
    encounter_id: str
    charge_id: str  # the line corrected, the late charge's new id, or a cancelled visit's first line
    visit_night: int  # index of the night the visit was first sent
    due: date  # the first night on or after this day sends it


def ehr_changes(plan: NightsPlan, index: int, rows: Sequence[Mapping[str, str]]) -> list[EhrChange]:
    """The changes the EHR will send about the visits of night ``index`` (``rows``: that night's charge rows).

    Per visit one roll against the plan's rates picks a corrected export, a late charge, a cancellation or
    nothing (in that order along the roll, so adding a cancellation rate changes no other visit's fate); a
    second roll picks the day it falls due within ``plan.change_days`` of the night. Deterministic for the seed.
    """
    if plan.correction_rate + plan.late_rate + plan.cancel_rate == 0:
        return []
    changes = []
    for encounter_id, lines in _by_encounter(rows).items():
        roll = _roll("ehr-change", plan.seed, encounter_id)
        if roll < plan.correction_rate:
            kind: ChangeKind = "corrected"
            charge_id = min(line["charge_id"] for line in lines)
        elif roll < plan.correction_rate + plan.late_rate:
            kind, charge_id = "late", max(line["charge_id"] for line in lines) + "L"
        elif roll < plan.correction_rate + plan.late_rate + plan.cancel_rate:
            kind, charge_id = "cancelled", min(line["charge_id"] for line in lines)
        else:
            continue
        low, high = plan.change_days
        days = low + int(_roll("ehr-change-day", plan.seed, encounter_id) * (high - low + 1))
        changes.append(EhrChange(kind, encounter_id, charge_id, index, plan.night(index) + timedelta(days=days)))
    return changes


def _by_encounter(rows: Sequence[Mapping[str, str]]) -> dict[str, list[Mapping[str, str]]]:
    found: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        found.setdefault(row["encounter_id"], []).append(row)
    return found


def change_rows(plan: NightsPlan, change: EhrChange, rows: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The export rows of ``change`` (``rows``: the charge rows of the night its visit was sent).

    A corrected export re-sends every line of the encounter, the named line's amount raised by 5 % to 25 %
    (seeded, to the cent); a late charge is one new line (``LATE_CHARGE``) on the encounter, dated like its
    first line, under the new charge id; a cancellation re-sends every line unchanged but for ``visit_status``
    ``cancelled`` (docs/charge-export.md).
    """
    lines = sorted((dict(r) for r in rows if r["encounter_id"] == change.encounter_id), key=lambda r: r["charge_id"])
    if not lines:
        raise ValueError(f"visit {change.encounter_id} is not among the night's rows")
    if change.kind == "late":
        late = dict(lines[0]) | LATE_CHARGE | {"charge_id": change.charge_id}
        late |= {key: "" for key in late if key.startswith("modifier")}
        return [late]
    if change.kind == "cancelled":
        return [line | {"visit_status": VISIT_CANCELLED} for line in lines]
    for line in lines:
        if line["charge_id"] == change.charge_id:
            share = Decimal(5 + int(_roll("ehr-change-amount", plan.seed, change.encounter_id) * 21)) / 100
            amount = Decimal(line["charge_amount"])
            line["charge_amount"] = f"{amount + (amount * share).quantize(Decimal('0.01')):.2f}"
    return lines


@dataclass
class ChangeSchedule:
    """The EHR's changes not sent yet, filled night by night as visits are sent."""

    waiting: list[EhrChange] = field(default_factory=list)
    sent: list[tuple[date, EhrChange]] = field(default_factory=list)

    def add(self, changes: Sequence[EhrChange]) -> None:
        """Schedule changes about visits just sent."""
        self.waiting += changes

    def take_due(self, night: date) -> list[EhrChange]:
        """The changes due on or before ``night``, in due order; they count as sent that night."""
        due = sorted((c for c in self.waiting if c.due <= night), key=lambda c: (c.due, c.charge_id))
        self.waiting = [c for c in self.waiting if c.due > night]
        self.sent += [(night, c) for c in due]
        return due

    @property
    def next_due(self) -> date | None:
        """The day the next change falls due (None when none is waiting)."""
        return min((c.due for c in self.waiting), default=None)


class Sandbox(Protocol):
    """What the demo asks of the sandbox clearinghouse."""

    def release_due(self) -> list[str]:
        """Drop every answer due now into the response folder."""
        ...

    @property
    def pending_count(self) -> int:
        """Answers decided and not yet released."""
        ...

    @property
    def next_release_at(self) -> datetime | None:
        """When the next answer falls due (None when nothing is pending)."""
        ...


@dataclass(frozen=True)
class NightOutcome:
    """One night the demo ran: its date, the visits sent, the flow's run summary, the answers still pending."""

    night: date
    number: int
    visits: int
    run: Mapping[str, Any]
    pending: int
    changes: int = 0  # corrected exports, late charges and cancellations the EHR sent that night

    def progress_line(self, nights: int) -> str:
        """One line of progress for this night (``nights``: the nights with visits)."""
        which = f"{self.number}/{nights}" if self.number <= nights else f"{self.number} (settling, no new visits)"
        return (
            f"night {which} {self.night.isoformat()}: {self.visits} visits, "
            + (f"{self.changes} visits changed, " if self.changes else "")
            + f"{self.run.get('claims built', 0)} claims built, "
            f"{self.run.get('interchanges uploaded', 0)} interchanges sent, "
            f"{self.run.get('response files loaded', 0)} answers loaded, "
            f"{self.pending} still due from the payers"
        )


def run_nights(
    plan: NightsPlan,
    clock: SimulatedClock,
    *,
    sandbox: Sandbox,
    drop_visits: Callable[[int, date], int],
    run_night: Callable[[date, int], Mapping[str, Any]],
    progress: Callable[[NightOutcome], None],
    changes: ChangeSchedule | None = None,
    drop_changes: Callable[[date, list[EhrChange]], int] | None = None,
) -> list[NightOutcome]:
    """Run the plan's nights on ``clock``: set it to each night's evening, drop the night's visits, run the night.

    ``drop_visits(index, night)`` writes night ``index``'s export (and adds the EHR's later changes of its
    visits to ``changes``) and returns its visit count; ``drop_changes(night, due)`` writes the changes due
    that night and returns their count; ``run_night(night, number)`` runs the nightly flow for that batch
    date and returns its run summary.
    """
    night_run = _NightRunner(plan, clock, sandbox, run_night, progress, changes, drop_changes)
    outcomes: list[NightOutcome] = []
    for index in range(plan.nights):
        night = plan.night(index)
        visits = drop_visits(index, night)
        outcomes.append(night_run(night, index + 1, visits))
    if plan.settle:
        outcomes += _settle(plan, clock, sandbox, night_run, changes)
    return outcomes


@dataclass
class _NightRunner:
    plan: NightsPlan
    clock: SimulatedClock
    sandbox: Sandbox
    run_night: Callable[[date, int], Mapping[str, Any]]
    progress: Callable[[NightOutcome], None]
    changes: ChangeSchedule | None
    drop_changes: Callable[[date, list[EhrChange]], int] | None

    def __call__(self, night: date, number: int, visits: int) -> NightOutcome:
        self.clock.set(self.clock.at_local(night, self.plan.evening))
        self.sandbox.release_due()
        changed = 0
        if self.changes is not None and self.drop_changes is not None:
            due = self.changes.take_due(night)
            changed = self.drop_changes(night, due) if due else 0
        run = self.run_night(night, number)
        outcome = NightOutcome(night, number, visits, run, self.sandbox.pending_count, changed)
        self.progress(outcome)
        return outcome


def _settle(
    plan: NightsPlan,
    clock: SimulatedClock,
    sandbox: Sandbox,
    night_run: Callable[[date, int, int], NightOutcome],
    changes: ChangeSchedule | None,
) -> list[NightOutcome]:
    """Nights with no visits until the sandbox has nothing pending and the EHR no change waiting.

    Only the nights on which an answer or an EHR change falls due are run; when nothing is due any more, one
    night more after a night that loaded answers or sent changes (an 835 or a change can make a replacement
    due, and corrections go out before the night's answers are read). A night with no visits and nothing to
    collect or send sends and loads nothing, so skipping it changes no figure (the report is dated by the
    last night run).
    """
    outcomes: list[NightOutcome] = []
    last_allowed = plan.night(plan.nights - 1 + plan.max_settle_nights)
    night = plan.night(plan.nights - 1)
    number = plan.nights
    loaded = False
    while True:
        due = [clock.local_date(at)] if (at := sandbox.next_release_at) is not None else []
        if changes is not None and changes.next_due is not None:
            due.append(changes.next_due)
        if not due and not loaded:
            break
        night = max(night + timedelta(days=1), min(due, default=night))
        if night > last_allowed:
            break
        number += 1
        outcome = night_run(night, number, 0)
        outcomes.append(outcome)
        loaded = bool(outcome.run.get("response files loaded", 0)) or bool(outcome.changes)
    return outcomes


def closing_summary(warehouse_url: str, as_of: date) -> str:
    """The figures the calendar makes: A/R aging by date of service (all payers) and days to payment per payer,
    as the report computes them on ``as_of`` (its default period, the 90 days to ``as_of``)."""
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            aging = ar_aging(conn, as_of)
            days = days_to_payment_by_payer(conn, default_period(as_of))
    finally:
        engine.dispose()
    by_bucket = {name: [b for b in aging if b.bucket == name] for name in AGING_BUCKETS}
    aging_rows = [
        (name, str(sum(b.accounts for b in found)), f"${sum(b.amount for b in found):,.2f}")
        for name, found in by_bucket.items()
    ]
    day_rows = [(d.scope, str(d.claims), str(d.median), str(d.p90)) for d in days]
    return (
        f"A/R aging on {as_of.isoformat()} (days from service, insurance and patient)\n"
        + render_table(("Days from service", "Accounts", "Open A/R"), aging_rows)
        + "\nDays to payment (first submission to first payment)\n"
        + render_table(("Payer", "Claims paid", "Median days", "90th percentile"), day_rows)
    )
