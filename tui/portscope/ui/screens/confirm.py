"""A yes/no question that names exactly what will happen; No is the default."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from portscope.ui.actions import Scope, bindings, first_key


class ConfirmScreen(ModalScreen[bool]):
    """Dismissed with True only by its Yes key (`y`) or the Yes button; the buttons name
    the keys in force. Its own Footer shows the keys that apply here, not the
    dashboard's (which do nothing while it is open)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.CONFIRM)

    def __init__(self, title: str, question: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                Content.styled(self.title_text, "bold $text-warning"), classes="dialog-title"
            )
            yield Static(Content(self.question), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                no, yes = (first_key(self, f"portscope.confirm.{a}") for a in ("no", "yes"))
                yield Button(Content(f"No ({no})"), id="no", variant="primary")
                yield Button(Content(f"Yes ({yes})"), id="yes", variant="error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
