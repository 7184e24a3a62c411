"""Split a file's segments into the transaction sets of one type, each fed to its own builder."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from revcycle.x12.reader import Problem, Segment

T_co = TypeVar("T_co", covariant=True)


class TransactionBuilder(Protocol[T_co]):
    """Builds one transaction set from the segments between its ST and SE."""

    def feed(self, seg: Segment) -> None:
        """Take the next segment of the set."""

    def finish(self) -> T_co:
        """The built transaction set."""
        ...


def build_transactions(
    segments: Iterable[Segment],
    set_id: str,
    start: Callable[[Segment], TransactionBuilder[T_co]],
    problems: list[Problem],
    *,
    outside: Callable[[Segment], None] | None = None,
) -> list[T_co]:
    """Every ``set_id`` transaction set in ``segments``; other sets become problems, never an exception.

    ``outside`` sees the segments that belong to no open set (a TA1 between interchanges, say).
    """
    built: list[T_co] = []
    builder: TransactionBuilder[T_co] | None = None
    for seg in segments:
        if seg.id == "ST":
            if builder is not None:
                built.append(builder.finish())
            builder = None
            if seg.get(1).strip() == set_id:
                builder = start(seg)
            else:
                problems.append(
                    Problem(
                        seg.index,
                        "UNEXPECTED_TRANSACTION",
                        f"transaction set {seg.get(1).strip()!r} is not a {set_id}",
                    )
                )
        elif seg.id == "SE":
            if builder is not None:
                built.append(builder.finish())
            builder = None
        elif builder is not None:
            builder.feed(seg)
        elif outside is not None:
            outside(seg)
    if builder is not None:
        built.append(builder.finish())
    return built
