"""The sandbox payer over time: receives 837s, decides every answer at once, releases each when it falls due.

``SandboxPayer.receive`` reads an 837 and decides, the moment it lands, every answer and the instant each
is released: in ``realistic`` timing the 999 the next morning, the 277CA one to three days later, the 835
after the payer's lag (10 to 45 days, with a tail), payer-initiated reversals and recoupments weeks after;
in ``instant`` timing everything at once, as a test clearinghouse would. ``release_due(now)`` writes the
answers whose instant has passed.

Answers are released at a fixed time of day (06:00 in the practice's timezone by default), so the files
released at one instant are known once that instant has passed and never change afterwards: whoever asks
first (an SFTP listing, the demo's nightly call) gets the same bytes, and ``receive`` releases everything
due before it decides anything new. The same 837s received at the same instants give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo

from revcycle.clock import DEFAULT_TIMEZONE
from revcycle.sandbox.adjudication import (
    Context,
    adjudicate,
    corrected,
    interest_due,
    past_timely_filing,
    payer_claim_number,
    reversal,
    service_dates,
)
from revcycle.sandbox.frontend import verdict
from revcycle.sandbox.inquiries import CoverageShares, answer_member, caqh_morning, claim_status
from revcycle.sandbox.profiles import BEHAVIOURS, Behaviour, PayerTerms, terms_for
from revcycle.sandbox.render import ResponseFile, render_due
from revcycle.sandbox.rolls import between, cents, claim_digest, fraction, weighted
from revcycle.sandbox.state import (
    ClaimRecord,
    LedgerEntry,
    PayerState,
    Pending,
    Pending277,
    Pending999,
    PendingClaimStatus,
    PendingEligibility,
    PendingPayment,
    PendingTA1,
    Sender,
)
from revcycle.x12.reader import Segment, read_segments
from revcycle.x12.write270 import VERSION_270
from revcycle.x12.write271 import answer_270
from revcycle.x12.write276 import VERSION_276
from revcycle.x12.write277 import answer_276
from revcycle.x12.write277ca import ClaimAck, ClaimAcknowledgment, ProviderAck
from revcycle.x12.write999 import GroupAck, TransactionAck
from revcycle.x12.x270 import read_270
from revcycle.x12.x276 import read_276
from revcycle.x12.x837 import Received837, ReceivedClaim, read_837

Timing = Literal["instant", "realistic"]
CLEARINGHOUSE_NAME = "REVCYCLE SANDBOX CLEARINGHOUSE"
MIN_CORRECTED_PAYMENT = Decimal("10")  # the payer corrects or recoups only claims it paid at least this


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox payer answers: seed, ISA15, timing, timezone and release time, payers it knows."""

    seed_salt: str = ""
    usage_indicator: str = "T"
    timing: Timing = "instant"
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    release_time: time = time(6, 0)
    payers: Mapping[str, PayerTerms] = field(default_factory=dict)
    coverage: CoverageShares = field(default_factory=CoverageShares)


@dataclass(frozen=True)
class _Accepted:
    claim: ReceivedClaim
    terms: PayerTerms
    behaviour: Behaviour
    digest: str
    payer_claim_number: str
    original: ClaimRecord | None


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive instant is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SandboxPayer:
    """The payer simulator with its memory (``state``); not thread-safe: its owner serialises the calls."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        state: PayerState | None = None,
        control_numbers: Callable[[], int] | None = None,
    ) -> None:
        """Answer with ``config`` from ``state`` (a fresh one when None); control numbers from the state."""
        self.config = config or SandboxConfig()
        self.state = state or PayerState()
        self._control_numbers = control_numbers

    def _next_control_number(self) -> int:
        return self._control_numbers() if self._control_numbers is not None else self.state.take_control_number()

    # -- time -------------------------------------------------------------------------------------------

    def release_on(self, day: date) -> datetime:
        """The release instant of ``day`` (its release time in the practice's timezone), in UTC."""
        return datetime.combine(day, self.config.release_time, tzinfo=self.config.timezone).astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        """The practice-timezone date of an instant."""
        return as_utc(moment).astimezone(self.config.timezone).date()

    def next_morning(self, now: datetime) -> datetime:
        """The first release instant after ``now``."""
        candidate = self.release_on(self.local_date(now))
        return candidate if candidate > now else self.release_on(self.local_date(now) + timedelta(days=1))

    @property
    def realistic(self) -> bool:
        """True when answers are spread over days and weeks."""
        return self.config.timing == "realistic"

    def next_release_at(self) -> datetime | None:
        """When the next pending answer falls due (None when nothing is pending)."""
        return min((item.release_at for item in self.state.pending), default=None)

    # -- the two calls ----------------------------------------------------------------------------------

    def release_due(self, now: datetime) -> list[ResponseFile]:
        """Write every answer due at ``now`` or before, release instant by release instant."""
        now = as_utc(now)
        due = [item for item in self.state.pending if item.release_at <= now]
        if not due:
            return []
        self.state.pending = [item for item in self.state.pending if item.release_at > now]
        files: list[ResponseFile] = []
        for instant in sorted({item.release_at for item in due}):
            batch = [item for item in due if item.release_at == instant]
            files += render_due(
                batch, self.state, self.config.usage_indicator, self.config.timezone, self._next_control_number
            )
        return files

    def receive(self, data: bytes, now: datetime) -> list[ResponseFile]:
        """Take one 837 received at ``now``: release what was due before it, decide its answers, release what
        is due at once (a TA1, or everything in instant timing). Returns the files released."""
        now = as_utc(now)
        files = self.release_due(now)
        self._decide(data, now)
        return files + self.release_due(now)

    # -- deciding ----------------------------------------------------------------------------------------

    def _schedule(self, item: Pending) -> None:
        self.state.pending.append(item)

    def _decide(self, data: bytes, now: datetime) -> None:
        set_id = next((seg.get(1) for seg in read_segments(data) if seg.id == "ST"), "")
        if set_id in ("270", "276"):
            self._answer_inquiry(set_id, data, now)
            return
        received = read_837(data)
        icn = received.interchange_control_number
        if not (len(icn) == 9 and icn.isdigit()):
            return  # nothing to answer: not an interchange
        sender = Sender(received.sender_id, received.receiver_id, received.version)
        seen_key = f"{received.sender_id}|{icn}"
        if seen_key in self.state.seen_interchanges:
            # the clearinghouse's duplicate-interchange check: answered at once, nothing inside is read
            self._ta1(sender, icn, data, now, "025", f"TA1_{icn}_{{control}}.x12")
            return
        self.state.seen_interchanges.append(seen_key)
        if not received.group_control_number.isdigit() or not received.transaction_control_numbers:
            self._ta1(sender, icn, data, now, "024", f"TA1_{icn}.x12")
            return
        accepted_sets = not received.problems
        ack_at = self.next_morning(now) if self.realistic else now
        group = GroupAck(
            functional_id_code="HC",
            group_control_number=int(received.group_control_number),
            version=received.version,
            transactions=tuple(
                TransactionAck("837", control, accepted_sets, received.version)
                for control in received.transaction_control_numbers
            ),
        )
        self._schedule(Pending999(ack_at, self.state.take_seq(), sender, icn, group))
        if accepted_sets and received.claims:
            self._acknowledge_and_adjudicate(received, sender, now)

    def _answer_inquiry(self, set_id: str, data: bytes, now: datetime) -> None:
        """A 270 or 276: its 999 and its 271 or 277, by 7 am Eastern the next morning (CAQH CORE batch)."""
        isa = next((s for s in read_segments(data[:512]) if s.id == "ISA"), None)
        if isa is None:
            return
        icn = isa.get(13).strip()
        sender = Sender(isa.get(6).strip(), isa.get(8).strip(), "")
        seen_key = f"{sender.submitter_id}|{icn}"
        if seen_key in self.state.seen_interchanges:
            self._ta1(sender, icn, data, now, "025", f"TA1_{icn}_{{control}}.x12")
            return
        self.state.seen_interchanges.append(seen_key)
        answer_at = caqh_morning(now) if self.realistic else now
        today = self.local_date(now)
        salt = self.config.seed_salt
        if set_id == "270":
            read = read_270(data)
            version, gs01 = VERSION_270, "HS"
            for inquiry in read.inquiries:
                payer_id = inquiry.payer.identifier if inquiry.payer else ""
                reply = answer_270(inquiry, answer_member(salt, payer_id, self.config.coverage, today))
                self._schedule(PendingEligibility(answer_at, self.state.take_seq(), sender, icn, reply))
            controls = [i.control_number for i in read.inquiries]
        else:
            read276 = read_276(data)
            version, gs01 = VERSION_276, "HR"
            for request in read276.requests:
                payer_id = request.payer.identifier if request.payer else ""
                reply277 = answer_276(request, partial(claim_status, self.state, payer_id, now=now), today=today)
                self._schedule(PendingClaimStatus(answer_at, self.state.take_seq(), sender, icn, reply277))
            controls = [r.control_number for r in read276.requests]
        group_number = next((s.get(6) for s in read_segments(data) if s.id == "GS"), "0")
        group = GroupAck(
            functional_id_code=gs01,
            group_control_number=int(group_number) if group_number.isdigit() else 0,
            version=version,
            transactions=tuple(TransactionAck(set_id, c, True, version) for c in controls),
        )
        self._schedule(Pending999(answer_at, self.state.take_seq(), sender, icn, group))

    def _ta1(self, sender: Sender, icn: str, data: bytes, now: datetime, note: str, name: str) -> None:
        isa = next((s for s in read_segments(data[:512]) if s.id == "ISA"), None)
        when = _isa_instant(isa) or now
        self._schedule(PendingTA1(now, self.state.take_seq(), sender, icn, when, note, name))

    def _acknowledge_and_adjudicate(self, received: Received837, sender: Sender, now: datetime) -> None:
        today = self.local_date(now)
        salt = self.config.seed_salt
        icn = received.interchange_control_number
        acks: dict[str, list[ClaimAck]] = {}
        names: dict[str, str] = {}
        first_terms = terms_for(
            received.claims[0].payer_id, received.claims[0].filing_indicator, dict(self.config.payers)
        )
        delay = weighted(
            list(zip((1, 2, 3), BEHAVIOURS[first_terms.kind].ack_delay_weights, strict=True)),
            fraction(salt, "277ca-delay", sender.submitter_id, icn),
        )
        ack_at = self.release_on(today + timedelta(days=delay)) if self.realistic else now
        for claim in received.claims:
            terms = terms_for(claim.payer_id, claim.filing_indicator, dict(self.config.payers))
            behaviour = BEHAVIOURS[terms.kind]
            digest = claim_digest(claim)
            answer = verdict(claim, behaviour, terms, self.state, now, salt, digest)
            number = payer_claim_number(
                salt, claim.payer_id, claim.claim_key, claim.frequency_code, f"{sender.submitter_id}:{icn}"
            )
            start, end = service_dates(claim, today)
            acks.setdefault(claim.billing_npi, []).append(
                ClaimAck(
                    claim_key=claim.claim_key,
                    total_charge=claim.total_charge,
                    accepted=answer.accepted,
                    status=answer.status,
                    patient_last_name=claim.patient_last_name,
                    patient_first_name=claim.patient_first_name or None,
                    member_id=claim.member_id,
                    service_date=start,
                    service_date_end=end,
                    payer_claim_number=number if answer.accepted else None,
                    extra_statuses=(answer.detail,) if answer.detail else (),
                )
            )
            names.setdefault(claim.billing_npi, claim.billing_name)
            if answer.accepted:  # adjudicated before the next claim is judged: it may name this one
                self._adjudicate(
                    _Accepted(claim, terms, behaviour, digest, number, answer.original), sender, received, now, today
                )
        acknowledgment = ClaimAcknowledgment(
            source_name=CLEARINGHOUSE_NAME,
            source_id=sender.clearinghouse_id or "SANDBOX",
            source_trace=icn,
            receiver_name=sender.submitter_id or "SUBMITTER",
            receiver_id=sender.submitter_id or "SUBMITTER",
            batch_trace=icn,
            received=today,
            processed=self.local_date(ack_at),
            providers=tuple(ProviderAck(npi, names[npi], tuple(items)) for npi, items in acks.items()),
            reference=f"277CA{icn}",
        )
        self._schedule(Pending277(ack_at, self.state.take_seq(), sender, icn, acknowledgment))

    def _adjudicate(self, item: _Accepted, sender: Sender, received: Received837, now: datetime, today: date) -> None:
        claim, behaviour, salt = item.claim, item.behaviour, self.config.seed_salt
        state = self.state
        icn = received.interchange_control_number
        lag = 0
        if self.realistic:
            lag = behaviour.remit_lag.days(
                fraction(salt, "lag-tail", claim.payer_id, claim.claim_key, icn),
                fraction(salt, "lag", claim.payer_id, claim.claim_key, icn),
            )
        remit_at = self.release_on(today + timedelta(days=lag)) if self.realistic else now
        claims = []
        ledger = []
        original = item.original
        late = self.realistic and claim.frequency_code == "7" and past_timely_filing(claim, today, item.terms)
        if late:
            original = None  # a late replacement is denied (CO-29) on its own: the original stands
        if original is not None:
            self._cancel_payer_events(original, now)
            if original.accumulator:
                state.accumulators[original.accumulator] -= original.deductible
            claims.append(reversal(original.remittance))
            ledger.append(
                LedgerEntry(
                    original.claim_key,
                    claim.frequency_code,
                    original.payer_claim_number,
                    "22",
                    -original.remittance.paid,
                    today,
                    "reversal",
                )
            )
            original.superseded_at = remit_at
            original.superseded_kind = "void" if claim.frequency_code == "8" else "replacement"
            original.superseded_by = "" if claim.frequency_code == "8" else item.payer_claim_number
            state.touch(original)
        interest = Decimal("0")
        record: ClaimRecord | None = None
        if claim.frequency_code != "8":
            key = f"{claim.payer_id}|{claim.claim_key}"
            duplicate = claim.frequency_code not in ("7", "8") and self._on_file(key)
            stands = duplicate or (claim.frequency_code == "7" and original is None)  # the claim on file stays
            context = Context(
                seed_salt=salt,
                behaviour=behaviour,
                terms=item.terms,
                received_date=today,
                payer_claim_number=item.payer_claim_number,
                digest=item.digest,
                judge_time=self.realistic,
                duplicate=duplicate,
                institutional=received.transaction_type == "837I",
            )
            outcome = adjudicate(claim, context, state.accumulators)
            claims.append(outcome.remittance)
            ledger.append(
                LedgerEntry(
                    claim.claim_key,
                    claim.frequency_code,
                    item.payer_claim_number,
                    outcome.remittance.status_code,
                    outcome.paid,
                    today,
                    "adjudication",
                )
            )
            record = ClaimRecord(
                payer_claim_number=item.payer_claim_number,
                payer_id=claim.payer_id,
                claim_key=claim.claim_key,
                billing_npi=claim.billing_npi,
                frequency_code=claim.frequency_code,
                remittance=outcome.remittance,
                finalized_at=remit_at,
                received_date=today,
                unprocessable=outcome.unprocessable,
                accumulator=outcome.accumulator,
                deductible=outcome.deductible,
            )
            state.add_record(record)
            if not stands:
                state.current[key] = record.payer_claim_number
            if self.realistic:
                interest = interest_due(outcome.paid, lag, behaviour)
        self._schedule(
            PendingPayment(
                release_at=remit_at,
                seq=state.take_seq(),
                sender=sender,
                payer_id=claim.payer_id,
                payer_name=claim.payer_name,
                payer_kind=behaviour.kind,
                payee_npi=claim.billing_npi,
                payee_name=claim.billing_name,
                payee_tax_id=claim.billing_tax_id,
                claims=tuple(claims),
                ledger=tuple(ledger),
                interest=interest,
                reference=item.payer_claim_number if interest else "",
            )
        )
        if record is not None and self.realistic:
            self._plan_payer_events(record, item, sender, today + timedelta(days=lag))

    def _on_file(self, key: str) -> bool:
        """True when the payer holds a claim for this payer and claim key (not unprocessable, not voided)."""
        number = self.state.current.get(key)
        record = self.state.records.get(number or "")
        return record is not None and not record.unprocessable and record.superseded_kind != "void"

    def _plan_payer_events(self, record: ClaimRecord, item: _Accepted, sender: Sender, paid_on: date) -> None:
        """Weeks after paying, the payer may reverse and re-pay the claim corrected, or recoup part of it."""
        claim, behaviour, salt = item.claim, item.behaviour, self.config.seed_salt
        paid = record.remittance.paid
        if paid < MIN_CORRECTED_PAYMENT or record.remittance.status_code == "4":
            return
        roll = fraction(salt, "payer-event", claim.payer_id, record.payer_claim_number)
        timing = fraction(salt, "payer-event-days", claim.payer_id, record.payer_claim_number)
        size = fraction(salt, "payer-event-size", claim.payer_id, record.payer_claim_number)
        event = PendingPayment(
            release_at=record.finalized_at,
            seq=0,
            sender=sender,
            payer_id=claim.payer_id,
            payer_name=claim.payer_name,
            payer_kind=behaviour.kind,
            payee_npi=claim.billing_npi,
            payee_name=claim.billing_name,
            payee_tax_id=claim.billing_tax_id,
            tag=f"payer-event:{record.payer_claim_number}",
        )
        if roll < behaviour.payer_correction_share:
            at = self.release_on(paid_on + timedelta(days=between(*behaviour.payer_correction_days, timing)))
            down = fraction(salt, "payer-event-direction", claim.payer_id, record.payer_claim_number) < 0.6
            factor = (
                Decimal("0.85") + Decimal("0.12") * Decimal(str(round(size, 3)))
                if down
                else (Decimal("1.03") + Decimal("0.07") * Decimal(str(round(size, 3))))
            )
            number = payer_claim_number(
                salt, claim.payer_id, claim.claim_key, "payer-correction", record.payer_claim_number
            )
            fixed = corrected(record.remittance, factor, number)
            if fixed.paid == paid:
                return
            ledger = (
                LedgerEntry(
                    claim.claim_key,
                    record.frequency_code,
                    record.payer_claim_number,
                    "22",
                    -paid,
                    record.received_date,
                    "reversal",
                ),
                LedgerEntry(
                    claim.claim_key,
                    record.frequency_code,
                    number,
                    fixed.status_code,
                    fixed.paid,
                    record.received_date,
                    "payer-correction",
                ),
            )
            self._schedule(
                replace(
                    event,
                    release_at=at,
                    seq=self.state.take_seq(),
                    claims=(reversal(record.remittance), fixed),
                    ledger=ledger,
                )
            )
            self.state.add_record(
                ClaimRecord(
                    payer_claim_number=number,
                    payer_id=record.payer_id,
                    claim_key=record.claim_key,
                    billing_npi=record.billing_npi,
                    frequency_code=record.frequency_code,
                    remittance=fixed,
                    finalized_at=at,
                    received_date=record.received_date,
                    accumulator=record.accumulator,
                    deductible=record.deductible,
                )
            )
            record.superseded_at = at
            record.superseded_by = number
            record.superseded_kind = "payer-correction"
            self.state.touch(record)
            self.state.current[f"{record.payer_id}|{record.claim_key}"] = number
        elif roll < behaviour.payer_correction_share + behaviour.recoupment_share:
            at = self.release_on(paid_on + timedelta(days=between(*behaviour.recoupment_days, timing)))
            amount = cents(paid * (Decimal("0.10") + Decimal("0.40") * Decimal(str(round(size, 3)))))
            self._schedule(
                replace(
                    event,
                    release_at=at,
                    seq=self.state.take_seq(),
                    recoupment=amount,
                    reference=record.payer_claim_number,
                )
            )

    def _cancel_payer_events(self, record: ClaimRecord, now: datetime) -> None:
        """A provider's replacement or void overtakes what the payer planned on the claim but has not sent."""
        tag = f"payer-event:{record.payer_claim_number}"
        self.state.pending = [
            item
            for item in self.state.pending
            if not (isinstance(item, PendingPayment) and item.tag == tag and item.release_at > now)
        ]
        if (
            record.superseded_kind == "payer-correction"
            and record.superseded_at is not None
            and record.superseded_at > now
        ):
            self.state.drop_record(record.superseded_by or "")
            record.superseded_at = None
            record.superseded_by = None
            record.superseded_kind = None
            self.state.touch(record)
            self.state.current[f"{record.payer_id}|{record.claim_key}"] = record.payer_claim_number


def _isa_instant(isa: Segment | None) -> datetime | None:
    """ISA09/ISA10 of a received interchange (the TA1 echoes them), when readable."""
    if isa is None:
        return None
    try:
        return datetime.strptime(isa.get(9) + isa.get(10), "%y%m%d%H%M")
    except ValueError:
        return None
