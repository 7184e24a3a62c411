"""Readers never crash on odd input: mangled HL7 and FHIR are read, every charge line accounted for."""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.ehr.config import EhrConfig, demo_defaults
from connectors.ehr.fhir_r4 import FhirReader
from connectors.ehr.hl7_dft import Hl7DftReader
from connectors.payers import registered_payers
from revcycle.synth import generate_charge_rows
from revcycle.synth_fhir import fhir_resources
from revcycle.synth_hl7 import dft_messages

AS_OF = date(2024, 3, 11)


@cache
def _rows() -> list[dict[str, str]]:
    return list(generate_charge_rows(list(registered_payers().values()), encounters=4, seed=8, as_of=AS_OF))


@cache
def _hl7_text() -> str:
    messages = dft_messages(_rows(), sent=datetime(2024, 3, 11, 20))
    return "\r".join("\r".join(m) for m in messages) + "\r"


@cache
def _config() -> EhrConfig:
    return demo_defaults()


def _read(reader: Hl7DftReader | FhirReader, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"odd{suffix}"
        path.write_bytes(data)
        out = reader.read(path, _config())
        assert out.accounted == out.units_in
        assert all(r["charge_id"] for r in out.rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 40)), max_size=4),
    inserts=st.lists(
        st.tuples(st.integers(0, 4000), st.sampled_from(["|", "^", "~", "\\", "&", "\r", "\n", "MSH|", "\x00", "é"])),
        max_size=6,
    ),
)
def test_mangled_hl7_is_read_without_crashing(cuts: list[tuple[int, int]], inserts: list[tuple[int, str]]) -> None:
    text = _hl7_text()
    for start, length in cuts:
        start %= max(len(text), 1)
        text = text[:start] + text[start + length :]
    for position, piece in inserts:
        position %= max(len(text), 1)
        text = text[:position] + piece + text[position:]
    _read(Hl7DftReader(), text.encode("utf-8"), ".hl7")


_ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.just({})
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.integers(0, 10_000), st.text(min_size=1, max_size=12), _ODD_VALUES), max_size=5))
def test_mangled_fhir_is_read_without_crashing(changes: list[tuple[int, str, object]]) -> None:
    resources, _ids = fhir_resources(_rows(), created=AS_OF)
    for index, key, value in changes:
        resource = resources[index % len(resources)]
        target = key if key in resource or index % 2 else sorted(resource)[index % len(resource)]
        resource[target] = value
    lines = "".join(json.dumps(r) + "\n" for r in resources)
    _read(FhirReader(), lines.encode(), ".ndjson")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    _read(FhirReader(), json.dumps(bundle).encode(), ".json")
