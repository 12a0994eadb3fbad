"""`portscope snapshot -o FILE` writes where a shell's `>` would, without replacing what it
should write into. Device nodes are made with mknod in the test's own directory, so a
regression replaces those, never the machine's /dev."""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import NOBODY, cli_env, needs_root, run_portscope, run_portscope_as_nobody

OLD = "precious\n"


def one_line(done: subprocess.CompletedProcess[str], status: int) -> str:
    assert done.returncode == status, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("portscope: "), lines
    return lines[0]


def is_snapshot(text: str) -> bool:
    return json.loads(text)["schema"] == "portscope.snapshot/1"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory anyone may write into (tmp_path is root's alone), not sticky."""
    with tempfile.TemporaryDirectory(prefix="portscope-o-") as name:
        os.chmod(name, 0o777)
        yield Path(name)


@needs_root
@pytest.mark.root
def test_another_users_file_keeps_its_owner_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "theirs.json"
    target.write_text(OLD)
    os.chown(target, NOBODY, NOBODY)
    target.chmod(0o600)
    before = target.stat()
    done = run_portscope("snapshot", "--json", "-o", str(target))
    assert done.returncode == 0, done.stderr
    after = target.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (NOBODY, NOBODY, 0o600)
    assert after.st_ino != before.st_ino, "replaced atomically, not rewritten in place"
    assert is_snapshot(target.read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.json"]


def test_a_hard_linked_file_is_refused_and_both_names_kept(tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    target.write_text(OLD)
    other = tmp_path / "other-name"
    os.link(target, other)
    line = one_line(run_portscope("snapshot", "--json", "-o", str(target)), 2)
    assert "2 hard links" in line and str(target) in line
    assert target.read_text() == other.read_text() == OLD
    assert target.stat().st_ino == other.stat().st_ino


@needs_root
@pytest.mark.root
def test_nobody_is_refused_what_it_could_only_replace_by_changing_it(shared_dir: Path) -> None:
    """In a directory nobody may write to, rename() would let it replace root's file
    (leaving its own) and its own read-only one: both are refused instead."""
    roots = shared_dir / "roots.json"
    roots.write_text(OLD)
    roots.chmod(0o666)
    readonly = shared_dir / "readonly.json"
    readonly.write_text(OLD)
    os.chown(readonly, NOBODY, NOBODY)
    readonly.chmod(0o444)
    line = one_line(run_portscope_as_nobody("snapshot", "--json", "-o", str(roots)), 2)
    assert "belongs to root (uid 0)" in line
    line = one_line(run_portscope_as_nobody("snapshot", "--json", "-o", str(readonly)), 2)
    assert "read-only" in line
    assert roots.read_text() == readonly.read_text() == OLD
    assert (roots.stat().st_uid, readonly.stat().st_uid) == (0, NOBODY)
    assert sorted(p.name for p in shared_dir.iterdir()) == ["readonly.json", "roots.json"]


def mknod(path: Path, kind: int, major: int, minor: int) -> os.stat_result:
    os.mknod(path, 0o666 | kind, os.makedev(major, minor))
    return path.stat()


@needs_root
@pytest.mark.root
def test_a_device_is_written_into_and_its_write_error_is_an_error(tmp_path: Path) -> None:
    null = mknod(tmp_path / "null", stat.S_IFCHR, 1, 3)
    full = mknod(tmp_path / "full", stat.S_IFCHR, 1, 7)
    done = run_portscope("snapshot", "--json", "-o", str(tmp_path / "null"))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    line = one_line(run_portscope("snapshot", "--json", "-o", str(tmp_path / "full")), 2)
    assert line == f"portscope: cannot write '{tmp_path}/full': No space left on device"
    for name, node in (("null", null), ("full", full)):
        now = (tmp_path / name).lstat()
        assert stat.S_ISCHR(now.st_mode) and (now.st_ino, now.st_rdev) == (
            node.st_ino,
            node.st_rdev,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "null"]


@needs_root
@pytest.mark.root
def test_a_block_device_is_refused(tmp_path: Path) -> None:
    """Major 250 is for local use: nothing behind it, should the refusal ever fail."""
    disk = mknod(tmp_path / "disk", stat.S_IFBLK, 250, 0)
    line = one_line(run_portscope("snapshot", "-o", str(tmp_path / "disk")), 2)
    assert "it is a block device" in line
    assert (tmp_path / "disk").lstat().st_ino == disk.st_ino


def test_a_fifo_is_written_into(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = tmp_path / "received"
    with received.open("wb") as sink:  # a file, not a pipe that fills while nobody reads it
        reader = subprocess.Popen(["cat", str(fifo)], stdout=sink)
    try:
        done = run_portscope("snapshot", "--json", "-o", str(fifo))
        assert done.returncode == 0, done.stderr
        assert reader.wait(timeout=30) == 0
    finally:
        reader.kill()
        reader.wait()
    assert is_snapshot(received.read_text())
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_terminal_is_written_into() -> None:
    main, child = pty.openpty()
    try:
        writer = subprocess.Popen(
            [sys.executable, "-m", "portscope", "snapshot", "--csv", "-o", os.ttyname(child)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
        )
        received = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # read as it comes: a terminal's buffer is small
            if select.select([main], [], [], 0.2)[0]:
                received += os.read(main, 65536)
            elif writer.poll() is not None:
                break
        _, errors = writer.communicate(timeout=10)
    finally:
        os.close(main)
        os.close(child)
    assert (writer.returncode, errors) == (0, b"")
    assert received.startswith(b"proto,family,local_address")


@pytest.mark.parametrize("link", ["/proc/self/fd/1", "stdout-link"])
def test_a_name_for_standard_output_writes_to_it(tmp_path: Path, link: str) -> None:
    """/dev/stdout is a symlink to /proc/self/fd/1; `stdout-link` is one like it, made
    here so a regression replaces it instead of the machine's /dev/stdout."""
    if link == "stdout-link":
        (tmp_path / link).symlink_to("/proc/self/fd/1")
        link = str(tmp_path / link)
    done = run_portscope("snapshot", "--json", "-o", link)
    assert done.returncode == 0, done.stderr
    assert is_snapshot(done.stdout)
    assert os.path.islink(link)


@pytest.mark.parametrize("fd", [0, 9])
def test_a_name_for_a_descriptor_not_held_for_writing_is_refused_and_kept(
    tmp_path: Path, fd: int
) -> None:
    """/dev/stdin (fd 0 is a file opened for reading here), or /dev/stdout with stdout
    closed: as root, replacing /dev's link would break it for the whole machine."""
    link = tmp_path / "fd-link"
    link.symlink_to(f"/proc/self/fd/{fd}")
    (tmp_path / "input").write_text(OLD)
    with (tmp_path / "input").open("rb") as read_only:
        done = run_portscope("snapshot", "-o", str(link), stdin=read_only)
    assert "does not hold for writing" in one_line(done, 2)
    assert os.readlink(link) == f"/proc/self/fd/{fd}"
    assert (tmp_path / "input").read_text() == OLD


def test_a_name_for_another_open_descriptor_writes_to_it(tmp_path: Path) -> None:
    """What bash's `-o >(gzip > x.gz)` passes: /dev/fd/63, a pipe the child holds."""
    reader, writer = os.pipe()
    link = tmp_path / "fd-link"
    link.symlink_to(f"/proc/self/fd/{writer}")
    with os.fdopen(reader, encoding="utf-8") as pipe:
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "portscope", "snapshot", "--json", "-o", str(link)],
                pass_fds=[writer],
                stdout=subprocess.DEVNULL,
                env=cli_env(),
            )
        finally:
            os.close(writer)  # the child's copy is the only writer left: EOF when it exits
        received = pipe.read()
    assert child.wait(timeout=120) == 0
    assert is_snapshot(received)
    assert link.is_symlink()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "the file name is empty"),
        ("missing/", "it ends in /, so it names a directory, not a file"),
        (".", "it is a directory, not a regular file"),
    ],
)
def test_a_name_that_is_no_file_gets_one_clear_line(tmp_path: Path, name: str, reason: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "portscope", "snapshot", "-o", name],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert one_line(done, 2) == f"portscope: cannot write '{name}': {reason}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv", [["snapshot"], ["lookup", "22", "--offline"], ["check"], ["check", "--json"]]
)
def test_standard_output_that_cannot_be_written_is_one_line_and_status_2(
    argv: list[str],
) -> None:
    """/dev/full is written into, never replaced: using the machine's own is harmless."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "portscope", *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
            timeout=120,
            check=False,
        )
    assert (done.returncode, done.stderr) == (
        2,
        "portscope: cannot write standard output: No space left on device\n",
    )


@pytest.mark.parametrize("to_link", [False, True])
def test_closed_standard_output_is_one_line_and_status_2(tmp_path: Path, to_link: bool) -> None:
    """`portscope snapshot >&-`, as cron lines have it: no traceback, and with `-o` naming
    /dev/stdout no descriptor opened later (a socket-table reader) takes its place."""
    link = tmp_path / "stdout-link"
    link.symlink_to("/proc/self/fd/1")
    argv = [sys.executable, "-m", "portscope", "snapshot", *(["-o", str(link)] * to_link)]
    done = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *argv],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        check=False,
    )
    reason = "it names a descriptor" if to_link else "cannot write standard output: it is closed"
    assert reason in one_line(done, 2)
    assert link.is_symlink()
