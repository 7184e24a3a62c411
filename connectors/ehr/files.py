"""What every reader needs from an export file: its identity (sha256, size) and its first bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

BOM = b"\xef\xbb\xbf"
# MLLP frame bytes an interface engine may leave in a file it wrote (start block, end block).
MLLP_FRAME_BYTES = b"\x0b\x1c"


def file_sha256(path: Path) -> str:
    """The sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of a file with a UTF-8 BOM, MLLP frame bytes and leading whitespace removed."""
    with path.open("rb") as handle:
        head = handle.read(size)
    if head.startswith(BOM):
        head = head[len(BOM) :]
    return head.lstrip(b" \t\r\n" + MLLP_FRAME_BYTES)
