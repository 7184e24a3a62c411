"""The ``revcycle`` command: the composition root, the one core module that may import flows/ and connectors/.

Heavy imports (Prefect takes ~2 s, Great Expectations ~5 s) happen inside the commands that need them,
so ``revcycle --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revcycle import __version__
from revcycle.errors import ConfigurationError, RunFailure
from revcycle.warehouse.locate import DEMO_WORKDIR

if TYPE_CHECKING:
    from revcycle.demo_nights import NightsPlan

QUIET_ENVIRONMENT = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}
# Prefect waits 20 s by default for its temporary API server; on a busy 2-core machine the server alone can
# take longer than that to start. An operator's own value wins.
EPHEMERAL_STARTUP_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
EPHEMERAL_STARTUP_SECONDS = 300
TRIGGERS_VARIABLE = "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"
# Our loggers, logged at INFO into the run log; other libraries' lines go there from WARNING up.
RUN_LOGGERS = ("revcycle", "connectors", "tasks", "flows", "expectations")
RUN_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(run_name)s%(message)s"


def _step(number: int, total: int, text: str) -> None:
    print(f"[{number}/{total}] {text}", flush=True)


def _prepare_run_environment(workdir: Path) -> Path:
    """Quiet analytics, keep Prefect's state in the workdir, and create the run log (``0600``) in ``workdir/logs``."""
    from revcycle.filemodes import private_dir, private_file

    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault(EPHEMERAL_STARTUP_VARIABLE, str(EPHEMERAL_STARTUP_SECONDS))
    # Our loggers also log outside flow runs (the sandbox server, this command): that is no mistake to warn of.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    if "PREFECT_API_URL" not in os.environ and "PREFECT_HOME" not in os.environ:
        # Prefect's temporary server keeps its SQLite database here; created 0600 so that its WAL files are too.
        prefect_home = private_dir(workdir / "prefect")
        os.environ["PREFECT_HOME"] = str(prefect_home)
        private_file(prefect_home / "prefect.db")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "revcycle,connectors,expectations")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ["REVCYCLE_WORKDIR"] = str(workdir)
    logs = private_dir(workdir / "logs")
    return private_file(logs / f"run-{time.strftime('%Y%m%d-%H%M%S')}.log")


class _RunLogFormatter(logging.Formatter):
    """Names the flow or task run of a Prefect run-logger line, as Prefect's console does."""

    def format(self, record: logging.LogRecord) -> str:
        task_run = getattr(record, "task_run_name", None)
        flow_run = getattr(record, "flow_run_name", None)
        record.run_name = f"task run {task_run!r}: " if task_run else (f"flow run {flow_run!r}: " if flow_run else "")
        return super().format(record)


class _RunLogFilter(logging.Filter):
    """Our loggers and Prefect's from INFO up; every other library from WARNING up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".")[0] in (*RUN_LOGGERS, "prefect")


def _log_run_to(log_file: Path) -> None:
    """Send every log line of this process to ``log_file`` once: one handler, on the root logger.

    Prefect configures logging (its console handler on the root) when it is first imported, replacing the
    handlers of the loggers it configures; so this runs after that. Every logger propagates to the root
    except Prefect's own internal ones, so no line reaches the file twice, and none is missed.
    """
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(_RunLogFormatter(RUN_LOG_FORMAT))
    handler.addFilter(_RunLogFilter())
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    for name in RUN_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def _ephemeral_startup_seconds() -> int:
    text = os.environ.get(EPHEMERAL_STARTUP_VARIABLE, str(EPHEMERAL_STARTUP_SECONDS))
    try:
        seconds = int(text)
    except ValueError:
        raise ConfigurationError(f"{EPHEMERAL_STARTUP_VARIABLE} must be a whole number of seconds") from None
    if seconds <= 0:
        raise ConfigurationError(f"{EPHEMERAL_STARTUP_VARIABLE} must be a positive number of seconds")
    return seconds


def _start_prefect_api() -> None:
    """Start Prefect's temporary API server now, when no ``PREFECT_API_URL`` names one, so a slow start fails
    here with one line saying what to set, instead of with a traceback in the middle of the flow call.

    The flow run that follows finds the server already running (Prefect keeps one per process).
    """
    if os.environ.get("PREFECT_API_URL"):
        return
    seconds = _ephemeral_startup_seconds()
    # No automation lives on a server that ends with the command, so its triggers service has nothing to evaluate;
    # on a busy machine its periodic evaluation can meet SQLite's lock and print an ERROR with a traceback
    # (PrefectHQ/prefect#15170, #19771), which a clean run must not. An operator's own value wins.
    os.environ.setdefault(TRIGGERS_VARIABLE, "false")
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    try:
        server.start(timeout=seconds)
    except Exception as problem:
        server.stop()
        cause = str(problem).split(". ", 1)[0].strip().rstrip(".")[:200]
        raise RunFailure(
            f"Prefect's temporary API server did not start within {seconds} s ({type(problem).__name__}: "
            f"{cause}); the machine may be busy: set {EPHEMERAL_STARTUP_VARIABLE} higher (e.g. "
            f"{seconds * 2}) or PREFECT_API_URL to a running Prefect server, then run the command again"
        ) from None


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the whole nightly cycle on a synthetic export against the embedded sandbox clearinghouse."""
    from revcycle.filemodes import private_dir

    plan = None
    if args.days:
        try:  # a wrong rate is refused before anything is created in the workdir
            plan = _nights_plan(args)
        except ValueError as problem:
            print(f"revcycle demo: {problem}", file=sys.stderr)
            return 2
    workdir = private_dir(Path(args.workdir).resolve())
    log_file = _prepare_run_environment(workdir)
    _log_run_to(log_file)
    if plan is not None:
        return _demo_nights(plan, workdir, log_file)
    args.claims = args.claims or 200
    total = 4
    ehr_format = getattr(args, "ehr_format", "csv")
    _step(1, total, f"writing a synthetic EHR {ehr_format} export ({args.claims} encounters, seed {args.seed})")
    from connectors.payers import registered_payers
    from revcycle.clock import SystemClock
    from revcycle.demo_export import write_demo_export
    from revcycle.settings import Settings
    from revcycle.synth import DEMO_INSTITUTIONAL_SHARE

    clock, defect_rate = SystemClock(Settings().timezone), getattr(args, "defect_rate", 0.0) or 0.0
    export_dir = private_dir(workdir / "exports")
    written = write_demo_export(
        ehr_format=ehr_format,
        workdir=workdir,
        export_dir=export_dir,
        encounters_count=args.claims,
        seed=args.seed,
        defect_rate=defect_rate,
        payers=registered_payers(),
        as_of=clock.today(),
        sent=clock.now().astimezone(clock.timezone),
        institutional_share=DEMO_INSTITUTIONAL_SHARE,
    )
    if defect_rate > 0:
        print(f"      {len(written.defects)} defects planted at rate {defect_rate:g} -> ground truth in defects.csv")
    for feed_format, path, lines in written.files:
        print(f"      {lines} charge lines ({feed_format}) -> {path.relative_to(workdir.parent)}")

    _step(2, total, "starting the embedded sandbox clearinghouse (SFTP on 127.0.0.1)")
    from connectors.clearinghouse.sandbox import EmbeddedClearinghouse
    from revcycle.settings import Settings

    settings = Settings()
    clearinghouse = EmbeddedClearinghouse(workdir / "clearinghouse", usage_indicator=settings.usage_indicator)
    connection = clearinghouse.start()
    os.environ.update(
        connection.environment(clearinghouse.upload_dir, clearinghouse.inbox_dir, clearinghouse.archive_dir)
    )
    print(f"      listening on 127.0.0.1:{connection.port}, host key pinned")
    try:
        _step(3, total, "running the nightly flow under Prefect (extract, validate, 837P/837I, SFTP, 999/277CA/835)")
        _start_prefect_api()
        from flows.nightly import nightly_revenue_cycle
        from revcycle.progress_bars import bars_on_terminal
        from tasks.attention import run_result

        started = time.monotonic()
        with bars_on_terminal():
            state = nightly_revenue_cycle(export_dir=str(export_dir), workdir=str(workdir), return_state=True)
        result = run_result(state)
        elapsed = time.monotonic() - started
    finally:
        clearinghouse.stop()
    from revcycle.tables import render_table

    print(f"      done in {elapsed:.1f} s")
    print(render_table(("This run", "Count"), [(k, str(v)) for k, v in result["run"].items()]))
    _step(4, total, "KPI summary (whole warehouse)")
    print(render_table(("KPI", "Value"), list(result["kpis"].items())))
    print(
        f"\nLook around in {workdir}: outbound/ (837s sent), inbound/ (999, 277CA, 835 received), "
        f"warehouse.db, report.html (charts), data-docs/ (validation results), logs/{log_file.name}"
    )
    from revcycle.attention_command import demo_exit_code

    return demo_exit_code(result["needs_attention"], defects_planted=defect_rate > 0)


def _nights_plan(args: argparse.Namespace) -> NightsPlan:
    """The plan of ``demo --days N`` from its arguments; ValueError (one line) when a rate is not a share."""
    from revcycle.demo_nights import DEFAULT_CLAIMS_PER_NIGHT, DEFAULT_FIRST_NIGHT, NightsPlan
    from revcycle.synth import DEMO_INSTITUTIONAL_SHARE

    return NightsPlan(
        args.days,
        args.claims or DEFAULT_CLAIMS_PER_NIGHT,
        args.seed,
        args.first_night or DEFAULT_FIRST_NIGHT,
        settle=args.settle,
        correction_rate=args.correction_rate,
        late_rate=args.late_rate,
        cancel_rate=args.cancel_rate,
        institutional_share=DEMO_INSTITUTIONAL_SHARE,
        secondary_rate=args.secondary_rate,
    )


def _demo_nights(plan: NightsPlan, workdir: Path, log_file: Path) -> int:
    """``demo --days N``: N nights on a simulated calendar (revcycle.demo_nights), one progress line a night."""
    from revcycle.demo_nights import closing_summary
    from revcycle.settings import Settings

    print(f"{plan.nights} nights from {plan.first_night}, {plan.claims_per_night} visits a night, seed {plan.seed}")
    _start_prefect_api()
    from flows.demo_nights import run_demo_nights

    settings = Settings()
    started = time.monotonic()
    result = run_demo_nights(
        workdir,
        plan,
        timezone=settings.timezone,
        usage_indicator=settings.usage_indicator,
        progress=lambda night: print(night.progress_line(plan.nights), flush=True),
    )
    print(f"{len(result.outcomes)} nights in {time.monotonic() - started:.1f} s")
    print(closing_summary(settings.resolved_warehouse_url(), result.outcomes[-1].night))
    print(f"\nLook around in {workdir}: report.html, warehouse.db, clearinghouse/, logs/{log_file.name}")
    return 0


def cmd_x12_parse(args: argparse.Namespace) -> int:
    """Parse any X12 file and print what it holds (JSON with --json); exit 1 when it lists problems."""
    from revcycle.x12.answers import has_problems, text_lines
    from revcycle.x12.document import parse_document, to_json

    path = Path(args.file)
    if not path.is_file():
        print(f"revcycle: no such file: {path}", file=sys.stderr)
        return 2
    document = parse_document(path, path.name)
    print(to_json(document) if args.json else "\n".join(text_lines(document)))
    return 1 if has_problems(document) else 0


def cmd_x12_inspect(args: argparse.Namespace) -> int:
    """Print the loop tree of an X12 file with its problems marked; PHI masked unless --show-values."""
    from revcycle.x12.tree import inspect_lines

    path = Path(args.file)
    if not path.is_file():
        print(f"revcycle: no such file: {path}", file=sys.stderr)
        return 2
    for line in inspect_lines(path, path.name, show_values=args.show_values):
        print(line)
    return 0


def _warehouse_engine() -> Any:
    """The warehouse of the settings in force (or the demo's, said on stderr), migrated to the latest revision."""
    from revcycle.cli_run import open_warehouse

    return open_warehouse()


def _sync_reference(engine: Any) -> None:
    """Payers from their profiles, the adjustment categories and the practice's timezone, before reporting."""
    from connectors.payers import registered_payers
    from revcycle.settings import Settings
    from revcycle.warehouse.reference import payer_row, sync_adjustment_categories, sync_payers
    from revcycle.warehouse.timezone import sync_practice_timezone

    with engine.begin() as conn:
        sync_payers(conn, [payer_row(p) for p in registered_payers().values()])
        sync_adjustment_categories(conn)
        sync_practice_timezone(conn, Settings().timezone)


def _as_of(args: argparse.Namespace) -> date:
    """--as-of, or today in the practice's timezone."""
    from revcycle.clock import SystemClock
    from revcycle.settings import Settings

    return date.fromisoformat(args.as_of) if args.as_of else SystemClock(Settings().timezone).today()


def cmd_report(args: argparse.Namespace) -> int:
    """Write the warehouse report as one HTML page (--out), or print its figures as tables."""
    from revcycle.settings import Settings
    from revcycle.warehouse.kpi.common import Period
    from revcycle.warehouse.report import collect_report, default_period, render_html, render_text

    as_of = _as_of(args)
    period = Period(date.fromisoformat(args.start), as_of) if args.start else default_period(as_of)
    if period.start is not None and period.start > as_of:
        print("revcycle: --from is after --as-of", file=sys.stderr)
        return 2
    engine = _warehouse_engine()
    try:
        _sync_reference(engine)
        with engine.connect() as conn:
            data = collect_report(conn, as_of, period, Settings().status_inquiry_after_days)
    finally:
        engine.dispose()
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(data), encoding="utf-8")
        print(f"report written to {out}")
    else:
        print(render_text(data), end="")
    return 0


def _write_private_csv(path: Path, headers: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    """A CSV readable by its owner only (0600 from its creation on): it holds PHI."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(headers))
        writer.writeheader()
        writer.writerows(rows)


def cmd_worklist(args: argparse.Namespace) -> int:
    """List the worklists, print one (no PHI), or write one with its patients to a 0600 CSV (--out)."""
    from revcycle.tables import render_table
    from revcycle.warehouse.kpi.worklists import PHI_COLUMNS, WORKLIST_NAMES, all_worklists, phi_rows, worklist
    from revcycle.warehouse.report import worklist_heading

    if args.name and args.name not in WORKLIST_NAMES:
        print(f"revcycle: unknown worklist {args.name}; one of {', '.join(WORKLIST_NAMES)}", file=sys.stderr)
        return 2
    if args.out and not args.name:
        print("revcycle: --out needs a worklist name", file=sys.stderr)
        return 2
    as_of = _as_of(args)
    engine = _warehouse_engine()
    try:
        _sync_reference(engine)
        with engine.connect() as conn:
            if not args.name:
                rows = [
                    (w.name, w.title, str(w.count), w.oldest.isoformat() if w.oldest else "")
                    for w in all_worklists(conn, as_of)
                ]
                print(render_table(("Worklist", "What", "Items", "Oldest"), rows, right_align_from=2))
                return 0
            work = worklist(conn, args.name, as_of)
            if args.out:
                out = Path(args.out)
                _write_private_csv(out, [*work.headers, *PHI_COLUMNS], phi_rows(conn, work))
                print(f"{work.count} rows of worklist {work.name} written to {out} (0600: it holds patient data)")
                return 0
    finally:
        engine.dispose()
    print(worklist_heading(work))
    print(render_table(work.headers, work.rows))
    return 0


def cmd_patient_payments(args: argparse.Namespace) -> int:
    """Load a patient-payments CSV export (docs/patient-payments.md)."""
    from revcycle.warehouse.patient_payments import load_patient_payments

    path = Path(args.file)
    if not path.is_file():
        print(f"revcycle: no such file: {path}", file=sys.stderr)
        return 2
    engine = _warehouse_engine()
    try:
        with engine.begin() as conn:
            result = load_patient_payments(conn, path.read_bytes(), path.name)
    finally:
        engine.dispose()
    if result.skipped_file:
        print(f"{path.name}: loaded before, nothing to do")
        return 0
    print(
        f"{path.name}: {result.loaded} payments loaded, {result.already_loaded} loaded before, "
        f"{len(result.refused)} lines refused"
    )
    for line, reason in result.refused:
        print(f"  line {line}: {reason}")
    return 1 if result.refused else 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load 835, 999, 277CA and TA1 files that arrived some other way, exactly like the flow loads them."""
    from revcycle.tables import render_table
    from revcycle.warehouse.ingest import ingest_files

    paths = [Path(name) for name in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"revcycle: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    from revcycle.progress_bars import bars_on_terminal

    engine = _warehouse_engine()
    try:
        with bars_on_terminal():
            outcomes = ingest_files(engine, paths)
    finally:
        engine.dispose()
    rows = [
        (
            o.name,
            o.kind,
            o.outcome,
            str(o.summary.rows if o.summary else 0),
            str(o.summary.events if o.summary else 0),
            str(o.summary.unmatched if o.summary else 0),
            o.reason,
        )
        for o in outcomes
    ]
    print(render_table(("File", "Kind", "Outcome", "Rows", "Events", "Unmatched", "Note"), rows, right_align_from=3))
    refused = [(o.name, item) for o in outcomes for item in o.refused_sets]
    if refused:
        print(f"\n{len(refused)} transaction set(s) refused: nothing of them was posted; the files are kept.")
        print(
            render_table(
                ("File", "Set", "Kind", "ST02", "Problem", "What to do"),
                [(name, str(i.ordinal), i.kind, i.control_number, i.code, i.message) for name, i in refused],
                right_align_from=6,
            )
        )
    return 1 if refused or any(o.outcome in ("failed", "refused") for o in outcomes) else 0


def cmd_fee_schedule(args: argparse.Namespace) -> int:
    """Load a payer's fee schedule (CSV: procedure_code, contracted_amount), replacing the previous one."""
    from connectors.payers import registered_payers
    from revcycle.warehouse.reference import load_fee_schedule, parse_fee_schedule, payer_row, sync_payers

    path = Path(args.file)
    if not path.is_file():
        print(f"revcycle: no such file: {path}", file=sys.stderr)
        return 2
    schedule = parse_fee_schedule(path.read_text(encoding="utf-8"), path.name)
    engine = _warehouse_engine()
    try:
        with engine.begin() as conn:
            sync_payers(conn, [payer_row(p) for p in registered_payers().values()])
            count = load_fee_schedule(conn, args.payer_id, schedule, path.name)
    finally:
        engine.dispose()
    print(f"{count} contracted amounts loaded for payer {args.payer_id}")
    return 0


def cmd_ehr_listen(args: argparse.Namespace) -> int:
    """Receive HL7 v2 DFT messages over MLLP (TLS optional), storing each in the drop folder before its ACK."""
    import asyncio
    import signal

    from connectors.ehr.mllp import MessageStore, MllpListener, run_listener, server_tls_context
    from revcycle.settings import Settings

    if bool(args.tls_cert) != bool(args.tls_key):
        print("revcycle: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    workdir = Path(args.workdir) if args.workdir else Settings().workdir
    drop_dir = Path(args.drop_dir) if args.drop_dir else workdir / "exports"
    tls = None
    if args.tls_cert:
        client_ca = Path(args.tls_client_ca) if args.tls_client_ca else None
        tls = server_tls_context(Path(args.tls_cert), Path(args.tls_key), client_ca)
    if args.host not in ("127.0.0.1", "::1", "localhost") and tls is None:
        print(f"revcycle: warning: listening on {args.host} without TLS; HL7 carries PHI", file=sys.stderr)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    listener_logger = logging.getLogger("connectors.ehr.mllp")
    listener_logger.addHandler(handler)
    listener_logger.setLevel(logging.INFO)
    listener = MllpListener(MessageStore(drop_dir, workdir / "mllp"), host=args.host, port=args.port, tls=tls)

    def started(port: int) -> None:
        print(f"listening on {args.host}:{port} ({'TLS' if tls else 'plain TCP'}), storing into {drop_dir}", flush=True)

    async def main() -> None:
        task = asyncio.ensure_future(run_listener(listener, started))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    counts = listener.counts
    print(f"stopped: {counts.stored} stored, {counts.duplicates} duplicates, {counts.rejected} refused", flush=True)
    return 0


def cmd_config(_args: argparse.Namespace) -> int:
    """Print the settings in force (from REVCYCLE_* variables and .env), secrets masked, and unknown variables."""
    from pydantic import SecretStr

    from revcycle.settings import Settings, unknown_variables
    from revcycle.tables import render_table

    settings = Settings()
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        shown = "(not set)" if value is None else ("********" if isinstance(value, SecretStr) else str(value))
        rows.append((f"REVCYCLE_{name.upper()}", shown, field.description or ""))
    print(render_table(("Variable", "Value", "Meaning"), rows, right_align_from=3))
    from revcycle.control_numbers_command import next_numbers_line

    print(next_numbers_line(settings.resolved_warehouse_url()))
    unknown = unknown_variables()
    if unknown:
        print("\nIgnored: these REVCYCLE_* variables are not settings (a typo?)")
        print(
            render_table(
                ("Variable", "Found in", "Did you mean"),
                [(u.name, u.source, u.closest or "(no close setting)") for u in unknown],
                right_align_from=3,
            )
        )
    return 0


def cmd_alerts_create(args: argparse.Namespace) -> int:
    """Create or update the Prefect automations that post alerts to a webhook (docs/prefect.md)."""
    from flows.alerts import create_alerts_command

    return create_alerts_command(args.webhook, args.quiet_window)


def _configuration_problem(error: Exception) -> str | None:
    """One line naming the variables a settings validation error is about (never their values), else None."""
    from pydantic import ValidationError

    from revcycle.settings import Settings

    if not isinstance(error, ValidationError) or error.title != Settings.__name__:
        return None
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        problems.append(f"REVCYCLE_{field.upper()}: {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


# The simulated EHR's changes to visits already sent, in `demo --days` (revcycle.demo_nights.ehr_changes).
DEFAULT_CORRECTION_RATE = 0.02
DEFAULT_SECONDARY_RATE = 0.1
DEFAULT_LATE_RATE = 0.02
DEFAULT_CANCEL_RATE = 0.01


def _share(text: str) -> float:
    """A share between 0 and 1 (argparse type)."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse type)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``revcycle`` command."""
    parser = argparse.ArgumentParser(
        prog="revcycle",
        description="Revenue-cycle pipeline: EHR charges to X12 837 claims, 999/277CA/835 into a warehouse.",
    )
    parser.add_argument("--version", action="version", version=f"revcycle {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the nightly cycle on a synthetic export against the embedded sandbox clearinghouse"
    )
    demo.add_argument(
        "--claims", type=_positive, help="encounters (claims): default 200; with --days, per night, default 20"
    )
    demo.add_argument("--days", type=_positive, default=0, help="run this many nights on a simulated calendar")
    demo.add_argument(
        "--settle", action="store_true", help="with --days: then nights with no visits until the payers have answered"
    )
    demo.add_argument(
        "--first-night", type=date.fromisoformat, help="with --days: the first night, YYYY-MM-DD (default 2026-01-05)"
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed of the synthetic export (default 7)")
    demo.add_argument(
        "--workdir", default=str(DEMO_WORKDIR), help="folder for everything the run keeps (default ./demo)"
    )
    demo.add_argument(
        "--defect-rate",
        type=float,
        default=0.0,
        help="plant realistic defects in this share of charge lines and write exports/defects.csv (default 0)",
    )
    demo.add_argument(
        "--correction-rate",
        type=_share,
        default=DEFAULT_CORRECTION_RATE,
        help="with --days: share of visits the EHR re-sends corrected on a later night (default 0.02)",
    )
    demo.add_argument(
        "--late-rate",
        type=_share,
        default=DEFAULT_LATE_RATE,
        help="with --days: share of visits the EHR adds a late charge to on a later night (default 0.02)",
    )
    demo.add_argument(
        "--cancel-rate",
        type=_share,
        default=DEFAULT_CANCEL_RATE,
        help="with --days: share of visits the EHR cancels on a later night (default 0.01)",
    )
    demo.add_argument(
        "--secondary-rate",
        type=_share,
        default=DEFAULT_SECONDARY_RATE,
        help="with --days: share of visits whose patient has a secondary coverage, billed after the 835 (default 0.1)",
    )
    demo.add_argument(
        "--ehr-format",
        choices=("csv", "hl7", "fhir", "mixed"),
        default="csv",
        help="write the synthetic export as our CSV, HL7 v2 DFT^P03, FHIR R4, or the three mixed (default csv)",
    )
    demo.set_defaults(handler=cmd_demo)

    config = commands.add_parser("config", help="print the settings in force (REVCYCLE_* variables)")
    config.set_defaults(handler=cmd_config)

    report = commands.add_parser("report", help="the warehouse report: HTML with charts (--out) or terminal tables")
    report.add_argument("--out", help="write one self-contained HTML page here (default: print tables)")
    report.add_argument("--as-of", help="reference date: the period's last day, A/R and deadlines (default today)")
    report.add_argument(
        "--from", dest="start", help="the period's first day (default: the 90 days to the reference date)"
    )
    report.set_defaults(handler=cmd_report)

    work = commands.add_parser(
        "worklist", help="the worklists: counts, one list (no PHI), or one with patients to a 0600 CSV (--out)"
    )
    work.add_argument("name", nargs="?", help="rejections, denials, held, silent or credits")
    work.add_argument("--out", help="write the list with its patients (PHI) to this CSV, mode 0600")
    work.add_argument("--as-of", help="reference date for deadlines and balances (default today)")
    work.set_defaults(handler=cmd_worklist)

    patients = commands.add_parser(
        "patient-payments", help="load a patient-payments CSV from the practice-management system"
    )
    patients.add_argument("file", help="CSV with columns payment_id, encounter_id, payment_date, amount [, method]")
    patients.set_defaults(handler=cmd_patient_payments)

    ingest = commands.add_parser("ingest", help="load 835 / 999 / 277CA / TA1 files that arrived some other way")
    ingest.add_argument("files", nargs="+", metavar="FILE", help="the X12 files")
    ingest.set_defaults(handler=cmd_ingest)

    fees = commands.add_parser("fee-schedule", help="load a payer's fee schedule CSV (for underpayments)")
    fees.add_argument("payer_id", help="the payer id")
    fees.add_argument("file", help="CSV with columns procedure_code, contracted_amount")
    fees.set_defaults(handler=cmd_fee_schedule)

    ehr = commands.add_parser("ehr", help="EHR feeds: the MLLP listener for HL7 v2 DFT messages")
    ehr_commands = ehr.add_subparsers(dest="ehr_command", metavar="COMMAND")
    listen = ehr_commands.add_parser(
        "listen", help="receive DFT^P03 messages over MLLP, store each before its ACK (docs/ehr-feeds.md)"
    )
    listen.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    listen.add_argument("--port", type=int, default=2575, help="TCP port (default 2575; 0 picks a free one)")
    listen.add_argument("--workdir", help="the run's workdir (default REVCYCLE_WORKDIR); the dedup index is in mllp/")
    listen.add_argument("--drop-dir", help="where messages are stored (default <workdir>/exports)")
    listen.add_argument("--tls-cert", help="PEM certificate (chain) of the listener: enables TLS")
    listen.add_argument("--tls-key", help="PEM private key of --tls-cert")
    listen.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates it signed")
    listen.set_defaults(handler=cmd_ehr_listen)

    from revcycle.control_numbers_command import add_control_numbers_command

    add_control_numbers_command(commands, _warehouse_engine)

    from revcycle.attention_command import add_parser as add_attention

    add_attention(commands)

    alerts = commands.add_parser("alerts", help="Prefect automations that post to a webhook (docs/prefect.md)")
    alerts_create = alerts.add_subparsers(dest="alerts_command", metavar="COMMAND").add_parser(
        "create", help="create or update them on the server PREFECT_API_URL names (running it again is safe)"
    )
    alerts_create.add_argument("--webhook", help="the URL to POST alerts to (needed the first time; saved as a block)")
    alerts_create.add_argument(
        "--quiet-window",
        default="24h",
        help="alert when the pickup finds nothing this long (90s, 30m, 6h; default 24h)",
    )
    alerts_create.set_defaults(handler=cmd_alerts_create)

    x12 = commands.add_parser("x12", help="read X12 files")
    x12_commands = x12.add_subparsers(dest="x12_command", metavar="COMMAND")
    parse = x12_commands.add_parser(
        "parse", help="parse any X12 file (835, 837P/I, 999, 277CA, TA1, 270/271, 276/277 ...)"
    )
    parse.add_argument("file", help="the X12 file")
    parse.add_argument("--json", action="store_true", help="print the whole document as JSON")
    parse.set_defaults(handler=cmd_x12_parse)
    inspect = x12_commands.add_parser("inspect", help="print the loop tree of an X12 file with its problems marked")
    inspect.add_argument("file", help="the X12 file")
    inspect.add_argument(
        "--show-values",
        action="store_true",
        help="show names, ids and addresses unmasked (ISA02 and ISA04 stay masked)",
    )
    inspect.set_defaults(handler=cmd_x12_inspect)

    from revcycle.cli_run import add_run_commands

    add_run_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``revcycle`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        if handler is not cmd_config:  # config lists them in its own output
            _warn_about_unknown_variables()
        return int(handler(args))
    except RunFailure as failure:
        print(f"revcycle: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("revcycle: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`revcycle x12 parse ... | head`): not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush does not print a second traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a pipeline cut short
    except Exception as error:
        problem = _configuration_problem(error)
        if problem is None:
            raise
        print(f"revcycle: {problem}", file=sys.stderr)
        return 1


def _warn_about_unknown_variables() -> None:
    """Print one warning line per REVCYCLE_* variable that is no setting (once per process)."""
    from revcycle.settings import warn_unknown_variables

    warn_unknown_variables(lambda line: print(f"revcycle: warning: {line}", file=sys.stderr))


if __name__ == "__main__":
    sys.exit(main())
