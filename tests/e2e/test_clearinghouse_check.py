"""`revcycle clearinghouse check` against a real OpenSSH sshd: one line per check, the setting to change on
each FAIL, exit 1 on any FAIL, no traceback, and nothing left behind on the server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sshd import OpenSshServer, free_port

from connectors.clearinghouse.keys import generate_ed25519_private_key

pytestmark = pytest.mark.e2e

REVCYCLE = str(Path(sys.executable).with_name("revcycle"))
FOLDERS = ("claims", "responses", "archive")


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[OpenSshServer]:
    with OpenSshServer(tmp_path / "sshd") as server:
        for folder in FOLDERS:
            (server.served / folder).mkdir()
        yield server


def check(settings: dict[str, str], cwd: Path) -> tuple[int, list[str], str]:
    """Run the command as an operator would; exit code, stdout lines, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVCYCLE_", "PREFECT_"))}
    env.update(settings)
    done = subprocess.run(
        [REVCYCLE, "clearinghouse", "check"], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    assert "Traceback" not in done.stdout + done.stderr
    return done.returncode, done.stdout.splitlines(), done.stderr


def outcomes(lines: list[str]) -> dict[str, str]:
    """{check name: OK/FAIL/SKIP} from the command's lines."""
    found = {}
    for line in lines:
        match = re.match(r"^(OK|FAIL|SKIP) +(connect|host key|login|settings|\w+ folder) ", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def line_of(lines: list[str], name: str) -> str:
    (line,) = [line for line in lines if re.match(rf"^(OK|FAIL|SKIP) +{name} ", line)]
    return line


ALL_OK = {
    "connect": "OK",
    "host key": "OK",
    "login": "OK",
    "upload folder": "OK",
    "inbox folder": "OK",
    "archive folder": "OK",
}


def test_a_good_configuration_passes_every_check_and_leaves_nothing_behind(sshd: OpenSshServer, tmp_path: Path) -> None:
    (sshd.served / "responses" / "999_000000001.x12").write_bytes(b"ISA*")  # one answer waiting

    code, lines, _ = check(sshd.environment(), tmp_path)

    assert code == 0, lines
    assert outcomes(lines) == ALL_OK
    assert "1 files in it" in line_of(lines, "inbox folder")
    assert lines[-1] == "all 6 checks passed"
    # Each folder was really written to on the server, and the probe was removed again.
    log = sshd.sftp_log_text()
    for folder in FOLDERS:
        probe = re.findall(rf'open "{re.escape(str(sshd.served / folder))}/(\.revcycle-check-[0-9a-f]+\.part)"', log)
        assert len(probe) == 1, log
        assert f'remove name "{sshd.served / folder}/{probe[0]}"' in log
        leftovers = {p.name for p in (sshd.served / folder).iterdir()}
        assert leftovers == ({"999_000000001.x12"} if folder == "responses" else set())


def test_a_changed_host_key_fails_naming_the_pin_and_sends_no_credential(sshd: OpenSshServer, tmp_path: Path) -> None:
    settings = sshd.environment()  # pins the current key
    sshd.set_host_key(generate_ed25519_private_key())
    sshd.restart()
    mark = len(sshd.log_text())

    code, lines, _ = check(settings, tmp_path)

    assert code == 1
    assert outcomes(lines) == {
        "connect": "OK",
        "host key": "FAIL",
        "login": "SKIP",
        "upload folder": "SKIP",
        "inbox folder": "SKIP",
        "archive folder": "SKIP",
    }
    assert "REVCYCLE_SFTP_KNOWN_HOST" in line_of(lines, "host key")
    assert "publickey" not in sshd.log_text()[mark:]  # no login was attempted
    assert lines[-1].startswith("revcycle: 1 of 6 checks failed")


def test_a_refused_key_fails_the_login_naming_the_user_and_key_settings(sshd: OpenSshServer, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_ed25519"
    wrong.write_text(generate_ed25519_private_key())
    wrong.chmod(0o600)

    code, lines, _ = check({**sshd.environment(), "REVCYCLE_SFTP_PRIVATE_KEY_FILE": str(wrong)}, tmp_path)

    assert code == 1
    assert outcomes(lines)["host key"] == "OK"
    assert outcomes(lines)["login"] == "FAIL"
    login = line_of(lines, "login")
    assert "REVCYCLE_SFTP_USERNAME" in login and "REVCYCLE_SFTP_PRIVATE_KEY_FILE" in login
    assert "Accepted" not in sshd.log_text()


def test_a_missing_remote_folder_fails_naming_its_variable(sshd: OpenSshServer, tmp_path: Path) -> None:
    code, lines, _ = check({**sshd.environment(), "REVCYCLE_REMOTE_INBOX_DIR": "respones"}, tmp_path)

    assert code == 1
    assert outcomes(lines) == {**ALL_OK, "inbox folder": "FAIL"}
    inbox = line_of(lines, "inbox folder")
    assert "'respones' (REVCYCLE_REMOTE_INBOX_DIR) does not exist" in inbox
    assert not (sshd.served / "respones").exists()  # the check creates nothing


def test_a_server_that_does_not_answer_fails_naming_host_and_port(tmp_path: Path) -> None:
    settings = {
        "REVCYCLE_SFTP_HOST": "127.0.0.1",
        "REVCYCLE_SFTP_PORT": str(free_port()),  # nothing listens there
        "REVCYCLE_SFTP_PASSWORD": "unused",
        "REVCYCLE_SFTP_KNOWN_HOST": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOYkn3nOZba/dGOFXSS3CmuH/Rzo5CK2fjFjh7si0hNd",
    }
    code, lines, stderr = check(settings, tmp_path)

    assert code == 1
    assert stderr == ""  # the lines on stdout say it all
    assert outcomes(lines)["connect"] == "FAIL"
    assert "REVCYCLE_SFTP_HOST and REVCYCLE_SFTP_PORT" in line_of(lines, "connect")
    assert {outcomes(lines)[name] for name in ("host key", "login", "upload folder")} == {"SKIP"}


def test_no_pinned_host_key_fails_before_connecting(tmp_path: Path) -> None:
    code, lines, _ = check({"REVCYCLE_SFTP_PASSWORD": "unused"}, tmp_path)

    assert code == 1
    assert outcomes(lines) == {"settings": "FAIL"}
    assert "REVCYCLE_SFTP_KNOWN_HOST is not set" in line_of(lines, "settings")


def test_a_saved_block_is_checked_instead_of_the_settings_and_a_failure_names_the_block_field(
    prefect_api: None,
    sshd: OpenSshServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from revcycle.cli import main

    for name in [n for n in os.environ if n.startswith("REVCYCLE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # The block holds this server with a misspelt inbox; then no REVCYCLE_SFTP_* setting is left to fall back on.
    with monkeypatch.context() as operator:
        for name, value in sshd.environment(inbox_dir="respones").items():
            operator.setenv(name, value)
        assert main(["clearinghouse", "block", "create", "--name", "checked-block"]) == 0
    capsys.readouterr()

    code = main(["clearinghouse", "check", "--block", "checked-block"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0].startswith(f"clearinghouse block 'checked-block': 127.0.0.1:{sshd.port}, user {sshd.user}")
    assert outcomes(lines) == {**ALL_OK, "inbox folder": "FAIL"}
    assert "'respones' (remote_inbox_dir) does not exist" in line_of(lines, "inbox folder")
    assert "matches sftp_known_host" in line_of(lines, "host key")
    assert not [line for line in lines if "REVCYCLE_" in line]  # the block's fields are named, not variables
    assert lines[-1] == "revcycle: 1 of 6 checks failed; fix the block's fields named above and check again"
