"""835 parsing speed and peak memory: revcycle beside pyx12 and x12sdk on 10 MB, revcycle alone on 500 MB.

Each parser runs in its own subprocess so the peak RSS reported is that parser's alone. The synthetic 835
is one transaction set: a header, a block of varied claims written once by ``write_835`` and repeated
(with fresh claim keys) until the size is reached, then the PLB/SE trailer with the right counts, so
generation costs little beside parsing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from benchmarks import Measurement
from revcycle.domain import Address
from revcycle.x12.write835 import (
    Adjustment,
    ProviderAdjustment,
    Remittance,
    RemittanceClaim,
    ServicePayment,
    write_835,
)
from revcycle.x12.writer import Envelope

MB = 1024 * 1024
_BLOCK_CLAIMS = 500
_CODES = ("99213", "99214", "93000", "80053", "36415", "71046", "J1885", "97110")


def _claims(block: int) -> tuple[RemittanceClaim, ...]:
    out: list[RemittanceClaim] = []
    day = date(2024, 3, 4)
    for i in range(_BLOCK_CLAIMS):
        services = []
        for j in range(1 + i % 4):
            charge = Decimal(100 + (i * 7 + j * 13) % 400) + Decimal("0.50")
            co = Decimal((i + j) % 60 + 1)  # x12sdk rejects a CAS amount of 0
            pr = Decimal(j * 5)
            adjustments = [Adjustment("CO", "45", co)]
            if pr:
                adjustments.append(Adjustment("PR", "2", pr))
            services.append(
                ServicePayment(
                    _CODES[(i + j) % len(_CODES)],
                    charge,
                    charge - co - pr,
                    Decimal(1 + j % 3),
                    day,
                    ("25",) if j == 0 else (),
                    tuple(adjustments),
                    charge - co,
                    ("N130",) if i % 5 == 0 else (),
                )
            )
        charge = sum((s.charge for s in services), Decimal(0))
        paid = sum((s.paid for s in services), Decimal(0))
        out.append(
            RemittanceClaim(
                f"B{block:06d}C{i:05d}",
                "1",
                charge,
                paid,
                sum((s.adjustment_total for s in services), Decimal(0))
                - sum((a.amount for s in services for a in s.adjustments if a.group == "CO"), Decimal(0)),
                "12",
                f"PCN{block:06d}{i:05d}",
                "DOE",
                "JANE",
                f"W{i:09d}",
                services=tuple(services),
                statement_from=day,
                statement_to=day,
            )
        )
    return tuple(out)


def _envelope() -> Envelope:
    return Envelope("PAYERSANDBOX", "SUBMIT01", 1, 1, "T", datetime(2024, 3, 20, 12, 0), "HP", "005010X221A1")


def make_835(path: Path, target_bytes: int) -> dict[str, str]:
    """Write a synthetic balanced 835 of about ``target_bytes`` to ``path``; return its claim and segment counts."""
    rem = Remittance(
        payer_name="SUMMIT HEALTH",
        payer_tax_id="987654321",
        payer_address=Address("1 Payer Way", "Chicago", "IL", "606010001"),
        payer_contact_phone="8005551212",
        payee_name="RIVERSIDE CLINIC",
        payee_npi="1234567893",
        payee_tax_id="123456789",
        trace_number="EFT0001",
        payment_date=date(2024, 3, 21),
        production_date=date(2024, 3, 20),
        claims=_claims(0),
        provider_adjustments=(ProviderAdjustment("L6", Decimal("1.25")), ProviderAdjustment("WO", Decimal("2"))),
    )
    text = write_835([rem], _envelope()).decode("ascii")
    lx = text.index("LX*1~\n") + len("LX*1~\n")
    plb = text.index("PLB*")
    header, body, trailer = text[:lx], text[lx:plb], text[plb:]
    body_segments = body.count("~")
    paid = sum((c.paid for c in rem.claims), Decimal(0))
    blocks = max(1, (target_bytes - len(header) - len(trailer)) // len(body))
    header_segments = header[header.index("ST*") :].count("~")
    trailer_segments = trailer[: trailer.index("SE*")].count("~") + 1
    bpr_start = header.index("BPR*")
    bpr_end = header.index("~", bpr_start)
    bpr = header[bpr_start:bpr_end].split("*")
    bpr[2] = f"{paid * blocks - Decimal('3.25')}"
    header = header[:bpr_start] + "*".join(bpr) + header[bpr_end:]
    se_count = header_segments + body_segments * blocks + trailer_segments
    se_start = trailer.index("SE*")
    se_end = trailer.index("~", se_start)
    trailer = trailer[:se_start] + f"SE*{se_count}*0001" + trailer[se_end:]
    with open(path, "w", encoding="ascii", newline="") as out:
        out.write(header)
        for block in range(blocks):
            out.write(body.replace("B000000C", f"B{block:06d}C").replace("PCN000000", f"PCN{block:06d}"))
        out.write(trailer)
    return {"claims": str(blocks * _BLOCK_CLAIMS), "segments": str(se_count)}


# (imports, timed code) per parser: the imports run before the clock starts, for every parser alike, so the
# figure is parsing speed, not interpreter and library start-up. Each timed code prints one line of counts.
_RUNNERS = {
    "revcycle": (
        "from revcycle.x12.x835 import iter_835, ClaimPayment, RemittanceEnd\n",
        # every claim is parsed in full and balanced (service and claim level) before it is yielded, the
        # transaction level at the end: count what the checks found so a wrong parse would show
        "claims = unbalanced = 0\n"
        "for event in iter_835(PATH):\n"
        "    if isinstance(event, ClaimPayment):\n"
        "        claims += 1\n"
        "        unbalanced += bool(event.balance_problems)\n"
        "    elif isinstance(event, RemittanceEnd):\n"
        "        unbalanced += len(event.remittance.balance_problems)\n"
        "print(f'{claims} claims, {unbalanced} balance problems')\n",
    ),
    "revcycle-read_835": (
        "from revcycle.x12.x835 import read_835\n",
        "remits = read_835(PATH).remittances\n"
        "claims = sum(len(r.claims) for r in remits)\n"
        "print(f'{claims} claims, {sum(len(r.balance_problems) for r in remits)} balance problems')\n",
    ),
    "pyx12": (
        "import io, logging, pyx12.params, pyx12.x12n_document\n"
        "logging.getLogger('pyx12').setLevel(logging.CRITICAL)\n",
        "valid = pyx12.x12n_document.x12n_document(pyx12.params.params(), PATH, io.StringIO(), None, None, None)\n"
        "print(f'valid={valid}')\n",
    ),
    "x12sdk": (
        "import x12sdk.io\n",
        "with x12sdk.io.X12ModelReader(PATH) as r:\n"
        "    models = list(r.models())\n"
        "print(f\"{sum(len(getattr(m, 'loop_2000', None) or []) for m in models)} header loops\")\n",
    ),
}


def _run(parser: str, path: Path) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MB, the parser's counts line) of one parser in a fresh interpreter.

    The CPU time is reported beside the wall time because the benchmark machine may be shared: under load
    the wall time grows, the CPU time much less.
    """
    imports, timed = _RUNNERS[parser]
    code = (
        "import resource, time, sys\n"
        f"PATH = {str(path)!r}\n"
        + imports
        + "started, cpu = time.perf_counter(), time.process_time()\n"
        + timed
        + "print(time.perf_counter() - started, time.process_time() - cpu,"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    env = dict(os.environ, DO_NOT_TRACK="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return float("nan"), float("nan"), float("nan"), f"FAILED: {last[:120]}"
    lines = done.stdout.strip().splitlines()
    seconds, cpu, rss = lines[-1].split()
    return float(seconds), float(cpu), float(rss), lines[-2] if len(lines) > 1 else ""


def _measure(parser: str, path: Path, counts: dict[str, str]) -> Measurement:
    seconds, cpu, rss, found = _run(parser, path)
    size = path.stat().st_size / MB
    notes = dict(counts, found=found, cpu_seconds=f"{cpu:.2f}", cpu_mb_per_s=f"{size / cpu:.1f}" if cpu else "")
    return Measurement(f"835 {size:.0f} MB {parser}", seconds, size, "MB", rss, notes)


def run(scale: float, which: str = "all") -> list[Measurement]:
    """10 MB through every parser, then the big file (500 MB at scale 1) through revcycle alone.

    ``which`` is "all", "small" (the 10 MB comparison only) or "big" (the big file only).
    """
    out: list[Measurement] = []
    with tempfile.TemporaryDirectory() as tmp:
        if which in ("all", "small"):
            small = Path(tmp) / "small.835"
            counts = make_835(small, int(10 * MB * min(scale, 1.0)))
            for parser in ("revcycle", "revcycle-read_835", "pyx12", "x12sdk"):
                out.append(_measure(parser, small, counts))
            small.unlink()
        if which in ("all", "big"):
            big = Path(tmp) / "big.835"
            counts = make_835(big, int(500 * MB * scale))
            out.append(_measure("revcycle", big, counts))
    return out


if __name__ == "__main__":
    # python -m benchmarks.bench_x12_835 [SCALE [all|small|big]]
    chosen = sys.argv[2] if len(sys.argv) > 2 else "all"
    for m in run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0, chosen):
        print(json.dumps({"name": m.name, "MB/s": round(m.rate, 1), "peak_rss_mb": round(m.peak_rss_mb), **m.notes}))
