"""What a file handed to ``revcycle ingest`` is when it is no response we load, and what to do about it.

An operator who drops the wrong file (an empty download, a ZIP from the portal, a PDF remittance advice, a
claim file we sent) needs to know which of these it is; "not a response" does not say. Only the first bytes
are looked at, and nothing of the content is quoted: a file may hold PHI.
"""

from __future__ import annotations

from dataclasses import dataclass

LOADED_KINDS_TEXT = "ingest loads 835, 999, 277CA and TA1 files"
# Bytes that do not occur in text: C0 controls except tab, line feed, form feed and carriage return, and DEL.
_NOT_TEXT = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F})
_SAMPLE = 8192
# Random bytes hold about 13 % of these; text in any 8-bit encoding next to none.
_BINARY_SHARE = 0.02
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "zip", "a ZIP archive, not an X12 file: unzip it and ingest the X12 files inside"),
    (b"\x1f\x8b", "gzip", "a gzip-compressed file, not an X12 file: gunzip it and ingest the X12 file inside"),
    (b"%PDF", "pdf", "a PDF document, not an X12 file: ask the sender for the X12 (EDI) file itself"),
)
_X12_KINDS = {
    "837P": "a professional claim we send",
    "837I": "an institutional claim we send",
    "270": "an eligibility inquiry we send",
    "271": "an eligibility response, read with `revcycle x12 parse`",
    "276": "a claim status request we send",
    "277": "a claim status response, read with `revcycle x12 parse`",
}


@dataclass(frozen=True)
class Unloadable:
    """A file ingest refuses: a short ``kind`` for the table and one ``message`` saying what it is and what to do."""

    kind: str
    message: str


def describe_unloadable(data: bytes, x12_kind: str) -> Unloadable:
    """Why ``data``, whose X12 kind (``responses.detect_kind``) is not loadable, is refused, in one line."""
    if not data:
        return Unloadable("empty", "empty file (0 bytes): nothing to load; fetch the file again from where it came")
    if not data.strip():
        return Unloadable(
            "empty",
            "blank file (only spaces and line breaks): nothing to load; fetch the file again",
        )
    for magic, kind, message in _MAGIC:
        if data.startswith(magic):
            return Unloadable(kind, message)
    if x12_kind != "unknown":
        what = _X12_KINDS.get(x12_kind, "a transaction set revcycle does not load")
        return Unloadable(x12_kind, f"an X12 {x12_kind} ({what}), not a response: {LOADED_KINDS_TEXT}")
    if _looks_binary(data[:_SAMPLE]):
        return Unloadable(
            "binary",
            "binary data, not X12 text: check that this is the file you meant (an X12 file starts with ISA)",
        )
    if data[:_SAMPLE].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISA"):
        return Unloadable(
            "x12",
            "an X12 interchange with no transaction set (no ST or TA1): nothing to load; "
            "ask the sender for the complete file",
        )
    return Unloadable(
        "text",
        "text without an ISA segment, not X12: an X12 file starts with ISA; check that this is the response "
        f"file you meant ({LOADED_KINDS_TEXT})",
    )


def _looks_binary(sample: bytes) -> bool:
    """Whether a sample holds NUL or more control bytes than any text does (UTF-16 X12 is read before this)."""
    if b"\x00" in sample:
        return True
    return sum(1 for byte in sample if byte in _NOT_TEXT) > _BINARY_SHARE * len(sample)
