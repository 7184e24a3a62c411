"""What the sandbox payer remembers between files: adjudicated claims, responses not yet released, balances.

The state is plain data (``to_json`` / ``from_json``), so the embedded clearinghouse can keep it in its state
folder and a restarted sandbox carries on where it stopped. It holds PHI (the names and member ids of the
remittances it will send): it lives only in the clearinghouse's state folder (0700, files 0600).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from revcycle.sandbox.codec import decode_as, encode
from revcycle.x12.write271 import EligibilityReply
from revcycle.x12.write277 import ClaimStatusReply
from revcycle.x12.write277ca import ClaimAcknowledgment
from revcycle.x12.write835 import RemittanceClaim
from revcycle.x12.write999 import GroupAck

SupersededBy = Literal["replacement", "void", "payer-correction"]
LedgerEvent = Literal["adjudication", "reversal", "payer-correction"]


@dataclass(frozen=True)
class Sender:
    """The received interchange's parties, to address the answers (ISA06 sender, ISA08 receiver)."""

    submitter_id: str
    clearinghouse_id: str
    version: str = ""


@dataclass
class ClaimRecord:
    """One claim the payer adjudicated (or will, when its 835 goes out), by payer claim number."""

    payer_claim_number: str
    payer_id: str
    claim_key: str
    billing_npi: str
    frequency_code: str
    remittance: RemittanceClaim  # the CLP loop as sent: a reversal negates it
    finalized_at: datetime  # when its 835 is released: before that the claim is still in process
    received_date: date
    unprocessable: bool = False  # denied as unprocessable (MA130): not a claim on file
    accumulator: str | None = None  # the deductible accumulator it drew on
    deductible: Decimal = Decimal("0")  # how much deductible it applied
    superseded_at: datetime | None = None  # when a reversal of it is released
    superseded_by: str | None = None  # the payer claim number that replaced it ("" for a void)
    superseded_kind: SupersededBy | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One CLP loop of a pending 835, as the ground-truth ledger will record it."""

    claim_key: str
    frequency_code: str
    payer_claim_number: str
    status_code: str
    paid: Decimal
    received_date: date
    event: LedgerEvent


@dataclass(frozen=True)
class LedgerRow:
    """One CLP loop the sandbox released: what it paid, for which claim, received when, paid when."""

    claim_key: str
    frequency_code: str
    payer_id: str
    payer_kind: str
    payer_claim_number: str
    status_code: str
    paid: Decimal
    received_date: date
    payment_date: date
    lag_days: int
    event: LedgerEvent
    file_name: str

    FIELDS = (
        "claim_key",
        "frequency_code",
        "payer_id",
        "payer_kind",
        "payer_claim_number",
        "status_code",
        "paid",
        "received_date",
        "payment_date",
        "lag_days",
        "event",
        "file_name",
    )


@dataclass(frozen=True)
class PendingTA1:
    """A TA1 waiting for its release."""

    release_at: datetime
    seq: int
    sender: Sender
    interchange_control_number: str
    interchange_date: datetime  # the received ISA09/ISA10
    note_code: str
    name: str


@dataclass(frozen=True)
class Pending999:
    """A 999 waiting for its release."""

    release_at: datetime
    seq: int
    sender: Sender
    interchange_control_number: str
    group: GroupAck


@dataclass(frozen=True)
class Pending277:
    """A 277CA waiting for its release."""

    release_at: datetime
    seq: int
    sender: Sender
    interchange_control_number: str
    acknowledgment: ClaimAcknowledgment


@dataclass(frozen=True)
class PendingPayment:
    """CLP loops and provider adjustments of one payer to one payee, waiting for the 835 they go out in."""

    release_at: datetime
    seq: int
    sender: Sender
    payer_id: str
    payer_name: str
    payer_kind: str
    payee_npi: str
    payee_name: str
    payee_tax_id: str
    claims: tuple[RemittanceClaim, ...] = ()
    ledger: tuple[LedgerEntry, ...] = ()
    interest: Decimal = Decimal("0")  # PLB L6, interest paid on a late claim
    recoupment: Decimal = Decimal("0")  # PLB WO, an overpayment taken back
    reference: str = ""  # the payer claim number the interest or recoupment is about
    tag: str = ""  # names a payer-initiated event, so a provider's correction can cancel it


@dataclass(frozen=True)
class PendingEligibility:
    """A 271 answering one received 270, waiting for its release."""

    release_at: datetime
    seq: int
    sender: Sender
    interchange_control_number: str
    reply: EligibilityReply


@dataclass(frozen=True)
class PendingClaimStatus:
    """A 277 answering one received 276, waiting for its release."""

    release_at: datetime
    seq: int
    sender: Sender
    interchange_control_number: str
    reply: ClaimStatusReply


Pending = PendingTA1 | Pending999 | Pending277 | PendingPayment | PendingEligibility | PendingClaimStatus
_KINDS: dict[str, type[Any]] = {
    "271": PendingEligibility,
    "277": PendingClaimStatus,
    "TA1": PendingTA1,
    "999": Pending999,
    "277CA": Pending277,
    "payment": PendingPayment,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def encode_pending(item: Pending) -> dict[str, Any]:
    """One pending answer as JSON data, tagged with its kind."""
    return {"type": _NAMES[type(item)], **encode(item)}


def decode_pending(data: dict[str, Any]) -> Pending:
    """A pending answer read back from ``encode_pending``."""
    fields = dict(data)
    kind = _KINDS[fields.pop("type")]
    item: Pending = decode_as(kind, fields)
    return item


_BULK = ("records", "pending", "ledger", "current", "accumulators")
V = TypeVar("V")


class TrackedDict(dict[str, V], Generic[V]):
    """A dict that remembers the keys written or removed since its owner last saved it (``written``).

    The payer's memory of current claims and deductibles grows with every claim: a store that writes only
    these keys on each save stays linear in the night, where writing the whole mapping was quadratic.
    """

    def __init__(self, *args: Any, **kwargs: V) -> None:
        """A mapping like ``dict(*args, **kwargs)``, with nothing written yet."""
        super().__init__(*args, **kwargs)
        self.written: set[str] = set()

    def __setitem__(self, key: str, value: V) -> None:
        super().__setitem__(key, value)
        self.written.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.written.add(key)

    def pop(self, key: str, *default: Any) -> Any:
        """Remove ``key`` (noted as written) and return its value, or ``default``."""
        self.written.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, V]:
        """Remove and return the last item (noted as written)."""
        key, value = super().popitem()
        self.written.add(key)
        return key, value

    def setdefault(self, key: str, default: Any = None) -> V:
        """``self[key]``, set to ``default`` first when absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: V) -> None:
        """Set every item of ``dict(*args, **kwargs)``."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        """Remove every item (each noted as written)."""
        self.written.update(self)
        super().clear()

    def __ior__(self, other: Any) -> TrackedDict[V]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def unsaved(self) -> dict[str, V | None]:
        """The keys written since the last save, with their values (None: removed)."""
        return {key: self.get(key) for key in sorted(self.written)}


@dataclass
class PayerState:
    """Everything the sandbox payer keeps between files.

    ``changed`` (kept in memory only) names the records added, changed or dropped since the owner last
    saved them, so a store can write only those.
    """

    next_control_number: int = 1
    next_seq: int = 1
    seen_interchanges: list[str] = field(default_factory=list)  # "sender|ISA13" received
    records: dict[str, ClaimRecord] = field(default_factory=dict)  # by payer claim number
    current: dict[str, str] = field(default_factory=TrackedDict)  # "payer|claim key" -> its latest payer claim number
    accumulators: dict[str, Decimal] = field(default_factory=TrackedDict)  # "payer|member|year" -> deductible met
    forward_balances: dict[str, list[tuple[str, Decimal]]] = field(default_factory=dict)  # "payer|npi" -> owed
    pending: list[Pending] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    changed: set[str] = field(default_factory=set, metadata={"transient": True})

    def __post_init__(self) -> None:
        # decoded or passed in as plain dicts: tracked from here on (what they hold now counts as saved)
        self.current = _tracked(self.current)
        self.accumulators = _tracked(self.accumulators)

    def unsaved_current(self) -> dict[str, str | None]:
        """The current-claim entries written since the last save (None: removed)."""
        return _tracked(self.current).unsaved()

    def unsaved_accumulators(self) -> dict[str, Decimal | None]:
        """The deductible accumulators written since the last save (None: removed)."""
        return _tracked(self.accumulators).unsaved()

    def mark_saved(self) -> None:
        """Note that the owner saved every change (records, current claims, accumulators)."""
        self.changed.clear()
        _tracked(self.current).written.clear()
        _tracked(self.accumulators).written.clear()

    def take_seq(self) -> int:
        """The next decision sequence number (orders pending answers released at the same instant)."""
        self.next_seq += 1
        return self.next_seq - 1

    def take_control_number(self) -> int:
        """The next interchange control number of a file the sandbox writes (1..999999999, wrapping)."""
        number = self.next_control_number
        self.next_control_number = number % 999_999_999 + 1
        return number

    def add_record(self, record: ClaimRecord) -> None:
        """Remember an adjudicated claim."""
        self.records[record.payer_claim_number] = record
        self.changed.add(record.payer_claim_number)

    def touch(self, record: ClaimRecord) -> None:
        """Note that ``record`` changed."""
        self.changed.add(record.payer_claim_number)

    def drop_record(self, number: str) -> None:
        """Forget a record (a payer correction overtaken before it was sent)."""
        self.records.pop(number, None)
        self.changed.add(number)

    def meta(self) -> dict[str, Any]:
        """Everything but the records, pending answers, ledger, current claims and accumulators, as JSON data."""
        return {
            f.name: encode(getattr(self, f.name))
            for f in fields(self)
            if f.name not in _BULK and not f.metadata.get("transient")
        }

    @classmethod
    def assemble(
        cls,
        meta: dict[str, Any],
        records: list[ClaimRecord],
        pending: list[Pending],
        ledger: list[LedgerRow],
        current: dict[str, str] | None = None,
        accumulators: dict[str, Decimal] | None = None,
    ) -> PayerState:
        """A state from ``meta()`` and its records, pending answers, ledger rows, current claims and accumulators.

        A ``meta`` saved before the current claims and accumulators had their own tables still holds them:
        they are taken from it when not given, and count as unsaved so the next save moves them.
        """
        state = decode_as(cls, meta)
        state.records = {record.payer_claim_number: record for record in records}
        state.pending = list(pending)
        state.ledger = list(ledger)
        legacy = decode_as(_Legacy, {key: meta[key] for key in ("current", "accumulators") if key in meta})
        state.current = TrackedDict(current or {})
        state.accumulators = TrackedDict(accumulators or {})
        state.current.update(legacy.current)
        state.accumulators.update(legacy.accumulators)
        return state

    def to_json(self) -> str:
        """The whole state as JSON text."""
        data = self.meta()
        data["records"] = [encode(record) for record in self.records.values()]
        data["pending"] = [encode_pending(item) for item in self.pending]
        data["ledger"] = [encode(row) for row in self.ledger]
        data["current"] = encode(self.current)
        data["accumulators"] = encode(self.accumulators)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PayerState:
        """A state read back from ``to_json``."""
        data = json.loads(text)
        return cls.assemble(
            {key: value for key, value in data.items() if key not in _BULK},
            [decode_as(ClaimRecord, item) for item in data["records"]],
            [decode_pending(item) for item in data["pending"]],
            [decode_as(LedgerRow, item) for item in data["ledger"]],
            decode_as(dict[str, str], data.get("current", {})),
            decode_as(dict[str, Decimal], data.get("accumulators", {})),
        )


@dataclass
class _Legacy:
    """The current claims and accumulators as a state saved before their own tables held them."""

    current: dict[str, str] = field(default_factory=dict)
    accumulators: dict[str, Decimal] = field(default_factory=dict)


def _tracked(mapping: dict[str, V]) -> TrackedDict[V]:
    return mapping if isinstance(mapping, TrackedDict) else TrackedDict(mapping)
