"""`portscope record --print-systemd-unit`: a service unit that runs this recorder.

The unit starts the same interpreter on the same options, as root (other users'
processes need it), in systemd's state directory /var/lib/portscope unless `--db`
says otherwise, with the filesystem otherwise read-only to it (and a /tmp of its own,
unless the database is in one). An exit status of 2 (a database it must refuse,
another recorder on the file) is not retried: restarting would meet the same refusal.
"""

from __future__ import annotations

import shlex
import site
import sys
from collections.abc import Sequence
from pathlib import Path

import portscope
from portscope.history.paths import SYSTEM_DB
from portscope.systemd_words import quoted

TEMPORARY = (Path("/tmp"), Path("/var/tmp"))
"""Where PrivateTmp= would give the service an empty directory of its own instead."""

UNIT = """\
# Save as /etc/systemd/system/portscope-record.service, then:
#   systemctl daemon-reload && systemctl enable --now portscope-record
[Unit]
Description=portscope flight recorder: connection and listener history
After=network.target

[Service]
Type=simple
ExecStart={exec_start}
{environment}Restart=on-failure
RestartSec=5
RestartPreventExitStatus=2
StateDirectory=portscope
StateDirectoryMode=0700
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
{private_tmp}{writable}
[Install]
WantedBy=multi-user.target
"""


def source_root() -> Path | None:
    """The directory portscope is imported from, when the interpreter would not find it
    there by itself (a source tree on PYTHONPATH rather than an installed package)."""
    root = Path(portscope.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in (*site.getsitepackages(), site.getusersitepackages())}
    return None if root in installed else root


def systemd_unit(db: Path, options: Sequence[str]) -> str:
    """The unit text for `portscope record` with `options` (the database's among them)."""
    command = [sys.executable, "-m", "portscope", "record", *options]
    root = source_root()
    environment = f"Environment={shlex.quote(f'PYTHONPATH={root}')}\n" if root else ""
    directory = db.parent.resolve()
    writable = "" if directory == SYSTEM_DB.parent else f"ReadWritePaths={quoted(str(directory))}\n"
    in_tmp = any(directory.is_relative_to(tmp) for tmp in TEMPORARY)
    return UNIT.format(
        exec_start=" ".join(quoted(word) for word in command),
        environment=environment,
        private_tmp="" if in_tmp else "PrivateTmp=yes\n",
        writable=writable,
    )
