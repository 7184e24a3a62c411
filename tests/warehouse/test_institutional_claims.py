"""Institutional claims (837I) through the pipeline (issue 10), on SQLite and PostgreSQL.

One export from the synthetic EHR's visits, planted by hand: an outpatient hospital visit (type of bill 131)
and an inpatient stay (111, with its admission and admitting diagnosis) for Summit (takes 837P and 837I),
an office visit for Summit, and an outpatient hospital visit for Medicare Part B (takes 837P only). Intake
builds the three Summit claims and holds the Medicare one; staging writes the office visit in an 837P and
the hospital visits in an 837I of their own; the sandbox payer answers the 837I (999, 277CA, 835) and every
answer loads. Expected segments are derived by hand from the planted rows and the 005010X223A2 TR3.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from intake_records import record_export
from pyx12_check import pyx12_errors, split_segments
from sqlalchemy import Engine, select
from warehouse_data import ingest

from connectors.payers import registered_payers
from expectations.claims import written_claim_problems
from revcycle.claim_versions import record_submission
from revcycle.claims import claim_key_for
from revcycle.intake import record_intake
from revcycle.rebuild import rebuild_claims
from revcycle.sandbox.payer import SandboxPayer
from revcycle.submission import SenderIdentity, stage_claims
from revcycle.synth import generate_charge_rows
from revcycle.warehouse.ledger import register_source_file
from revcycle.warehouse.schema import claim, claim_hold, claim_version, interchange, remittance_claim
from revcycle.x12.write837p import Submitter

NIGHT = date(2026, 11, 20)
T0 = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # 21:30 Chicago on the night
T1 = datetime(2026, 11, 21, 3, 40, tzinfo=UTC)
T2 = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)  # the next night
SENDER = SenderIdentity(
    sender_id="REVCYCLE01",
    usage_indicator="T",
    submitter=Submitter(name="REVCYCLE BILLING", id="REVCYCLE01", contact_name="BILLING OFFICE", phone="5555550100"),
)
ATTENDING_NPI = "1003000126"  # Luhn check over 80840 + NPI checked by hand (see tests/expectations)
HOSPITAL = {
    "claim_type": "institutional",
    "claim_frequency_code": "1",
    "discharge_status": "01",
    "attending_npi": ATTENDING_NPI,
    "attending_last_name": "Okafor",
    "attending_first_name": "Ada",
    "modifier1": "",
    "units": "1",
    "group_number": "",
    "prior_authorization": "",
    **{f"diagnosis{i}": "" for i in range(3, 13)},
}


def _template(payer_id: str, seed: int, prefix: str) -> dict[str, str]:
    """The first charge row of one synthetic visit to ``payer_id`` (its patient, member id and clinic)."""
    payer = registered_payers()[payer_id]
    return dict(next(generate_charge_rows([payer], encounters=1, seed=seed, as_of=NIGHT, id_prefix=prefix)))


def _lines(head: dict[str, str], fields: dict[str, str], lines: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        head | HOSPITAL | fields | {"charge_id": f"{head['encounter_id']}-L{n}"} | line
        for n, line in enumerate(lines, 1)
    ]


def _export() -> dict[str, list[dict[str, str]]]:
    outpatient = _lines(
        _template("SUMMT", 61, "OUT"),
        {
            "type_of_bill": "131",
            "place_of_service": "22",
            "statement_date_from": "2026-11-16",
            "statement_date_to": "2026-11-16",
            "diagnosis1": "R07.81",
            "diagnosis2": "I10",
        },
        [
            {"procedure_code": "99213", "revenue_code": "0510", "charge_amount": "135.00", "diagnosis_pointers": "1"},
            {"procedure_code": "80053", "revenue_code": "0300", "charge_amount": "45.00", "diagnosis_pointers": "1:2"},
        ],
    )
    for row in outpatient:
        row.update(service_date_from="2026-11-16", service_date_to="2026-11-16")
    inpatient = _lines(
        _template("SUMMT", 62, "INP"),
        {
            "type_of_bill": "111",
            "place_of_service": "21",
            "statement_date_from": "2026-11-14",
            "statement_date_to": "2026-11-16",
            "admission_date": "2026-11-14",
            "admission_type": "1",
            "admission_source": "2",
            "admitting_diagnosis": "R07.81",
            "diagnosis1": "J20.9",
            "diagnosis2": "I10",
        },
        [
            {"procedure_code": "85025", "revenue_code": "0300", "charge_amount": "28.00", "diagnosis_pointers": "1"},
            {"procedure_code": "71046", "revenue_code": "0320", "charge_amount": "95.00", "diagnosis_pointers": "1"},
        ],
    )
    inpatient[0].update(service_date_from="2026-11-14", service_date_to="2026-11-14")
    inpatient[1].update(service_date_from="2026-11-15", service_date_to="2026-11-15")
    office = [_template("SUMMT", 63, "OFF")]
    medicare = _lines(
        _template("MCRPB", 64, "MCR"),
        {"type_of_bill": "131", "statement_date_from": "2026-11-16", "statement_date_to": "2026-11-16"},
        [{"procedure_code": "99213", "revenue_code": "0510", "charge_amount": "135.00", "diagnosis_pointers": "1"}],
    )
    return {"outpatient": outpatient, "inpatient": inpatient, "office": office, "medicare": medicare}


def _key(rows: list[dict[str, str]]) -> str:
    return claim_key_for(rows[0]["encounter_id"], rows[0]["payer_id"], rows[0]["billing_npi"])


def _claim_segments(data: bytes) -> dict[str, list[list[str]]]:
    """CLM01 -> the segments of its claim (CLM up to the next CLM or the SE), from an 837 as written."""
    found: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for fields in split_segments(data):
        if fields[0] == "CLM":
            current = found.setdefault(fields[1], [])
        elif fields[0] in ("SE", "HL"):
            current = None
        if current is not None:
            current.append(fields)
    return found


def _one(segments: list[list[str]], *head: str) -> list[list[str]]:
    return [s for s in segments if s[: len(head)] == list(head)]


def test_outpatient_and_inpatient_visits_go_out_in_an_837i_their_answers_load_and_a_correction_is_a_7(
    warehouse: Engine, tmp_path: Path
) -> None:
    export = _export()
    payers = registered_payers()
    rows = [row for visit in export.values() for row in visit]
    intake = record_export(warehouse, rows, batch_date=NIGHT, name="charges.csv", payers=payers)
    out, inp, office, medicare = (_key(export[k]) for k in ("outpatient", "inpatient", "office", "medicare"))
    assert sorted(intake.claim_keys) == sorted([out, inp, office])

    # Medicare Part B takes professional claims only: its hospital visit is held, saying why (no value in it).
    with warehouse.connect() as conn:
        holds = conn.execute(select(claim_hold.c.claim_key, claim_hold.c.stage, claim_hold.c.reason)).all()
    assert [tuple(h) for h in holds] == [
        (
            medicare,
            "intake",
            f"claim {medicare}: Medicare Part B (MAC sandbox) does not accept institutional claims (837I); held",
        )
    ]

    outbound = tmp_path / "outbound"
    result = stage_claims(
        warehouse,
        payers=payers,
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=NIGHT,
        created=T0,
        check=written_claim_problems,  # the claims suite over the 837s as written
        now=T0,
    )
    assert result.held == []
    names = sorted(r.file_name for r in result.interchanges)
    assert [n.split("_")[:2] for n in names] == [["837I", "SUMMT"], ["837P", "SUMMT"]]
    written = {n[:4]: (outbound / n).read_bytes() for n in names}
    assert pyx12_errors(written["837I"]) == [] and pyx12_errors(written["837P"]) == []
    assert list(_claim_segments(written["837P"])) == [office]

    segments = split_segments(written["837I"])
    gs, st = _one(segments, "GS")[0], _one(segments, "ST")[0]
    assert (gs[1], gs[8], st[1], st[3]) == ("HC", "005010X223A2", "837", "005010X223A2")
    claims = _claim_segments(written["837I"])
    assert sorted(claims) == sorted([out, inp])

    # Outpatient: CLM02 135.00 + 45.00 = 180.00; CLM05 = bill 131 -> facility 13, qualifier A, frequency 1.
    o = claims[out]
    assert Decimal(o[0][2]) == Decimal("180.00") and o[0][5] == "13:A:1"
    assert _one(o, "DTP", "434") == [["DTP", "434", "RD8", "20261116-20261116"]]
    assert _one(o, "DTP", "435") == []  # no admission on an outpatient bill
    assert _one(o, "CL1") == [["CL1", "", "", "01"]]
    assert [s for s in o if s[0] == "HI"] == [["HI", "ABK:R0781"], ["HI", "ABF:I10"]]
    assert _one(o, "NM1", "71") == [["NM1", "71", "1", "Okafor", "Ada", "", "", "", "XX", ATTENDING_NPI]]
    assert [(s[1], s[2], Decimal(s[3])) for s in _one(o, "SV2")] == [
        ("0510", "HC:99213", Decimal("135")),
        ("0300", "HC:80053", Decimal("45")),
    ]

    # Inpatient: CLM02 28.00 + 95.00 = 123.00; bill 111 -> 11:A:1; the stay 14-16 Nov, admitted the 14th,
    # CL1 = admission type 1, source 2, discharged home 01; principal J20.9, admitting R07.81, other I10.
    i = claims[inp]
    assert Decimal(i[0][2]) == Decimal("123.00") and i[0][5] == "11:A:1"
    assert _one(i, "DTP", "434") == [["DTP", "434", "RD8", "20261114-20261116"]]
    assert _one(i, "DTP", "435") == [["DTP", "435", "D8", "20261114"]]
    assert _one(i, "CL1") == [["CL1", "1", "2", "01"]]
    assert [s for s in i if s[0] == "HI"] == [["HI", "ABK:J209"], ["HI", "ABJ:R0781"], ["HI", "ABF:I10"]]
    assert _one(i, "NM1", "71") == [["NM1", "71", "1", "Okafor", "Ada", "", "", "", "XX", ATTENDING_NPI]]
    assert [(s[1], s[2], Decimal(s[3])) for s in _one(i, "SV2")] == [
        ("0300", "HC:85025", Decimal("28")),
        ("0320", "HC:71046", Decimal("95")),
    ]

    # The institutional fields live in the stored charges: a rebuild has the digest of the version sent.
    with warehouse.connect() as conn:
        stored = dict(conn.execute(select(claim_version.c.claim_key, claim_version.c.content_digest)).all())
        rebuilt = rebuild_claims(conn, [out, inp], payers)
        types = dict(conn.execute(select(claim.c.claim_key, claim.c.claim_type)).all())
    assert {key: digest for key, (_claim, digest) in rebuilt.items()} == {out: stored[out], inp: stored[inp]}
    assert (types[out], types[inp], types[office]) == ("institutional", "institutional", "professional")

    # Uploaded, answered by the sandbox payer at once (999, 277CA, 835), and every answer loads.
    with warehouse.begin() as conn:
        for record in result.interchanges:
            record_submission(conn, record.id, record.file_name, T1)
        sent_id = conn.execute(select(interchange.c.id).where(interchange.c.file_name == names[0])).scalar_one()
    answers = SandboxPayer().receive(written["837I"], T1)
    assert sorted({f.kind for f in answers}) == ["277CA", "835", "999"]
    for answer in answers:
        assert pyx12_errors(answer.content) == [], answer.name
        assert ingest(warehouse, answer.content, answer.name) is not None
    with warehouse.connect() as conn:
        paid = conn.execute(
            select(remittance_claim.c.claim_key, remittance_claim.c.charge_cents, remittance_claim.c.matched)
        ).all()
        statuses = dict(conn.execute(select(claim.c.claim_key, claim.c.status)).all())
        outcomes = dict(
            conn.execute(
                select(claim_version.c.claim_key, claim_version.c.outcome).where(
                    claim_version.c.interchange_id == sent_id
                )
            ).all()
        )
    assert sorted(tuple(p) for p in paid) == sorted([(out, 18000, True), (inp, 12300, True)])
    assert {statuses[out], statuses[inp]} <= {"paid", "partially_paid", "denied"}
    assert outcomes == {out: "adjudicated", inp: "adjudicated"}

    # A corrected export after the adjudication: the outpatient lab line costs 50.00, not 45.00. The rules
    # replace the claim: an 837I with CLM02 135.00 + 50.00 = 185.00, CLM05 13:A:7 (the bill stays 131) and
    # REF*F8 = the payer claim number (CLP07) of the sandbox's 835.
    corrected = [dict(r) | ({"charge_amount": "50.00"} if r["procedure_code"] == "80053" else {}) for r in rows]
    with warehouse.begin() as conn:
        again = register_source_file(conn, kind="charges", name="fixed.csv", sha256="4" * 64, size=1, origin="export")
        pcn = conn.execute(
            select(remittance_claim.c.payer_claim_number).where(remittance_claim.c.claim_key == out)
        ).scalar_one()
    revised = record_intake(
        warehouse, source_file_id=again.id, rows=corrected, rejections=[], payers=payers, batch_date=NIGHT
    )
    assert revised.revised_claims == [out]
    night_2 = stage_claims(
        warehouse,
        payers=payers,
        sender=SENDER,
        outbound_dir=outbound,
        batch_date=NIGHT,
        created=T2,
        check=written_claim_problems,
        now=T2,
    )
    assert night_2.resent == [out] and night_2.held == []
    (replacement,) = night_2.interchanges
    assert replacement.file_name.startswith("837I_SUMMT_")
    content = (outbound / replacement.file_name).read_bytes()
    assert pyx12_errors(content) == []
    (r,) = _claim_segments(content).values()
    assert r[0][1] == out and Decimal(r[0][2]) == Decimal("185.00") and r[0][5] == "13:A:7"
    assert pcn and _one(r, "REF", "F8") == [["REF", "F8", pcn]]
    with warehouse.connect() as conn:
        versions = conn.execute(
            select(claim_version.c.version, claim_version.c.frequency_code, claim_version.c.replaces_payer_claim_number)
            .where(claim_version.c.claim_key == out)
            .order_by(claim_version.c.version)
        ).all()
    assert [tuple(v) for v in versions] == [(1, "1", None), (2, "7", pcn)]
