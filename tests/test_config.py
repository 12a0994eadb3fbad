"""The config file: hostile or broken content never crashes, saves are atomic."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from portscope.config import Config, config_path, load_config, save_config


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "portscope" / "config.toml"
    wanted = Config(theme='nord "quoted"', interval=0.5, numeric=False, warning=50, critical=80)
    save_config(wanted, path)
    assert load_config(path) == (wanted, [])


def test_missing_file_is_defaults_without_warning(tmp_path: Path) -> None:
    assert load_config(tmp_path / "nope.toml") == (Config(), [])


@pytest.mark.parametrize(
    "content",
    [
        b"theme = ",
        b"\xff\xfe not utf-8",
        b"[[[",
        b"interval = 'fast'",
        b"interval = nan",
        b"interval = 1e309",
        b"interval = -5",
        b"numeric = 1",
        b"warning = 0",
        b"critical = 101",
        b"critical = true",
        b'theme = "' + b"x" * 500 + b'"',
        b'theme = "\\u001b[31m"',
        b"theme = 5",
        b"x" * 70_000,
    ],
)
def test_bad_content_falls_back_with_a_warning(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    config, warnings = load_config(path)
    assert config == Config()
    assert warnings and all(str(path) in w for w in warnings)


def test_good_keys_survive_beside_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "dracula"\ninterval = "soon"\nunknown = 1\n')
    config, warnings = load_config(path)
    assert config == Config(theme="dracula")
    assert warnings == [f"{path}: ignoring bad value for 'interval'"]


def test_a_directory_in_place_of_the_file_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    config, warnings = load_config(tmp_path / "config.toml")
    assert config == Config() and warnings


@pytest.mark.timeout(30)  # the bug this guards against was a read that never returned
@pytest.mark.parametrize("kind", ["a FIFO", "a character device"])
def test_a_fifo_or_device_in_place_of_the_file_is_refused_unopened(
    tmp_path: Path, kind: str
) -> None:
    """A FIFO nobody writes to blocked the read for ever; a device could stream for ever."""
    path = tmp_path / "config.toml"
    if kind == "a FIFO":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    assert load_config(path) == (
        Config(),
        [f"{path}: unreadable (it is {kind}, not a regular file); using defaults"],
    )
    if kind == "a FIFO":
        with pytest.raises(OSError, match="it is a FIFO, not a regular file"):
            save_config(Config(theme="nord"), path)
        assert stat.S_ISFIFO(path.lstat().st_mode), "saving must not replace it either"


def test_save_never_follows_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    path = tmp_path / "config.toml"
    os.symlink(victim, path)
    save_config(Config(theme="nord"), path)
    assert victim.read_text() == "precious"
    assert not path.is_symlink()
    assert load_config(path) == (Config(theme="nord"), [])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_xdg_config_home_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "portscope" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    assert config_path() == Path.home() / ".config" / "portscope" / "config.toml"
