"""The multi-night demo's calendar: which nights run, when, and which visits the synthetic EHR sends each night.

The demo (``revcycle demo --days N``) runs the real nightly flow once per simulated night on one
``SimulatedClock``: the clock is set to the practice's evening hour of each night (in the practice's
timezone) before the night runs, the EHR drops that night's visits (service dates before the night) and the
sandbox clearinghouse, in realistic timing, answers 999, 277CA and 835 over the following days and weeks.

After the last night with visits the demo stops, unless asked to settle: then it keeps running nights with
no new visits until the sandbox has nothing left to send (issue 8, Done-when 1: "nights with no new visits
until the sandbox's longest lag has passed"), within ``max_settle_nights`` days of the last visit night. Of
those, only the nights on which a payer answer falls due are run (see ``_settle``).

This module is pure: the flow, the clearinghouse and the export writer are handed in by the command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

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

    def __post_init__(self) -> None:
        if self.nights < 1:
            raise ValueError("the demo needs at least one night")
        if self.claims_per_night < 1:
            raise ValueError("each night needs at least one visit")

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
        )
    )


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

    def progress_line(self, nights: int) -> str:
        """One line of progress for this night (``nights``: the nights with visits)."""
        which = f"{self.number}/{nights}" if self.number <= nights else f"{self.number} (settling, no new visits)"
        return (
            f"night {which} {self.night.isoformat()}: {self.visits} visits, "
            f"{self.run.get('claims built', 0)} claims built, "
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
) -> list[NightOutcome]:
    """Run the plan's nights on ``clock``: set it to each night's evening, drop the night's visits, run the night.

    ``drop_visits(index, night)`` writes night ``index``'s export and returns its visit count;
    ``run_night(night, number)`` runs the nightly flow for that batch date and returns its run summary.
    """
    outcomes: list[NightOutcome] = []
    for index in range(plan.nights):
        night = plan.night(index)
        visits = drop_visits(index, night)
        outcomes.append(_run_one(plan, clock, sandbox, night, index + 1, visits, run_night, progress))
    if plan.settle:
        outcomes += _settle(plan, clock, sandbox, run_night, progress)
    return outcomes


def _settle(
    plan: NightsPlan,
    clock: SimulatedClock,
    sandbox: Sandbox,
    run_night: Callable[[date, int], Mapping[str, Any]],
    progress: Callable[[NightOutcome], None],
) -> list[NightOutcome]:
    """Nights with no visits until the sandbox has nothing pending.

    Only the nights on which an answer falls due are run: a night with no visits and nothing to collect
    sends and loads nothing, so skipping it changes no figure (the report is dated by the last night run).
    """
    outcomes: list[NightOutcome] = []
    last_allowed = plan.night(plan.nights - 1 + plan.max_settle_nights)
    night = plan.night(plan.nights - 1)
    number = plan.nights
    while (due := sandbox.next_release_at) is not None:
        night = max(night + timedelta(days=1), clock.local_date(due))
        if night > last_allowed:
            break
        number += 1
        outcomes.append(_run_one(plan, clock, sandbox, night, number, 0, run_night, progress))
    return outcomes


def _run_one(
    plan: NightsPlan,
    clock: SimulatedClock,
    sandbox: Sandbox,
    night: date,
    number: int,
    visits: int,
    run_night: Callable[[date, int], Mapping[str, Any]],
    progress: Callable[[NightOutcome], None],
) -> NightOutcome:
    clock.set(clock.at_local(night, plan.evening))
    sandbox.release_due()
    run = run_night(night, number)
    outcome = NightOutcome(night, number, visits, run, sandbox.pending_count)
    progress(outcome)
    return outcome


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
