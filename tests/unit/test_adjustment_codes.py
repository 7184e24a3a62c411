"""The denial category table and the code descriptions: keyed on the CAS group, and covering every code the
sandbox payer and the public X12 corpus use."""

from __future__ import annotations

import re

from corpus import corpus_dir

from revcycle.codes.adjustments import (
    CARC_DESCRIPTIONS,
    CATEGORY_TABLE,
    RARC_DESCRIPTIONS,
    Category,
    DenialKind,
    meaning,
)
from revcycle.codes.claim_status import CATEGORY_DESCRIPTIONS, STATUS_DESCRIPTIONS
from revcycle.sandbox import adjudication, frontend
from revcycle.sandbox.profiles import BEHAVIOURS
from revcycle.x12.x277ca import read_277ca
from revcycle.x12.x835 import read_835

# Codes the sandbox payer writes outside its rolled denial mixes: contractual and patient shares, the prior
# payer's impact on a secondary (OA-23), and the crossover remarks it sends or a real payer may (N89, MA07).
SANDBOX_FIXED_CAS = {("CO", "45"), ("OA", "23"), ("PR", "1"), ("PR", "2"), ("PR", "3")}
SANDBOX_FIXED_RARC = {adjudication.CROSSED_OVER, adjudication.CROSSOVER_FAILED, "N89", "MA07"}
# Values in the corpus samples that are not codes of the published lists (a sample's placeholder): no
# description is invented for them.
NOT_PUBLISHED = {"X999", "X9"}
# A published RARC whose meaning could not be checked offline: shown with a pointer to the CMS list rather
# than a guessed description.
NOT_VERIFIED = {"M68", "N220"}
# Claim status codes the sandbox sends whose published wording could not be checked offline: shown with a pointer
# to the X12 list (``status_description``) rather than a guessed description.
STATUS_NOT_VERIFIED = {"171", "479", "495", "672", "686"}


def test_the_group_decides_the_category() -> None:
    assert meaning("CO", "50").category is Category.DENIAL
    assert meaning("CO", "50").denial_kind is DenialKind.MEDICAL_NECESSITY
    assert meaning("PR", "50").category is Category.PATIENT_RESPONSIBILITY  # a signed ABN
    assert meaning("OA", "23").category is Category.OTHER  # the prior payer's share: not a denial
    assert meaning("CO", "45").category is Category.CONTRACTUAL
    assert meaning("CO", "253").category is Category.CONTRACTUAL  # sequestration
    assert {meaning("PR", code).category for code in ("1", "2", "3")} == {Category.PATIENT_RESPONSIBILITY}
    assert {meaning("CO", c).denial_kind for c in ("22", "109")} == {DenialKind.COORDINATION_OF_BENEFITS}
    assert meaning("CO", "16").denial_kind is DenialKind.MISSING_INFORMATION
    # A CO code missing from the table is a denial to classify, so it shows up instead of hiding as a write-off.
    unknown = meaning("CO", "999")
    assert (unknown.category, unknown.denial_kind, unknown.listed) == (Category.DENIAL, DenialKind.UNCLASSIFIED, False)
    assert meaning("PR", "999").category is Category.PATIENT_RESPONSIBILITY


def test_every_denial_has_a_sub_category_and_every_listed_code_a_description() -> None:
    for (group, reason), (category, kind) in CATEGORY_TABLE.items():
        assert (kind is not None) == (category is Category.DENIAL), f"{group}-{reason}"
        assert reason in CARC_DESCRIPTIONS, f"{group}-{reason}"


def _sandbox_codes() -> tuple[set[tuple[str, str]], set[str]]:
    cas = set(SANDBOX_FIXED_CAS)
    remarks = set(SANDBOX_FIXED_RARC)
    rule_based = (adjudication.DUPLICATE, adjudication.TIMELY_FILING)  # CO-18 and CO-29 follow from the claim
    rolled = [(d.carc, d.rarc) for behaviour in BEHAVIOURS.values() for d in behaviour.denials]
    for reason, remark in (*rule_based, *rolled):
        cas.add(("CO", reason))
        if remark:
            remarks.add(remark)
    return cas, remarks


def _corpus_codes() -> tuple[set[tuple[str, str]], set[str]]:
    cas: set[tuple[str, str]] = set()
    remarks: set[str] = set()
    for path in sorted((corpus_dir() / "835").iterdir()):
        for remit in read_835(path).remittances:
            for claim in remit.claims:
                cas |= {(a.group, a.reason) for a in claim.adjustments}
                remarks |= set(claim.remarks)
                for service in claim.services:
                    cas |= {(a.group, a.reason) for a in service.adjustments}
                    remarks |= set(service.remarks)
    return cas, remarks


def test_every_code_of_the_sandbox_and_the_corpus_has_a_category_and_a_description() -> None:
    sandbox_cas, sandbox_remarks = _sandbox_codes()
    corpus_cas, corpus_remarks = _corpus_codes()
    assert len(corpus_cas) > 20 and "N1" in corpus_remarks  # the corpus was read
    for group, reason in sandbox_cas | corpus_cas:
        assert meaning(group, reason).listed or group in ("PR", "CR"), f"{group}-{reason} is not in the table"
        assert reason in CARC_DESCRIPTIONS, f"CARC {reason} has no description"
    for code in (sandbox_remarks | corpus_remarks) - NOT_PUBLISHED - NOT_VERIFIED:
        assert code in RARC_DESCRIPTIONS, f"RARC {code} has no description"


def test_every_277ca_category_of_the_sandbox_and_the_corpus_has_a_description() -> None:
    sandbox_statuses = [
        status
        for behaviour in BEHAVIOURS.values()
        for rejection in behaviour.front_end_rejections
        for status in (rejection.status, rejection.detail)
        if status is not None
    ]
    sandbox_statuses += [value for value in vars(frontend).values() if isinstance(value, frontend.ClaimStatus)]
    categories = {s.category for s in sandbox_statuses}
    statuses = {s.code for s in sandbox_statuses}
    for path in sorted((corpus_dir() / "277ca").iterdir()):
        for ack in read_277ca(path).acks:
            categories |= {status.category for _level, status in ack.level_statuses}
            for claim in ack.claims:
                categories |= {s.category for s in claim.statuses}
    assert {"A1", "A2", "A7"} <= categories
    assert {f"A{n}" for n in range(1, 9)} <= set(CATEGORY_DESCRIPTIONS)
    for category in categories - NOT_PUBLISHED:
        assert category in CATEGORY_DESCRIPTIONS, category
    for status in statuses - STATUS_NOT_VERIFIED:
        assert status in STATUS_DESCRIPTIONS, status
    assert all(re.fullmatch(r"[A-Z]\d", c) for c in CATEGORY_DESCRIPTIONS)
