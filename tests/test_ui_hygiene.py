"""Headless modules the dashboard added stay importable without textual."""

from __future__ import annotations

import subprocess
import sys

from conftest import cli_env


def test_session_and_demo_never_import_textual() -> None:
    code = (
        "import sys, portscope.session, portscope.demo; "
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
