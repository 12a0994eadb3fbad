"""A pane the app has never heard of subscribes itself to the polls and health reports
(`ui.live`): composing it, or mounting it later, is all it takes."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.widget import Widget

from demo.scenes import StoppedClock, analysed
from demo.server import ScriptedSource, demo_snapshot
from portscope.analysis import HealthReport
from portscope.config import Config
from portscope.ui import app as dashboard
from portscope.ui.app import PortscopeApp
from portscope.ui.live import Live
from portscope.view.showing import Shown
from ui_support import first_frame, next_poll, until


class PollLog(Widget):
    """Keeps every poll and report it is handed, and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[Shown] = []
        self.reports: list[HealthReport] = []

    def on_mount(self) -> None:
        live = Live.of(self)
        live.on_poll(self, self.polls.append)
        live.on_health(self, self.reports.append)


class BrokenPane(Widget):
    def on_mount(self) -> None:
        Live.of(self).on_poll(self, self.fail)

    def fail(self, shown: Shown) -> None:
        raise ValueError(f"[b]poll {shown.sequence}[/b]")


class WithExtraPane(PortscopeApp):
    """The dashboard with one more pane: one line of composition, no other change."""

    CSS_PATH = Path(dashboard.__file__).with_name("app.tcss")

    def __init__(self, extra: Widget, config_file: Path) -> None:
        super().__init__(
            ScriptedSource([demo_snapshot(), demo_snapshot(1)]),
            60.0,
            clock=StoppedClock(),
            config=Config(),
            config_file=config_file,
        )
        self.extra = extra

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield self.extra


async def test_a_composed_pane_is_handed_every_poll_with_its_delta_and_every_report(
    tmp_path: Path,
) -> None:
    log = PollLog()
    app = WithExtraPane(log, tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await next_poll(pilot)
        await analysed(pilot)
        assert [(s.sequence, s.first) for s in log.polls] == [(1, True), (2, False)]
        assert log.polls[-1].snapshot is app.poller.latest is app.shown
        added = {s.local_port for s in log.polls[-1].delta.added}
        assert {46001, 46002} <= added
        assert log.reports and log.reports[-1] is app.health


async def test_a_pane_mounted_later_starts_from_the_latest_and_once_removed_hears_no_more(
    tmp_path: Path,
) -> None:
    app = WithExtraPane(PollLog(), tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await analysed(pilot)
        late = PollLog()
        await app.screen.mount(late)
        assert [s.snapshot for s in late.polls] == [app.shown]
        assert late.reports == [app.health]
        await next_poll(pilot)
        assert [s.sequence for s in late.polls] == [1, 2]
        await late.remove()
        await next_poll(pilot)
        assert [s.sequence for s in late.polls] == [1, 2]


async def test_a_pane_that_fails_on_a_poll_is_a_notice_and_the_others_go_on(
    tmp_path: Path, log_file: Path
) -> None:
    app = WithExtraPane(BrokenPane(), tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await until(pilot, lambda: app._notifications)
        (notice,) = app._notifications
        assert notice.message == "showing the poll in BrokenPane failed: ValueError: [b]poll 1[/b]"
        assert notice.severity == "error" and not notice.markup
        await next_poll(pilot)
        ports = {r.payload.local_port for r in app.ephemeral.table.model.rows.values()}
        assert {46001, 46002} <= ports, "the other panes were shown the poll"
    assert "ValueError: [b]poll 2[/b]" in log_file.read_text()
