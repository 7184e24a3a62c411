"""Private file modes for everything that may hold PHI: folders ``0700``, files ``0600`` (DESIGN.md §13).

The process umask is not ours to rely on (a worker's default is usually ``022``, so files land ``0644``), so
folders and files are created with explicit modes and tightened when they already exist with wider ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from revcycle.errors import ConfigurationError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _set_mode(path: Path, mode: int) -> None:
    """Give ``path`` exactly ``mode`` (a chmod only when it differs)."""
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except PermissionError as problem:
        raise ConfigurationError(
            f"cannot make {path} private (mode {mode:o}): {problem.strerror}; run as the owner of the folder "
            "or fix its owner and mode"
        ) from None


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents ``0700``, or tighten an existing ``path`` to ``0700``."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        _set_mode(folder, PRIVATE_DIR_MODE)  # mkdir's mode is narrowed by the umask
    if not missing:
        _set_mode(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and ``0600`` when missing, or tighten an existing file to ``0600``.

    Created with ``O_CREAT`` and mode ``0600`` in one call, so the file is never readable by others, not
    even for an instant.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        _set_mode(path, PRIVATE_FILE_MODE)
    else:
        os.close(descriptor)
        _set_mode(path, PRIVATE_FILE_MODE)  # a umask such as 0277 would have left it 0400
    return path


def private_tree(root: Path) -> None:
    """Tighten every folder under ``root`` (itself included) to ``0700`` and every file to ``0600``."""
    _set_mode(root, PRIVATE_DIR_MODE)
    for folder, subfolders, files in os.walk(root):
        for name in subfolders:
            _set_mode(Path(folder) / name, PRIVATE_DIR_MODE)
        for name in files:
            candidate = Path(folder) / name
            if not candidate.is_symlink():
                _set_mode(candidate, PRIVATE_FILE_MODE)
