"""The EHR reader contract: one test class run over every registered reader (DESIGN.md §2, connectors/ehr/).

For each reader, samples from the synthetic EHR in its format:
- are recognised by content, whatever their extension says;
- map to contract rows that pass the charges suite (GX), with nothing held and every row's source named;
- with defects planted (the CSV's content defects the format can carry, and the format's own), every planted
  defect is flagged, held by the reader or rejected by the gate, naming the file and the message or resource,
  and nothing else is (precision and recall 1.0 against the ground truth);
- nothing is dropped: rows plus held charges equal the charge lines written.

A new reader joins by registering (connectors/ehr/registry.py) and adding its synthetic writer to SAMPLE_WRITERS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

import pytest

from connectors.ehr.base import ExportRows
from connectors.ehr.config import EhrConfig, parse_ehr_config
from connectors.ehr.registry import detect_reader, registered_readers
from connectors.payers import registered_payers
from expectations.gate import payer_charge_rules
from expectations.runner import validate_charges
from revcycle.synth import generate_charge_rows, write_charge_export
from revcycle.synth_ehr import chargemaster_csv, plant_ehr_defects, practice_config_toml
from revcycle.synth_fhir import write_fhir
from revcycle.synth_hl7 import write_dft_file

os.environ.setdefault("DO_NOT_TRACK", "1")

SEED = 424242
AS_OF = date(2024, 3, 11)
ENCOUNTERS = 40
DEFECT_RATE = 0.15

# reader name -> writes rows (with format defects) to a file; returns CSV charge id -> the charge id it carries.
Writer = Callable[[Sequence[Mapping[str, str]], Path, Mapping[str, str]], Mapping[str, str]]


def _csv(rows: Sequence[Mapping[str, str]], path: Path, _defects: Mapping[str, str]) -> Mapping[str, str]:
    write_charge_export([dict(r) for r in rows], path)
    return {r["charge_id"]: r["charge_id"] for r in rows}


def _hl7(rows: Sequence[Mapping[str, str]], path: Path, defects: Mapping[str, str]) -> Mapping[str, str]:
    write_dft_file(rows, path, sent=datetime(2024, 3, 11, 21, 0), format_defects=defects)
    return {r["charge_id"]: r["charge_id"] for r in rows}


def _fhir(rows: Sequence[Mapping[str, str]], path: Path, defects: Mapping[str, str]) -> Mapping[str, str]:
    return write_fhir(rows, path, created=AS_OF, ndjson=path.suffix == ".ndjson", format_defects=defects)


@dataclass(frozen=True)
class SampleFormat:
    """How the synthetic EHR writes one reader's format: the writer and the file names it is tried under."""

    writer: Writer
    names: tuple[str, ...]  # the last one has a misleading extension: content must decide


SAMPLE_WRITERS: dict[str, SampleFormat] = {
    "csv": SampleFormat(_csv, ("charges.csv", "charges.DAT")),
    "hl7": SampleFormat(_hl7, ("dft.hl7", "dft.CSV")),
    "fhir": SampleFormat(_fhir, ("bundle.json", "bulk.ndjson", "bulk.TXT")),
}
READERS = sorted(registered_readers())


@cache
def _rows() -> tuple[dict[str, str], ...]:
    payers = list(registered_payers().values())
    return tuple(generate_charge_rows(payers, encounters=ENCOUNTERS, seed=SEED, as_of=AS_OF))


def _config(tmp_path: Path, rows: Sequence[Mapping[str, str]]) -> EhrConfig:
    (tmp_path / "chargemaster.csv").write_text(chargemaster_csv(), encoding="utf-8")
    return parse_ehr_config(practice_config_toml(rows), "ehr.toml", tmp_path)


def _error_ids(out: ExportRows) -> set[str]:
    """The charge ids the charges suite rejects (errors) in the reader's frame."""
    validation = validate_charges(out.frame(), today=AS_OF, payer_rules=payer_charge_rules(registered_payers()))
    return {r.charge_id for r in validation.rejections if r.charge_id is not None}


def test_every_registered_reader_has_a_sample_writer() -> None:
    assert set(READERS) <= set(SAMPLE_WRITERS), "add the new reader's synthetic writer to SAMPLE_WRITERS"
    assert {"csv", "hl7", "fhir"} <= set(READERS)


@pytest.mark.parametrize("name", READERS)
class TestEhrReaderContract:
    """The contract every EHR reader meets."""

    def test_samples_are_recognised_by_content(self, name: str, tmp_path: Path) -> None:
        sample = SAMPLE_WRITERS[name]
        for file_name in sample.names:
            path = tmp_path / file_name
            sample.writer(_rows(), path, {})
            assert detect_reader(path).name == name, f"{file_name} was not recognised as {name}"

    def test_samples_map_to_rows_that_pass_the_charges_suite(self, name: str, tmp_path: Path) -> None:
        rows = _rows()
        config = _config(tmp_path, rows)
        sample = SAMPLE_WRITERS[name]
        path = tmp_path / sample.names[0]
        ids = sample.writer(rows, path, {})
        out = registered_readers()[name].read(path, config)
        assert out.held == [], [h.reason for h in out.held[:3]]
        assert sorted(r["charge_id"] for r in out.rows) == sorted(ids[r["charge_id"]] for r in rows)
        assert out.units_in == len(rows) == out.accounted
        assert all(s.file == path.name and s.position for s in out.sources)
        assert _error_ids(out) == set()

    def test_planted_defects_are_quarantined_with_precision_and_recall_one(self, name: str, tmp_path: Path) -> None:
        clean = _rows()
        planted = plant_ehr_defects(clean, name, DEFECT_RATE, SEED, payers=registered_payers(), as_of=AS_OF)
        assert planted.ground_truth, "no defect planted"
        config = _config(tmp_path, clean)
        sample = SAMPLE_WRITERS[name]
        path = tmp_path / sample.names[-1]
        ids = sample.writer(planted.rows, path, planted.format_defects)
        out = registered_readers()[name].read(path, config)

        # Nothing dropped: every charge line written is a row or a held charge.
        assert out.units_in == len(planted.rows) == out.accounted
        truth = {ids[d.charge_id] for d in planted.ground_truth}
        held = {h.charge_id for h in out.held}
        rejected = _error_ids(out)
        flagged = held | rejected
        assert None not in held, "a held charge without its charge id"
        missed = truth - flagged
        extra = flagged - truth
        assert not missed, f"recall below 1.0: {sorted(missed)[:5]}"
        assert not extra, f"precision below 1.0: {sorted(str(x) for x in extra)[:5]}"
        # Each flagged charge names the file and its message or resource.
        for held_charge in out.held:
            assert held_charge.source.file == path.name and held_charge.source.position
            assert path.name in held_charge.reason
        for charge_id in rejected:
            source = out.source_of(charge_id)
            assert source is not None and source.file == path.name and source.position
        kinds = {d.defect for d in planted.ground_truth}
        assert kinds >= set(_format_kinds(name)), f"not every {name} defect kind was planted: {sorted(kinds)}"


def _format_kinds(name: str) -> tuple[str, ...]:
    from revcycle.synth_ehr import FORMAT_DEFECT_KINDS

    return FORMAT_DEFECT_KINDS.get(name, ())
