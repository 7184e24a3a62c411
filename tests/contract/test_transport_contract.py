"""The Transport contract: every implementation (in-memory, SFTP against the sandbox) behaves the same."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from connectors.clearinghouse.memory import MemoryTransport
from connectors.clearinghouse.transport import (
    HostileRemoteName,
    RemoteFile,
    Transport,
    join_remote,
    validate_remote_name,
    validate_remote_path,
)
from revcycle.errors import RevcycleError, RunFailure, TransientError

if TYPE_CHECKING:
    from contract.conftest import RemoteHarness

# Larger than one SFTP chunk (32 KiB) so streamed reads and writes cross chunk boundaries.
PAYLOAD = bytes(range(256)) * 400 + b"ISA*00*~"
HOSTILE_NAMES = ["../x", "/etc/passwd", "a\\b", "a\x00b", "x" * 300, "..", ".", "", "-rf", "a\nb"]


class TestTransportContract:
    """One set of behaviours, run over each implementation by the ``remote`` fixture."""

    def test_is_a_transport(self, remote: RemoteHarness) -> None:
        assert isinstance(remote.transport, Transport)

    def test_upload_cycle_part_rename_list_read_download_remove(self, remote: RemoteHarness, tmp_path: Path) -> None:
        t = remote.transport
        t.makedirs("upload")
        t.write("upload/CLM0001.x12.part", PAYLOAD)

        part = t.stat("upload/CLM0001.x12.part")
        assert part is not None
        assert part.name == "CLM0001.x12.part"
        assert part.size == len(PAYLOAD)

        t.rename("upload/CLM0001.x12.part", "upload/CLM0001.x12")
        assert t.stat("upload/CLM0001.x12.part") is None
        listing = t.list_dir("upload")
        assert [f.name for f in listing] == ["CLM0001.x12"]
        assert listing[0].size == len(PAYLOAD)
        assert isinstance(listing[0], RemoteFile)

        assert t.read("upload/CLM0001.x12") == PAYLOAD

        local = tmp_path / "local" / "CLM0001.x12"
        local.parent.mkdir()
        assert t.download("upload/CLM0001.x12", local) == len(PAYLOAD)
        assert local.read_bytes() == PAYLOAD
        assert stat.S_IMODE(local.stat().st_mode) == 0o600
        assert sorted(p.name for p in local.parent.iterdir()) == ["CLM0001.x12"]  # no temp file left

        t.remove("upload/CLM0001.x12")
        assert t.stat("upload/CLM0001.x12") is None
        assert t.list_dir("upload") == []
        assert not remote.exists("upload/CLM0001.x12")

    def test_rename_replaces_an_existing_target(self, remote: RemoteHarness) -> None:
        t = remote.transport
        t.makedirs("upload")
        t.write("upload/A.x12", b"old contents")
        t.write("upload/A.x12.part", b"new")
        t.rename("upload/A.x12.part", "upload/A.x12")
        assert t.read("upload/A.x12") == b"new"
        assert [f.name for f in t.list_dir("upload")] == ["A.x12"]

    def test_rename_across_directories(self, remote: RemoteHarness) -> None:
        t = remote.transport
        t.makedirs("inbox")
        t.makedirs("archive")
        t.write("inbox/R.835", b"remit")
        t.rename("inbox/R.835", "archive/R.835")
        assert t.list_dir("inbox") == []
        assert [f.name for f in t.list_dir("archive")] == ["R.835"]

    def test_rename_no_replace_moves_and_never_replaces(self, remote: RemoteHarness) -> None:
        t = remote.transport
        t.makedirs("inbox")
        t.makedirs("archive")
        t.write("inbox/ERA.835", b"second")
        t.write("archive/ERA.835", b"first")
        with pytest.raises(FileExistsError):
            t.rename_no_replace("inbox/ERA.835", "archive/ERA.835")
        assert t.read("archive/ERA.835") == b"first"  # the archived file is untouched ...
        assert t.read("inbox/ERA.835") == b"second"  # ... and the inbox file still there
        t.rename_no_replace("inbox/ERA.835", "archive/ERA.835.2")
        assert t.list_dir("inbox") == []
        assert t.read("archive/ERA.835.2") == b"second"
        with pytest.raises(FileNotFoundError):
            t.rename_no_replace("inbox/ERA.835", "archive/ERA.835.3")

    def test_write_replaces_an_existing_file(self, remote: RemoteHarness) -> None:
        t = remote.transport
        t.makedirs("upload")
        t.write("upload/B.part", b"a much longer first version")
        t.write("upload/B.part", b"short")
        assert t.read("upload/B.part") == b"short"
        found = t.stat("upload/B.part")
        assert found is not None and found.size == 5

    def test_empty_file_round_trip(self, remote: RemoteHarness, tmp_path: Path) -> None:
        t = remote.transport
        t.makedirs("upload")
        t.write("upload/empty.part", b"")
        found = t.stat("upload/empty.part")
        assert found is not None and found.size == 0
        assert t.read("upload/empty.part") == b""
        assert t.download("upload/empty.part", tmp_path / "empty") == 0
        assert (tmp_path / "empty").read_bytes() == b""

    def test_makedirs_creates_parents_and_is_idempotent(self, remote: RemoteHarness) -> None:
        t = remote.transport
        t.makedirs("a/b/c")
        t.makedirs("a/b/c")
        t.makedirs("a/b")
        t.write("a/b/c/f.txt", b"x")
        t.write("a/b/g.txt", b"yy")
        # Only regular files directly inside the directory are listed, not the subdirectory "c".
        assert [(f.name, f.size) for f in t.list_dir("a/b")] == [("g.txt", 2)]
        assert [f.name for f in t.list_dir("a/b/c")] == ["f.txt"]

    def test_listing_is_sorted_by_name(self, remote: RemoteHarness) -> None:
        t = remote.transport
        t.makedirs("inbox")
        for name in ["c.999", "a.835", "b.277"]:
            t.write(f"inbox/{name}", name.encode())
        assert [f.name for f in t.list_dir("inbox")] == ["a.835", "b.277", "c.999"]

    def test_stat_of_a_directory_is_none(self, remote: RemoteHarness) -> None:
        remote.transport.makedirs("inbox/sub")
        assert remote.transport.stat("inbox/sub") is None

    def test_missing_things(self, remote: RemoteHarness, tmp_path: Path) -> None:
        t = remote.transport
        t.makedirs("inbox")
        assert t.stat("inbox/nothing.835") is None
        with pytest.raises(FileNotFoundError):
            t.read("inbox/nothing.835")
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        with pytest.raises(FileNotFoundError):
            t.download("inbox/nothing.835", downloads / "nothing.835")
        assert list(downloads.iterdir()) == []  # neither the file nor a temp file
        with pytest.raises(FileNotFoundError):
            t.remove("inbox/nothing.835")
        with pytest.raises(FileNotFoundError):
            t.rename("inbox/nothing.835", "inbox/other.835")
        with pytest.raises(FileNotFoundError):
            t.list_dir("no-such-dir")
        with pytest.raises(FileNotFoundError):
            t.write("no-such-dir/x.part", b"data")
        assert not remote.exists("no-such-dir/x.part")

    @pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
    def test_hostile_names_are_refused_before_anything_is_sent(
        self, remote: RemoteHarness, name: str, tmp_path: Path
    ) -> None:
        t = remote.transport
        path = f"upload/{name}" if name else ""
        calls: list[Callable[[], object]] = [
            lambda: t.write(path, b"data"),
            lambda: t.read(path),
            lambda: t.stat(path),
            lambda: t.download(path, tmp_path / "x"),
            lambda: t.remove(path),
            lambda: t.rename("upload/ok.part", path),
            lambda: t.rename(path, "upload/ok"),
            lambda: t.list_dir(path),
            lambda: t.makedirs(path),
        ]
        for call in calls:
            with pytest.raises(HostileRemoteName):
                call()
        assert not remote.contacted()

    def test_absolute_paths_are_refused(self, remote: RemoteHarness) -> None:
        with pytest.raises(HostileRemoteName):
            remote.transport.read("/etc/passwd")
        with pytest.raises(HostileRemoteName):
            remote.transport.list_dir("/")
        assert not remote.contacted()

    def test_listing_leaves_out_hostile_names_planted_on_the_server(self, remote: RemoteHarness) -> None:
        remote.transport.makedirs("inbox")
        remote.plant("inbox/ok.835", b"fine")
        remote.plant("inbox/-rf", b"dash")
        remote.plant("inbox/bad\nname.835", b"newline")
        assert [f.name for f in remote.transport.list_dir("inbox")] == ["ok.835"]
        assert remote.transport.refused_entries("inbox") == ["-rf", "bad\nname.835"]

    def test_closed_transport_refuses_operations(self, remote: RemoteHarness) -> None:
        remote.transport.makedirs("upload")
        with remote.transport as t:
            assert t.stat("upload/x") is None
        with pytest.raises(RuntimeError):
            remote.transport.stat("upload/x")


class TestRemoteNames:
    """``validate_remote_name`` and friends, independent of any transport."""

    @pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
    def test_hostile_names(self, name: str) -> None:
        with pytest.raises(HostileRemoteName) as caught:
            validate_remote_name(name)
        assert isinstance(caught.value, RunFailure)
        assert isinstance(caught.value, RevcycleError)

    @pytest.mark.parametrize(
        "name", ["CLM0001.x12", "835_20240101_0001.txt", "a.b.c", "é.txt", "x" * 255, "has space.835"]
    )
    def test_ordinary_names_pass_unchanged(self, name: str) -> None:
        assert validate_remote_name(name) == name

    def test_limit_is_in_utf8_bytes(self) -> None:
        # "é" is 2 bytes in UTF-8: 128 of them are 256 bytes, one over the limit.
        with pytest.raises(HostileRemoteName):
            validate_remote_name("é" * 128)
        assert validate_remote_name("é" * 127) == "é" * 127

    def test_hostile_message_is_escaped_and_short(self) -> None:
        with pytest.raises(HostileRemoteName) as caught:
            validate_remote_name("evil\x1b[31m" + "y" * 500)
        message = str(caught.value)
        assert "\x1b" not in message
        assert len(message) < 200

    def test_paths(self) -> None:
        assert validate_remote_path("a/b/c.x12") == "a/b/c.x12"
        for bad in ["a//b", "a/../b", "a/", "/a", "a/./b"]:
            with pytest.raises(HostileRemoteName):
                validate_remote_path(bad)
        assert join_remote("inbox", "R.835") == "inbox/R.835"
        with pytest.raises(HostileRemoteName):
            join_remote("inbox", "../R.835")


class TestMemoryTransportHooks:
    """The fault-injection and landing hooks that only the in-memory fake has."""

    def test_fail_next_before_the_operation_leaves_nothing(self) -> None:
        t = MemoryTransport()
        t.makedirs("upload")
        t.fail_next("write", TransientError("network down"))
        with pytest.raises(TransientError):
            t.write("upload/A.part", b"x")
        assert t.stat("upload/A.part") is None
        t.write("upload/A.part", b"x")  # the fault is used up
        assert t.read("upload/A.part") == b"x"

    def test_fail_next_after_the_operation_models_a_lost_reply(self) -> None:
        t = MemoryTransport()
        t.makedirs("upload")
        t.write("upload/A.part", b"x")
        t.fail_next("rename", TransientError("reply lost"), after=True)
        with pytest.raises(TransientError):
            t.rename("upload/A.part", "upload/A")
        assert [f.name for f in t.list_dir("upload")] == ["A"]

    def test_faults_queue_in_order_per_operation(self) -> None:
        t = MemoryTransport()
        t.makedirs("inbox")
        t.fail_next("list_dir", TransientError("first"))
        t.fail_next("list_dir", KeyError("second"))
        with pytest.raises(TransientError):
            t.list_dir("inbox")
        with pytest.raises(KeyError):
            t.list_dir("inbox")
        assert t.list_dir("inbox") == []

    def test_unknown_operation_is_refused(self) -> None:
        with pytest.raises(ValueError):
            MemoryTransport().fail_next("chmod", TransientError("x"))

    def test_on_rename_sees_each_landing_and_may_answer(self) -> None:
        seen: list[tuple[str, str]] = []
        t = MemoryTransport()

        def clearinghouse(src: str, dst: str) -> None:
            seen.append((src, dst))
            t.files["responses/" + dst.rpartition("/")[2] + ".999"] = b"ack"

        t.on_rename = clearinghouse
        t.makedirs("upload")
        t.makedirs("responses")
        t.write("upload/A.part", b"claim")
        t.rename("upload/A.part", "upload/A")
        assert seen == [("upload/A.part", "upload/A")]
        assert [f.name for f in t.list_dir("responses")] == ["A.999"]
        assert ("rename", "upload/A.part -> upload/A") in t.operations
