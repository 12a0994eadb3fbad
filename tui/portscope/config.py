"""The user's settings, kept in $XDG_CONFIG_HOME/portscope/config.toml.

Read defensively (a corrupt or hostile file means defaults plus a warning, never a
crash, and a FIFO or device in its place is refused unopened, never waited on) and
written atomically, so a crash mid-save or a symlink planted where the file goes can
never leave a half-written file or overwrite something else.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from portscope.files import read_small_file, replace_file

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

MAX_CONFIG_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Config:
    theme: str = "textual-dark"
    interval: float = 2.0
    numeric: bool = True
    warning: float = 70.0
    """Percent of a destination's ports (or an accept queue) that warns; `critical` pages."""
    critical: float = 90.0


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "portscope" / "config.toml"


def _checked(name: str, value: Any) -> Any:
    """The value if it has the right type and a sane size, else raise ValueError."""
    if name == "theme":
        if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable():
            return value
    elif name == "interval":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and math.isfinite(value) and 0.25 <= value <= 60:
            return float(value)
    elif name == "numeric" and isinstance(value, bool):
        return value
    elif name in ("warning", "critical"):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and 0 < value <= 100:
            return float(value)
    raise ValueError(name)


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
    config, warnings = Config(), []
    for item in fields(Config):
        if item.name not in data:
            continue
        try:
            config = replace(config, **{item.name: _checked(item.name, data[item.name])})
        except ValueError:
            warnings.append(f"{path}: ignoring bad value for {item.name!r}")
    return config, warnings


def save_config(config: Config, path: Path | None = None) -> None:
    """Write atomically (see `replace_file`: a symlink planted at `path` is replaced,
    never followed; anything but a regular file there is refused with an OSError)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f"{item.name} = {_toml_value(getattr(config, item.name))}" for item in fields(Config)]
    replace_file(path, "\n".join(lines) + "\n", mode=0o600)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    return json.dumps(str(value))
