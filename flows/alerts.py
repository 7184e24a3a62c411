"""Alerts as code: the Prefect automations that post to the operators' webhook (``revcycle alerts create``).

Two automations, each calling one saved Webhook block:

- **nightly failed or needs attention**: a run of the nightly flow enters a Failed, Crashed or NeedsAttention
  state (reactive, one post per run and state);
- **no responses picked up**: the response pickup emits ``revcycle.responses.found`` each time it finds
  files at the clearinghouse; when none arrives for the quiet window, the automation posts (proactive).

Creating them again updates them in place (found by name), so running the command twice creates nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from uuid import UUID

from prefect.blocks.webhook import Webhook
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.events.actions import CallWebhook
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound

from revcycle.errors import ConfigurationError

WEBHOOK_BLOCK = "revcycle-alerts"
NIGHTLY_FLOW = "nightly-revenue-cycle"
FAILED_AUTOMATION = "revcycle: nightly failed or needs attention"
QUIET_AUTOMATION = "revcycle: no responses picked up"
# The states an operator must look at. NeedsAttention is the Failed-type state a nightly run with items on its
# needs-attention list ends in (docs/needs-attention.md); Failed and Crashed are Prefect's own.
ALERT_STATES = ("Failed", "Crashed", "NeedsAttention")
RESPONSES_FOUND = "revcycle.responses.found"
PICKUP_RESOURCE = "revcycle.response-pickup"
DEFAULT_QUIET_WINDOW = timedelta(hours=24)
# Prefect refuses a proactive window under 10 seconds.
MINIMUM_QUIET_WINDOW = timedelta(seconds=10)

FAILED_PAYLOAD = """{
  "alert": {{ automation.name | tojson }},
  "flow": {{ flow.name | tojson }},
  "flow_run": {{ flow_run.name | tojson }},
  "flow_run_id": {{ flow_run.id | string | tojson }},
  "state": {{ flow_run.state.name | tojson }},
  "message": {{ (flow_run.state.message or "") | tojson }},
  "url": {{ flow_run | ui_url | tojson }}
}"""

QUIET_PAYLOAD = """{
  "alert": {{ automation.name | tojson }},
  "event": "%s",
  "message": "the response pickup found no files at the clearinghouse for %s"
}"""


@dataclass(frozen=True)
class AlertSetup:
    """What ``create_alerts`` left on the server: the webhook block and each automation's id by name."""

    webhook_block_id: UUID
    automations: dict[str, UUID]
    created: list[str]
    updated: list[str]


def save_webhook(url: str | None) -> UUID:
    """Save ``url`` as the ``revcycle-alerts`` Webhook block (overwriting it), or find the saved one."""
    if url:
        # Called from synchronous code, Prefect's dual sync/async ``save`` returns the id itself.
        return cast(UUID, Webhook(url=url, method="POST").save(WEBHOOK_BLOCK, overwrite=True))
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(WEBHOOK_BLOCK, block_type_slug="webhook")
        except ObjectNotFound:
            raise LookupError(
                f"no saved webhook block {WEBHOOK_BLOCK!r}: give the address once with --webhook URL"
            ) from None
        return document.id


def failed_trigger() -> EventTrigger:
    """Fires once for each run of the nightly flow that enters one of ``ALERT_STATES``."""
    return EventTrigger(
        expect={f"prefect.flow-run.{state}" for state in ALERT_STATES},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": NIGHTLY_FLOW},
        posture=Posture.Reactive,
        threshold=1,
        within=timedelta(0),
    )


def quiet_trigger(window: timedelta) -> EventTrigger:
    """Fires when no ``revcycle.responses.found`` event arrived during ``window``."""
    return EventTrigger(
        expect={RESPONSES_FOUND},
        match={"prefect.resource.id": PICKUP_RESOURCE},
        posture=Posture.Proactive,
        threshold=1,
        within=window,
    )


def _describe(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def automations(webhook_block_id: UUID, quiet_window: timedelta) -> list[AutomationCore]:
    """The automations revcycle wants on the server (not yet saved)."""
    return [
        AutomationCore(
            name=FAILED_AUTOMATION,
            description="A nightly run failed, crashed or ended with items on its needs-attention list.",
            enabled=True,
            trigger=failed_trigger(),
            actions=[CallWebhook(block_document_id=webhook_block_id, payload=FAILED_PAYLOAD)],
        ),
        AutomationCore(
            name=QUIET_AUTOMATION,
            description=f"The response pickup found nothing at the clearinghouse for {_describe(quiet_window)}.",
            enabled=True,
            trigger=quiet_trigger(quiet_window),
            actions=[
                CallWebhook(
                    block_document_id=webhook_block_id,
                    payload=QUIET_PAYLOAD % (RESPONSES_FOUND, _describe(quiet_window)),
                )
            ],
        ),
    ]


def create_alerts(webhook_url: str | None = None, quiet_window: timedelta = DEFAULT_QUIET_WINDOW) -> AlertSetup:
    """Create or update revcycle's automations on the Prefect server ``PREFECT_API_URL`` names.

    ``webhook_url`` (saved as the ``revcycle-alerts`` Webhook block) is needed the first time only.
    """
    if quiet_window < MINIMUM_QUIET_WINDOW:
        raise ValueError(f"the quiet window must be at least {_describe(MINIMUM_QUIET_WINDOW)}")
    block_id = save_webhook(webhook_url)
    ids: dict[str, UUID] = {}
    created: list[str] = []
    updated: list[str] = []
    with get_client(sync_client=True) as client:
        for wanted in automations(block_id, quiet_window):
            existing = client.read_automations_by_name(wanted.name)
            if existing:
                client.update_automation(existing[0].id, wanted)
                ids[wanted.name] = existing[0].id
                updated.append(wanted.name)
            else:
                ids[wanted.name] = client.create_automation(wanted)
                created.append(wanted.name)
    return AlertSetup(webhook_block_id=block_id, automations=ids, created=created, updated=updated)


def emit_responses_found(files: int) -> None:
    """Tell the quiet-window automation that the pickup found ``files`` files (nothing is emitted for 0)."""
    if files > 0:
        payload: dict[str, Any] = {"files": files}
        emit_event(event=RESPONSES_FOUND, resource={"prefect.resource.id": PICKUP_RESOURCE}, payload=payload)


def parse_window(text: str) -> timedelta:
    """A window written ``90s``, ``30m``, ``6h`` or ``2d`` (a bare number is hours)."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "h")
    try:
        value = float(number)
    except ValueError:
        raise ConfigurationError(f"--quiet-window {text!r}: write it as 90s, 30m, 6h or 2d") from None
    return timedelta(**{units[unit]: value})


def create_alerts_command(webhook_url: str | None, quiet_window: str) -> int:
    """``revcycle alerts create``: set the automations up, print what was created or updated."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    if not api_url:
        raise ConfigurationError(
            "PREFECT_API_URL is not set: point it at your Prefect server first "
            "(prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api)"
        )
    window = parse_window(quiet_window)
    try:
        setup = create_alerts(webhook_url, window)
    except LookupError as missing:
        raise ConfigurationError(str(missing)) from None
    except ValueError as bad:
        raise ConfigurationError(f"--quiet-window: {bad}") from None
    except httpx.TransportError:
        raise ConfigurationError(
            f"cannot reach the Prefect server at {api_url}: start it, or fix PREFECT_API_URL"
        ) from None
    for name in setup.created:
        print(f"created  {name}")
    for name in setup.updated:
        print(f"updated  {name}")
    print(f"alerts post to the webhook block {WEBHOOK_BLOCK!r}; quiet window {_describe(window)}")
    return 0
