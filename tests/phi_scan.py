"""Find synthetic patients' PHI (names, member ids, birth dates in ISO and CCYYMMDD) in text."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

NAME_COLUMNS = ("patient_last_name", "patient_first_name", "subscriber_last_name", "subscriber_first_name")
ID_COLUMNS = ("member_id",)
DATE_COLUMNS = ("patient_birth_date", "subscriber_birth_date")
ADDRESS_COLUMNS = ("patient_address1", "subscriber_address1")


@dataclass(frozen=True)
class Hit:
    """Where a PHI value was found (the value's kind, not the value, so a failure message leaks nothing)."""

    source: str
    kind: str


def phi_needles(export: Path) -> dict[str, set[str]]:
    """Every PHI value of an export, by kind; birth dates in both ISO and CCYYMMDD forms."""
    needles: dict[str, set[str]] = {"name": set(), "member_id": set(), "birth_date": set(), "address": set()}
    with export.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            needles["name"].update(row[c] for c in NAME_COLUMNS if row[c])
            needles["member_id"].update(row[c] for c in ID_COLUMNS if row[c])
            needles["address"].update(row[c] for c in ADDRESS_COLUMNS if row[c])
            for column in DATE_COLUMNS:
                if row[column]:
                    needles["birth_date"].add(row[column])
                    needles["birth_date"].add(row[column].replace("-", ""))
    return needles


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(values), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(v) for v in ordered) + r")(?![A-Za-z0-9])")


def scan(haystacks: Mapping[str, str], needles: Mapping[str, set[str]]) -> list[Hit]:
    """Every (source, kind) where a needle occurs as a whole token in a haystack."""
    patterns = {kind: _pattern(values) for kind, values in needles.items()}
    hits = []
    for source, text in haystacks.items():
        for kind, pattern in patterns.items():
            if pattern is not None and pattern.search(text):
                hits.append(Hit(source, kind))
    return hits
