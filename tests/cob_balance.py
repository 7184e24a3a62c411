"""COB balancing of a written 837 (secondary and tertiary claims), checked from its segments.

837 TR3 (005010X222A1) 2320 AMT*D and 2430 SVD notes: for each other payer that adjudicated the claim,
CLM02 - its 2320 CAS amounts - the CAS amounts of its 2430 loops = AMT*D (its paid amount), and for each of
its 2430 loops, the line's charge (SV102 on an 837P, SV203 on an 837I) - the 2430 CAS amounts = SVD02. Usable
on any 837P or 837I (issue 10, Done-when 1: "every secondary claim balances to the cent").
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from pyx12_check import split_segments


def _cas_total(segment: list[str]) -> Decimal:
    """The sum of a CAS segment's amounts (CAS03, 06, 09 ...)."""
    return sum((Decimal(segment[i]) for i in range(3, len(segment), 3) if segment[i]), Decimal(0))


def cob_balance_problems(data: bytes) -> list[str]:
    """Every imbalance of the 837's 2320/2430 amounts (claim keys and payer ids only); empty = balanced."""
    problems: list[str] = []
    key = ""
    total = Decimal(0)
    paid: dict[str, Decimal] = {}  # 2320 payer id -> AMT*D
    claim_cas: dict[str, Decimal] = defaultdict(Decimal)
    line_cas: dict[str, Decimal] = defaultdict(Decimal)
    pending_2320: list[tuple[Decimal | None, Decimal]] = []  # (AMT*D, CAS) until its 2330B names the payer
    in_lines = False
    line_charge = Decimal(0)
    svd: tuple[str, Decimal, Decimal] | None = None  # (payer, SVD02, CAS so far)

    def close_svd() -> None:
        nonlocal svd
        if svd is not None:
            payer, svd_paid, adjusted = svd
            line_cas[payer] += adjusted
            if line_charge - adjusted != svd_paid:
                problems.append(f"claim {key}: a 2430 of {payer}: SV102 - CAS != SVD02")
        svd = None

    def close_claim() -> None:
        close_svd()
        for payer, amount in paid.items():
            if total - claim_cas[payer] - line_cas[payer] != amount:
                problems.append(f"claim {key}: 2320 of {payer}: CLM02 - 2320 CAS - 2430 CAS != AMT*D")

    for s in split_segments(data):
        tag = s[0]
        if tag in ("CLM", "HL", "SE"):
            if key:
                close_claim()
            key, paid, in_lines = "", {}, False
            claim_cas, line_cas = defaultdict(Decimal), defaultdict(Decimal)
            if tag == "CLM":
                key, total = s[1], Decimal(s[2])
        elif not key:
            continue
        elif tag == "LX":
            close_svd()
            in_lines = True
        elif not in_lines and tag == "SBR":
            pending_2320.append((None, Decimal(0)))
        elif not in_lines and tag == "CAS" and pending_2320:
            amount, adjusted = pending_2320[-1]
            pending_2320[-1] = (amount, adjusted + _cas_total(s))
        elif not in_lines and s[:2] == ["AMT", "D"] and pending_2320:
            pending_2320[-1] = (Decimal(s[2]), pending_2320[-1][1])
        elif not in_lines and s[:2] == ["NM1", "PR"] and pending_2320:
            amount, adjusted = pending_2320.pop()
            if amount is not None:
                paid[s[9]] = amount
                claim_cas[s[9]] = adjusted
        elif tag == "SV1":
            line_charge = Decimal(s[2])
        elif tag == "SV2":
            line_charge = Decimal(s[3])
        elif tag == "SVD":
            close_svd()
            svd = (s[1], Decimal(s[2]), Decimal(0))
        elif tag == "CAS" and svd is not None:
            svd = (svd[0], svd[1], svd[2] + _cas_total(s))
    return problems
