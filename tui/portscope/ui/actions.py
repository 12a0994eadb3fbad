"""Every dashboard action in one list: its key, its Footer label, its palette entry, its help.

Bindings, the command palette and the help screen are all generated from this list,
so a key is changed (or added) in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    key: str
    action: str
    label: str
    help: str
    show: bool = True
    key_display: str | None = None
    everywhere: str = ""
    """A second key that works on every screen and in text boxes too (a priority binding)."""

    @property
    def keys(self) -> str:
        """The keys as the help screen lists them."""
        key = self.key_display or self.key
        return f"{key}, {self.everywhere}" if self.everywhere else key


ACTIONS: tuple[Action, ...] = (
    Action(
        "help", "question_mark", "help", "Help", "List every key and what it does", key_display="?"
    ),
    Action(
        "filter",
        "slash",
        "filter",
        "Filter",
        "Filter the focused table (re: for a regex; Esc clears)",
        key_display="/",
    ),
    Action("sort", "s", "sort", "Sort", "Sort the focused table by the next column"),
    Action(
        "reverse",
        "S",
        "reverse",
        "Reverse",
        "Reverse the sort order of the focused table",
        show=False,
    ),
    Action(
        "all", "a", "toggle_all", "All conns", "Ephemeral pane: show every connection, incoming too"
    ),
    Action(
        "pressure",
        "p",
        "pressure",
        "Pressure",
        "Ephemeral ports per destination, CLOSE_WAIT leaks, full accept queues",
    ),
    Action("lookup_row", "l", "lookup_row", "Lookup", "Look up the port of the selected row"),
    Action("pause", "space", "toggle_pause", "Pause", "Pause or resume polling"),
    Action(
        "faster",
        "plus",
        "interval(-1)",
        "Poll faster",
        "Poll more often",
        key_display="+",
        show=False,
    ),
    Action(
        "slower",
        "minus",
        "interval(1)",
        "Poll slower",
        "Poll less often",
        key_display="-",
        show=False,
    ),
    Action(
        "numeric",
        "n",
        "toggle_numeric",
        "Names",
        "Numeric addresses or resolved host names",
        show=False,
    ),
    Action("maximize", "z", "toggle_maximize", "Zoom", "Maximise the focused pane, or restore it"),
    Action(
        "lookup_pane", "ctrl+l", "focus_lookup", "Lookup box", "Jump to the lookup box", show=False
    ),
    Action("quit", "q", "quit", "Quit", "Quit portscope", everywhere="ctrl+c"),
)

TABLE_KEYS = (
    ("tab, shift+tab", "Move between panes"),
    ("↑ ↓ PgUp PgDn", "Move the cursor (Home, End: first, last row)"),
    ("enter", "Process details (cmdline, sockets, terminate, kill); the port goes to Lookup"),
    ("click header", "Sort by that column; click again to reverse"),
    ("ctrl+p", "Command palette: every action by name, themes"),
)


def bindings() -> list[Binding]:
    keyed = [
        Binding(
            a.key,
            a.action,
            a.label,
            show=a.show,
            key_display=a.key_display,
            id=f"portscope.{a.id}",
            tooltip=a.help,
        )
        for a in ACTIONS
    ]
    everywhere = [
        Binding(
            a.everywhere,
            a.action,
            a.label,
            show=False,
            priority=True,
            id=f"portscope.{a.id}.everywhere",
            tooltip=a.help,
        )
        for a in ACTIONS
        if a.everywhere
    ]
    return keyed + everywhere
