"""The content digest of a claim version (revcycle.claim_versions.claim_digest).

Two builds of the same charges digest the same; any change a payer reads (an amount, a code, a modifier,
units, a diagnosis, the payer's routing ids) digests differently; how it is sent (CLM05-3, REF*F8) does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from enum import Enum

from test_claims import PAYERS, _payer, _row

from revcycle.claim_versions import claim_digest
from revcycle.claims import build_claims
from revcycle.domain import Claim, ClaimAdjustment, OtherPayer, Provider


def _claim(**overrides: str) -> Claim:
    built = build_claims([_row("C1", **overrides), _row("C2", procedure_code="36415", charge_amount="12.00")], PAYERS)
    assert built.held == [] and len(built.claims) == 1
    return built.claims[0]


def test_the_same_charges_digest_the_same_and_the_digest_is_a_sha256_hex() -> None:
    payer = PAYERS["PAYR1"]
    first, second = claim_digest(_claim(), payer), claim_digest(_claim(), payer)
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    # 135.00 and 135 are one amount
    assert claim_digest(_claim(charge_amount="135"), payer) == first


def test_every_change_the_payer_reads_changes_the_digest() -> None:
    payer = PAYERS["PAYR1"]
    base = claim_digest(_claim(), payer)
    changed = [
        _claim(charge_amount="140.00"),
        _claim(procedure_code="99214"),
        _claim(modifier1="25"),
        _claim(units="2"),
        _claim(diagnosis1="E119"),
    ]
    digests = {claim_digest(c, payer) for c in changed}
    assert base not in digests and len(digests) == len(changed)
    # a fixed payer configuration (another ISA08 receiver id) is a different claim as written
    assert claim_digest(_claim(), _payer("PAYR1", interchange_receiver_id="NEWRECEIVER")) != base


def test_frequency_code_and_ref_f8_are_not_content() -> None:
    payer = PAYERS["PAYR1"]
    original = _claim()
    replacement = replace(original, frequency_code="7", original_claim_number="PCN123")
    assert claim_digest(replacement, payer) == claim_digest(original, payer)


def _spec_form(value: object) -> object:
    """The canonical form the module docstring describes, derived through ``dataclasses.asdict`` (not the
    module's own walk): every field at every depth but CLM05-3, REF*F8, ``extra`` and the absent (None) ones;
    amounts normalised (100 and 100.00 are one amount), enums as their X12 values, dates as ISO text, tuples as
    lists."""
    if isinstance(value, dict):
        return {
            k: _spec_form(v)
            for k, v in value.items()
            if k not in {"frequency_code", "original_claim_number", "extra"} and v is not None
        }
    if isinstance(value, (list, tuple)):
        return [_spec_form(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def test_the_digest_is_the_sha256_of_the_canonical_json_of_every_nested_field() -> None:
    # Digests are stored and compared across nights: the form must not drift when the walk is made faster.
    payer = PAYERS["PAYR1"]
    base = _claim()
    other = Provider(npi="1234567893", last_or_org_name="RENDERER", first_name="ANA", taxonomy_code="207Q00000X")
    cob = OtherPayer(
        payer_id="PAYR2",
        payer_name="SECOND PAYER",
        filing_indicator="CI",
        member_id="M9",
        subscriber=base.subscriber,
        relationship="18",
        paid=Decimal("12.50"),
        adjustments=(ClaimAdjustment("CO", "45", Decimal("10.00")),),
        adjudication_date=date(2026, 3, 1),
    )
    rich = replace(
        base,
        rendering_provider=other,
        other_payers=(cob,),
        payer_responsibility="S",
        extra={"note": "not content"},
        frequency_code="7",
        original_claim_number="PCN9",
    )
    for claim in (base, rich):
        document = {
            "routing": [payer.payer_id, payer.interchange_receiver_id, payer.group_receiver_code],
            "claim": _spec_form(dataclasses.asdict(claim)),
        }
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        assert claim_digest(claim, payer) == hashlib.sha256(text.encode()).hexdigest()
    assert claim_digest(rich, payer) != claim_digest(base, payer)


def test_an_absent_optional_field_is_not_in_the_digest_so_adding_one_later_keeps_stored_digests() -> None:
    # A field added to Claim later with a default of None (admitting_diagnosis was) must not change the digest
    # of versions already stored: a rebuild of unchanged charges has to match the version it sent.
    payer = PAYERS["PAYR1"]
    base = _claim()
    assert base.admitting_diagnosis is None and base.rendering_provider is None
    document = {
        "routing": [payer.payer_id, payer.interchange_receiver_id, payer.group_receiver_code],
        "claim": _spec_form(dataclasses.asdict(base)),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    assert "admitting_diagnosis" not in text and "null" not in text
    assert claim_digest(base, payer) == hashlib.sha256(text.encode()).hexdigest()
