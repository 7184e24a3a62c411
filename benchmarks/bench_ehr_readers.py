"""EHR feed readers: 100,000 HL7 DFT^P03 messages and 100,000 FHIR resources into charge contract rows.

The synthetic EHR writes an FHS/BHS batch file of DFT^P03 messages (one per encounter) and a bulk-data NDJSON
file; each is read end to end (file -> messages/resources -> contract rows, with R4B validation for FHIR) by
``read_export`` in a fresh interpreter, so the peak RSS is the reader's (VmHWM: ru_maxrss would carry over the
parent's peak across fork and exec). CPU time is reported beside wall time
(the machine may be shared): the per-core rate is work / CPU seconds. A cProfile run over a slice of the DFT file
says how much of the HL7 reader's time is python-hl7's own parsing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

from benchmarks import Measurement
from revcycle.synth import generate_charge_rows
from revcycle.synth_ehr import chargemaster_csv, practice_config_toml
from revcycle.synth_fhir import write_fhir
from revcycle.synth_hl7 import write_dft_file

DFT_MESSAGES = 100_000
FHIR_RESOURCES = 100_000
PROFILE_MESSAGES = 5_000
AS_OF = date(2024, 3, 11)

_READ = """
import json, sys, time
from pathlib import Path
from connectors.ehr.config import load_ehr_config
from connectors.ehr.registry import read_export
path, config = Path(sys.argv[1]), load_ehr_config(Path(sys.argv[2]))
started, cpu = time.perf_counter(), time.process_time()
out = read_export(path, config)
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                  "rows": len(out.rows), "held": len(out.held), "units": out.units_in,
                  "rss": next(int(line.split()[1]) for line in open("/proc/self/status")
                              if line.startswith("VmHWM")) / 1024}))
"""

_PROFILE = """
import cProfile, json, pstats, sys
from pathlib import Path
from connectors.ehr.config import load_ehr_config
from connectors.ehr.registry import read_export
path, config = Path(sys.argv[1]), load_ehr_config(Path(sys.argv[2]))
profile = cProfile.Profile()
profile.enable()
read_export(path, config)
profile.disable()
stats = pstats.Stats(profile).stats
total = sum(entry[2] for entry in stats.values())
library = sum(entry[2] for key, entry in stats.items() if "/hl7/" in key[0])
print(json.dumps({"library_share": library / total if total else 0.0}))
"""


def _python(code: str, *args: str) -> dict[str, float]:
    env = dict(os.environ, DO_NOT_TRACK="1")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _rows(encounters: int, seed: int) -> list[dict[str, str]]:
    from connectors.payers import registered_payers

    return list(generate_charge_rows(list(registered_payers().values()), encounters=encounters, seed=seed, as_of=AS_OF))


def _config(folder: Path, rows: list[dict[str, str]]) -> Path:
    (folder / "chargemaster.csv").write_text(chargemaster_csv(), encoding="utf-8")
    path = folder / "ehr.toml"
    path.write_text(practice_config_toml(rows), encoding="utf-8")
    return path


def _measure(name: str, path: Path, config: Path, work: int, unit: str, extra: dict[str, str]) -> Measurement:
    figures = _python(_READ, str(path), str(config))
    notes = {
        "cpu_seconds": f"{figures['cpu']:.2f}",
        f"{unit}_per_cpu_second": f"{work / figures['cpu']:.0f}" if figures["cpu"] else "",
        "rows": f"{figures['rows']:.0f}",
        "held": f"{figures['held']:.0f}",
        "file_mb": f"{path.stat().st_size / 2**20:.1f}",
        **extra,
    }
    assert figures["rows"] + figures["held"] == figures["units"], "the reader dropped charges"
    return Measurement(name, figures["seconds"], work, unit, figures["rss"], notes)


def run(scale: float) -> list[Measurement]:
    """Read the DFT batch file and the FHIR NDJSON file; profile the HL7 reader's library share."""
    messages = max(100, int(DFT_MESSAGES * scale))
    resources_wanted = max(100, int(FHIR_RESOURCES * scale))
    with tempfile.TemporaryDirectory(prefix="bench-ehr-") as temporary:
        folder = Path(temporary)
        rows = _rows(messages, seed=101)
        config = _config(folder, rows)
        dft = folder / "dft_batch.hl7"
        written = write_dft_file(rows, dft, sent=datetime(2024, 3, 11, 21, 0))
        assert written == messages
        sample = folder / "dft_profile.hl7"
        # Encounter ids end in -E<number>: the first PROFILE_MESSAGES encounters are the first messages.
        first = [r for r in rows if int(r["encounter_id"].rsplit("-E", 1)[1]) <= PROFILE_MESSAGES]
        write_dft_file(first, sample, sent=datetime(2024, 3, 11, 21, 0))
        share = _python(_PROFILE, str(sample), str(config))["library_share"]
        hl7 = _measure(
            f"EHR HL7 DFT^P03 {messages:,} messages",
            dft,
            config,
            messages,
            "messages",
            {"charge_lines": str(len(rows)), "python_hl7_share_of_time": f"{share:.0%}"},
        )
        del rows
        # About five resources per encounter (Patient, Coverage, Encounter, Claim, sometimes RelatedPerson).
        encounters = resources_wanted // 4
        fhir_rows = _rows(encounters, seed=202)
        ndjson = folder / "bulk.ndjson"
        write_fhir(fhir_rows, ndjson, created=AS_OF, ndjson=True)
        with ndjson.open("rb") as handle:
            resources = sum(1 for _ in handle)
        fhir_config = _config(folder, fhir_rows)
        fhir = _measure(
            f"EHR FHIR NDJSON {resources:,} resources",
            ndjson,
            fhir_config,
            resources,
            "resources",
            {"charge_lines": str(len(fhir_rows)), "encounters": str(encounters)},
        )
    return [hl7, fhir]
