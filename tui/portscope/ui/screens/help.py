"""The `?` screen: every key, generated from the same list as the bindings and palette."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from portscope.ui.actions import ACTIONS, TABLE_KEYS

DETAIL_KEYS = (
    ("c", "Send the selected socket row to the terminal's clipboard (OSC 52)"),
    ("l", "Look up the selected row's port"),
    ("t", "Terminate (SIGTERM), after a confirmation naming the process and pid"),
    ("k", "Kill (SIGKILL), after two confirmations"),
    ("esc", "Back"),
)


def help_text() -> Content:
    lines: list[Content] = [Content.styled("Dashboard", "bold $text-accent")]
    keyed = [(a.keys, a.help) for a in ACTIONS]
    for title, rows in (("", keyed), ("Tables", TABLE_KEYS), ("Process details", DETAIL_KEYS)):
        if title:
            lines += [Content(""), Content.styled(title, "bold $text-accent")]
        lines += [Content.assemble((f"  {key:<16}", "bold"), text) for key, text in rows]
    lines += [
        Content(""),
        Content.styled(
            "Rows: all-interfaces listeners stand out; new connections are highlighted, "
            "closed ones fade before they go; ◀ marks your own SSH session.",
            "dim",
        ),
    ]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Its own Footer: the dashboard's, showing through below, said `q Quit` while q
    closes help here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark,q", "dismiss", "Close", id="help.close", tooltip="Close help"
        ),
    ]

    def __init__(self) -> None:
        super().__init__(classes="dialog-screen")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(help_text())
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "portscope keys"
