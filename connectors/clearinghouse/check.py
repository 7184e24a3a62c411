"""The connection check of ``revcycle clearinghouse check``: host key, login, and each remote folder.

Every check gives one line: OK, FAIL (with the setting to change) or SKIP (not reached because an earlier
check failed). The folder probe writes and removes ``.revcycle-check-<random>.part``: a ``.part`` name and
a leading dot, so neither the clearinghouse (which waits for the rename of a ``.part`` file) nor our own
pickup (which skips both) takes it for a file to process.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from connectors.clearinghouse.factory import sftp_transport_from_settings
from connectors.clearinghouse.keys import parse_known_host_key
from connectors.clearinghouse.sftp import SftpTransport
from connectors.clearinghouse.transport import HostileRemoteName, RemoteOperationFailed, Transport, join_remote
from revcycle.errors import AuthenticationFailed, ConfigurationError, HostKeyMismatch, TransientError
from revcycle.settings import Settings

Outcome = Literal["OK", "FAIL", "SKIP"]
PROBE_BYTES = b"revcycle connection check: safe to delete\n"
# One quick attempt: a check answers in seconds; the runs keep their retries.
CHECK_CONNECT_SECONDS = 10


@dataclass(frozen=True)
class CheckLine:
    """One check and its outcome; ``detail`` says what was found and, on FAIL, what to do."""

    outcome: Outcome
    name: str
    detail: str

    def render(self, width: int = 14) -> str:
        """``OK   host key       detail`` (one line)."""
        return f"{self.outcome:<4} {self.name:<{width}} {self.detail}"


@dataclass(frozen=True)
class RemoteFolder:
    """A remote folder the runs use and the setting that names it."""

    label: str
    path: str
    variable: str


def _probe_name() -> str:
    return f".revcycle-check-{secrets.token_hex(4)}.part"


def remote_folders(settings: Settings) -> list[RemoteFolder]:
    """The folders a run uses: upload, inbox and (when set) archive."""
    folders = [
        RemoteFolder("upload folder", settings.remote_upload_dir, "REVCYCLE_REMOTE_UPLOAD_DIR"),
        RemoteFolder("inbox folder", settings.remote_inbox_dir, "REVCYCLE_REMOTE_INBOX_DIR"),
    ]
    if settings.remote_archive_dir:
        folders.append(RemoteFolder("archive folder", settings.remote_archive_dir, "REVCYCLE_REMOTE_ARCHIVE_DIR"))
    return folders


def _login_settings(settings: Settings) -> str:
    secret = "REVCYCLE_SFTP_PRIVATE_KEY_FILE" if settings.sftp_private_key_file else "REVCYCLE_SFTP_PASSWORD"
    return f"REVCYCLE_SFTP_USERNAME ({settings.sftp_username}) and {secret}"


def _connect(settings: Settings, transport: SftpTransport) -> list[CheckLine]:
    """The host-key and login lines; the last is FAIL or SKIP when the folders cannot be checked."""
    where = transport.where
    try:
        transport.connect()
    except TransientError as problem:
        return [
            CheckLine(
                "FAIL",
                "connect",
                f"cannot reach {where} ({str(problem).rsplit(': ', 1)[-1]}): check REVCYCLE_SFTP_HOST and "
                "REVCYCLE_SFTP_PORT, and that this machine may reach the server",
            ),
            CheckLine("SKIP", "host key", "not checked (no connection)"),
            CheckLine("SKIP", "login", "not tried (no connection)"),
        ]
    except HostKeyMismatch as problem:
        return [
            CheckLine("OK", "connect", f"{where} answers"),
            CheckLine(
                "FAIL",
                "host key",
                f"{problem}: confirm the server's key with the clearinghouse through another channel, then put "
                "its known_hosts line in REVCYCLE_SFTP_KNOWN_HOST",
            ),
            CheckLine("SKIP", "login", "not tried: no credential is sent to a server whose key is not pinned"),
        ]
    except AuthenticationFailed:
        return [
            CheckLine("OK", "connect", f"{where} answers"),
            CheckLine("OK", "host key", "matches REVCYCLE_SFTP_KNOWN_HOST"),
            CheckLine("FAIL", "login", f"{where} refused the login: check {_login_settings(settings)}"),
        ]
    except ConfigurationError as problem:
        return [CheckLine("FAIL", "connect", f"{problem}: check REVCYCLE_SFTP_HOST and REVCYCLE_SFTP_PORT")]
    pinned = parse_known_host_key(settings.sftp_known_host or "")
    return [
        CheckLine("OK", "connect", f"{where} answers"),
        CheckLine("OK", "host key", f"{pinned.get_name()} {pinned.fingerprint} matches REVCYCLE_SFTP_KNOWN_HOST"),
        CheckLine("OK", "login", f"logged in as {settings.sftp_username}"),
    ]


def check_folder(
    transport: Transport, user: str, folder: RemoteFolder, root: str, probe_name: Callable[[], str] = _probe_name
) -> CheckLine:
    """``folder`` exists (it is listed) and ``user`` may write in it (a probe file written, then removed)."""
    where = f"{folder.path!r} ({folder.variable})"
    under = f" under REVCYCLE_SFTP_REMOTE_ROOT {root!r}" if root else " in the login folder"
    try:
        waiting = len(transport.list_dir(folder.path))
    except HostileRemoteName as problem:
        return CheckLine("FAIL", folder.label, f"{where} is not a usable folder name ({problem}): correct it")
    except FileNotFoundError:
        return CheckLine(
            "FAIL",
            folder.label,
            f"{where} does not exist{under}: set {folder.variable} to the folder the clearinghouse gave you, "
            "or create it on the server",
        )
    except RemoteOperationFailed:
        return CheckLine(
            "FAIL", folder.label, f"{where} cannot be listed{under} (not a folder, or no permission): check it"
        )
    probe = join_remote(folder.path, probe_name())
    try:
        transport.write(probe, PROBE_BYTES)
    except RemoteOperationFailed:
        return CheckLine(
            "FAIL",
            folder.label,
            f"{where} exists but is not writable by {user}: ask the clearinghouse for write access",
        )
    try:
        transport.remove(probe)
    except (RemoteOperationFailed, FileNotFoundError):
        return CheckLine(
            "FAIL",
            folder.label,
            f"{where}: the probe file {probe!r} was written but cannot be removed: ask the clearinghouse for "
            "delete/rename rights there, and remove the probe",
        )
    return CheckLine("OK", folder.label, f"{where} exists and is writable ({waiting} files in it)")


def check_clearinghouse(settings: Settings, probe_name: Callable[[], str] = _probe_name) -> list[CheckLine]:
    """Check the clearinghouse of ``settings`` step by step; a failed step skips the steps that need it."""
    try:
        transport = sftp_transport_from_settings(settings)
    except ConfigurationError as problem:
        text = str(problem)
        if "REVCYCLE_" not in text:  # the key parsers do not know which setting the text came from
            text += ": check REVCYCLE_SFTP_PRIVATE_KEY_FILE and REVCYCLE_SFTP_KNOWN_HOST"
        return [CheckLine("FAIL", "settings", text)]
    transport.retries = 0
    transport.connect_timeout = transport.banner_timeout = transport.auth_timeout = CHECK_CONNECT_SECONDS
    folders = remote_folders(settings)
    with transport:
        lines = _connect(settings, transport)
        if lines[-1].outcome != "OK":
            return lines + [CheckLine("SKIP", f.label, f"{f.path!r} not checked") for f in folders]
        for folder in folders:
            try:
                lines.append(
                    check_folder(transport, settings.sftp_username, folder, settings.sftp_remote_root, probe_name)
                )
            except TransientError as problem:
                lines.append(
                    CheckLine("FAIL", folder.label, f"the connection dropped ({problem}); run the check again")
                )
    return lines
