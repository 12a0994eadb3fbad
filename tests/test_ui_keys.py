"""One registry of keys: every binding comes from it, and a config file's keymap remaps it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.command import CommandPalette
from textual.dom import DOMNode
from textual.widgets import Static

import portscope.ui
from demo.pressure import pressure_steps
from demo.scenes import StoppedClock, analysed, demo_or_real_details, open_process
from demo.server import ScriptedSource, demo_snapshot
from portscope.config import load_config, save_config
from portscope.ui.actions import ACTIONS, BY_ID, SCOPE_OF, Scope, checked_keymap, key_names
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.confirm import ConfirmScreen
from portscope.ui.screens.detail import ProcessScreen
from portscope.ui.screens.help import HelpScreen
from ui_support import first_frame, help_rows, next_poll, screen_lines, until


def nodes_with_bindings() -> list[type[DOMNode]]:
    """Every screen and widget class of the Textual layer that declares BINDINGS."""
    found = []
    for module in pkgutil.walk_packages(portscope.ui.__path__, "portscope.ui."):
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if cls.__module__ == module.name and "BINDINGS" in vars(cls):
                found.append(cls)
    return found


def test_every_binding_of_every_screen_comes_from_the_registry() -> None:
    """Each Binding on each class is a registry entry's, and each entry is bound once."""
    bound: dict[str, str] = {}
    classes = nodes_with_bindings()
    assert {c.__name__ for c in classes} >= {
        "PortscopeApp",
        "SocketTable",
        "FilterBox",
        "LookupPane",
        "ProcessScreen",
        "PressureScreen",
        "ConfirmScreen",
        "HelpScreen",
    }
    for cls in classes:
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding), (cls, binding)
            assert binding.id in BY_ID, (cls.__name__, binding)
            assert binding == BY_ID[binding.id].binding()
            assert bound.setdefault(binding.id, cls.__name__) == cls.__name__
    assert set(bound) == set(BY_ID)


def test_binding_ids_are_unique_and_named_for_portscope() -> None:
    ids = [a.binding_id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("portscope.") for i in ids)


def test_the_readme_lists_every_binding_id() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [a.id for a in ACTIONS if f"`{a.id}`" not in readme]
    assert not missing


def app_with(config_file: Path) -> PortscopeApp:
    """The real app reading its settings, keymap included, from `config_file`."""
    return PortscopeApp(
        ScriptedSource([demo_snapshot()]),
        60.0,
        clock=StoppedClock(),
        config_file=config_file,
        describe=demo_or_real_details,
    )


async def test_a_keymap_in_the_config_file_remaps_keys(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        "[keymap]\n"
        '"portscope.filter" = "f"\n'
        '"portscope.process.kill" = "K"\n'
        '"portscope.palette" = "ctrl+k"\n'
    )
    app = app_with(config_file)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        assert not app._notifications
        footer = screen_lines(app)[-1]
        assert "f Filter" in footer and "/" not in footer
        assert "^k palette" in footer
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
        await pilot.press("ctrl+k")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0])
        await pilot.press("slash")
        assert not app.listening.filter_box.display
        await pilot.press("f")
        assert app.focused is app.listening.filter_box
        await pilot.press("escape")
        assert app.focused is app.listening.table

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = help_rows(app)
        assert rows[BY_ID["portscope.filter"].help] == "f"
        assert rows[BY_ID["portscope.process.kill"].help] == "K"
        await pilot.press("escape")

        screen = await open_process(pilot, 443)
        assert "K kill (SIGKILL)" in str(screen.query_one("#process-refusal", Static).render())
        await pilot.pause()
        assert "K Kill" in screen_lines(app)[-1]
        await pilot.press("k")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)


async def test_bad_keymap_entries_are_warnings_and_the_rest_applies(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        "[keymap]\n"
        '"portscope.fliter" = "f"\n'
        '"portscope.sort" = "ctrl+"\n'
        '"portscope.pause" = "x"\n'
        '"portscope.reverse" = "p"\n'
    )
    app = app_with(config_file)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        notices = [n.message for n in app._notifications]
        assert len(notices) == 3
        assert all(n.startswith(f"{config_file}: ignoring bad value for 'keymap.") for n in notices)
        assert "portscope.fliter" in notices[0] and "binding id" in notices[0]
        assert "portscope.sort" in notices[1] and "keys such as" in notices[1]
        assert "portscope.reverse" in notices[2] and "p is portscope.pressure's" in notices[2]
        await pilot.press("x")
        await until(pilot, lambda: app.poller.paused)
        sort = app.listening.table.model.sort_column
        await pilot.press("s")
        assert app.listening.table.model.sort_column != sort


async def test_a_keymap_that_is_no_table_is_a_warning(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('keymap = "f"\n')
    app = app_with(config_file)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        (notice,) = app._notifications
        assert "ignoring bad value for 'keymap' (wanted a table of names" in notice.message
        await pilot.press("slash")
        assert app.focused is app.listening.filter_box


def test_keys_may_be_swapped_and_given_by_character() -> None:
    keymap, problems = checked_keymap(
        {"portscope.filter": "s", "portscope.sort": "/", "portscope.help": "?,f1"}
    )
    assert not problems and len(keymap) == 3
    assert key_names(BY_ID["portscope.sort"], keymap) == "/"
    assert key_names(BY_ID["portscope.help"], keymap) == "?, f1"


@pytest.mark.parametrize("keys", ["", ",", "ctrl+", "hyper+flurb", "f1,,f2", "sup+a", "F1"])
def test_what_is_no_key(keys: str) -> None:
    keymap, (problem,) = checked_keymap({"portscope.help": keys})
    assert not keymap and problem.value == keys


def test_the_keymap_is_saved_with_the_other_settings(tmp_path: Path) -> None:
    """The app rewrites the file when a setting changes: the keymap must survive it."""
    config_file = tmp_path / "config.toml"
    config_file.write_text('theme = "nord"\n[keymap]\n"portscope.filter" = "f"\n')
    config, _ = load_config(config_file)
    save_config(config, config_file)
    assert load_config(config_file) == (config, [])
    assert config.keymap == {"portscope.filter": "f"}


async def test_dashboard_actions_apply_on_the_dashboard_only(tmp_path: Path) -> None:
    """`state_of_action` follows the registry's scope: the dashboard's actions are off
    (hidden, and not in the palette) on other screens, the app's are on everywhere."""
    app = app_with(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_process(pilot, 443)
        assert isinstance(screen, ProcessScreen)
        for name, scope in SCOPE_OF.items():
            expected = scope is not Scope.DASHBOARD
            assert app.state_of_action(name, screen) is expected, name
        offered = {c.title for c in app.get_system_commands(screen)}
        assert "Pause" in offered and "Filter" not in offered


async def test_text_that_names_a_key_names_the_one_the_keymap_gives(tmp_path: Path) -> None:
    """The header's `(p)` and an empty filtered table's "/ then esc" come from the
    registry's binding in force, not from the default keys written into the text."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        "[keymap]\n"
        '"portscope.pressure" = "v"\n'
        '"portscope.filter" = "f"\n'
        '"portscope.filter.clear" = "ctrl+u"\n'
    )
    app = PortscopeApp(
        ScriptedSource(pressure_steps()),
        60.0,
        clock=StoppedClock(),
        config_file=config_file,
        describe=demo_or_real_details,
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        for _ in range(2):
            await next_poll(pilot)
        await analysed(pilot)
        health = str(app.header.health.render())
        assert health.endswith("health (v)")
        await pilot.press("f", *"no-such-row-anywhere")
        await pilot.press("enter")
        await pilot.pause()
        shown = " ".join(line.strip("│ ") for line in screen_lines(app))
        assert "hidden); f then ctrl+u clears it" in shown
        assert "/ then" not in shown
