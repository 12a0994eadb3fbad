"""Writing files so that a crash or a planted symlink can never do harm.

Everything portscope writes (settings, exports) goes through `write_atomic`: a temp
file created exclusively beside the target, flushed, then renamed over it. rename()
replaces a symlink at the target rather than following it, so a link planted there
cannot redirect the write, and readers never see a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
