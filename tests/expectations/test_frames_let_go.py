"""A validated frame is let go when the validation is over (issue 15: the night's peak memory).

GX keeps the last context it made as the process's project context, with its data sources and the frames
their batches were given: the export's values would stay in memory under the claims built after the gate.
"""

from __future__ import annotations

import gc
import weakref

import great_expectations as gx
import pandas as pd
import pyarrow as pa

from expectations.frames import run_gx
from expectations.runner import validate_charges
from tests.expectations.test_charges_suite import CLEAN_ROW, TODAY, charges_frame

ROWS = 4000


def _arrow_bytes_after_collection() -> int:
    gc.collect()
    return int(pa.total_allocated_bytes())


def test_the_charges_gate_keeps_no_arrow_data_of_the_export_after_validating() -> None:
    # each line its own charge and patient: no duplicate-line rule fires, every row passes
    frame = charges_frame(CLEAN_ROW | {"charge_id": f"CHG-{n:05d}", "patient_mrn": f"MRN{n:05d}"} for n in range(ROWS))
    before = _arrow_bytes_after_collection()  # the frame given holds its own text
    result = validate_charges(frame, today=TODAY)
    assert not result.rejected_rows
    retained = _arrow_bytes_after_collection() - before
    # The prepared frame the gate validates holds every column again as Arrow text: 104 int64 offsets a row
    # (832 bytes) plus the values, so 4,000 rows held would be over 3 MB. Kept: what GX keeps of a result.
    assert retained < 500_000, f"{retained:,} bytes of Arrow data kept after the gate"


def test_a_frame_given_to_gx_is_not_kept_by_its_context() -> None:
    frame = pd.DataFrame({"charge_id": [f"CHG-{n}" for n in range(50)], "units": range(50)})
    suite = gx.ExpectationSuite(
        name="let-go",
        expectations=[gx.expectations.ExpectColumnValuesToNotBeNull(column="units", meta={"rule": "units"})],
    )
    held = weakref.ref(frame)
    result = run_gx(frame, suite, ["charge_id"])
    assert result.success
    del frame
    gc.collect()
    still_held = held() is not None
    assert not still_held, "the GX context still holds the validated frame"
