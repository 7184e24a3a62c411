"""The clearinghouse lease (DESIGN.md §6): one run at a time works a clearinghouse's folders.

A lease is one row of the ``lease`` table: its name, its holder (a flow run id) and when it expires. A holder
takes a lease that nobody holds, that has expired, or that it holds itself (the rerun of a crashed run with
the same id); it keeps it by renewing it before it expires, and gives it back on exit. A holder whose lease
expired has lost it, even if nobody took it yet: between the expiry and now another run may have started.

``held_lease`` is what runs use: it takes the lease, renews it from a heartbeat thread every third of its
duration, and releases it when the outermost holding ends. Taking a lease this process already holds for
the same holder (a subflow under the nightly flow) joins that holding: no second heartbeat, and nothing
is released when the inner block ends. ``Lease.check`` is called before each remote side effect; it raises
``LeaseLost`` when the heartbeat failed or the warehouse says the lease is no longer this holder's.

Times come from the ``Clock`` handed in (``SimulatedClock`` in tests); the heartbeat's pace is real time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from revcycle.clock import Clock
from revcycle.errors import RunFailure
from revcycle.warehouse.schema import lease as lease_table

log = logging.getLogger(__name__)

# The one lease of the clearinghouse: the nightly cycle, claim submission and the response pickup take it.
CLEARINGHOUSE_LEASE = "clearinghouse:default"


class LeaseHeld(RunFailure):
    """Another run holds the lease: this run must not touch what it guards."""


class LeaseLost(RunFailure):
    """This run no longer holds its lease (it expired or another run took it): it must stop acting remotely."""


def acquire_lease(engine: Engine, name: str, holder: str, seconds: float, *, now: datetime) -> bool:
    """Take the named lease for ``seconds`` from ``now`` unless another holder has it unexpired at ``now``."""
    expires = now + timedelta(seconds=seconds)
    with engine.begin() as conn:
        taken = conn.execute(
            update(lease_table)
            .where(
                and_(lease_table.c.name == name, or_(lease_table.c.expires_at <= now, lease_table.c.holder == holder))
            )
            .values(holder=holder, acquired_at=now, expires_at=expires)
        )
        if taken.rowcount:
            return True
    try:
        with engine.begin() as conn:
            conn.execute(insert(lease_table).values(name=name, holder=holder, acquired_at=now, expires_at=expires))
        return True
    except IntegrityError:
        return False  # a row exists: another holder has it unexpired (or took it a moment ago)


def renew_lease(engine: Engine, name: str, holder: str, seconds: float, *, now: datetime) -> bool:
    """Extend ``holder``'s lease to ``now + seconds``; False when it is no longer held (expired or taken)."""
    with engine.begin() as conn:
        renewed = conn.execute(
            update(lease_table)
            .where(and_(lease_table.c.name == name, lease_table.c.holder == holder, lease_table.c.expires_at > now))
            .values(expires_at=now + timedelta(seconds=seconds))
        )
    return bool(renewed.rowcount)


def holds_lease(engine: Engine, name: str, holder: str, *, now: datetime) -> bool:
    """True when ``holder`` holds the named lease, unexpired at ``now``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(lease_table.c.holder, lease_table.c.expires_at).where(lease_table.c.name == name)
        ).first()
    return row is not None and row.holder == holder and _aware(row.expires_at) > now


def release_lease(engine: Engine, name: str, holder: str) -> None:
    """Give the lease back (only its holder can)."""
    with engine.begin() as conn:
        conn.execute(delete(lease_table).where(and_(lease_table.c.name == name, lease_table.c.holder == holder)))


def _lost(name: str) -> LeaseLost:
    return LeaseLost(
        f"this run lost the {name} lease (it expired or another run took it), so it stopped before the next "
        "remote step; nothing more was sent or archived. Retry the run: it resumes from the ledger"
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; every ledger timestamp is written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(eq=False)
class Lease:
    """A lease this process holds, with the heartbeat that renews it.

    ``renew_every`` is the heartbeat's period in real seconds (a third of the lease unless given).
    """

    engine: Engine
    name: str
    holder: str
    seconds: float
    clock: Clock
    renew_every: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lost: bool = False
    renewals: int = 0

    def check(self) -> None:
        """Raise ``LeaseLost`` unless this holder still holds the lease now (asked of the warehouse)."""
        if not self._lost and holds_lease(self.engine, self.name, self.holder, now=self.clock.now()):
            return
        self._lost = True
        raise _lost(self.name)

    @property
    def lost(self) -> bool:
        """True once the heartbeat or a check found the lease gone."""
        return self._lost

    def renew(self) -> bool:
        """Renew the lease now (what the heartbeat does each period); False, and lost, when it is gone."""
        if self._lost:
            return False
        if renew_lease(self.engine, self.name, self.holder, self.seconds, now=self.clock.now()):
            self.renewals += 1
            return True
        self._lost = True
        log.warning("the %s lease was lost (expired or taken by another run); remote steps will stop", self.name)
        return False

    def _beat(self, period: float) -> None:
        while not self._stop.wait(period):
            try:
                if not self.renew():
                    return
            except DBAPIError as problem:
                # A busy or briefly unreachable database (SQLite's write lock held by a long load, a dropped
                # PostgreSQL connection): try again next period. If the lease expires meanwhile, the next
                # renewal or check finds it lost.
                log.info(
                    "could not renew the %s lease this time (%s); retrying", self.name, type(problem.orig).__name__
                )

    def start_heartbeat(self) -> None:
        """Renew the lease every period from a daemon thread until ``stop_heartbeat`` or until it is lost."""
        period = self.renew_every if self.renew_every is not None else self.seconds / 3
        self._thread = threading.Thread(
            target=self._beat, args=(period,), name=f"lease-heartbeat:{self.name}", daemon=True
        )
        self._thread.start()

    def stop_heartbeat(self) -> None:
        """Stop renewing (and wait for the heartbeat thread to end)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


@dataclass
class _Holding:
    lease: Lease
    depth: int


_HOLDINGS: dict[tuple[str, str, str], _Holding] = {}
_HOLDINGS_LOCK = threading.Lock()


def _key(engine: Engine, name: str, holder: str) -> tuple[str, str, str]:
    return (engine.url.render_as_string(hide_password=True), name, holder)


def current_lease(engine: Engine, name: str, holder: str) -> Lease | None:
    """The lease this process holds for ``holder`` through ``held_lease``, if any."""
    with _HOLDINGS_LOCK:
        holding = _HOLDINGS.get(_key(engine, name, holder))
    return holding.lease if holding is not None else None


@contextmanager
def held_lease(
    engine: Engine,
    name: str,
    holder: str,
    seconds: float,
    clock: Clock,
    *,
    renew_every: float | None = None,
) -> Iterator[Lease]:
    """Hold the named lease for the block: take it, renew it from a heartbeat, release it on exit.

    Raises ``LeaseHeld`` when another holder has it. Inside a block of this process holding the same lease
    for the same holder, this joins that holding: the block gets the same ``Lease``, and leaving it releases
    nothing (the outermost block releases).
    """
    key = _key(engine, name, holder)
    with _HOLDINGS_LOCK:
        holding = _HOLDINGS.get(key)
        if holding is not None:
            holding.depth += 1
    if holding is not None:
        try:
            yield holding.lease
        finally:
            with _HOLDINGS_LOCK:
                holding.depth -= 1
        return
    if not acquire_lease(engine, name, holder, seconds, now=clock.now()):
        raise LeaseHeld(
            f"another run is working the clearinghouse (lease {name!r} held in the warehouse table 'lease'); "
            "retry when it has finished, or after the lease expires if that run crashed"
        )
    held = Lease(engine, name, holder, seconds, clock, renew_every)
    with _HOLDINGS_LOCK:
        _HOLDINGS[key] = _Holding(held, 1)
    held.start_heartbeat()
    try:
        yield held
    finally:
        held.stop_heartbeat()
        with _HOLDINGS_LOCK:
            del _HOLDINGS[key]
        release_lease(engine, name, holder)  # deletes the row only while it is still this holder's


def lease_guard(engine: Engine, name: str, holder: str, clock: Clock) -> Callable[[], None]:
    """The check to run before each remote side effect of ``holder``'s run; it raises ``LeaseLost``.

    In the process holding the lease it is that holding's ``Lease.check``; elsewhere (a task run in another
    process) it asks the warehouse whether ``holder`` still holds the lease.
    """
    held = current_lease(engine, name, holder)
    if held is not None:
        return held.check

    def check() -> None:
        if not holds_lease(engine, name, holder, now=clock.now()):
            raise _lost(name)

    return check
