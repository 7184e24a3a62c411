"""The EHR reader registry picks a reader by content (extensions only order the guess) and refuses what no reader
knows; the ehr.toml configuration is parsed, looked up in its documented order, and its errors are clear."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from ehr_fixtures import CHARGEMASTER_CSV, CONFIG_TOML, MESSAGE_ESCAPES

from connectors.ehr.config import demo_defaults, load_ehr_config, parse_ehr_config
from connectors.ehr.csv_export import UnreadableExport
from connectors.ehr.registry import detect_reader, discover_exports, read_export
from connectors.payers import registered_payers
from revcycle.errors import ConfigurationError
from revcycle.synth import generate_charge_rows
from revcycle.synth_ehr import CHARGEMASTER, company_id, plan_id
from revcycle.synth_hl7 import write_dft_file

HL7 = ("\r".join(MESSAGE_ESCAPES) + "\r").encode()
CSV = b"charge_id,encounter_id\nC1,E1\n"
NDJSON = b'{"resourceType": "Patient", "id": "p"}\n{"resourceType": "Claim", "id": "c"}\n'
BUNDLE = b'{\n  "resourceType": "Bundle",\n  "type": "collection",\n  "entry": []\n}\n'


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.csv", CSV, "csv"),
        ("a.hl7", HL7, "hl7"),
        ("a.CSV", HL7, "hl7"),  # content decides over the extension
        ("a.json", CSV, "csv"),
        ("a.txt", NDJSON, "fhir"),
        ("a.Hl7", BUNDLE, "fhir"),
        ("batch.dat", b"FHS|^~\\&|X\rBHS|^~\\&|X\r" + HL7, "hl7"),
        ("batch2.dat", b"BHS|^~\\&|X\n" + HL7, "hl7"),
        ("bom.csv", b"\xef\xbb\xbf" + CSV, "csv"),
    ],
)
def test_reader_is_chosen_by_content(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert detect_reader(path).name == expected


@pytest.mark.parametrize("data", [b"", b"hello world\n", b"MSHX not hl7", b"[1, 2]", b"\x00\x01\x02"])
def test_unknown_content_is_refused_and_kept(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "mystery.csv"
    path.write_bytes(data)
    with pytest.raises(UnreadableExport, match=r"mystery\.csv"):
        read_export(path)
    assert path.read_bytes() == data


def test_discover_matches_extensions_case_blind(tmp_path: Path) -> None:
    for name in ("a.CSV", "b.hl7", "c.HL7", "d.Json", "e.ndjson", "f.pdf", ".g.part"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.csv").mkdir()
    assert [p.name for p in discover_exports(tmp_path)] == ["a.CSV", "b.hl7", "c.HL7", "d.Json", "e.ndjson"]


def test_config_is_found_in_the_documented_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "chargemaster.csv").write_text(CHARGEMASTER_CSV)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.delenv("REVCYCLE_EHR_CONFIG", raising=False)
    assert load_ehr_config(workdir=workdir).origin == "embedded demo defaults"
    (workdir / "ehr.toml").write_text(
        '[facilities.W]\nbilling_npi="1"\nbilling_tax_id="2"\nbilling_name="W"\n'
        'billing_address1="a"\nbilling_city="c"\nbilling_state="IL"\nbilling_zip="1"\n'
    )
    assert list(load_ehr_config(workdir=workdir).facilities) == ["W"]
    named = tmp_path / "named.toml"
    named.write_text(CONFIG_TOML)
    monkeypatch.setenv("REVCYCLE_EHR_CONFIG", str(named))
    from_env = load_ehr_config(workdir=workdir)
    assert sorted(from_env.facilities) == ["NORTH", "SOUTH"]
    assert from_env.chargemaster["CH-0777"].modifiers == ("RT",)
    assert list(load_ehr_config(workdir / "ehr.toml", workdir=workdir).facilities) == ["W"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[facilities.X]\nbilling_npi = 1\n", "billing_tax_id is required"),
        ("this is not toml", "not valid TOML"),
        ('default_facility = "NOPE"\n', "default_facility NOPE"),
        ('[[plans]]\nehr_plan_id = "P"\npayer_id = "X"\n', "claim_filing_indicator is required"),
        ('chargemaster_csv = "code,price\\nA,1\\n"\n', "lacks the column"),
        ('chargemaster_csv = "code,procedure_code\\nA,99213\\nA,99214\\n"\n', "appears twice"),
        ('chargemaster = "missing.csv"\n', "cannot read the chargemaster"),
    ],
)
def test_config_errors_are_clear(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_ehr_config(text, "ehr.toml", tmp_path)


def test_plan_crosswalk_checks_the_company_only_for_hl7(tmp_path: Path) -> None:
    (tmp_path / "chargemaster.csv").write_text(CHARGEMASTER_CSV)
    config = parse_ehr_config(CONFIG_TOML, "ehr.toml", tmp_path)
    assert config.plan(["BCBS-PPO"], ["BCBSIL"]) is not None
    assert config.plan(["BCBS-PPO"], ["OTHER"]) is None  # HL7: IN1-3 must name the configured company
    assert config.plan(["BCBS-PPO"]) is not None  # FHIR: no company id to check
    assert config.plan(["MEDICARE-B"], []) is not None  # no company configured
    assert config.plan(["UNKNOWN"]) is None


def test_demo_defaults_map_the_synthetic_ehr(tmp_path: Path) -> None:
    """With no ehr.toml, a synthetic DFT feed reads: its plans and chargemaster codes are in the defaults."""
    defaults = demo_defaults()
    payers = registered_payers()
    for payer_id, payer in payers.items():
        entry = defaults.plan([plan_id(payer_id)], [company_id(payer_id)])
        assert entry is not None and entry.payer_id == payer_id
        assert entry.claim_filing_indicator == payer.filing_indicator
    assert {code: e.procedure_code for code, e in defaults.chargemaster.items()} == CHARGEMASTER
    rows = list(generate_charge_rows(list(payers.values()), encounters=5, seed=1, as_of=date(2024, 1, 9)))
    path = tmp_path / "demo.hl7"
    write_dft_file(rows, path, sent=datetime(2024, 1, 9, 20))
    out = read_export(path)
    assert out.held == [] and len(out.rows) == len(rows)
    assert {r["billing_npi"] for r in out.rows} == {"1999999984"}  # the demo facility


def test_contract_row_is_a_read_only_mapping_of_the_contract_columns() -> None:
    from connectors.ehr.base import ContractRow
    from revcycle.charge_export import COLUMN_NAMES

    row = ContractRow.from_mapping({"charge_id": "C1", "units": "2", "not_a_column": "x"})
    assert list(row) == list(COLUMN_NAMES) and len(row) == len(COLUMN_NAMES)
    assert row["charge_id"] == "C1" and row["units"] == "2" and row["member_id"] == ""
    assert row == {name: ("C1" if name == "charge_id" else "2" if name == "units" else "") for name in COLUMN_NAMES}
    assert dict(row)["units"] == "2" and next(iter(row.values())) == "C1"
    assert row.get("not_a_column") is None
    with pytest.raises(KeyError):
        row["not_a_column"]
    with pytest.raises(TypeError):
        row["units"] = "3"  # type: ignore[index]
