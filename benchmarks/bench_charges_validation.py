"""Validate 1,000,000 charge lines with the full charges suite (every rule, payer rules included).

The export is a synthetic block of 20,000 lines repeated with fresh charge ids and MRNs (generating a
million lines row by row would take longer than validating them), with 3 % defects planted in the block.
Measured on the 2-core machine: 60.6 s and 2.2 GB peak before the suite was reworked for speed (117
expectations, many copying rows of the whole frame), about 7 s and 1.5 GB after (54 expectations, the same
116 rule-column checks and the same rejections).
"""

from __future__ import annotations

import os
from datetime import date

import numpy as np
import pandas as pd

from benchmarks import Measurement, peak_rss_mb, timed

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

AS_OF = date(2026, 11, 2)
BLOCK_LINES = 20_000
FULL_LINES = 1_000_000


def _export(lines: int) -> pd.DataFrame:
    from connectors.payers import registered_payers
    from revcycle.charge_export import COLUMN_NAMES
    from revcycle.synth import generate_charge_rows, inject_defects

    payers = registered_payers()
    block: list[dict[str, str]] = []
    encounters = 0
    while len(block) < min(lines, BLOCK_LINES):
        encounters += 2_000
        block = list(generate_charge_rows(list(payers.values()), encounters=encounters, seed=1, as_of=AS_OF))
    block, _ = inject_defects(block[: min(lines, BLOCK_LINES)], 0.03, 1, payers=payers, as_of=AS_OF)
    base = pd.DataFrame(block, columns=list(COLUMN_NAMES), dtype="str")
    copies = -(-lines // len(base))
    frame = pd.concat([base] * copies, ignore_index=True).iloc[:lines].copy()
    copy_number = pd.Series(np.repeat(np.arange(copies), len(base))[:lines].astype(str), dtype="str")
    frame["charge_id"] = frame["charge_id"].str.cat(copy_number, sep="-K")
    frame["patient_mrn"] = frame["patient_mrn"].str.cat(copy_number, sep="-K")
    frame["encounter_id"] = frame["encounter_id"].str.cat(copy_number, sep="-K")
    return frame


def run(scale: float) -> list[Measurement]:
    """Validate ``scale`` x 1M lines; report wall time, rate and peak memory."""
    from connectors.payers import registered_payers
    from expectations.charges import build_charges_suite
    from expectations.gate import payer_charge_rules
    from expectations.runner import validate_charges

    lines = max(1_000, int(FULL_LINES * scale))
    frame = _export(lines)
    rules = payer_charge_rules(registered_payers())
    validate_charges(frame.iloc[:1_000], today=AS_OF, payer_rules=rules)  # warm up imports and registries
    validation, seconds = timed(lambda: validate_charges(frame, today=AS_OF, payer_rules=rules))
    expectations = len(build_charges_suite(rules, today=AS_OF).expectations)
    return [
        Measurement(
            name="charges_validation",
            seconds=seconds,
            work=lines,
            unit="rows",
            peak_rss_mb=peak_rss_mb(),
            notes={
                "expectations": str(expectations),
                # Rules per column: a rule over several columns is one expectation but reports per column.
                "rule_columns": str(len(validation.summary)),
                "rejected_rows": str(len(validation.rejected_rows)),
                "string_dtype": str(frame["charge_id"].dtype),
            },
        )
    ]
