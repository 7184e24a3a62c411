"""`revcycle x12 parse FILE --json` prints the contract JSON for every 835 in the corpus, without a crash."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from corpus import corpus_dir

from revcycle.cli import main


def _835_files() -> list[Path]:
    return sorted(p for p in (corpus_dir() / "835").iterdir() if p.is_file())


def _segments(path: Path) -> list[list[str]]:
    # An independent, naive split: the corpus 835s use ISA char 4 as element separator and the char after
    # ISA16 as terminator (a UTF-8 BOM and leading whitespace stripped first). TigerShark's sample puts a
    # stray "~" before each segment (its README row), so leading punctuation is stripped from each one.
    text = path.read_bytes().decode("utf-8", "replace").lstrip("\ufeff \r\n\t")
    element = text[3]
    terminator = text[105]
    return [s.strip().lstrip("~").split(element) for s in text.split(terminator) if s.strip()]


def test_every_corpus_835_parses_to_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    files = _835_files()
    assert len(files) == 13
    for path in files:
        code = main(["x12", "parse", str(path), "--json"])
        document = json.loads(capsys.readouterr().out)
        # exit 1 when the reader lists problems or a claim does not balance (docs/x12-json.md, exit codes)
        unbalanced = any(t.get("balance_problems") for t in document["transactions"])
        assert code == (1 if document["problems"] or unbalanced else 0)
        assert document["file"] == path.name
        assert isinstance(document["problems"], list)
        remittances = [t for t in document["transactions"] if t["type"] == "835"]
        assert remittances, f"{path.name}: no 835 transaction listed"
        for t in remittances:
            assert set(t) >= {
                "control_number",
                "payment",
                "payer",
                "payee",
                "claims",
                "provider_adjustments",
                "balance_problems",
            }
            assert set(t["payment"]) == {"amount", "method", "date", "trace_number"}
            if t["payment"]["date"]:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", t["payment"]["date"])
            for claim in t["claims"]:
                for key in ("charge", "paid", "patient_responsibility"):
                    assert isinstance(claim[key], str | None)
                for adjustment in claim["adjustments"]:
                    assert Decimal(adjustment["amount"]) == Decimal(adjustment["amount"])
        clp_count = sum(1 for s in _segments(path) if s[0] == "CLP")
        assert sum(len(t["claims"]) for t in remittances) == clp_count, path.name


def test_amounts_are_exactly_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_dir() / "835" / "badx12__X221-multiple-claims-single-check.edi"
    bpr = next(s for s in _segments(path) if s[0] == "BPR")
    trn = next(s for s in _segments(path) if s[0] == "TRN")
    clps = [s for s in _segments(path) if s[0] == "CLP"]
    main(["x12", "parse", str(path), "--json"])
    t = json.loads(capsys.readouterr().out)["transactions"][0]
    assert t["payment"]["amount"] == bpr[2]
    assert t["payment"]["trace_number"] == trn[2]
    assert [c["patient_control_number"] for c in t["claims"]] == [c[1] for c in clps]
    assert [c["paid"] for c in t["claims"]] == [c[4] for c in clps]


def test_a_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["x12", "parse", str(tmp_path / "nope.x12"), "--json"]) == 2
    assert "no such file" in capsys.readouterr().err
