"""Per-practice EHR feed configuration: what a DFT never carries, the plan crosswalk, and the chargemaster.

One TOML file (``ehr.toml``; format in docs/ehr-feeds.md)::

    chargemaster = "chargemaster.csv"   # optional, relative to this file: code,procedure_code,modifiers
    default_facility = "PFM"            # optional: used when a message names no configured facility

    [facilities.PFM]                    # key: HL7 PV1-3.4 (else MSH-4.1); FHIR: an Organization identifier
    billing_npi = "1234567893"
    billing_tax_id = "123456789"
    billing_name = "PRAIRIE FAMILY MEDICINE"
    billing_address1 = "1001 Clinic Way"
    billing_city = "Springfield"
    billing_state = "IL"
    billing_zip = "627011234"
    place_of_service = "11"             # optional (default 11); FHIR Claim.item.location overrides it
    claim_type = "professional"         # optional

    [[plans]]                           # the crosswalk from the EHR's plan ids to the payer files' ids
    ehr_plan_id = "PLN-MCRPB"           # HL7 IN1-2.1; FHIR: an identifier value of Coverage.payor
    ehr_company_id = ""                 # optional HL7 IN1-3.1: when given it must match too
    payer_id = "MCRPB"                  # a registered payer connector (connectors/payers/)
    claim_filing_indicator = "MB"       # SBR09

``load_ehr_config`` finds it: the path given, else ``$REVCYCLE_EHR_CONFIG``, else ``<workdir>/ehr.toml``, else the
embedded demo defaults (the synthetic EHR's plans and chargemaster, one demo facility).
"""

from __future__ import annotations

import csv
import io
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revcycle.errors import ConfigurationError

CONFIG_FILE_NAME = "ehr.toml"
CONFIG_ENVIRONMENT_VARIABLE = "REVCYCLE_EHR_CONFIG"
FACILITY_FIELDS: tuple[str, ...] = (
    "billing_npi",
    "billing_tax_id",
    "billing_name",
    "billing_address1",
    "billing_city",
    "billing_state",
    "billing_zip",
)


@dataclass(frozen=True)
class Facility:
    """A billing facility: the contract's billing columns, and the defaults of its claims."""

    key: str
    billing: Mapping[str, str]
    place_of_service: str = "11"
    claim_type: str = "professional"


@dataclass(frozen=True)
class PlanMapping:
    """One crosswalk entry: an EHR plan (and optionally its insurance company) to a payer connector."""

    ehr_plan_id: str
    payer_id: str
    claim_filing_indicator: str
    ehr_company_id: str = ""


@dataclass(frozen=True)
class ChargemasterEntry:
    """A chargemaster line: the practice's charge code and the CPT/HCPCS code (and modifiers) it bills as."""

    code: str
    procedure_code: str
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class EhrConfig:
    """Everything the readers need beyond the feed itself."""

    facilities: Mapping[str, Facility] = field(default_factory=dict)
    plans: tuple[PlanMapping, ...] = ()
    chargemaster: Mapping[str, ChargemasterEntry] = field(default_factory=dict)
    default_facility: str | None = None
    origin: str = "embedded demo defaults"

    def facility(self, *keys: str) -> Facility | None:
        """The first configured facility among ``keys`` (empty keys skipped), else the default facility."""
        for key in keys:
            if key and key in self.facilities:
                return self.facilities[key]
        if self.default_facility:
            return self.facilities.get(self.default_facility)
        return None

    def facility_by_npi(self, npi: str) -> Facility | None:
        """The facility whose billing NPI is ``npi``."""
        for facility in self.facilities.values():
            if npi and facility.billing.get("billing_npi") == npi:
                return facility
        return None

    def plan(self, plan_ids: list[str], company_ids: list[str] | None = None) -> PlanMapping | None:
        """The crosswalk entry for the first of ``plan_ids`` that maps.

        ``company_ids`` (HL7 IN1-3) must hold the entry's ``ehr_company_id`` when both are given; FHIR has no
        company id apart from the payor, so it passes None.
        """
        for plan_id in plan_ids:
            for entry in self.plans:
                if entry.ehr_plan_id != plan_id or not plan_id:
                    continue
                if company_ids is not None and entry.ehr_company_id and entry.ehr_company_id not in company_ids:
                    continue
                return entry
        return None


def parse_chargemaster(text: str, origin: str) -> dict[str, ChargemasterEntry]:
    """Parse a chargemaster CSV (``code,procedure_code,modifiers``; modifiers ``:``-separated, optional)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"code", "procedure_code"} - set(reader.fieldnames or ())
    if missing:
        raise ConfigurationError(f"chargemaster {origin} lacks the column(s) {', '.join(sorted(missing))}")
    entries: dict[str, ChargemasterEntry] = {}
    for number, line in enumerate(reader, start=2):
        code = (line.get("code") or "").strip()
        procedure = (line.get("procedure_code") or "").strip().upper()
        if not code or not procedure:
            raise ConfigurationError(f"chargemaster {origin} line {number}: code and procedure_code are required")
        if code in entries:
            raise ConfigurationError(f"chargemaster {origin} line {number}: code {code} appears twice")
        modifiers = tuple(m.strip().upper() for m in (line.get("modifiers") or "").split(":") if m.strip())
        entries[code] = ChargemasterEntry(code, procedure, modifiers[:4])
    return entries


def _text(table: Mapping[str, Any], name: str, where: str, *, required: bool = True, default: str = "") -> str:
    value = table.get(name, default)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ConfigurationError(f"{where}: {name} must be text")
    text = str(value).strip()
    if required and not text:
        raise ConfigurationError(f"{where}: {name} is required")
    return text


def parse_ehr_config(text: str, origin: str, base_dir: Path | None = None) -> EhrConfig:
    """Parse ``ehr.toml`` text; ``base_dir`` resolves a relative chargemaster path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise ConfigurationError(f"{origin} is not valid TOML: {problem}") from None
    facilities: dict[str, Facility] = {}
    for key, table in (data.get("facilities") or {}).items():
        where = f"{origin} [facilities.{key}]"
        if not isinstance(table, dict):
            raise ConfigurationError(f"{where} must be a table")
        billing = {name: _text(table, name, where) for name in FACILITY_FIELDS}
        facilities[str(key)] = Facility(
            key=str(key),
            billing=billing,
            place_of_service=_text(table, "place_of_service", where, default="11"),
            claim_type=_text(table, "claim_type", where, default="professional"),
        )
    plans: list[PlanMapping] = []
    for number, table in enumerate(data.get("plans") or [], start=1):
        where = f"{origin} [[plans]] entry {number}"
        if not isinstance(table, dict):
            raise ConfigurationError(f"{where} must be a table")
        plans.append(
            PlanMapping(
                ehr_plan_id=_text(table, "ehr_plan_id", where),
                payer_id=_text(table, "payer_id", where),
                claim_filing_indicator=_text(table, "claim_filing_indicator", where),
                ehr_company_id=_text(table, "ehr_company_id", where, required=False),
            )
        )
    default_facility = data.get("default_facility") or None
    if default_facility is not None and default_facility not in facilities:
        raise ConfigurationError(f"{origin}: default_facility {default_facility} is not a configured facility")
    chargemaster: dict[str, ChargemasterEntry] = {}
    inline = data.get("chargemaster_csv")
    if isinstance(inline, str):
        chargemaster = parse_chargemaster(inline, f"{origin} chargemaster_csv")
    elif data.get("chargemaster"):
        path = Path(str(data["chargemaster"]))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            chargemaster = parse_chargemaster(path.read_text(encoding="utf-8-sig"), path.name)
        except OSError:
            raise ConfigurationError(f"{origin}: cannot read the chargemaster file {path.name}") from None
    return EhrConfig(facilities, tuple(plans), chargemaster, default_facility, origin)


def _demo_defaults_text() -> str:
    from connectors.ehr.demo_defaults import DEMO_CONFIG_TOML

    return DEMO_CONFIG_TOML


def demo_defaults() -> EhrConfig:
    """The embedded demo configuration: the synthetic EHR's plans and chargemaster, one demo facility."""
    return parse_ehr_config(_demo_defaults_text(), "embedded demo defaults")


def load_ehr_config(path: Path | None = None, *, workdir: Path | None = None) -> EhrConfig:
    """The configuration in force: ``path``, else ``$REVCYCLE_EHR_CONFIG``, else ``<workdir>/ehr.toml``, else demo."""
    candidate = path
    if candidate is None and os.environ.get(CONFIG_ENVIRONMENT_VARIABLE):
        candidate = Path(os.environ[CONFIG_ENVIRONMENT_VARIABLE])
    if candidate is None and workdir is not None and (workdir / CONFIG_FILE_NAME).is_file():
        candidate = workdir / CONFIG_FILE_NAME
    if candidate is None:
        return demo_defaults()
    try:
        text = candidate.read_text(encoding="utf-8")
    except OSError:
        raise ConfigurationError(f"cannot read the EHR feed configuration {candidate.name}") from None
    return parse_ehr_config(text, candidate.name, candidate.parent)
