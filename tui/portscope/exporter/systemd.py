"""The systemd unit `portscope serve --print-systemd-unit` prints: the same command,
run as a hardened service.

It runs as root, since naming the process behind another user's socket means reading
that process's /proc/PID/fd, but with only the two capabilities that takes
(CAP_SYS_PTRACE for the fd links of any process, CAP_DAC_READ_SEARCH for their
directories), a read-only view of the file system (but for a `--log` file's
directory) and no way to gain more.
"""

from __future__ import annotations

from collections.abc import Sequence

from portscope.systemd_words import quoted

UNIT = """\
[Unit]
Description=portscope Prometheus exporter: listeners, ephemeral port pressure, socket leaks
After=network.target

[Service]
Type=simple
ExecStart={command}
{writable}Restart=on-failure
RestartSec=5
User=root
CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
"""


def unit_file(argv: Sequence[str], writable: Sequence[str] = ()) -> str:
    """A unit that runs `argv` (absolute paths only: a unit has no working directory),
    allowed to write in the `writable` directories."""
    paths = "".join(f"ReadWritePaths={quoted(path)}\n" for path in writable)
    return UNIT.format(command=" ".join(quoted(word) for word in argv), writable=paths)
