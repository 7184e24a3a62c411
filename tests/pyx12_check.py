"""Test helper: validate X12 bytes with pyx12 4.0.0 and return its error messages.

pyx12 reports problems in three places: the ``pyx12`` logger (ERROR records), the JSON error document
(``fd_json``) and the boolean it returns. All three are collected so that nothing slips through; an
empty list means pyx12 found the file valid.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from io import StringIO
from typing import Any

import pyx12.params
import pyx12.x12n_document


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # pyx12 logs this when its own 999 generator crashes, e.g. on every 835 (ST03 is not used in
        # the 835, and the generator needs it): a failure to write pyx12's response, not a finding
        if message == "Failed to create 999 response":
            return
        self.messages.append(message)


def _json_errors(node: Any) -> list[str]:
    """Every error description found anywhere in pyx12's JSON error document."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("errors", "err", "error") and isinstance(value, list):
                for item in value:
                    found.append(json.dumps(item, sort_keys=True) if not isinstance(item, str) else item)
            else:
                found.extend(_json_errors(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_json_errors(item))
    return found


def pyx12_errors(data: bytes) -> list[str]:
    """pyx12's error messages for ``data`` (empty when pyx12 finds it valid)."""
    logger = logging.getLogger("pyx12")
    collector = _Collector()
    logger.addHandler(collector)
    old_level = logger.level
    if logger.level == logging.NOTSET or logger.level > logging.ERROR:
        logger.setLevel(logging.ERROR)
    fd, path = tempfile.mkstemp(suffix=".x12")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        param = pyx12.params.params()
        fd_997 = StringIO()
        fd_json = StringIO()
        try:
            valid = pyx12.x12n_document.x12n_document(
                param=param, src_file=path, fd_997=fd_997, fd_html=None, fd_xmldoc=None, fd_json=fd_json
            )
        except Exception as exc:  # a crash inside pyx12 (e.g. on a bad TA1) means the file is not clean
            return [*collector.messages, f"pyx12 raised {type(exc).__name__}: {exc}"]
        messages = list(collector.messages)
        text = fd_json.getvalue().strip()
        if text:
            try:
                for found in _json_errors(json.loads(text)):
                    # the JSON repeats the logged errors; keep only those the log did not carry
                    err_str = json.loads(found).get("err_str", found) if found.startswith("{") else found
                    if not any(err_str in m for m in messages):
                        messages.append(found)
            except ValueError:
                messages.append("pyx12 JSON error output unreadable")
        ack = fd_997.getvalue()
        # pyx12's own 999 for the file: any rejection code there is an error too
        if "IK5*R" in ack or "AK9*R" in ack or "AK9*P" in ack or "IK5*E" in ack:
            messages.append(f"pyx12 999 response is not a clean acceptance: {ack[:400]}")
        if not valid and not messages:
            messages.append("pyx12 returned invalid without a message")
        return messages
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
        os.unlink(path)


def split_segments(data: bytes) -> list[list[str]]:
    """The segments of an X12 file written with ``*`` and ``~``, each as [id, element1, ...]."""
    return [s.strip().split("*") for s in data.decode("ascii").split("~") if s.strip()]


def balance_problems(data: bytes) -> list[str]:
    """835 balancing checked from the written segments (service, claim, transaction levels).

    Service: SVC02 - SVC03 = sum of the line's CAS amounts. Claim: CLP03 - CLP04 = claim CAS + line CAS.
    Transaction: BPR02 = sum of CLP04 - sum of PLB amounts. Empty list = balanced.
    """
    from decimal import Decimal

    def cas_total(seg: list[str]) -> Decimal:
        return sum((Decimal(seg[i]) for i in range(3, len(seg), 3) if seg[i]), Decimal("0"))

    problems: list[str] = []
    bpr = Decimal("0")
    paid_total = Decimal("0")
    plb_total = Decimal("0")
    claim: list[str] | None = None
    claim_adjust = Decimal("0")
    service: list[str] | None = None
    service_adjust = Decimal("0")

    def close_service() -> None:
        nonlocal service, service_adjust
        if service is not None and Decimal(service[2]) - Decimal(service[3]) != service_adjust:
            problems.append(f"service {service[1]} of claim {claim[1] if claim else '?'} unbalanced")
        service, service_adjust = None, Decimal("0")

    def close_claim() -> None:
        nonlocal claim, claim_adjust
        close_service()
        if claim is not None and Decimal(claim[3]) - Decimal(claim[4]) != claim_adjust:
            problems.append(f"claim {claim[1]} unbalanced")
        claim, claim_adjust = None, Decimal("0")

    def close_transaction() -> None:
        nonlocal bpr, paid_total, plb_total
        close_claim()
        if bpr != paid_total - plb_total:
            problems.append(f"transaction unbalanced: BPR02 {bpr} != {paid_total} - {plb_total}")
        bpr, paid_total, plb_total = Decimal("0"), Decimal("0"), Decimal("0")

    for seg in split_segments(data):
        sid = seg[0]
        if sid == "BPR":
            bpr = Decimal(seg[2])
        elif sid == "CLP":
            close_claim()
            claim = seg
            paid_total += Decimal(seg[4])
        elif sid == "SVC":
            close_service()
            service = seg
        elif sid == "CAS":
            amount = cas_total(seg)
            claim_adjust += amount
            if service is not None:
                service_adjust += amount
        elif sid == "PLB":
            close_claim()
            plb_total += sum((Decimal(seg[i]) for i in range(4, len(seg), 2)), Decimal("0"))
        elif sid == "SE":
            close_transaction()
    return problems
