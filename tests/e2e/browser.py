"""Headless Chromium for the UI tests: Playwright for Python driving the system's Chromium (no download).

Playwright's own browser builds are never installed: ``executable_path`` points it at Debian's ``chromium``
(or ``REVCYCLE_TEST_CHROMIUM``). When Chromium or the ``playwright`` package is missing the calling test is
skipped with the reason, except under ``CI=true`` where it fails: ``.ci/run`` installs Chromium and the lock
file holds Playwright, so their absence in CI is a broken environment.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _unavailable(reason: str) -> NoReturn:
    """Skip the calling test, or fail it under ``CI=true``."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def chromium_executable() -> str:
    """The system Chromium: ``REVCYCLE_TEST_CHROMIUM`` or the first of ``CHROMIUM_NAMES`` on the PATH."""
    configured = os.environ.get("REVCYCLE_TEST_CHROMIUM")
    candidates = [configured] if configured else [shutil.which(name) for name in CHROMIUM_NAMES]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    where = f"REVCYCLE_TEST_CHROMIUM={configured} is no executable" if configured else "none on the PATH"
    _unavailable(
        f"Chromium not found ({where}): install it (Debian: apt-get install chromium) to run the Prefect UI tests"
    )


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Launch the system Chromium headless through Playwright; print the version it reports."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed: run `make .venv/.installed` (it is in the lock)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            print(f"browser: Chromium {browser.version} ({executable})")
            yield browser
        finally:
            browser.close()
