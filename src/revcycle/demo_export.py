"""The demo's synthetic EHR export, in the format the practice's EHR would send (``revcycle demo --ehr-format``).

The same seed gives the same encounters whichever format they are written in: our CSV contract, an FHS/BHS batch
of HL7 v2 DFT^P03 messages, or a FHIR R4 collection Bundle; ``mixed`` deals the encounters in turn to the three
(one file each). For an HL7 or FHIR feed the practice's ``ehr.toml`` and chargemaster (what a feed never
carries: billing NPI, tax id, address; the plan crosswalk) are written into the workdir, where the nightly flow
finds them. With a defect rate, each format gets the CSV's content defects it can carry and its own
(``revcycle.synth_ehr.plant_ehr_defects``); the ground truth, by the charge ids the warehouse will hold, goes to
``defects.csv`` beside the exports folder. Every file is created 0600.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from revcycle.filemodes import private_file
from revcycle.payers import PayerProfile
from revcycle.synth import InjectedDefect, generate_charge_rows, inject_defects, write_charge_export, write_defects
from revcycle.synth_ehr import chargemaster_csv, encounters, plant_ehr_defects, practice_config_toml
from revcycle.synth_fhir import write_fhir
from revcycle.synth_hl7 import write_dft_file

EHR_FORMATS: tuple[str, ...] = ("csv", "hl7", "fhir", "mixed")
FEED_FORMATS: tuple[str, ...] = ("csv", "hl7", "fhir")
SUFFIXES = {"csv": ".csv", "hl7": ".hl7", "fhir": ".json"}
CONFIG_FILE = "ehr.toml"
CHARGEMASTER_FILE = "chargemaster.csv"
DEFECTS_FILE = "defects.csv"


@dataclass
class DemoExport:
    """What was written: export files (format, path, charge lines), and the ground truth of planted defects."""

    files: list[tuple[str, Path, int]] = field(default_factory=list)
    defects: list[InjectedDefect] = field(default_factory=list)
    config_file: Path | None = None

    @property
    def lines(self) -> int:
        """Charge lines written over all files."""
        return sum(count for _format, _path, count in self.files)


def split_encounters(rows: Sequence[Mapping[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Deal whole encounters in turn to CSV, HL7 and FHIR (the ``mixed`` demo)."""
    parts: dict[str, list[dict[str, str]]] = {name: [] for name in FEED_FORMATS}
    for number, group in enumerate(encounters(rows)):
        parts[FEED_FORMATS[number % len(FEED_FORMATS)]].extend(dict(row) for row in group)
    return parts


def _write_one(
    feed_format: str,
    rows: Sequence[Mapping[str, str]],
    path: Path,
    *,
    seed: int,
    defect_rate: float,
    payers: Mapping[str, PayerProfile],
    as_of: date,
    sent: datetime,
) -> tuple[int, list[InjectedDefect]]:
    """Write one export file (defects planted first); returns its charge lines and ground truth."""
    private_file(path)
    if feed_format == "csv":
        written: list[dict[str, str]] = [dict(r) for r in rows]
        truth: list[InjectedDefect] = []
        if defect_rate > 0:
            written, truth = inject_defects(rows, defect_rate, seed, payers=payers, as_of=as_of)
        return write_charge_export(written, path), truth
    planted = plant_ehr_defects(rows, feed_format, defect_rate, seed, payers=payers, as_of=as_of)
    if feed_format == "hl7":
        write_dft_file(planted.rows, path, sent=sent, format_defects=planted.format_defects)
        return len(planted.rows), planted.ground_truth
    ids = write_fhir(planted.rows, path, created=as_of, ndjson=False, format_defects=planted.format_defects)
    return len(planted.rows), [InjectedDefect(ids[d.charge_id], d.defect) for d in planted.ground_truth]


def write_demo_export(
    *,
    ehr_format: str,
    workdir: Path,
    export_dir: Path,
    encounters_count: int,
    seed: int,
    defect_rate: float,
    payers: Mapping[str, PayerProfile],
    as_of: date,
    sent: datetime,
    institutional_share: float = 0.0,
) -> DemoExport:
    """Write the demo's synthetic export(s) in ``ehr_format`` into ``export_dir`` (see the module docstring).

    ``institutional_share`` of the visits (to payers taking 837I) are hospital bills, in a CSV export only: the
    HL7 and FHIR feeds carry professional charges.
    """
    if ehr_format not in EHR_FORMATS:
        raise ValueError(f"unknown EHR format {ehr_format!r} (one of {', '.join(EHR_FORMATS)})")
    share = institutional_share if ehr_format == "csv" else 0.0
    rows = list(
        generate_charge_rows(
            list(payers.values()), encounters=encounters_count, seed=seed, as_of=as_of, institutional_share=share
        )
    )
    stem = f"charges_seed{seed}_{encounters_count}"
    parts = split_encounters(rows) if ehr_format == "mixed" else {ehr_format: [dict(r) for r in rows]}
    result = DemoExport()
    if ehr_format != "csv":
        private_file(workdir / CHARGEMASTER_FILE).write_text(chargemaster_csv(), encoding="utf-8")
        result.config_file = private_file(workdir / CONFIG_FILE)
        result.config_file.write_text(practice_config_toml(rows, CHARGEMASTER_FILE), encoding="utf-8")
    for feed_format, part in parts.items():
        if not part:
            continue
        name = stem if ehr_format != "mixed" else f"{stem}_{feed_format}"
        path = export_dir / f"{name}{SUFFIXES[feed_format]}"
        lines, truth = _write_one(
            feed_format, part, path, seed=seed, defect_rate=defect_rate, payers=payers, as_of=as_of, sent=sent
        )
        result.files.append((feed_format, path, lines))
        result.defects.extend(truth)
    if defect_rate > 0:
        # Beside the exports folder, not in it: every file in exports/ with an export extension is read.
        write_defects(result.defects, private_file(workdir / DEFECTS_FILE))
    return result
