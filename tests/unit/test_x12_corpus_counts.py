"""Every corpus file parses without an exception, never silently empty, with the transaction count of its STs.

The expected count is computed here WITHOUT the reader: the file is decoded naively (UTF-16 when half the
bytes are NUL, else Latin-1), the element delimiter is the character after the first "ISA", and every
"ST<element>nnn" not preceded by a letter, digit or the element delimiter is counted. ``PROBLEMS`` says
which files must report problems and which codes, each checked by hand against the file (SE01 counts by
counting segments between ST and SE with a split on the terminator; the README's notes for the rest).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from corpus import corpus_dir

from revcycle.x12.document import parse_document
from revcycle.x12.x835 import iter_835, read_835

# Files that must report problems, with codes that must be among them (checked by hand, see docstring).
PROBLEMS: dict[str, set[str]] = {
    "270_271/lfh__subscriber-health-benefit-check-error.271": {"CONTROL_MISMATCH"},  # ST*271*4321 ... SE*8*4323
    "276_277/imsweb__x12_277_x212.txt": {"CONTROL_MISMATCH"},  # ISA13 000000001, IEA*1*842928883
    "277ca/oopfactory__277CA_FromLatitude81uk.txt": {"CONTROL_MISMATCH"},  # garbled ISA13
    "835/lfh__secondary-payment.835": {"COMPONENT_SEPARATOR_MISMATCH"},  # SVC*HC>12345>26 with ISA16 ':'
    "835/oopfactory__835_Example1.txt": {"MISSING_ELEMENT"},
    "835/tigershark__835-example.txt": {"JUNK_BEFORE_SEGMENT"},  # '~' at the start of every LF-ended line
    "837i/imsweb__x223-test.txt": {"SE01_COUNT"},  # SE*25, 48 segments
    "837i/lfh__ppo-repriced-claim.837i": {"COMPONENT_SEPARATOR_MISMATCH"},
    "837i/oopfactory__InstitutionalClaim5010.txt": {"SE01_COUNT"},  # SE*43, 78 segments
    "837i/oopfactory__Spec_3.1.3_PPORepricedClaim.txt": {"COMPONENT_SEPARATOR_MISMATCH"},
    "837p/imsweb__x12_many_claims.txt": {"SE01_COUNT"},  # SE*25, 11486 segments
    "837p/imsweb__x12_multiple_gs.txt": {"SE01_COUNT", "IEA01_COUNT"},
    "837p/imsweb__x12_multiple_isa.txt": {"SE01_COUNT"},
    "837p/imsweb__x12_valid_different_separators.txt": {"SE01_COUNT"},  # SE~25, 34 segments
    "837p/oopfactory__ST1309-XX.txt": {"MISSING_TERMINATOR"},  # CR terminator, last segment unterminated
    "837p/oopfactory__UnicodeExample.txt": {"MISSING_SE", "MISSING_GE", "MISSING_IEA"},  # ends after NM1*41
    "999/imsweb__x12_999_accepted.txt": {"CONTROL_MISMATCH"},  # IEA02 != ISA13
    "999/staedi__invalid999.edi": {"SE01_COUNT"},  # SE*16, 18 segments
    "envelope/badx12__segment_terminator.edi": {"NO_TRANSACTIONS", "MISSING_IEA"},
    "envelope/imsweb__x12_bad_first_line.txt": {"ISA_LENGTH"},
    "envelope/tigershark__837-example_unpadded-ISA.txt": {"ISA_LENGTH"},
}


def _files() -> list[str]:
    try:
        root = corpus_dir()
    except pytest.skip.Exception:
        return []
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.parent != root and p.parent.name != "LICENSES"
    )


def naive_st_count(path: Path) -> int:
    """ST segments counted from the bytes, independently of the reader."""
    raw = path.read_bytes()
    text = raw.decode("utf-16-le", errors="replace") if raw.count(b"\x00") > len(raw) // 4 else raw.decode("latin-1")
    at = text.find("ISA")
    if at < 0:
        return 0
    element = re.escape(text[at + 3])
    return len(re.findall(rf"(?<![A-Za-z0-9{element}])ST{element}\d{{3}}", text))


def test_the_corpus_has_its_56_files() -> None:
    assert len(_files()) == 56


@pytest.mark.parametrize("name", _files() or ["(corpus missing)"])
def test_corpus_file_transaction_count_and_problems(name: str) -> None:
    path = corpus_dir() / name
    document = parse_document(path, path.name)  # must not raise
    expected = naive_st_count(path)
    sets = [t for t in document["transactions"] if t["type"] != "TA1"]
    assert len(sets) == expected
    codes = {p["code"] for p in document["problems"]}
    if expected == 0:
        assert "NO_TRANSACTIONS" in codes  # never a silent empty result
    if name in PROBLEMS:
        assert PROBLEMS[name] <= codes, codes
    else:
        assert codes == set(), codes


@pytest.mark.parametrize("name", [n for n in _files() if n.startswith("835/")] or ["(corpus missing)"])
def test_streaming_835_matches_read_835_on_the_corpus(name: str) -> None:
    path = corpus_dir() / name
    whole = read_835(path)
    claims = [e for e in iter_835(path) if type(e).__name__ == "ClaimPayment"]
    kept = [c for r in whole.remittances for c in r.claims]
    assert [(c.patient_control_number, c.paid, c.charge) for c in claims] == [
        (c.patient_control_number, c.paid, c.charge) for c in kept
    ]
    assert claims  # every corpus 835 holds at least one CLP
