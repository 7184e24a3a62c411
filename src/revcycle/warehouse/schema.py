"""The warehouse schema (docs/warehouse.md): the system of record of what was received, sent and answered.

Money is integer cents (SQLite has no exact decimal). Every ledger row names the file that caused it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Primary keys that must autoincrement on SQLite too: BigInteger maps to INTEGER there.
Id = BigInteger().with_variant(Integer(), "sqlite")

# Marks the foreign keys of the bulk-loaded posting tables that PostgreSQL checks with statement-level
# triggers (one set-based check per COPY) instead of a declared constraint (a per-row check): see
# docs/warehouse.md, "Integrity of the posting tables". SQLite declares and enforces them natively.
TRIGGER_CHECKED = "trigger_checked_on_postgresql"


def _posting_fk(column: str, target: str) -> ForeignKeyConstraint:
    constraint = ForeignKeyConstraint([column], [target], info={TRIGGER_CHECKED: True})
    return constraint.ddl_if(dialect="sqlite")


payer = Table(
    "payer",
    metadata,
    Column("payer_id", String(32), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("filing_indicator", String(4), nullable=False),
    Column("timely_filing_days", Integer, nullable=False),
    Column(
        "appeal_days",
        Integer,
        nullable=False,
        server_default=text("90"),
        comment="days after the denial's payment date within which the payer takes an appeal",
    ),
)

fee_schedule = Table(
    "fee_schedule",
    metadata,
    Column("payer_id", ForeignKey("payer.payer_id"), primary_key=True),
    Column("procedure_code", String(8), primary_key=True),
    Column("contracted_cents", BigInteger, nullable=False, comment="contracted amount per unit"),
    Column("source_name", String(255), comment="the fee-schedule CSV it came from"),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

denial_reason = Table(
    "denial_reason",
    metadata,
    Column("reason_code", String(5), primary_key=True, comment="CARC"),
    Column("description", String(120), nullable=False),
    Column("recoverability_pct", Integer, nullable=False, comment="share of denied dollars an appeal recovers"),
)

source_file = Table(
    "source_file",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False, comment="charges, 837P, 999, 277CA, 835, TA1, unknown"),
    Column("name", String(255), nullable=False, comment="the name it arrived under"),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("origin", String(16), nullable=False, comment="export, sftp or manual"),
    Column(
        "status",
        String(16),
        nullable=False,
        comment="received, loaded, failed, refused (an export intake refused, or a response none of whose "
        "transaction sets posted)",
    ),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("loaded_at", DateTime(timezone=True)),
    Column("archived_at", DateTime(timezone=True), comment="remote file moved to the archive folder"),
    Column("row_count", Integer),
    Column("problem_count", Integer, nullable=False, default=0),
    Column("detail", String(500)),
    Column(
        "stored_name",
        String(255),
        comment="the name it is kept under in inbound/ and the remote archive (name and sha256); "
        "null when it was not collected over SFTP",
    ),
)

charge = Table(
    "charge",
    metadata,
    Column("charge_id", String(64), primary_key=True),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False),
    Column("encounter_id", String(64), nullable=False, index=True),
    Column("patient_mrn", String(64), nullable=False),
    Column("payer_id", String(32), nullable=False),
    Column("procedure_code", String(8), nullable=False),
    Column("service_date", Date),
    Column("charge_cents", BigInteger),
    Column("status", String(16), nullable=False, comment="rejected, held or claimed"),
    Column("claim_key", String(20), index=True),
    Column("row_json", Text, nullable=False, comment="the export row as received (PHI: warehouse only)"),
)

charge_revision = Table(
    "charge_revision",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("charge_id", ForeignKey("charge.charge_id"), nullable=False, index=True),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False, comment="the export that re-sent it"),
    Column("claim_key", String(20), nullable=False, index=True, comment="the claim the charge is a line of"),
    Column("changed_columns", String(500), nullable=False, comment="names of the columns that changed; no values"),
    Column("replaced_row_json", Text, nullable=False, comment="the content it replaced (PHI: warehouse only)"),
    Column("row_json", Text, nullable=False, comment="the content re-sent (PHI: warehouse only)"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

charge_rejection = Table(
    "charge_rejection",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("charge_id", String(64), nullable=False, index=True),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False),
    Column("suite", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("expectation", String(120), nullable=False),
    Column("column_name", String(64)),
    Column("severity", String(8), nullable=False),
    Column("masked_value", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("charge_id", "source_file_id", "rule", "column_name", name="uq_charge_rejection_rule"),
)

interchange = Table(
    "interchange",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("control_number", BigInteger, nullable=False, unique=True, comment="ISA13"),
    Column("file_name", String(128), nullable=False, unique=True),
    Column("payer_id", String(32), nullable=False),
    Column("transaction_type", String(8), nullable=False),
    Column("usage_indicator", String(1), nullable=False),
    Column("claim_count", Integer, nullable=False),
    Column("total_charge_cents", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column(
        "state",
        String(16),
        nullable=False,
        comment="staged, uploading, uploaded, duplicate (TA1 025), accepted, rejected",
    ),
    Column("batch_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("upload_started_at", DateTime(timezone=True)),
    Column("uploaded_at", DateTime(timezone=True)),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("ack_code", String(2)),
)

control_counter = Table(
    "control_counter",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

claim = Table(
    "claim",
    metadata,
    Column("claim_key", String(20), primary_key=True, comment="CLM01, generated; never an MRN"),
    Column("encounter_id", String(64), nullable=False),
    Column("payer_id", String(32), nullable=False, index=True),
    Column("claim_type", String(16), nullable=False),
    Column("billing_npi", String(10), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("total_charge_cents", BigInteger, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("first_service_date", Date, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("interchange_id", ForeignKey("interchange.id"), comment="the latest submission's interchange"),
    Column("submitted_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False, comment="derived from claim_event"),
    Column("status_at", DateTime(timezone=True), nullable=False),
    Column("payer_claim_number", String(50)),
    Column(
        "prior_claim_key",
        String(20),
        index=True,
        comment="a secondary or tertiary claim: the claim whose 835 it was built from",
    ),
)

claim_line = Table(
    "claim_line",
    metadata,
    Column("claim_key", ForeignKey("claim.claim_key"), primary_key=True),
    Column("line_number", Integer, primary_key=True),
    Column("charge_id", String(64), nullable=False, unique=True),
    Column("procedure_code", String(8), nullable=False),
    Column("modifiers", String(16), nullable=False),
    Column("units", String(16), nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("service_date", Date, nullable=False),
)

claim_event = Table(
    "claim_event",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("claim_key", ForeignKey("claim.claim_key"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("source_file_id", ForeignKey("source_file.id")),
    Column("interchange_id", ForeignKey("interchange.id")),
    Column("detail", String(255)),
)

claim_version = Table(
    "claim_version",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("claim_key", ForeignKey("claim.claim_key"), nullable=False, index=True),
    Column("version", Integer, nullable=False, comment="1 for the first submission, then 2, 3 ..."),
    Column("frequency_code", String(1), nullable=False, comment="CLM05-3: 1 original, 7 replacement, 8 void"),
    Column("content_digest", String(64), comment="revcycle.claim_versions.claim_digest; null: staged before 0009"),
    Column("interchange_id", ForeignKey("interchange.id"), nullable=False),
    Column("replaces_payer_claim_number", String(50), comment="REF*F8 of a 7 or 8"),
    Column("outcome", String(16), nullable=False, comment="staged, uploaded, accepted, rejected or adjudicated"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("claim_key", "version", name="uq_claim_version_claim_key"),
)

acknowledgment = Table(
    "acknowledgment",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False),
    Column("kind", String(8), nullable=False, comment="999 or TA1"),
    Column("interchange_control_number", BigInteger, index=True),
    Column("transaction_control_number", String(9)),
    Column("code", String(2), nullable=False, comment="IK501/AK901 or TA104"),
    Column("note_code", String(3), comment="TA105"),
    Column("error_count", Integer, nullable=False),
)

claim_status = Table(
    "claim_status",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False),
    Column("claim_key", String(38), nullable=False, index=True),
    Column("category", String(4), nullable=False),
    Column("status_code", String(8)),
    Column("entity", String(4)),
    Column("accepted", Boolean, nullable=False),
    Column("payer_claim_number", String(50)),
    Column("matched", Boolean, nullable=False),
)

remittance = Table(
    "remittance",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False),
    Column("trace_number", String(50), nullable=False),
    Column("payer_identifier", String(50), nullable=False, comment="TRN03 (or N1*PR id)"),
    Column("payer_name", String(120)),
    Column("payment_cents", BigInteger, nullable=False),
    Column("method", String(3)),
    Column("payment_date", Date),
    Column("payee_npi", String(10)),
    Column("balance_problem_count", Integer, nullable=False),
    UniqueConstraint("trace_number", "payer_identifier", name="uq_remittance_trace"),
)

remittance_claim = Table(
    "remittance_claim",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("remittance_id", Id, nullable=False),  # indexed by the unique key below
    Column("sequence", Integer, nullable=False),
    Column("claim_key", String(38), nullable=False, index=True, comment="CLP01"),
    Column("status_code", String(2), nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("patient_responsibility_cents", BigInteger, nullable=False),
    Column("payer_claim_number", String(50)),
    Column("matched", Boolean, nullable=False),
    Column(
        "reversed_by_id",
        ForeignKey("remittance_claim.id"),
        comment="the CLP02 22 reversal that cancelled this posting",
    ),
    Column("crossover_carrier", Boolean, comment="the 835 named a crossover carrier (NM1*TT)"),
    UniqueConstraint("remittance_id", "sequence", name="uq_remittance_claim_sequence"),
    _posting_fk("remittance_id", "remittance.id"),
)

remittance_service = Table(
    "remittance_service",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("remittance_claim_id", Id, nullable=False),  # indexed by the unique key below
    Column("sequence", Integer, nullable=False),
    Column("qualifier", String(2), nullable=False),
    Column("procedure_code", String(48), nullable=False),
    Column("modifiers", String(16), nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False),
    Column("units", String(16)),
    UniqueConstraint("remittance_claim_id", "sequence", name="uq_remittance_service_sequence"),
    _posting_fk("remittance_claim_id", "remittance_claim.id"),
)

adjustment = Table(
    "adjustment",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("remittance_claim_id", Id, nullable=False),  # indexed by the unique key below
    Column("remittance_service_id", Id),
    Column("group_code", String(2), nullable=False),
    Column("reason_code", String(5), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("quantity", String(16)),
    Column("sequence", Integer, nullable=False, comment="order within the remittance claim (claim and lines)"),
    UniqueConstraint("remittance_claim_id", "sequence", name="uq_adjustment_sequence"),
    _posting_fk("remittance_claim_id", "remittance_claim.id"),
    _posting_fk("remittance_service_id", "remittance_service.id"),
)

remark = Table(
    "remark",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("remittance_claim_id", Id, nullable=False),  # indexed by the unique key below
    Column("remittance_service_id", Id),
    Column("code", String(8), nullable=False),
    Column("sequence", Integer, nullable=False, comment="order within the remittance claim (claim and lines)"),
    UniqueConstraint("remittance_claim_id", "sequence", name="uq_remark_sequence"),
    _posting_fk("remittance_claim_id", "remittance_claim.id"),
    _posting_fk("remittance_service_id", "remittance_service.id"),
)

provider_adjustment = Table(
    "provider_adjustment",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("remittance_id", ForeignKey("remittance.id"), nullable=False, index=True),
    Column("reason", String(4), nullable=False),
    Column("reference", String(50)),
    Column("amount_cents", BigInteger, nullable=False),
)

remittance_suspense = Table(
    "remittance_suspense",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("remittance_claim_id", ForeignKey("remittance_claim.id"), nullable=False, unique=True),
    Column("reason", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
)

refused_transaction_set = Table(
    "refused_transaction_set",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False, index=True),
    Column("kind", String(8), nullable=False, comment="835, 999, 277CA, or the ST01 of a set of another type"),
    Column("set_ordinal", Integer, nullable=False, comment="its place among the file's transaction sets, from 1"),
    Column("control_number", String(9), nullable=False, comment="ST02"),
    Column("problem_code", String(32), nullable=False, comment="why it was refused (revcycle.refusals)"),
    Column("message", String(255), nullable=False, comment="what to do, without values"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source_file_id", "set_ordinal", name="uq_refused_transaction_set_file_ordinal"),
)

claim_hold = Table(
    "claim_hold",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("claim_key", String(20), nullable=False, index=True, comment="CLM01 the claim has or would have"),
    Column("payer_id", String(32), nullable=False),
    Column("encounter_id", String(64), nullable=False),
    Column("stage", String(8), nullable=False, comment="intake, build or stage: where the claim was held"),
    Column("reason", String(500), nullable=False, comment="claim key, charge ids, fields and rules; no values"),
    Column("source_file_id", ForeignKey("source_file.id"), comment="the export whose intake held it"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True), comment="when a later build of the claim released it"),
)

eligibility_check = Table(
    "eligibility_check",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("trace", String(50), nullable=False, unique=True, comment="TRN02 of the 270, echoed in the 271"),
    Column("payer_id", String(32), nullable=False),
    Column("member_key", String(64), nullable=False, index=True, comment="digest of member id and patient; no PHI"),
    Column("interchange_id", ForeignKey("interchange.id"), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("source_file_id", ForeignKey("source_file.id"), comment="the 271 that answered it"),
    Column("coverage", String(16), comment="active, inactive, other_primary or no_answer"),
    Column("primary_payer", String(120), comment="the 2120 PRP payer named, when not the claim's payer"),
    Column("primary_payer_id", String(80), comment="that payer's NM109"),
    Column("action", String(32), comment="the named action of an answer neither active nor inactive"),
    Column("verified_on", Date, comment="the practice-timezone date the 271 was loaded"),
)

claim_coverage = Table(
    "claim_coverage",
    metadata,
    Column("claim_key", String(20), primary_key=True),
    Column("payer_id", String(32), nullable=False),
    Column("member_key", String(64), nullable=False, comment="the pair (eligibility_check.member_key)"),
    Column("verified", Boolean, nullable=False, comment="a 271 within the window answered for the pair"),
    Column("decision", String(16), nullable=False, comment="send, held or awaiting at the latest review"),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
)

status_inquiry = Table(
    "status_inquiry",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("trace", String(50), nullable=False, unique=True, comment="TRN02 of the 276, echoed in the 277"),
    Column("claim_key", String(20), nullable=False, index=True),
    Column("payer_id", String(32), nullable=False),
    Column("interchange_id", ForeignKey("interchange.id"), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("source_file_id", ForeignKey("source_file.id"), comment="the 277 that answered it"),
    Column("category", String(4), comment="STC01-1, e.g. P1 pending, F1 finalized/payment, A4 not found"),
    Column("status_code", String(8), comment="STC01-2"),
    Column("entity", String(4), comment="STC01-3"),
    Column("payer_claim_number", String(50)),
    Column("effective_date", Date, comment="STC02"),
    Column("adjudicated_on", Date, comment="STC06"),
    Column("paid_cents", BigInteger, comment="STC05"),
)

lease = Table(
    "lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

claim_action = Table(
    "claim_action",
    metadata,
    Column("claim_key", ForeignKey("claim.claim_key"), primary_key=True),
    Column("action", String(32), nullable=False, index=True, comment="revcycle.next_action.Action"),
    Column("kind", String(16), nullable=False, comment="pipeline, wait, person or final"),
    Column("reason", String(500), nullable=False, comment="why, naming claim keys and codes only (no PHI)"),
    Column("source", String(500), nullable=False, comment="the written rule's source"),
    Column("decided_at", DateTime(timezone=True), nullable=False, comment="when the claim got this action"),
    Column("due_on", Date, comment="appeal deadline of a denial, date a response is due (practice timezone)"),
)

patient_payment = Table(
    "patient_payment",
    metadata,
    Column("payment_id", String(64), primary_key=True, comment="the practice-management system's payment id"),
    Column("source_file_id", ForeignKey("source_file.id"), nullable=False),
    Column("encounter_id", String(64), nullable=False, index=True),
    Column("payment_date", Date, nullable=False, comment="practice timezone"),
    Column("amount_cents", BigInteger, nullable=False, comment="a refund is negative"),
    Column("method", String(16)),
)

adjustment_category = Table(
    "adjustment_category",
    metadata,
    Column("group_code", String(2), primary_key=True, comment="CAS01"),
    Column("reason_code", String(5), primary_key=True, comment="CARC"),
    Column("category", String(24), nullable=False, comment="contractual, patient_responsibility, denial, other"),
    Column("denial_kind", String(32), comment="a denial's sub-category"),
    Column("description", String(160), nullable=False),
)

practice_timezone_offset = Table(
    "practice_timezone_offset",
    metadata,
    Column("starts_at", DateTime(timezone=True), primary_key=True, comment="UTC instant the offset starts"),
    Column("utc_offset_minutes", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
)

Index("ix_claim_event_file", claim_event.c.source_file_id)
Index("ix_claim_encounter", claim.c.encounter_id, claim.c.payer_id)
# staging's cancelled-claims filter and the late charges of the snapshots select charges by status (migration 0011)
Index("ix_charge_status", charge.c.status, charge.c.claim_key)
