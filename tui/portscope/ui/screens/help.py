"""The `?` screen: every key by scope, from the list the bindings and palette come from.

Each key sits in a column of its own beside its description, so a description that
wraps stays indented under itself. The keys shown are the ones in force: the config
file's keymap applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import groupby
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Static

from portscope.ui.actions import ACTIONS, NOTES, Scope, bindings, key_names, keymap_of

ROWS_NOTE = (
    "Rows: all-interfaces listeners stand out; new connections are highlighted, "
    "closed ones fade before they go; ◀ marks your own SSH session."
)
KEYMAP_NOTE = (
    'Any key can be changed in config.toml: [keymap] "portscope.filter" = "f" '
    "(the README lists every binding id)."
)


def help_rows(scope: Scope, keymap: Mapping[str, str]) -> list[tuple[str, str]]:
    """(keys, what they do) for `scope`: entries that say the same thing share a row."""
    entries = [a for a in ACTIONS if a.scope is scope]
    rows = [
        (", ".join(key_names(a, keymap) for a in same), text)
        for text, same in groupby(entries, key=lambda a: a.help)
    ]
    return rows + [(n.keys, n.help) for n in NOTES if n.scope is scope]


def help_widgets(keymap: Mapping[str, str]) -> Iterator[Widget]:
    for scope in Scope:
        yield Static(Content.styled(scope.title, "bold $text-accent"), classes="help-scope")
        for keys, text in help_rows(scope, keymap):
            yield Horizontal(
                Static(Content(keys), classes="help-key"),
                Static(Content(text), classes="help-text"),
                classes="help-row",
            )
    for note in (ROWS_NOTE, KEYMAP_NOTE):
        yield Static(Content.styled(note, "dim"), classes="help-note")


class HelpScreen(ModalScreen[None]):
    """Its own Footer: the dashboard's, showing through below, said `q Quit` while q
    closes help here."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.HELP)

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield from help_widgets(keymap_of(self))
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "portscope keys"
