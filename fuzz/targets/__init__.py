"""The fuzz targets by name: ``parse`` (x12 parse), ``ingest`` (response loader) and ``intake`` (charge exports)."""

from __future__ import annotations

from typing import Any

from fuzz.engine import Target

TARGET_NAMES = ("parse", "ingest", "intake")


def make_target(name: str, **options: Any) -> Target:
    """A fresh target object (its per-worker state is made by ``open``)."""
    if name == "parse":
        from fuzz.targets.parse import ParseTarget

        return ParseTarget(**options)
    if name == "ingest":
        from fuzz.targets.ingest import IngestTarget

        return IngestTarget(**options)
    if name == "intake":
        from fuzz.targets.intake import IntakeTarget

        return IntakeTarget(**options)
    raise ValueError(f"unknown target {name!r} (known: {', '.join(TARGET_NAMES)})")
