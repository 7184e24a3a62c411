"""The payer simulator's one-shot answer: every response to one 837 at once, from a payer with no memory.

``respond`` is the sandbox payer (``revcycle.sandbox.payer``) in instant timing with a fresh state: a TA1
when no functional group can be read, else a 999, a 277CA and one 835 per payer. Tests and benchmarks use
it to get a clearinghouse's answers to a file without running the embedded clearinghouse.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from revcycle.sandbox.payer import SandboxConfig, SandboxPayer
from revcycle.sandbox.render import ResponseFile, ResponseKind

__all__ = ["ResponseFile", "ResponseKind", "respond"]


def respond(
    received_837: bytes,
    *,
    seed_salt: str = "",
    usage_indicator: str,
    now: datetime,
    control_numbers: Callable[[], int],
) -> list[ResponseFile]:
    """The response files for one received 837, in the order a clearinghouse would send them.

    ``control_numbers`` hands out a fresh interchange control number on each call (the caller keeps
    them unique). Nothing is answered when the received file carries no interchange control number.
    """
    payer = SandboxPayer(
        SandboxConfig(seed_salt=seed_salt, usage_indicator=usage_indicator), control_numbers=control_numbers
    )
    return payer.receive(received_837, now)
