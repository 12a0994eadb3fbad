"""The user's settings, kept in $XDG_CONFIG_HOME/portscope/config.toml.

Read defensively (a corrupt or hostile file means defaults plus a warning, never a
crash, and a FIFO or device in its place is refused unopened, never waited on) and
written atomically, so a crash mid-save or a symlink planted where the file goes can
never leave a half-written file or overwrite something else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from portscope.analysis.levels import MAX_PERCENT, Thresholds
from portscope.config_kinds import Flag, Kind, Number, Refused, Table, Text
from portscope.files import read_small_file, replace_file
from portscope.poller import DEFAULT_INTERVAL, MAX_INTERVAL, MIN_INTERVAL

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

MAX_CONFIG_BYTES = 64 * 1024
SETTING = "portscope.setting"
"""The key of a Config field's metadata that holds its `Setting`."""
PERCENT = Number(0.0, MAX_PERCENT, low_open=True)
THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Setting:
    """What the file may hold for one field, and what the field means (both are
    written above it when the file is saved)."""

    kind: Kind
    description: str


def setting(kind: Kind, description: str) -> dict[str, Setting]:
    """A Config field's metadata: `field(default=..., metadata=setting(...))`."""
    return {SETTING: Setting(kind, description)}


@dataclass(frozen=True, slots=True)
class Config:
    """The settings, declared once: each field's type, default, accepted values (bounds
    from where they are enforced) and meaning. A new setting is one field here."""

    theme: str = field(
        default="textual-dark",
        metadata=setting(Text(), "the Textual theme, as chosen from the command palette"),
    )
    interval: float = field(
        default=DEFAULT_INTERVAL,
        metadata=setting(
            Number(MIN_INTERVAL, MAX_INTERVAL), "seconds between polls, as chosen with + and -"
        ),
    )
    numeric: bool = field(
        default=True, metadata=setting(Flag(), "addresses as numbers; false resolves host names")
    )
    warning: float = field(
        default=THRESHOLDS.warning,
        metadata=setting(
            PERCENT, "percent of a destination's ephemeral ports, or of an accept queue, that warns"
        ),
    )
    critical: float = field(
        default=THRESHOLDS.critical, metadata=setting(PERCENT, "percent that is critical")
    )
    keymap: dict[str, str] = field(
        default_factory=dict,
        metadata=setting(
            Table(Text()),
            'key remaps, binding id to key(s): "portscope.filter" = "f" (the README lists the ids)',
        ),
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """A setting the file got wrong: which one, the value it held, and why it was refused."""

    field: str
    value: object
    why: str

    def __str__(self) -> str:
        return f"ignoring bad value for {self.field!r} (wanted {self.why}); using the default"


def setting_of(item: Field[Any]) -> Setting:
    about = item.metadata[SETTING]
    assert isinstance(about, Setting)
    return about


def read_settings(data: Mapping[str, object]) -> tuple[Config, list[Problem]]:
    """The settings in a parsed config file, each checked by its field's kind: a bad one
    is a Problem and keeps its default; a key that is no setting is ignored."""
    values: dict[str, Any] = {}
    problems = []
    for item in fields(Config):
        if item.name not in data:
            continue
        try:
            values[item.name] = setting_of(item).kind.accept(data[item.name])
        except Refused as exc:
            problems.append(Problem(item.name, data[item.name], str(exc)))
    return Config(**values), problems


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "portscope" / "config.toml"


def load_config(path: Path | None = None) -> tuple[Config, list[str]]:
    """Settings from the file, defaults for anything missing or bad, and what was wrong."""
    path = path or config_path()
    try:
        raw = read_small_file(path, MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return Config(), []
    except OSError as exc:
        return Config(), [f"{path}: unreadable ({exc.strerror}); using defaults"]
    if len(raw) > MAX_CONFIG_BYTES:
        return Config(), [f"{path}: larger than {MAX_CONFIG_BYTES} bytes; using defaults"]
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Config(), [f"{path}: not valid TOML ({exc}); using defaults"]
    config, problems = read_settings(data)
    return config, [f"{path}: {problem}" for problem in problems]


def save_config(config: Config, path: Path | None = None) -> None:
    """Write atomically (see `replace_file`: a symlink planted at `path` is replaced,
    never followed; anything but a regular file there is refused with an OSError)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = []
    for item in fields(Config):
        about = setting_of(item)
        lines.append(f"# {about.description} ({about.kind.wanted})")
        lines.append(f"{item.name} = {about.kind.toml(getattr(config, item.name))}")
    replace_file(path, "\n".join(lines) + "\n", mode=0o600)
