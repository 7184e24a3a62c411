"""The HL7 v2 DFT^P03 reader on hand-written messages whose expected contract rows are worked out by hand
(tests/unit/ehr_fixtures.py): escapes, repetitions, DG1 priorities, a chargemaster line, credits and adjustments,
a batch file with both terminators, broken messages, unmapped plans and unknown chargemaster codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from ehr_fixtures import (
    CHARGEMASTER_CSV,
    CONFIG_TOML,
    EXPECTED_1,
    EXPECTED_BATCH_SELF,
    MESSAGE_ESCAPES,
    batch_file,
    msh,
    segment,
)

from connectors.ehr.base import (
    HOLD_BROKEN_MESSAGE,
    HOLD_CORRECTION,
    HOLD_UNKNOWN_CHARGEMASTER_CODE,
    HOLD_UNKNOWN_FACILITY,
    HOLD_UNMAPPED_PLAN,
    HOLD_UNSUPPORTED,
)
from connectors.ehr.config import EhrConfig, parse_ehr_config
from connectors.ehr.hl7_dft import Hl7DftReader
from connectors.ehr.registry import read_export
from revcycle.charge_export import COLUMN_NAMES


@pytest.fixture
def config(tmp_path: Path) -> EhrConfig:
    (tmp_path / "chargemaster.csv").write_text(CHARGEMASTER_CSV, encoding="utf-8")
    return parse_ehr_config(CONFIG_TOML, "ehr.toml", tmp_path)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_expected_rows_name_every_contract_column() -> None:
    for row in [*EXPECTED_1, EXPECTED_BATCH_SELF]:
        assert set(row) == set(COLUMN_NAMES)


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
def test_escapes_repetitions_chargemaster_and_a_credit(tmp_path: Path, config: EhrConfig, terminator: str) -> None:
    path = _write(tmp_path, "visit.HL7", (terminator.join(MESSAGE_ESCAPES) + terminator).encode())
    out = Hl7DftReader().read(path, config)
    assert out.rows == EXPECTED_1
    assert [str(s) for s in out.sources] == [
        "visit.HL7 message 1 (MSH-10 HW0001) FT1 1",
        "visit.HL7 message 1 (MSH-10 HW0001) FT1 2",
    ]
    assert len(out.held) == 1
    credit = out.held[0]
    assert (credit.charge_id, credit.transaction_type, credit.rule) == ("CHG-0990", "CD", HOLD_CORRECTION)
    assert "FT1 3" in credit.reason and "credit" in credit.reason
    assert credit.row is not None and credit.row["charge_amount"] == "-40.00"
    assert out.units_in == 3 and out.accounted == 3


def test_mllp_frame_bytes_and_a_bom_are_ignored(tmp_path: Path, config: EhrConfig) -> None:
    data = b"\xef\xbb\xbf\x0b" + "\r".join(MESSAGE_ESCAPES).encode() + b"\x1c\r"
    out = read_export(_write(tmp_path, "framed.dat", data), config)
    assert out.format == "hl7"
    assert out.rows == EXPECTED_1


@pytest.mark.parametrize("terminators", [("\n", "\r\n"), ("\r", "\n")], ids=["LF+CRLF", "CR+LF"])
def test_batch_file_with_fhs_bhs(tmp_path: Path, config: EhrConfig, terminators: tuple[str, str]) -> None:
    out = read_export(_write(tmp_path, "batch.txt", batch_file(terminators)), config)
    assert out.format == "hl7"
    assert out.rows == [EXPECTED_BATCH_SELF]
    assert out.sources[0].position == "message 1 (MSH-10 HB0001) FT1 1"
    held = {h.charge_id: h for h in out.held}
    assert set(held) == {"CHG-2002", "CHG-2003"}
    # An unmapped plan holds the CG charge; the AJ is held for the correction rules whatever the plan.
    assert held["CHG-2002"].rule == HOLD_UNMAPPED_PLAN
    assert "IN1-2/IN1-3" in held["CHG-2002"].reason and "message 2 (MSH-10 HB0002) FT1 1" in held["CHG-2002"].reason
    assert (held["CHG-2003"].rule, held["CHG-2003"].transaction_type) == (HOLD_CORRECTION, "AJ")
    assert out.units_in == 3 and out.accounted == 3
    assert out.problems == []


def test_batch_count_that_does_not_match_is_reported(tmp_path: Path, config: EhrConfig) -> None:
    data = batch_file(("\r", "\r")).replace(b"BTS|2", b"BTS|3")
    out = read_export(_write(tmp_path, "short.hl7", data), config)
    assert len(out.problems) == 1 and "BTS-1 declares 3 messages, the file holds 2" in out.problems[0]


def _message(
    control: str, ft1s: list[dict[int, str]], pid5: str = "Doe^Jan", in1_plan: str = "MEDICARE-B"
) -> list[str]:
    return [
        msh(control, facility="SOUTH"),
        segment("PID", {1: "1", 3: "M1^^^E^MR", 5: pid5, 7: "19500101", 8: "F"}),
        segment("PV1", {1: "1", 19: f"V-{control}"}),
        *[segment("FT1", fields) for fields in ft1s],
        segment("DG1", {1: "1", 3: "I10", 15: "1"}),
        segment("IN1", {1: "1", 2: in1_plan, 17: "SEL", 36: "1EG4TE5MK73"}),
    ]


def _ft1(number: int, charge_id: str, **extra: str) -> dict[int, str]:
    fields = {1: str(number), 2: charge_id, 4: "20240305", 6: "CG", 10: "1", 11: "10.00", 25: "99212"}
    for key, value in extra.items():
        fields[int(key[1:])] = value
    return fields


def test_a_broken_escape_holds_the_whole_message_naming_the_field(tmp_path: Path, config: EhrConfig) -> None:
    good = _message("OK1", [_ft1(1, "G-1")])
    broken = _message("BAD1", [_ft1(1, "B-1"), _ft1(2, "B-2")], pid5="Doe\\X4^Jan")  # \X4 never closed
    text = "\r".join(good + broken) + "\r"
    out = read_export(_write(tmp_path, "two.hl7", text.encode()), config)
    assert [r["charge_id"] for r in out.rows] == ["G-1"]
    assert [(h.charge_id, h.rule) for h in out.held] == [("B-1", HOLD_BROKEN_MESSAGE), ("B-2", HOLD_BROKEN_MESSAGE)]
    assert all("PID-5" in h.reason and "message 2 (MSH-10 BAD1)" in h.reason for h in out.held)
    assert all("Doe" not in h.reason for h in out.held), "a reason must not carry the value"
    assert out.accounted == out.units_in == 3


def test_text_before_any_msh_is_a_broken_message(tmp_path: Path, config: EhrConfig) -> None:
    text = "\r".join(["MSH|^~\\&|A|B|C|D|2024||DFT^P03|M1|P|2.5.1", "PID|1", "FT1|1|C-1|"]) + "\r"
    path = _write(tmp_path, "lead.hl7", b"EVN|P03\rFT1|1|LOST-1||20240101|20240101|CG\r" + text.encode())
    out = Hl7DftReader().read(path, config)
    broken = [h for h in out.held if h.rule == HOLD_BROKEN_MESSAGE]
    assert [h.charge_id for h in broken] == ["LOST-1"]
    assert "does not start with an MSH" in broken[0].reason
    assert out.accounted == out.units_in


def test_unknown_chargemaster_code_and_an_unknown_facility_are_held(tmp_path: Path, config: EhrConfig) -> None:
    ft1 = _ft1(1, "U-1")
    del ft1[25]
    ft1[7] = "CH-9999^Unknown^LOCAL"
    out = read_export(_write(tmp_path, "u.hl7", "\r".join(_message("U1", [ft1, _ft1(2, "U-2")])).encode()), config)
    assert [r["charge_id"] for r in out.rows] == ["U-2"]
    assert [(h.charge_id, h.rule) for h in out.held] == [("U-1", HOLD_UNKNOWN_CHARGEMASTER_CODE)]
    assert "FT1-7" in out.held[0].reason
    nowhere = "\r".join(_message("N1", [_ft1(1, "N-1")])).replace("|SOUTH|", "|NOWHERE|")
    out = read_export(_write(tmp_path, "n.hl7", nowhere.encode()), config)
    assert [(h.charge_id, h.rule) for h in out.held] == [("N-1", HOLD_UNKNOWN_FACILITY)]


def test_a_message_that_is_not_a_dft_holds_its_ft1s(tmp_path: Path, config: EhrConfig) -> None:
    lines = _message("A1", [_ft1(1, "A-1")])
    lines[0] = msh("A1", facility="SOUTH", message_type="BAR^P05^BAR_P05")
    out = read_export(_write(tmp_path, "bar.hl7", "\r".join(lines).encode()), config)
    assert [(h.charge_id, h.rule) for h in out.held] == [("A-1", HOLD_UNSUPPORTED)]
    assert "MSH-9 is BAR" in out.held[0].reason


def test_missing_ft1_4_passes_an_empty_date_to_the_gate(tmp_path: Path, config: EhrConfig) -> None:
    ft1 = _ft1(1, "D-1")
    del ft1[4]
    out = read_export(_write(tmp_path, "d.hl7", "\r".join(_message("D1", [ft1])).encode()), config)
    assert out.rows[0]["service_date_from"] == "" and out.rows[0]["service_date_to"] == ""


def test_latin1_message_is_read(tmp_path: Path, config: EhrConfig) -> None:
    text = "\r".join(_message("L1", [_ft1(1, "L-1")], pid5="Müller^Zoë"))
    out = read_export(_write(tmp_path, "latin.hl7", text.encode("latin-1")), config)
    assert (out.rows[0]["patient_last_name"], out.rows[0]["patient_first_name"]) == ("Müller", "Zoë")
