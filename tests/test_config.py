"""The config file: hostile or broken content never crashes, saves are atomic."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portscope.config import (
    Config,
    Problem,
    config_path,
    load_config,
    read_settings,
    save_config,
)
from portscope.config_kinds import Flag, Number, Refused, Table, Text, toml_string
from portscope.poller import MAX_INTERVAL, MIN_INTERVAL

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


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
    assert warnings == [
        f"{path}: ignoring bad value for 'interval' "
        f"(wanted a number from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}); using the default"
    ]


def test_problems_are_records_of_the_field_the_value_and_why() -> None:
    config, problems = read_settings(
        {"interval": MAX_INTERVAL * 2, "numeric": "yes", "warning": 0, "theme": "nord"}
    )
    assert config == Config(theme="nord")
    assert problems == [
        Problem(
            "interval", MAX_INTERVAL * 2, f"a number from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}"
        ),
        Problem("numeric", "yes", "true or false"),
        Problem("warning", 0, "a number above 0, at most 100"),
    ]


def test_the_interval_bounds_are_the_pollers() -> None:
    """What the poller would clamp, the config file may not hold either, and the reverse."""
    for good in (MIN_INTERVAL, MAX_INTERVAL):
        assert read_settings({"interval": good}) == (Config(interval=good), [])
    for bad in (MIN_INTERVAL / 2, MAX_INTERVAL + 1):
        assert read_settings({"interval": bad})[1][0].field == "interval"


def test_the_saved_file_says_what_each_setting_is(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_config(Config(), path)
    lines = path.read_text().splitlines()
    assert lines[2] == "# seconds between polls, as chosen with + and - " + (
        f"(a number from {MIN_INTERVAL:g} to {MAX_INTERVAL:g})"
    )
    assert lines[3] == "interval = 2.0"
    assert len(lines) == 2 * len(tomllib.loads(path.read_text()))


def test_a_table_of_text_is_a_kind_like_any_other() -> None:
    """A table-valued setting (a keymap, say) needs a field, not a special case: its kind
    checks every entry and writes an inline table TOML reads back."""
    table = Table(Text(8))
    entries = {"quit": "q", 'say "hi"': "ctrl+\\", "ünï": "ß"}
    assert table.accept(entries) == entries
    assert tomllib.loads(f"keymap = {table.toml(entries)}")["keymap"] == entries
    assert tomllib.loads(f"keymap = {table.toml({})}")["keymap"] == {}
    assert Table(Flag()).accept(tomllib.loads("[t]\na = true")["t"]) == {"a": True}
    for bad in ({"quit": 5}, {"quit": "x" * 9}, {"": "q"}, ["q"], "q"):
        with pytest.raises(Refused, match="a table of names"):
            table.accept(bad)


@given(st.text())
def test_any_text_survives_a_toml_string(text: str) -> None:
    assert tomllib.loads(f"x = {toml_string(text)}")["x"] == text


def test_numbers_with_an_open_low_bound() -> None:
    above_zero = Number(0.0, 100.0, low_open=True)
    assert above_zero.accept(100) == 100.0 and above_zero.accept(0.5) == 0.5
    for bad in (0, -1, 100.5, float("nan"), float("inf"), True, "5"):
        with pytest.raises(Refused):
            above_zero.accept(bad)


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
