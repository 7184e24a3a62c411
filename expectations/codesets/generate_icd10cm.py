"""Regenerate a shipped ICD-10-CM billable-code file from the ``simple-icd-10-cm`` package.

Usage (the package is only needed here, not at run time)::

    pip install --target /tmp/icd simple-icd-10-cm==1.5.0
    PYTHONPATH=/tmp/icd python -m expectations.codesets.generate_icd10cm 2026-04-01

The effective date is the CMS release the package version carries (1.4.0: April 1 2025 update,
1.5.0: April 1 2026 update). A code is billable when it is a leaf of the classification (no children).
"""

from __future__ import annotations

import gzip
import sys
from datetime import date

from expectations.codesets import CODESET_DIR, ICD10CM_PREFIX


def billable_codes() -> list[str]:
    """The billable codes (no dot) of the release the installed ``simple_icd_10_cm`` carries, sorted."""
    import simple_icd_10_cm as icd  # a generator-only dependency

    return sorted(
        code for code in icd.get_all_codes(with_dots=False) if not icd.is_chapter_or_block(code) and icd.is_leaf(code)
    )


def main(argv: list[str]) -> int:
    """Write ``icd10cm-billable-<date>.txt.gz`` for the effective date given as the only argument."""
    effective = date.fromisoformat(argv[0])
    codes = billable_codes()
    target = CODESET_DIR / f"{ICD10CM_PREFIX}{effective.isoformat()}.txt.gz"
    # mtime=0 keeps the file byte-identical when regenerated from the same release.
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write(("\n".join(codes) + "\n").encode("ascii"))
    print(f"{len(codes)} billable codes -> {target.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
