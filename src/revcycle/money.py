"""Money conversions: ``Decimal`` in the core, integer cents in the warehouse."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def to_cents(amount: Decimal) -> int:
    """Integer cents of a dollar amount (half-up at the third decimal, which X12 amounts never have)."""
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    """The dollar amount of integer cents."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))
