"""Render the README's screenshots from demo data: `make screenshots`.

Runs the real dashboard headless on `tests/demo` (fixed host, pids and clock),
walks the same scenes the snapshot tests use, and saves SVGs here; PNGs too when
`rsvg-convert` (Debian: librsvg2-bin) is installed.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tui"), str(HERE.parent / "tests")]

from textual.pilot import Pilot  # noqa: E402

from demo.pressure import pressure_steps  # noqa: E402
from demo.scenes import (  # noqa: E402
    StoppedClock,
    demo_app,
    first_frame,
    history_steps,
    look_up,
    open_history,
    open_pressure,
    open_process,
    open_traffic,
)
from demo.server import demo_snapshot  # noqa: E402
from demo.traffic import traffic_steps  # noqa: E402
from portscope.model import Snapshot  # noqa: E402

Scene = Callable[[Pilot], Awaitable[object]]


async def lookup_60630(pilot: Pilot) -> None:
    await look_up(pilot, "60630")


async def nginx_details(pilot: Pilot) -> None:
    await open_process(pilot, 443)


async def nothing(pilot: Pilot) -> None:
    await pilot.pause()


async def pressure_view(pilot: Pilot) -> None:
    await open_pressure(pilot)


async def traffic_view(pilot: Pilot) -> None:
    await open_traffic(pilot, polls=5)


async def history_view(pilot: Pilot) -> None:
    clock = pilot.app.clock  # the demo's stopped clock, which the view's times follow
    assert isinstance(clock, StoppedClock)
    await open_history(pilot, clock)


CALM = [demo_snapshot()]
PRESSED = pressure_steps()

SHOTS: tuple[tuple[str, tuple[int, int], Scene, list[Snapshot]], ...] = (
    ("main", (120, 36), nothing, CALM),
    ("main-80x24", (80, 24), nothing, CALM),
    ("lookup-60630", (120, 36), lookup_60630, CALM),
    ("process-detail", (100, 30), nginx_details, CALM),
    ("pressure-80x24", (80, 24), pressure_view, PRESSED),
    ("pressure-120x36", (120, 36), pressure_view, PRESSED),
    ("traffic-120x36", (120, 36), traffic_view, traffic_steps()),
    ("history-120x36", (120, 36), history_view, history_steps()),
)


async def shoot(
    name: str, size: tuple[int, int], scene: Scene, snapshots: list[Snapshot], config_dir: Path
) -> Path:
    app = demo_app(config_dir / "config.toml", snapshots)
    async with app.run_test(size=size) as pilot:
        await first_frame(pilot)
        await scene(pilot)
        await pilot.pause()
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(HERE)))


def to_png(svg: Path) -> Path | None:
    converter = shutil.which("rsvg-convert")
    if converter is None:
        return None
    png = svg.with_suffix(".png")
    subprocess.run([converter, str(svg), "-o", str(png)], check=True, timeout=60)
    return png


def main() -> int:
    with tempfile.TemporaryDirectory() as config_dir:
        for name, size, scene, snapshots in SHOTS:
            svg = asyncio.run(shoot(name, size, scene, snapshots, Path(config_dir)))
            png = to_png(svg)
            print(svg.name, png.name if png else "(no rsvg-convert: SVG only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
