"""docs/prefect.md and prefect.yaml as an operator reads them: the block's fields mapped to the variables
(generated table, checked against the code), schedules deployed paused, and the operator sequence first.

``UPDATE_DOCS=1`` rewrites the block-field table from the code instead of failing on a difference.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from connectors.clearinghouse.block import VARIABLE_OF_FIELD, ClearinghouseSftp
from revcycle.settings import Settings, setting_variables

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "prefect.md"
TABLE = re.compile(r"(<!-- block-fields:[^\n]*-->\n)(.*?)(<!-- end block-fields -->)", re.S)


def block_field_table() -> str:
    """The doc's table: one row per block field, its variable and the field's own description."""
    rows = ["| block field | variable | what |", "|---|---|---|"]
    for name, field in ClearinghouseSftp.model_fields.items():
        rows.append(f"| `{name}` | `{VARIABLE_OF_FIELD[name]}` | {field.description} |")
    return "\n".join(rows) + "\n"


def test_every_block_field_names_a_setting_and_every_connection_setting_has_a_field() -> None:
    assert set(VARIABLE_OF_FIELD) == set(ClearinghouseSftp.model_fields)
    variables = set(VARIABLE_OF_FIELD.values())
    assert variables <= set(setting_variables())
    connection = {v for v in setting_variables() if v.startswith(("REVCYCLE_SFTP_", "REVCYCLE_REMOTE_"))}
    assert connection == variables


def test_a_block_field_and_its_variable_default_alike() -> None:
    settings_defaults = {f"REVCYCLE_{name.upper()}": field.default for name, field in Settings.model_fields.items()}
    # The fields with a default; host, username and the pinned key must be filled in in the block.
    for name in ("sftp_port", "sftp_remote_root", "remote_upload_dir", "remote_inbox_dir", "remote_archive_dir"):
        assert ClearinghouseSftp.model_fields[name].default == settings_defaults[VARIABLE_OF_FIELD[name]], name


def test_the_docs_table_of_block_fields_is_the_code_s() -> None:
    text = DOC.read_text(encoding="utf-8")
    match = TABLE.search(text)
    assert match, "docs/prefect.md has lost its block-fields markers"
    expected = block_field_table()
    if os.environ.get("UPDATE_DOCS") == "1":
        DOC.write_text(text[: match.start(2)] + expected + text[match.end(2) :], encoding="utf-8")
        return
    assert match.group(2) == expected, "run UPDATE_DOCS=1 pytest tests/unit/test_operator_docs.py"
    assert "| `remote_upload_dir` | `REVCYCLE_REMOTE_UPLOAD_DIR` |" in expected  # the example, renamed


def test_every_schedule_in_prefect_yaml_is_deployed_paused() -> None:
    config: dict[str, Any] = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    schedules = [(d["name"], s) for d in config["deployments"] for s in d.get("schedules") or []]
    assert len(schedules) == 2  # the nightly and the pickup
    assert [(name, s.get("active")) for name, s in schedules] == [("nightly", False), ("response-pickup", False)]


def test_the_docs_say_how_to_turn_the_schedules_on_and_what_a_redeploy_does() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "prefect --no-prompt deployment schedule resume --all" in text
    assert "A later\ndeploy pauses the schedules again" in text


def test_the_operator_sequence_is_the_first_thing_the_doc_shows() -> None:
    text = DOC.read_text(encoding="utf-8")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert text.index("<!-- operator-sequence") < text.index("```")
    commands = [line.split()[0:3] for line in first_block.splitlines() if line.startswith(("make", "revcycle"))]
    # Issue 10, Done when 2: in this order.
    assert commands == [
        ["make", "demo"],
        ["revcycle", "report"],
        ["revcycle", "clearinghouse", "check"],
        ["revcycle", "run", "nightly"],
        ["revcycle", "run", "pickup"],
    ]
