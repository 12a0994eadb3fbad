"""Where a command's output goes: standard output, or what `-o FILE` names.

A write that fails (a full disk, /dev/full, a file portscope refuses to replace) is
an `OutputFailed`: one line on stderr and exit status 2. A reader that left (`| head`)
is not a failure: BrokenPipeError goes on to the entry point, which exits 0.
"""

from __future__ import annotations

import sys

from portscope.sanitise import printable


class OutputFailed(Exception):
    """The output could not be written; str() is the line for stderr."""


def emit(text: str, path: str | None = None) -> None:
    """Write `text` to standard output (flushed now, so a failure is seen here) or to `path`."""
    try:
        if path is None:
            if sys.stdout is None:  # closed when the interpreter started
                raise OutputFailed("cannot write standard output: it is closed")
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            from portscope.files import write_output  # only -o needs it

            write_output(path, text)
    except BrokenPipeError:
        raise
    except OSError as exc:
        where = "standard output" if path is None else f"'{printable(path)}'"
        raise OutputFailed(f"cannot write {where}: {printable(exc.strerror or str(exc))}") from None
