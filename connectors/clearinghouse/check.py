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
from typing import TYPE_CHECKING, Literal

from connectors.clearinghouse.factory import sftp_transport_from_settings
from connectors.clearinghouse.keys import parse_known_host_key
from connectors.clearinghouse.sftp import SftpTransport
from connectors.clearinghouse.transport import HostileRemoteName, RemoteOperationFailed, Transport, join_remote
from revcycle.errors import AuthenticationFailed, ConfigurationError, HostKeyMismatch, TransientError
from revcycle.settings import Settings

if TYPE_CHECKING:
    from connectors.clearinghouse.block import ClearinghouseSftp

Outcome = Literal["OK", "FAIL", "SKIP"]
PROBE_BYTES = b"revcycle connection check: safe to delete\n"
# The settings a check may name; a block's fields have these names too.
CONNECTION_FIELDS = (
    "sftp_host",
    "sftp_port",
    "sftp_username",
    "sftp_private_key_file",
    "sftp_password",
    "sftp_known_host",
    "sftp_remote_root",
)
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
    """A remote folder the runs use and the setting (variable or block field) that names it."""

    label: str
    path: str
    setting: str


def _probe_name() -> str:
    return f".revcycle-check-{secrets.token_hex(4)}.part"


def _variable(field: str) -> str:
    return f"REVCYCLE_{field.upper()}"


def _field(field: str) -> str:
    return field


@dataclass(frozen=True)
class Connection:
    """What the check connects to, and how each of its settings is named to the operator.

    ``name_of`` turns a setting's field name (``sftp_host``) into what the operator changes: the variable
    (``REVCYCLE_SFTP_HOST``) for the settings, the block field itself for a saved block.
    """

    transport: Callable[[], SftpTransport]
    host: str
    port: int
    username: str
    known_host: str
    remote_root: str
    folders: list[RemoteFolder]
    uses_key: bool
    name_of: Callable[[str], str]


def _folders(upload: str, inbox: str, archive: str | None, name_of: Callable[[str], str]) -> list[RemoteFolder]:
    """The folders a run uses: upload, inbox and (when set) archive."""
    folders = [
        RemoteFolder("upload folder", upload, name_of("remote_upload_dir")),
        RemoteFolder("inbox folder", inbox, name_of("remote_inbox_dir")),
    ]
    if archive:
        folders.append(RemoteFolder("archive folder", archive, name_of("remote_archive_dir")))
    return folders


def connection_of_settings(settings: Settings) -> Connection:
    """The clearinghouse of the REVCYCLE_SFTP_* / REVCYCLE_REMOTE_* settings."""
    return Connection(
        transport=lambda: sftp_transport_from_settings(settings),
        host=settings.sftp_host,
        port=settings.sftp_port,
        username=settings.sftp_username,
        known_host=settings.sftp_known_host or "",
        remote_root=settings.sftp_remote_root,
        folders=_folders(settings.remote_upload_dir, settings.remote_inbox_dir, settings.remote_archive_dir, _variable),
        uses_key=settings.sftp_private_key_file is not None,
        name_of=_variable,
    )


def connection_of_block(block: ClearinghouseSftp) -> Connection:
    """The clearinghouse of a saved Clearinghouse SFTP block; its lines name the block's fields."""
    return Connection(
        transport=lambda: block.endpoint().transport,
        host=block.sftp_host,
        port=block.sftp_port,
        username=block.sftp_username,
        known_host=block.sftp_known_host,
        remote_root=block.sftp_remote_root,
        folders=_folders(block.remote_upload_dir, block.remote_inbox_dir, block.remote_archive_dir, _field),
        uses_key=block.sftp_private_key_file is not None,
        name_of=_field,
    )


def _login_settings(connection: Connection) -> str:
    name = connection.name_of
    secret = name("sftp_private_key_file") if connection.uses_key else name("sftp_password")
    return f"{name('sftp_username')} ({connection.username}) and {secret}"


def _connect(connection: Connection, transport: SftpTransport) -> list[CheckLine]:
    """The host-key and login lines; the last is FAIL or SKIP when the folders cannot be checked."""
    where = transport.where
    name = connection.name_of
    host_and_port = f"{name('sftp_host')} and {name('sftp_port')}"
    pin = name("sftp_known_host")
    try:
        transport.connect()
    except TransientError as problem:
        return [
            CheckLine(
                "FAIL",
                "connect",
                f"cannot reach {where} ({str(problem).rsplit(': ', 1)[-1]}): check {host_and_port}, and that "
                "this machine may reach the server",
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
                f"its known_hosts line in {pin}",
            ),
            CheckLine("SKIP", "login", "not tried: no credential is sent to a server whose key is not pinned"),
        ]
    except AuthenticationFailed:
        return [
            CheckLine("OK", "connect", f"{where} answers"),
            CheckLine("OK", "host key", f"matches {pin}"),
            CheckLine("FAIL", "login", f"{where} refused the login: check {_login_settings(connection)}"),
        ]
    except ConfigurationError as problem:
        return [CheckLine("FAIL", "connect", f"{problem}: check {host_and_port}")]
    pinned = parse_known_host_key(connection.known_host)
    return [
        CheckLine("OK", "connect", f"{where} answers"),
        CheckLine("OK", "host key", f"{pinned.get_name()} {pinned.fingerprint} matches {pin}"),
        CheckLine("OK", "login", f"logged in as {connection.username}"),
    ]


def check_folder(
    transport: Transport,
    user: str,
    folder: RemoteFolder,
    root: str,
    probe_name: Callable[[], str] = _probe_name,
    root_setting: str = "REVCYCLE_SFTP_REMOTE_ROOT",
) -> CheckLine:
    """``folder`` exists (it is listed) and ``user`` may write in it (a probe file written, then removed)."""
    where = f"{folder.path!r} ({folder.setting})"
    under = f" under {root_setting} {root!r}" if root else " in the login folder"
    try:
        waiting = len(transport.list_dir(folder.path))
    except HostileRemoteName as problem:
        return CheckLine("FAIL", folder.label, f"{where} is not a usable folder name ({problem}): correct it")
    except FileNotFoundError:
        return CheckLine(
            "FAIL",
            folder.label,
            f"{where} does not exist{under}: set {folder.setting} to the folder the clearinghouse gave you, "
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


def check_clearinghouse(
    settings: Settings | Connection, probe_name: Callable[[], str] = _probe_name
) -> list[CheckLine]:
    """Check the clearinghouse step by step; a failed step skips the steps that need it."""
    connection = connection_of_settings(settings) if isinstance(settings, Settings) else settings
    name = connection.name_of
    try:
        transport = connection.transport()
    except ConfigurationError as problem:
        text = str(problem)
        if not any(name(field) in text for field in CONNECTION_FIELDS):  # the key parsers name no setting
            text += f": check {name('sftp_private_key_file')} and {name('sftp_known_host')}"
        return [CheckLine("FAIL", "settings", text)]
    transport.retries = 0
    transport.connect_timeout = transport.banner_timeout = transport.auth_timeout = CHECK_CONNECT_SECONDS
    folders = connection.folders
    with transport:
        lines = _connect(connection, transport)
        if lines[-1].outcome != "OK":
            return lines + [CheckLine("SKIP", f.label, f"{f.path!r} not checked") for f in folders]
        for folder in folders:
            try:
                lines.append(
                    check_folder(
                        transport,
                        connection.username,
                        folder,
                        connection.remote_root,
                        probe_name,
                        name("sftp_remote_root"),
                    )
                )
            except TransientError as problem:
                lines.append(
                    CheckLine("FAIL", folder.label, f"the connection dropped ({problem}); run the check again")
                )
    return lines
