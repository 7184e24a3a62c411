"""Data Docs open without the internet, name the data asset and the run, and keep earlier validations.

Before: the index was an empty table that bootstrap-table (loaded from unpkg.com) fills in JavaScript, so
offline it listed nothing; the validation page said ``Data asset: None`` and ``Run Name __none__``; and
each build removed the pages of earlier validations.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
import pytest

from expectations.data_docs import build_data_docs
from expectations.frames import run_gx
from expectations.gate import publish_data_docs
from expectations.runner import ChargeValidation

pytestmark = pytest.mark.usefixtures("gx_context")  # a suite needs an active GX context

PLANTED = "QQPLANTED77"
# Every remote request fails: no proxy answers on port 9, and no host name resolves.
OFFLINE_FLAGS = (
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is not installed (Debian: apt-get install chromium)")
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")


def _offline_dom(page: Path, profile: Path) -> str:
    """The page's DOM after load in headless Chromium with the network unreachable."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        *OFFLINE_FLAGS,
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)
    return done.stdout


def _result(member_ids: list[str | None]) -> Any:
    suite = gx.ExpectationSuite(name="charges")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="member_id"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToMatchRegex(column="member_id", regex=r"^[A-Z]\d{8}$"))
    frame = pd.DataFrame({"charge_id": [f"c{i}" for i in range(len(member_ids))], "member_id": member_ids})
    return run_gx(frame, suite, ["charge_id"])


def _rows(dom: str) -> list[str]:
    body = dom.split("<tbody", 1)[1] if "<tbody" in dom else ""
    return [row for row in re.findall(r"<tr\b.*?</tr>", body, re.S) if "<a " in row]


def test_the_index_lists_every_validation_offline_and_each_page_names_asset_and_run(tmp_path: Path) -> None:
    site = tmp_path / "data-docs"
    build_data_docs([("charges-2026-06-01.csv", _result(["A12345678", PLANTED]))], site)
    index = build_data_docs([("charges-2026-06-02.csv", _result(["A12345678", None]))], site)

    dom = _offline_dom(index, tmp_path / "profile")
    rows = _rows(dom)
    assert len(rows) == 2, "the index lists both validations with the network unreachable"
    assert "charges-2026-06-02.csv" in rows[0] and "charges-2026-06-01.csv" in rows[1]  # newest first
    assert PLANTED not in dom
    links = [re.search(r'href="([^"]+)"', row).group(1) for row in rows]  # type: ignore[union-attr]
    pages = [site / link for link in links]
    assert all(page.is_file() for page in pages), links  # the earlier validation's page was kept

    for page, asset in zip(pages, ("charges-2026-06-02.csv", "charges-2026-06-01.csv"), strict=True):
        text = page.read_text(encoding="utf-8")
        assert f"Data asset: {asset}" in text
        assert "__none__" not in text  # GX's placeholder for a missing run name and time
        assert not re.search(r"<(script|link)\b[^>]*\b(src|href)=[\"']?(https?:)?//", text), page.name
        page_dom = _offline_dom(page, tmp_path / "profile")
        assert "member_id" in page_dom and PLANTED not in page_dom


def test_the_run_name_is_the_batch_date_and_the_asset_the_export_file(tmp_path: Path) -> None:
    validation = ChargeValidation(evaluated_rows=2, gx_result=_result(["A12345678", None]))
    index = publish_data_docs(
        tmp_path / "data-docs", charges=validation, asset="charges-20260603.csv", run_name="2026-06-03"
    )
    assert index is not None
    rows = _rows(index.read_text(encoding="utf-8"))
    assert len(rows) == 1 and "charges-20260603.csv" in rows[0] and ">2026-06-03<" in rows[0]
    link = re.search(r'href="([^"]+)"', rows[0])
    assert link is not None
    page = (index.parent / link.group(1)).read_text(encoding="utf-8")
    assert re.search(r"Run Name</div></td><td[^>]*><div[^>]*>2026-06-03<", page)
