"""The EHR reader interface: every format becomes rows of the charge contract, each with where it came from.

A reader turns one export file into ``ExportRows``: contract rows (``dict[str, str]`` with exactly the columns of
``revcycle.charge_export``), the source of every row (file and message or resource position), and the charges it
had to hold itself with a reason. ``units_in`` counts the charge lines the file holds (CSV rows, FT1 segments,
ChargeItems, Claim items), so ``len(rows) + len(held) == units_in``: nothing is dropped in the reader.

Reasons and positions name files, positions, segment fields and FHIR element paths, never values (no PHI).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from revcycle.charge_export import COLUMN_NAMES

if TYPE_CHECKING:
    import pandas as pd

    from connectors.ehr.config import EhrConfig

# Why a reader holds a charge (the rule column of the hold); the reason sentence says where and what.
HOLD_BROKEN_MESSAGE = "broken_message"
HOLD_UNMAPPED_PLAN = "unmapped_plan"
HOLD_UNKNOWN_FACILITY = "unknown_facility"
HOLD_UNKNOWN_CHARGEMASTER_CODE = "unknown_chargemaster_code"
HOLD_DANGLING_REFERENCE = "dangling_reference"
HOLD_R4B_INVALID = "r4b_validation_error"
HOLD_UNSUPPORTED = "unsupported_content"
HOLD_CORRECTION = "awaits_correction_rules"

HOLD_RULES: tuple[str, ...] = (
    HOLD_BROKEN_MESSAGE,
    HOLD_UNMAPPED_PLAN,
    HOLD_UNKNOWN_FACILITY,
    HOLD_UNKNOWN_CHARGEMASTER_CODE,
    HOLD_DANGLING_REFERENCE,
    HOLD_R4B_INVALID,
    HOLD_UNSUPPORTED,
    HOLD_CORRECTION,
)


_POSITION: dict[str, int] = {name: index for index, name in enumerate(COLUMN_NAMES)}


class ContractRow(Mapping[str, str]):
    """One contract row: a read-only mapping of exactly the contract's columns, stored as a tuple.

    A dict per row costs about four times the memory (its hash table); a night's feed holds hundreds of thousands
    of rows. It compares equal to a dict with the same items; ``dict(row)`` gives a plain dict.
    """

    __slots__ = ("_values",)

    def __init__(self, values: tuple[str, ...]) -> None:
        self._values = values

    def as_tuple(self) -> tuple[str, ...]:
        """The values in the contract's column order."""
        return self._values

    @classmethod
    def from_mapping(cls, row: Mapping[str, str]) -> ContractRow:
        """The contract columns of ``row`` (absent ones empty; others ignored)."""
        return cls(tuple(row.get(name, "") for name in COLUMN_NAMES))

    def __getitem__(self, key: str) -> str:
        return self._values[_POSITION[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(COLUMN_NAMES)

    def __len__(self) -> int:
        return len(COLUMN_NAMES)

    def __repr__(self) -> str:
        return f"ContractRow({dict(self)!r})"


@dataclass(frozen=True)
class SourceRef:
    """Where a row came from: the file name and its position in it (``message 3 FT1 2``, ``entry 7`` ...)."""

    file: str
    position: str

    def __str__(self) -> str:
        return f"{self.file} {self.position}"


@dataclass(frozen=True)
class HeldCharge:
    """A charge line the reader could not turn into a contract row, or must not yet (credits, adjustments).

    ``charge_id`` is None when even that could not be read; ``transaction_type`` is the EHR's (FT1-6 CG, CD, AJ)
    when known; ``row`` holds what could be mapped, for the correction rules and for the operator.
    """

    source: SourceRef
    rule: str
    reason: str
    charge_id: str | None = None
    transaction_type: str | None = None
    row: dict[str, str] | None = None


@dataclass
class ExportRows:
    """One export file read into contract rows, with sources, held charges and the file's identity."""

    path: Path
    format: str
    sha256: str
    size: int
    rows: list[ContractRow] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    held: list[HeldCharge] = field(default_factory=list)
    units_in: int = 0
    problems: list[str] = field(default_factory=list)  # file-level notes (batch counts ...), no values

    def add_row(self, row: Mapping[str, str], source: SourceRef) -> None:
        """Keep a mapped row (every contract column present, nothing else) and its source."""
        self.rows.append(ContractRow.from_mapping(row))
        self.sources.append(source)

    def hold(self, held: HeldCharge) -> None:
        """Keep a charge the reader holds with its reason."""
        self.held.append(held)

    @property
    def accounted(self) -> int:
        """Rows plus held charges: equals ``units_in`` when nothing was dropped."""
        return len(self.rows) + len(self.held)

    def source_of(self, charge_id: str) -> SourceRef | None:
        """The source of the first row with this charge id (for naming where a rejected row came from)."""
        for row, source in zip(self.rows, self.sources, strict=True):
            if row["charge_id"] == charge_id:
                return source
        return None

    def frame(self) -> pd.DataFrame:
        """The rows as a text frame with exactly the contract's columns (what the charges gate validates)."""
        import pandas as pd

        return pd.DataFrame.from_records([row.as_tuple() for row in self.rows], columns=list(COLUMN_NAMES)).astype(str)


class EhrReader(Protocol):
    """One export format: recognises its files by content and reads them into contract rows."""

    name: str
    suffixes: tuple[str, ...]  # lower-case extensions it usually comes with (content decides, not these)

    def recognises(self, head: bytes) -> bool:
        """True when the first bytes of a file (BOM and leading blanks removed) are this format."""
        ...

    def read(self, path: Path, config: EhrConfig) -> ExportRows:
        """Read one export file; a file that is not this format at all raises ``UnreadableExport``."""
        ...


def charge_ids(rows: Iterable[Mapping[str, str]]) -> list[str]:
    """The charge ids of ``rows`` in order."""
    return [row["charge_id"] for row in rows]
