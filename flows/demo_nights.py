"""The multi-night demo's wiring: the real nightly flow, night after night, against the embedded sandbox in
realistic timing, everything on one simulated clock (the calendar and the loop: ``revcycle.demo_nights``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from connectors.clearinghouse.sandbox import EmbeddedClearinghouse
from connectors.payers import registered_payers
from flows.common import RunPaths
from flows.nightly import nightly_revenue_cycle
from revcycle.clock import SimulatedClock, running_on
from revcycle.demo_nights import (
    ChangeSchedule,
    EhrChange,
    NightOutcome,
    NightsPlan,
    change_rows,
    ehr_changes,
    run_nights,
    visits_of_night,
)
from revcycle.filemodes import private_dir, private_file
from revcycle.synth import write_charge_export
from tasks.attention import run_result
from tasks.report import publish_report
from tasks.runtime import settings


@dataclass(frozen=True)
class NightsResult:
    """What the demo ran: each night, the last night's flow result, and where the sandbox's ledger is."""

    outcomes: list[NightOutcome]
    last: Mapping[str, Any]
    ledger_file: Path
    changes: list[tuple[date, EhrChange]] = field(default_factory=list)  # what the EHR changed, and when sent


@contextmanager
def _console_at_warning() -> Iterator[None]:
    """Prefect's console lines (every flow and task run, each night) wait for WARNING; the run log keeps all."""
    handlers = [h for h in logging.getLogger().handlers if not isinstance(h, logging.FileHandler)]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(max(handler.level, logging.WARNING))
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)


@contextmanager
def _no_flow_heartbeats() -> Iterator[None]:
    """No flow-run heartbeats in the demo: they let a server mark a crashed run, and the demo's server lives
    and dies with this process. Each flow run's exit otherwise waits up to a second for its heartbeat thread
    (about 0.7 s a run, five flow runs a night: 3 s of a 10 s night)."""
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def run_demo_nights(
    workdir: Path, plan: NightsPlan, *, timezone: str, usage_indicator: str, progress: Callable[[NightOutcome], None]
) -> NightsResult:
    """Run ``plan`` in ``workdir``: each night's export in ``exports/<night>/``, the sandbox in ``clearinghouse/``."""
    zone = ZoneInfo(timezone)
    clock = SimulatedClock(datetime.combine(plan.first_night, time(0), tzinfo=zone), zone)
    clearinghouse = EmbeddedClearinghouse(
        workdir / "clearinghouse",
        usage_indicator=usage_indicator,
        seed_salt=str(plan.seed),
        clock=clock,
        timing="realistic",
    )
    payers = list(registered_payers().values())
    exports = private_dir(workdir / "exports")
    last: dict[str, Any] = {}

    def export_dir(night: date) -> Path:
        return private_dir(exports / night.isoformat())

    changes = ChangeSchedule()

    def drop_visits(index: int, night: date) -> int:
        rows = visits_of_night(payers, plan, index)
        write_charge_export(rows, private_file(export_dir(night) / f"charges_{night.isoformat()}.csv"))
        changes.add(ehr_changes(plan, index, rows))
        return len({row["encounter_id"] for row in rows})

    def drop_changes(night: date, due: list[EhrChange]) -> int:
        sent_rows: dict[int, list[dict[str, str]]] = {}
        rows = []
        for change in due:
            if change.visit_night not in sent_rows:
                sent_rows[change.visit_night] = visits_of_night(payers, plan, change.visit_night)
            rows += change_rows(plan, change, sent_rows[change.visit_night])
        name = f"charges_{night.isoformat()}_changes.csv"
        write_charge_export(rows, private_file(export_dir(night) / name))
        return len(due)

    def run_night(night: date, _number: int) -> Mapping[str, Any]:
        # The HTML report is written once, after the last night (which --settle decides as it goes).
        state = nightly_revenue_cycle(
            export_dir=str(export_dir(night)),
            workdir=str(workdir),
            batch_date=night.isoformat(),
            html_report=False,
            return_state=True,
        )
        result = run_result(state)  # a night that ends NeedsAttention still has its result (and its list)
        last.clear()
        last.update(result)
        return dict(result["run"])

    connection = clearinghouse.start()
    os.environ.update(
        connection.environment(clearinghouse.upload_dir, clearinghouse.inbox_dir, clearinghouse.archive_dir)
    )
    try:
        with running_on(clock), _console_at_warning(), _no_flow_heartbeats():
            outcomes = run_nights(
                plan,
                clock,
                sandbox=clearinghouse,
                drop_visits=drop_visits,
                run_night=run_night,
                progress=progress,
                changes=changes,
                drop_changes=drop_changes,
            )
            if last:
                # What the last night's publish-report would have written: its batch date, its KPI summary.
                paths = RunPaths.resolve(settings(), str(workdir))
                last["report"] = publish_report(
                    paths.warehouse_url,
                    str(paths.workdir),
                    str(last["batch_date"]),
                    kpi_rows=list(last["kpis"].items()),
                )
    finally:
        clearinghouse.stop()
    return NightsResult(outcomes, last, clearinghouse.ledger_file, list(changes.sent))
