"""The run's needs-attention list as an artifact, and the terminal state a run with items ends in.

A run whose list is not empty ends in a Failed-type state named ``NeedsAttention`` (docs/needs-attention.md
argues the choice): terminal, so the next scheduled night runs; red in the UI; matched by name in an automation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import State, StateType

from revcycle.attention import AttentionItem, NeedsAttention, needs_attention, summary_line
from revcycle.clock import clock_in_force
from tasks.runtime import warehouse

STATE_NAME = "NeedsAttention"


@task(name="list-needs-attention")
def list_needs_attention(
    warehouse_url: str,
    since: datetime,
    ack_overdue_hours: float,
    unread: list[str],
    refused_remote: list[str],
) -> list[dict[str, str]]:
    """The needs-attention list of a run started at ``since``: logged, and published as an artifact (no PHI)."""
    with warehouse(warehouse_url).connect() as conn:
        items = needs_attention(
            conn,
            since=since,
            now=clock_in_force().now(),
            ack_overdue_after=timedelta(hours=ack_overdue_hours),
            unread=unread,
            refused_remote=refused_remote,
        )
    _publish(items)
    return [item.as_row() for item in items]


def _publish(items: list[AttentionItem]) -> None:
    logger = get_run_logger()
    if not items:
        logger.info("nothing needs attention")
        create_markdown_artifact(key="needs-attention", markdown="# Needs attention\n\nNothing.", description="")
        return
    logger.warning("%s (the needs-attention artifact lists each with what to do)", summary_line(items))
    create_table_artifact(
        key="needs-attention-items",
        table=[item.as_row() for item in items],
        description="What a person must act on after this run: kind, item, reason, what to do (no PHI)",
    )
    lines = ["# Needs attention", "", summary_line(items) + ".", "", "| Kind | Item | What to do |", "|---|---|---|"]
    lines += [f"| {i.kind} | {i.subject} | {i.action} |" for i in items]
    create_markdown_artifact(key="needs-attention", markdown="\n".join(lines), description=summary_line(items))


def needs_attention_state(result: dict[str, Any]) -> State[Any]:
    """The terminal state of a run whose ``result["needs_attention"]`` is not empty (its data: the result)."""
    items = [AttentionItem(**row) for row in result["needs_attention"]]
    message = f"{summary_line(items)}; the rest of the run went through"
    return State(type=StateType.FAILED, name=STATE_NAME, message=message, data=NeedsAttention(message, result))


def run_result(state: State[Any]) -> dict[str, Any]:
    """The result of a nightly run from its final state: completed, or ended ``NeedsAttention``; else it raises."""
    if state.is_failed() and state.name == STATE_NAME:
        attention = state.result(raise_on_failure=False)
        if isinstance(attention, NeedsAttention):
            return attention.result
    result: dict[str, Any] = state.result()
    return result
