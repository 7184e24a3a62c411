"""The one-shot commands: ``revcycle run nightly``, ``run pickup``, ``clearinghouse check`` and ``block create``.

Part of the composition root with ``cli.py`` (it imports flows/ and connectors/, inside the commands). The
runs call the very flows a deployment runs, in this process, under Prefect's temporary API server (or the
server ``PREFECT_API_URL`` names): no deployment and no worker. They take the same clearinghouse lease as a
deployment run, so a run started here and a scheduled run never work the clearinghouse together, and a
failed run is recovered by running the same command again (every step is idempotent).

Exit codes: 0 done; 1 the run failed or a check failed (one line says what to do); 2 a wrong argument;
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from revcycle.errors import RunFailure

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(run_name)s%(message)s"
DEFAULT_BLOCK_NAME = "clearinghouse"
BLOCK_NAME = re.compile(r"[a-z0-9-]+")
_RUN_AGAIN = "; after the fix run the same command again: it resumes where this run stopped"


def open_warehouse() -> Any:
    """The warehouse the reporting commands read (see ``warehouse.locate``), migrated; one line if it cannot open."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from revcycle.settings import Settings
    from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse
    from revcycle.warehouse.locate import locate_warehouse

    location = locate_warehouse(Settings())
    if location.note:
        print(f"revcycle: {location.note}", file=sys.stderr)
    shown = make_url(location.url).render_as_string(hide_password=True)
    try:
        engine = create_warehouse_engine(location.url)
        upgrade_warehouse(engine)
    except (OperationalError, OSError) as problem:
        cause = str(getattr(problem, "orig", None) or problem).strip().splitlines()[0][:200]
        raise RunFailure(
            f"cannot open the warehouse {shown} ({cause}): check REVCYCLE_WAREHOUSE_URL or REVCYCLE_WORKDIR"
        ) from None
    return engine


# -- console -------------------------------------------------------------------------------------------------


class _ConsoleFormatter(logging.Formatter):
    """One line per record: the time, the level, the run it is about, the message; never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        task_run = getattr(record, "task_run_name", None)
        flow_run = getattr(record, "flow_run_name", None)
        record.run_name = f"{task_run}: " if task_run else (f"{flow_run}: " if flow_run else "")
        line = super().format(record)
        return line.splitlines()[0] if line else line

    def formatException(self, ei: Any) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""


# Prefect's queue services (the workers that send a run's logs and events to its API) log from this module,
# each under a logger named after its class.
_PREFECT_SERVICES = os.sep + str(Path("prefect", "_internal", "concurrency", "services.py"))


class _NoLibraryChatter(logging.Filter):
    """Keep paramiko's own records, and Prefect's services' warnings about their backlog, off the console
    (both stay in the run log).

    paramiko's transport thread logs a failed connection at ERROR with one record per traceback line; our
    transport reports the same failure in its own one-line message, after its retries. Prefect's services warn
    "Still processing items" while they deliver the last logs and events at exit, on a busy machine: after
    the summary or the one line saying what went wrong, which must stay the last thing printed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "paramiko" or record.name.startswith("paramiko."):
            return False
        return record.levelno >= logging.ERROR or not record.pathname.endswith(_PREFECT_SERVICES)


def _progress_to_console() -> logging.Handler:
    """Replace Prefect's console handler: progress lines on stderr, one line each, no traceback (it is in the log)."""
    from revcycle.cli import _RunLogFilter
    from revcycle.progress_bars import CurrentStderr

    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__name__ == "PrefectConsoleHandler":
            root.removeHandler(handler)
    console = logging.StreamHandler(CurrentStderr())
    console.setFormatter(_ConsoleFormatter(CONSOLE_FORMAT, datefmt="%H:%M:%S"))
    console.addFilter(_RunLogFilter())
    console.addFilter(_NoLibraryChatter())
    console.setLevel(logging.INFO)
    root.addHandler(console)
    return console


def _start_run(workdir: Path) -> tuple[Path, logging.Handler]:
    """Quiet analytics, log to ``workdir/logs`` and the console, start Prefect's API; the log and the console."""
    from revcycle.cli import _log_run_to, _prepare_run_environment, _start_prefect_api

    log_file = _prepare_run_environment(workdir)
    _log_run_to(log_file)
    console = _progress_to_console()
    _start_prefect_api()
    return log_file, console


def _run_flow(console: logging.Handler, flow: Any, **parameters: Any) -> Any:
    """The flow's final state; afterwards the console shows warnings only, so the summary or the one line
    saying what went wrong is the last thing printed (the temporary server logs its stop at exit)."""
    from revcycle.progress_bars import bars_on_terminal

    try:
        with bars_on_terminal():
            return flow(**parameters, return_state=True)
    finally:
        console.setLevel(logging.WARNING)


def _failure(state: Any) -> tuple[str, str]:
    """The first line of what made the flow run fail (our messages say what to do), and the next step.

    The next step is to run the same command again after the fix, except when another run holds the lease:
    then the message itself says to wait for that run.
    """
    from revcycle.warehouse.lease import LeaseHeld

    try:
        state.result()
    except Exception as problem:
        text = str(problem).strip()
        first = text.splitlines()[0] if text else type(problem).__name__
        return first, "" if isinstance(problem, LeaseHeld) else _RUN_AGAIN
    return str(state.message or state.name), _RUN_AGAIN


def _finish(what: str, state: Any, log_file: Path, started: float) -> dict[str, Any]:
    """The flow's result; a RunFailure with one line when it did not complete.

    A nightly run that went through but ended ``NeedsAttention`` is not a failure here: its result (with the
    list) is returned, and the caller prints the list and exits 3 (docs/needs-attention.md).
    """
    from tasks.attention import STATE_NAME, run_result

    if state.is_failed() and state.name == STATE_NAME:
        print(f"{what} done in {time.monotonic() - started:.1f} s, with items to act on (log: {log_file})", flush=True)
        return run_result(state)
    if not state.is_completed():
        first_line, next_step = _failure(state)
        raise RunFailure(f"{what} failed: {first_line} (details in {log_file}){next_step}")
    print(f"{what} done in {time.monotonic() - started:.1f} s (log: {log_file})", flush=True)
    result: dict[str, Any] = state.result()
    return result


def _workdir(args: argparse.Namespace) -> Path:
    from revcycle.filemodes import private_dir
    from revcycle.settings import Settings

    return private_dir(Path(args.workdir).resolve() if args.workdir else Settings().workdir.resolve())


# -- run nightly / run pickup --------------------------------------------------------------------------------


def cmd_run_nightly(args: argparse.Namespace) -> int:
    """Run the nightly cycle once, now, in this process: the flow a deployment runs, without one."""
    if args.batch_date:
        try:
            date.fromisoformat(args.batch_date)
        except ValueError:
            print(f"revcycle: --batch-date {args.batch_date!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
            return EXIT_USAGE
    if args.export_dir and not Path(args.export_dir).is_dir():
        print(f"revcycle: --export-dir {args.export_dir} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    workdir = _workdir(args)
    export_dir = str(Path(args.export_dir).resolve()) if args.export_dir else None
    print(f"nightly cycle: workdir {workdir}, exports from {export_dir or workdir / 'exports'}", flush=True)
    log_file, console = _start_run(workdir)
    from flows.nightly import nightly_revenue_cycle
    from revcycle.tables import render_table

    started = time.monotonic()
    state = _run_flow(
        console, nightly_revenue_cycle, export_dir=export_dir, workdir=str(workdir), batch_date=args.batch_date
    )
    result = _finish("nightly cycle", state, log_file, started)
    print(f"batch date {result['batch_date']}")
    print(render_table(("This run", "Count"), [(k, str(v)) for k, v in result["run"].items()], right_align_from=1))
    for refused in result.get("refused_exports", []):
        print(f"  export refused: {refused['file']}: {refused['reason']}")
    if result.get("held_claims"):
        print(f"  {len(result['held_claims'])} claims held: `revcycle worklist held` lists them")
    print(f"report: {workdir / 'report.html'}")
    if result.get("needs_attention"):
        from revcycle.attention import AttentionItem
        from revcycle.attention_command import NEEDS_ATTENTION_EXIT, render

        print("\nNeeds attention")
        print(render([AttentionItem(**row) for row in result["needs_attention"]]))
        return NEEDS_ATTENTION_EXIT
    return EXIT_OK


def cmd_run_pickup(args: argparse.Namespace) -> int:
    """Pick up the clearinghouse's responses once, now, in this process (the response-pickup flow)."""
    workdir = _workdir(args)
    print(f"response pickup: workdir {workdir}", flush=True)
    log_file, console = _start_run(workdir)
    from flows.ingest import ingest_responses
    from revcycle.tables import render_table

    started = time.monotonic()
    state = _run_flow(console, ingest_responses, workdir=str(workdir))
    result = _finish("response pickup", state, log_file, started)
    loaded: dict[str, int] = result.get("loaded", {})
    rows = [(f"{kind} files loaded", str(count)) for kind, count in sorted(loaded.items())]
    rows += [
        ("files loaded before (skipped)", str(result.get("duplicates", 0))),
        ("files refused (unsafe name or type)", str(len(result.get("refused", [])))),
        ("transaction sets refused", str(result.get("refused_sets", 0))),
        ("interchanges with an overdue 999", str(result.get("overdue_acknowledgments", 0))),
    ]
    print(render_table(("This pickup", "Count"), rows, right_align_from=1))
    return EXIT_OK


# -- clearinghouse check -------------------------------------------------------------------------------------


def cmd_clearinghouse_check(args: argparse.Namespace) -> int:
    """Check the clearinghouse of the REVCYCLE_SFTP_* / REVCYCLE_REMOTE_* settings, or of the saved block
    ``--block``; one line per check."""
    from connectors.clearinghouse.check import check_clearinghouse, connection_of_block, connection_of_settings
    from revcycle.settings import Settings

    # The transport logs its connection failures for run logs; here the check's own lines say it all.
    logging.getLogger("connectors").addHandler(logging.NullHandler())
    if args.block:
        from connectors.clearinghouse.block_setup import saved_block

        connection = connection_of_block(saved_block(args.block))
        source, fix = f"clearinghouse block {args.block!r}: ", "fix the block's fields named above"
    else:
        connection = connection_of_settings(Settings())
        source, fix = "clearinghouse ", "fix the settings named above"
    root = connection.remote_root or "(login folder)"
    print(f"{source}{connection.host}:{connection.port}, user {connection.username}, remote root {root}", flush=True)
    lines = check_clearinghouse(connection)
    for line in lines:
        print(line.render(), flush=True)
    failed = sum(1 for line in lines if line.outcome == "FAIL")
    if failed:
        print(f"revcycle: {failed} of {len(lines)} checks failed; {fix} and check again")
        return EXIT_FAILED
    print(f"all {len(lines)} checks passed")
    return EXIT_OK


def cmd_clearinghouse_block_create(args: argparse.Namespace) -> int:
    """Save the REVCYCLE_SFTP_* / REVCYCLE_REMOTE_* settings as a Clearinghouse SFTP block; one line."""
    from connectors.clearinghouse.block_setup import save_block_from_settings
    from revcycle.settings import Settings

    print(save_block_from_settings(Settings(), args.name, args.overwrite))
    return EXIT_OK


def cmd_clearinghouse_block_rename_fields(args: argparse.Namespace) -> int:
    """Store a block saved with the old field names (host, upload_dir, ...) under the new ones; one line."""
    from connectors.clearinghouse.block_setup import rename_block_fields

    print(rename_block_fields(args.name))
    return EXIT_OK


def _block_name(text: str) -> str:
    """A Prefect block name: lower-case letters, digits and dashes (argparse type)."""
    if not BLOCK_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is no block name (lower-case letters, digits and dashes)")
    return text


# -- registration --------------------------------------------------------------------------------------------


def add_run_commands(commands: Any) -> None:
    """Register ``run nightly``, ``run pickup``, ``clearinghouse check`` and ``clearinghouse block create``."""
    run = commands.add_parser("run", help="run a flow once, now, without a deployment (nightly, pickup)")
    flows = run.add_subparsers(dest="run_command", metavar="COMMAND")
    nightly = flows.add_parser("nightly", help="the nightly cycle: exports in, 837s up, responses back, KPIs")
    nightly.add_argument("--workdir", help="the run's folder (default REVCYCLE_WORKDIR, ./revcycle-data)")
    nightly.add_argument("--export-dir", help="where the EHR charge exports are (default <workdir>/exports)")
    nightly.add_argument("--batch-date", help="the night to process, YYYY-MM-DD (default today, practice timezone)")
    nightly.set_defaults(handler=cmd_run_nightly)
    pickup = flows.add_parser("pickup", help="pick up and load the 999/277CA/835 responses waiting")
    pickup.add_argument("--workdir", help="the run's folder (default REVCYCLE_WORKDIR, ./revcycle-data)")
    pickup.set_defaults(handler=cmd_run_pickup)

    clearinghouse = commands.add_parser("clearinghouse", help="the clearinghouse connection")
    actions = clearinghouse.add_subparsers(dest="clearinghouse_command", metavar="COMMAND")
    check = actions.add_parser(
        "check", help="host key, login, and that each remote folder exists and is writable (one line per check)"
    )
    check.add_argument(
        "--block", type=_block_name, metavar="NAME", help="check the saved Clearinghouse SFTP block NAME instead"
    )
    check.set_defaults(handler=cmd_clearinghouse_check)
    block = actions.add_parser("block", help="the Clearinghouse SFTP block of the Prefect server PREFECT_API_URL names")
    block_actions = block.add_subparsers(dest="block_command", metavar="COMMAND")
    create = block_actions.add_parser(
        "create", help="save the REVCYCLE_SFTP_* and REVCYCLE_REMOTE_* settings as a block (secrets stay secret)"
    )
    create.add_argument(
        "--name", type=_block_name, default=DEFAULT_BLOCK_NAME, help=f"the block's name (default {DEFAULT_BLOCK_NAME})"
    )
    create.add_argument("--overwrite", action="store_true", help="replace a block of that name")
    create.set_defaults(handler=cmd_clearinghouse_block_create)
    rename = block_actions.add_parser(
        "rename-fields", help="store a block saved before the fields took the variables' names under the new names"
    )
    rename.add_argument("--name", type=_block_name, default=DEFAULT_BLOCK_NAME, help="the block's name")
    rename.set_defaults(handler=cmd_clearinghouse_block_rename_fields)
