"""The JSON document of `revcycle x12 parse`: every corpus file, each transaction type, no PHI."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from corpus import corpus_dir

from revcycle.x12.document import parse_document, to_json


def _all_files() -> list[Path]:
    return sorted(p for p in corpus_dir().glob("*/*") if p.parent.name != "LICENSES" and p.suffix != ".md")


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return [value]


def test_every_corpus_file_gives_transactions_or_a_problem() -> None:
    for path in _all_files():
        doc = parse_document(path, path.name)
        assert doc["file"] == path.name
        assert set(doc) == {"file", "problems", "transactions"}
        if not doc["transactions"]:
            assert doc["problems"], path.name
        assert json.loads(to_json(doc)) == doc
        assert not any(isinstance(v, float) for v in _walk(doc)), path.name
    # only the ISA-only file has no transaction set at all
    empty = [p.name for p in _all_files() if not parse_document(p, p.name)["transactions"]]
    assert empty == ["badx12__segment_terminator.edi"]


def test_835_document_shape_and_values() -> None:
    path = corpus_dir() / "835/badx12__X221-secondary-payments.edi"
    [tx] = parse_document(path, path.name)["transactions"]
    assert (tx["type"], tx["control_number"]) == ("835", "0001")
    assert tx["payment"] == {
        "amount": "1222",
        "method": "CHK",
        "date": "2005-04-12",
        "trace_number": "0012524965",
    }
    first, second = tx["claims"]
    assert first["adjustments"] == [{"group": "OA", "reason": "23", "amount": "9411.64", "quantity": None}]
    assert second["patient_responsibility"] == "220"  # CLP*0001000053*2*751.50*310*220
    assert second["adjustments"] == []
    assert second["services"][0]["adjustments"][0]["amount"] == "136.50"  # CAS*OA*23*136.50
    assert second["services"][0]["charge"] == "166.5"
    assert tx["balance_problems"] == []


def test_835_plb_and_remarks() -> None:
    path = corpus_dir() / "835/derived__multi_plb.edi"
    [tx] = parse_document(path, path.name)["transactions"]
    assert tx["provider_adjustments"] == [
        {"reason": "CV", "reference": "CP", "amount": "-1.27"},
        {"reason": "L6", "reference": "", "amount": "5.00"},
    ]
    path = corpus_dir() / "835/pyx12__835_mult_loops.txt"
    [tx] = parse_document(path, path.name)["transactions"]
    text = path.read_text()
    lq = re.findall(r"LQ\*HE\*([A-Z0-9]+)", text)
    remarks = [r for c in tx["claims"] for s in c["services"] for r in s["remarks"]]
    assert remarks == lq and lq


def test_835_multiple_interchanges() -> None:
    path = corpus_dir() / "835/oopfactory__835_WithMultipleInterchanges.txt"
    doc = parse_document(path, path.name)
    assert [t["type"] for t in doc["transactions"]] == ["835"] * 3
    assert sum(len(t["claims"]) for t in doc["transactions"]) == path.read_text("utf-8-sig").count("CLP*")


def test_837_document_has_claims_but_no_names() -> None:
    path = corpus_dir() / "837p/badx12__X222-commercial-health-insurance.edi"
    doc = parse_document(path, path.name)
    [tx] = doc["transactions"]
    assert tx["type"] == "837P"
    assert tx["claims"] == [{"claim_key": "26463774", "charge": "100", "frequency_code": "1", "lines": 4}]
    text = to_json(doc)
    # subscriber NM1*IL*1*SMITH*JANE****MI*JS00111223333 and the addresses
    # (N3*236 N MAIN  ST, N3*2345 OCEAN BLVD) are not in the JSON
    for phi in ("SMITH", "JANE", "JS00111223333", "MAIN  ST", "OCEAN BLVD"):
        assert phi not in text


def test_835_document_has_no_patient_names() -> None:
    path = corpus_dir() / "835/badx12__X221-secondary-payments.edi"
    text = to_json(parse_document(path, path.name))
    # NM1*QC*1*TOWNSEND*WILLIAM*P***MI*XXX123456789
    for phi in ("TOWNSEND", "WILLIAM", "XXX123456789"):
        assert phi not in text


def test_999_summary() -> None:
    path = corpus_dir() / "999/staedi__simple999.edi"
    [tx] = parse_document(path, path.name)["transactions"]
    # AK1*HC*17456 ; AK2 0001 IK5*A ; AK2 0002 IK5*R*5 ; AK2 0003 IK5*R*5 ; AK9*P*3*3*1
    assert tx["type"] == "999"
    assert tx["acknowledged_group"]["control_number"] == "17456"
    assert [(t["control_number"], t["status"]) for t in tx["transactions"]] == [
        ("0001", "A"),
        ("0002", "R"),
        ("0003", "R"),
    ]
    assert (tx["status"], tx["included"], tx["received"], tx["accepted"]) == ("P", 3, 3, 1)
    assert tx["transactions"][1]["segment_errors"][0]["segment_id"] == "CLM"  # IK3*CLM*22**8


def test_277ca_statuses() -> None:
    root = corpus_dir()
    [tx] = parse_document(root / "277ca/imsweb__x12_277CA_rejected.txt", "r")["transactions"]
    # HL*4*3*PT ; TRN*2*3920394930203 ; STC*A7|562|85*... ; REF*1K*1107000000001120
    assert tx["type"] == "277CA"
    [claim] = tx["claims"]
    assert (claim["claim_key"], claim["category"], claim["accepted"]) == ("3920394930203", "A7", False)
    assert claim["statuses"][0]["code"] == "562" and claim["payer_claim_number"] == "1107000000001120"
    [tx] = parse_document(root / "277ca/imsweb__x12_277CA_accepted.txt", "a")["transactions"]
    [claim] = tx["claims"]
    assert (claim["claim_key"], claim["category"], claim["accepted"]) == ("5781", "A2", True)


def test_unsupported_transactions_are_listed_with_a_problem() -> None:
    # an 834 enrollment (no reader for it): listed by type and control number, with a problem
    text = (
        "ISA*00*          *00*          *ZZ*SPONSOR        *ZZ*PAYER          *240101*1200*^*00501*"
        "000000007*0*P*:~GS*BE*SPONSOR*PAYER*20240101*1200*7*X*005010X220A1~ST*834*0001*005010X220A1~"
        "BGN*00*REF1*20240101*1200****2~SE*3*0001~GE*1*7~IEA*1*000000007~"
    )
    doc = parse_document(text, "enrollment.x12")
    assert [(t["type"], t["control_number"]) for t in doc["transactions"]] == [("834", "0001")]
    assert [p["code"] for p in doc["problems"]] == ["UNSUPPORTED_TRANSACTION"]
    assert doc["problems"][0]["segment"] == 2  # ST is the third segment (ISA 0, GS 1)


def test_every_inquiry_transaction_is_parsed_not_listed() -> None:
    for name, kind in [
        ("270_271/lfh__dependent-health-benefit-check.270", "270"),
        ("270_271/lfh__dependent-health-benefit-check.271", "271"),
        ("276_277/lfh__claim-level-status.276", "276"),
        ("276_277/lfh__claim-level-status.277", "277"),
    ]:
        doc = parse_document(corpus_dir() / name, name)
        assert [t["type"] for t in doc["transactions"]] == [kind]
        assert doc["problems"] == [], name


def test_ta1_is_listed() -> None:
    text = (
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*PROVIDER       *240101*1200*^*00501*"
        "000000005*0*P*:~TA1*000000123*240101*1159*R*025~IEA*0*000000005~"
    )
    doc = parse_document(text, "ta1.x12")
    assert doc["transactions"] == [
        {"type": "TA1", "control_number": "000000123", "ack_code": "R", "note_code": "025", "accepted": False}
    ]
    assert doc["problems"] == []


def test_no_isa_gives_a_problem() -> None:
    doc = parse_document(b"not x12 at all", "junk.txt")
    assert doc["transactions"] == []
    assert [p["code"] for p in doc["problems"]] == ["ISA_NOT_FOUND"]
    assert doc["problems"][0]["segment"] is None


def test_amounts_are_exact_decimal_strings() -> None:
    path = corpus_dir() / "835/badx12__X221-multiple-claims-single-check.edi"
    [tx] = parse_document(path, path.name)["transactions"]
    clp = re.findall(r"CLP\*[^*]*\*[^*]*\*([^*]*)\*([^*~]*)", path.read_text())
    assert [(c["charge"], c["paid"]) for c in tx["claims"]] == clp
    assert sum(Decimal(c["paid"]) for c in tx["claims"]) == Decimal(tx["payment"]["amount"])
