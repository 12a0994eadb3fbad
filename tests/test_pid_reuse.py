"""A reused pid is never blamed: owners are cached by (pid, create_time), not by pid.

In a private pid namespace the next pid can be chosen (`ns_last_pid`), so a second
process really gets the first one's pid between two polls of one collector.
"""

from __future__ import annotations

import json
import sys

import pytest

from conftest import run_with_tree
from netns import needs_netns

IN_NAMESPACE = """
import json, subprocess, sys
from portscope.collect import Collector
subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
HOLD = (
    "import os, socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen();"
    "os.write(1, b'%d\\\\n' % s.getsockname()[1]); time.sleep(60)"
)

def holder(tag):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, tag], stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline())

def owner_of(snap, port):
    (sock,) = [s for s in snap.listeners if s.local_port == port]
    return {"pid": sock.pid, "cmdline": list(sock.owner.cmdline), "started": sock.owner.create_time}

collector = Collector()
first, first_port = holder("alpha")
before = owner_of(collector.collect(), first_port)
first.kill()
first.wait()
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(first.pid - 1))
second, second_port = holder("beta")
after = owner_of(collector.collect(), second_port)
second.kill()
print(json.dumps({"before": before, "after": after, "reused": second.pid == first.pid}))
"""


@pytest.mark.root
@needs_netns
def test_reused_pid_gets_its_own_owner() -> None:
    argv = ["unshare", "--pid", "--fork", "--mount-proc", "--net", "--"]
    done = run_with_tree([*argv, sys.executable, "-c", IN_NAMESPACE])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["reused"], "the namespace did not hand out the same pid again"
    before, after = report["before"], report["after"]
    assert before["pid"] == after["pid"]
    assert before["cmdline"][-1] == "alpha" and after["cmdline"][-1] == "beta"
    assert after["started"] > before["started"]
