"""The folder step of `revcycle clearinghouse check` on the in-memory transport: the refusals a test run as
root cannot get from a real server (a folder it may list but not write, a probe it may write but not remove)."""

from __future__ import annotations

from connectors.clearinghouse.check import RemoteFolder, check_folder
from connectors.clearinghouse.memory import MemoryTransport
from connectors.clearinghouse.transport import RemoteOperationFailed

UPLOAD = RemoteFolder("upload folder", "claims", "REVCYCLE_REMOTE_UPLOAD_DIR")


def remote_with_claims_folder() -> MemoryTransport:
    transport = MemoryTransport()
    transport.makedirs("claims")
    return transport


def test_a_folder_that_refuses_the_probe_is_not_writable_and_says_whom_to_ask() -> None:
    transport = remote_with_claims_folder()
    transport.fail_next("write", RemoteOperationFailed("SFTP write of 'claims/x' refused: PermissionError"))

    line = check_folder(transport, "acme", UPLOAD, "/drop", lambda: ".probe.part")

    assert (line.outcome, line.name) == ("FAIL", "upload folder")
    assert "'claims' (REVCYCLE_REMOTE_UPLOAD_DIR) exists but is not writable by acme" in line.detail
    assert transport.files == {}


def test_a_probe_that_cannot_be_removed_is_named_so_the_operator_can_remove_it() -> None:
    transport = remote_with_claims_folder()
    transport.fail_next("remove", RemoteOperationFailed("SFTP remove of 'claims/.probe.part' refused"))

    line = check_folder(transport, "acme", UPLOAD, "", lambda: ".probe.part")

    assert line.outcome == "FAIL"
    assert "'claims/.probe.part' was written but cannot be removed" in line.detail


def test_a_writable_folder_is_ok_and_the_probe_is_gone() -> None:
    transport = remote_with_claims_folder()
    transport.files["claims/837P_A_000000001.x12"] = b"ISA*"

    line = check_folder(transport, "acme", UPLOAD, "", lambda: ".probe.part")

    assert line.outcome == "OK"
    assert "(1 files in it)" in line.detail
    assert ("write", "claims/.probe.part") in transport.operations
    assert ("remove", "claims/.probe.part") in transport.operations
    assert list(transport.files) == ["claims/837P_A_000000001.x12"]


def test_a_missing_folder_names_the_remote_root_it_was_looked_for_under() -> None:
    line = check_folder(MemoryTransport(), "acme", UPLOAD, "/drop", lambda: ".probe.part")

    assert line.outcome == "FAIL"
    assert "does not exist under REVCYCLE_SFTP_REMOTE_ROOT '/drop'" in line.detail
