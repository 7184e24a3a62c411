"""Every corpus 270, 271, 276 and 277 file has a test with values written by hand from the file.

The hand-written tests name their files in module constants; a sample added to ``270_271/`` or ``276_277/``
without such a test makes this one fail. (The 277CA samples, 005010X214, live in ``277ca/`` and are read by
the 277CA reader, not this codec.)
"""

from __future__ import annotations

import test_x12_claim_status_corpus as status_corpus
import test_x12_eligibility_corpus as eligibility_corpus
import test_x12sdk_inquiry_values as x12sdk_values
from corpus import corpus_dir

HAND_WRITTEN = {
    eligibility_corpus.DEPENDENT_270,
    eligibility_corpus.DEPENDENT_271,
    eligibility_corpus.ERROR_271,
    eligibility_corpus.GS_TERMINATED_270,
    status_corpus.LFH_276,
    status_corpus.LFH_277,
    status_corpus.IMSWEB_277,
}


def test_every_inquiry_corpus_file_has_hand_written_values() -> None:
    root = corpus_dir()
    files = {str(p.relative_to(root)) for folder in ("270_271", "276_277") for p in (root / folder).iterdir()}
    # by hand from the corpus README: 270_271 holds 4 files, 276_277 holds 3
    assert len(files) == 7
    assert files == HAND_WRITTEN


def test_every_corpus_270_and_276_goes_to_x12sdk_or_is_named() -> None:
    asked = {n for n in HAND_WRITTEN if n.endswith((".270", ".276")) or "_270_" in n}
    compared = {*x12sdk_values.CORPUS_270, *x12sdk_values.CORPUS_276, *x12sdk_values.X12SDK_CANNOT_READ}
    assert asked == compared
