"""A GX batch over a pandas frame that lets the frame go when the validation is over.

``gx.get_context()`` keeps the context it made as the process's project context until the next call, and with
it every data source added and the frame each batch was given. Left there, the last frame validated (an
export's values: PHI, and about 1.1 KB a charge line as Arrow text) would stay in memory for the rest of the
run, under the claims built after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig


@contextmanager
def frame_batch(source: str, asset: str, frame: pd.DataFrame) -> Iterator[Any]:
    """A batch of the whole ``frame`` in an ephemeral context; its data source is removed when the block ends."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    data_asset = context.data_sources.add_pandas(source).add_dataframe_asset(asset)
    try:
        yield data_asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    finally:
        context.data_sources.delete(source)
