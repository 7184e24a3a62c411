"""``revcycle attention``: print the needs-attention list (no PHI) and exit 3 when it is not empty.

Also what the demo prints after its run. Exit codes: 0 nothing needs attention, 3 something does (a script or
a scheduler tells the two apart without parsing the output; 1 stays "the command failed").
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by the functions: `revcycle --help` loads no SQLAlchemy
    from revcycle.attention import AttentionItem

NEEDS_ATTENTION_EXIT = 3
DEFAULT_WINDOW = timedelta(hours=24)


def add_parser(commands: Any) -> None:
    """Register ``attention`` on the ``revcycle`` subcommands."""
    attention = commands.add_parser(
        "attention", help="what a person must act on: refused files and sets, held claims ... (exit 3 if any)"
    )
    attention.add_argument(
        "--since",
        help="list what was set aside from this date (YYYY-MM-DD, practice timezone) or instant (ISO 8601) on; "
        "default the last 24 hours. Open items (held claims, overdue 999s, suspense) are listed whatever their age",
    )
    attention.add_argument("--json", action="store_true", help="print the items as JSON")
    attention.set_defaults(handler=run)


def _since(text: str | None, now: datetime, timezone: Any) -> datetime:
    if not text:
        return now - DEFAULT_WINDOW
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=timezone)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone)


def render(items: Sequence[AttentionItem]) -> str:
    """The list as the terminal shows it: a summary line, then per item its kind, what it is, why and what to do."""
    from revcycle.attention import summary_line

    if not items:
        return "Nothing needs attention."
    lines = [summary_line(items) + "."]
    for number, item in enumerate(items, 1):
        lines += [f"{number:>3}. {item.kind}: {item.subject}", f"     why: {item.reason}", f"     do:  {item.action}"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """List the items of the warehouse in force; exit 3 when there is any."""
    from revcycle.attention import needs_attention
    from revcycle.clock import SystemClock
    from revcycle.exports import discover_exports
    from revcycle.settings import Settings
    from revcycle.warehouse.db import create_warehouse_engine, upgrade_warehouse

    settings = Settings()
    clock = SystemClock(settings.timezone)
    now = clock.now()
    since = _since(args.since, now, clock.timezone)
    unread = [p.name for p in discover_exports(settings.workdir / "exports").unread]
    engine = create_warehouse_engine(settings.resolved_warehouse_url())
    try:
        upgrade_warehouse(engine)
        with engine.connect() as conn:
            items = needs_attention(
                conn,
                since=since,
                now=now,
                ack_overdue_after=timedelta(hours=settings.ack_overdue_hours),
                unread=unread,
            )
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"since": since.astimezone(UTC).isoformat(), "items": [i.as_row() for i in items]}, indent=2))
    else:
        print(f"Since {since.isoformat(timespec='minutes')} (open items whatever their age):")
        print(render(items))
    return NEEDS_ATTENTION_EXIT if items else 0


def demo_exit_code(rows: Sequence[dict[str, str]], defects_planted: bool) -> int:
    """Print the demo run's list; 0 when every item is one the demo meant (planted defects), else 3.

    Planted defects are rejected charge lines and the claims of their encounters, held at intake; anything
    else on a demo's list (a refused file or set, a claim held later, a payment in suspense) is unexpected.
    """
    from revcycle.attention import HELD_CLAIM, REJECTED_LINES, AttentionItem

    items = [AttentionItem(**row) for row in rows]
    print("\nNeeds attention")
    print(render(items))
    intended = defects_planted and all(
        i.kind == REJECTED_LINES or (i.kind == HELD_CLAIM and i.reason.startswith("held at intake")) for i in items
    )
    if items and intended:
        print("(the planted defects: expected in this demo)")
        return 0
    return NEEDS_ATTENTION_EXIT if items else 0
