"""Reading and writing files so that a crash, a planted link or a special file can do no harm.

Everything portscope writes goes through here, in one of two ways:

- `replace_file` (settings; `-o` onto a regular file or a new name): the text goes to a
  temp file created exclusively beside the target, flushed, then renamed over it, so a
  reader never sees half of it. rename() replaces a symlink at the target instead of
  following it. An existing file keeps its owner, group and mode; when it cannot (another
  user's file and we are not root), or the file has other names (hard links, which a
  rename would cut off), or is read-only, a directory or not a regular file at all, the
  write is refused and says why.
- `write_output` (`-o FILE`): what cannot be replaced by a copy is written into, as a
  shell's `>` would: a character device or terminal (/dev/null, /dev/full, a tty) and a
  FIFO are opened for writing, never created, truncated or renamed over; a name for a
  stream this process already holds (/dev/stdout, /dev/stderr, the /dev/fd/63 that
  bash's `>(...)` passes) writes to that stream, and one for a descriptor it does not
  hold for writing is refused. Anything else goes to `replace_file`.

`read_small_file` reads settings without ever blocking on a FIFO or a device put there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import re
import secrets
import stat
from pathlib import Path

NEW_FILE_MODE = 0o644
"""Mode of a new file, less the umask (the kernel applies it when creating the temp file)."""
TEMP_ATTEMPTS = 100
_DESCRIPTOR_NAME = re.compile(r"/(?:proc/self|dev)/fd/[0-9]+", re.ASCII)
"""Where /dev/stdout, /dev/stderr and /dev/stdin point: replacing such a link (as root,
in /dev) would break it for every process on the machine."""

StrPath = str | os.PathLike[str]


class Refused(OSError):
    """portscope will not read or write this file; `strerror` says why, starting "it"."""

    def __init__(self, path: StrPath, reason: str) -> None:
        super().__init__(None, reason, os.fspath(path))


def read_small_file(path: StrPath, limit: int) -> bytes:
    """Up to `limit` bytes of the regular file at `path` (symlinks followed, as for any
    dotfile). Anything else is refused without being opened: a FIFO would block the
    reader until some writer came, a device could stream forever."""
    _require_regular(path, os.stat(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        _require_regular(path, os.fstat(fd))  # it may have been swapped since the stat
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    finally:
        os.close(fd)


def replace_file(path: StrPath, text: str, mode: int = NEW_FILE_MODE) -> None:
    """Put `text` at `path` atomically: a new file gets `mode` (less the umask); an
    existing regular file is replaced keeping its owner, group and mode; a symlink there
    is replaced, never followed; anything else is refused (`Refused`)."""
    name = _checked_name(path)
    _replace_checked(name, text.encode("utf-8"), mode, _lstat(name))


def write_output(path: StrPath, text: str) -> None:
    """Write `text` to what `path` names, into it or replacing it as the module says."""
    name = _checked_name(path)
    data = text.encode("utf-8")
    found = _lstat(name)
    if found is not None and stat.S_ISLNK(found.st_mode):
        held = _held_stream(name)
        if held is not None:
            _write_all(held, data)
            return
        if _DESCRIPTOR_NAME.fullmatch(os.readlink(name)):  # /dev/stdout with stdout closed
            raise Refused(name, "it names a descriptor this process does not hold for writing")
    elif found is not None and (stat.S_ISCHR(found.st_mode) or stat.S_ISFIFO(found.st_mode)):
        _write_into(name, found, data)
        return
    _replace_checked(name, data, NEW_FILE_MODE, found)


def _checked_name(path: StrPath) -> str:
    name = os.fspath(path)
    if not name:
        raise Refused(name, "the file name is empty")
    if name.endswith("/"):
        raise Refused(name, "it ends in /, so it names a directory, not a file")
    return name


def _lstat(name: str) -> os.stat_result | None:
    """What is at `name` itself (a symlink is not followed), or None if nothing is."""
    try:
        return os.lstat(name)
    except FileNotFoundError:
        return None


def _kind(found: os.stat_result) -> str:
    mode = found.st_mode
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")


def _require_regular(path: StrPath, found: os.stat_result) -> None:
    kind = _kind(found)
    if kind != "a regular file":
        raise Refused(path, f"it is {kind}, not a regular file")


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _replace_checked(name: str, data: bytes, mode: int, found: os.stat_result | None) -> None:
    """Replace `name` (as found by lstat) with `data`, or refuse saying why."""
    if found is None or stat.S_ISLNK(found.st_mode):
        _replace(name, data, mode, None)
        return
    _require_regular(name, found)
    if found.st_nlink > 1:
        raise Refused(
            name,
            f"it has {found.st_nlink} hard links, which replacing it would break; "
            "remove it or choose another name",
        )
    if not os.access(name, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise Refused(name, "it is read-only for this user")
    _replace(name, data, mode, found)


def _replace(name: str, data: bytes, mode: int, existing: os.stat_result | None) -> None:
    """Write a temp file beside `name`, give it `existing`'s owner and mode, rename it over."""
    fd, temp = _create_beside(name, mode)
    try:
        try:
            _write_all(fd, data)
            if existing is not None:
                _take_owner_and_mode(fd, name, existing)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _create_beside(name: str, mode: int) -> tuple[int, str]:
    """A new file, ours alone, in `name`'s directory (so the rename cannot cross devices).
    Created with `mode` so the kernel applies the umask and any default ACL."""
    directory, base = os.path.split(name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(TEMP_ATTEMPTS):
        temp = os.path.join(directory, f".{base}-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, flags, mode), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {name}")


def _take_owner_and_mode(fd: int, name: str, existing: os.stat_result) -> None:
    """The replacement keeps the owner, group and mode of the file it replaces."""
    made = os.fstat(fd)
    if (made.st_uid, made.st_gid) != (existing.st_uid, existing.st_gid):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:
            raise Refused(
                name,
                f"it belongs to {_owner(existing.st_uid)}, group {existing.st_gid}; "
                "only root could give a replacement the same owner and group",
            ) from None
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # after fchown, which may clear set-id bits


def _write_into(name: str, found: os.stat_result, data: bytes) -> None:
    """Write into a device or FIFO: opened for writing only, never created or truncated."""
    fd = os.open(name, os.O_WRONLY | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (found.st_dev, found.st_ino):
            raise Refused(name, "it was replaced while it was being opened")
        _write_all(fd, data)
    finally:
        os.close(fd)


def _held_stream(name: str) -> int | None:
    """Our descriptor open for writing on the file the symlink `name` leads to, if any:
    what /dev/stdout, /dev/stderr and /dev/fd/N name. Any other symlink is not followed."""
    try:
        target = os.stat(name)
    except OSError:
        return None
    for fd in _open_descriptors():
        try:
            held = os.fstat(fd)
            access = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
        except OSError:
            continue
        same = (held.st_dev, held.st_ino) == (target.st_dev, target.st_ino)
        if same and access != os.O_RDONLY:
            return fd
    return None


def _open_descriptors() -> list[int]:
    for listing in (Path("/proc/self/fd"), Path("/dev/fd")):
        with contextlib.suppress(OSError):
            return sorted(int(entry.name) for entry in listing.iterdir())
    return [0, 1, 2]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:
            raise OSError(f"the write made no progress after {len(data) - len(view)} bytes")
        view = view[written:]
