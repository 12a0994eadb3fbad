"""Every key portscope binds, in one list: its scope, key, action, Footer label and help.

Each screen's and widget's BINDINGS, the command palette and the help screen are
generated from this list, and the config file's `keymap` is checked against it, so a key
is changed (or added) in exactly one place: a new entry here, and the action method.
Every binding has the id `portscope.<id>`, which is what a keymap names.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from textual.binding import Binding, BindingType, InvalidBinding
from textual.dom import DOMNode
from textual.keys import REPLACED_KEYS, Keys, format_key, key_to_character

from portscope.config import Problem
from portscope.processes import OFFERED_SIGNALS

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
NAMED_KEYS = frozenset(k.value.rpartition("+")[2] for k in Keys) - {
    "<any>",
    "<ignore>",
    "<scroll-down>",
    "<scroll-up>",
}
"""Key names that are no character: escape, f1, pageup, space…"""
WANTED_KEYS = "keys such as f, ctrl+f, f5 or escape, separated by commas"


class Scope(Enum):
    """Where an action applies. The entries of a scope are bound on one screen or widget
    (`bindings(scope)` in its BINDINGS) and listed together in the help, in this order."""

    DASHBOARD = "Dashboard"
    APP = "Every screen"
    TABLE = "Tables"
    FILTER = "Filter box"
    LOOKUP = "Lookup box"
    PROCESS = "Process details"
    PRESSURE = "Pressure view"
    TRAFFIC = "Traffic view"
    HISTORY = "History view"
    CONFIRM = "Confirmations"
    HELP = "Help"

    @property
    def title(self) -> str:
        return self.value

    @property
    def host(self) -> str:
        """Scopes with the same host are bound on the same node, so their keys may clash:
        the dashboard's actions are the app's bindings, enabled by `state_of_action`."""
        return Scope.APP.name if self is Scope.DASHBOARD else self.name


@dataclass(frozen=True, slots=True)
class Action:
    """One binding: `key` may list several keys, comma-separated, as Textual takes them."""

    id: str
    scope: Scope
    key: str
    action: str
    label: str
    help: str
    show: bool = True
    priority: bool = False
    palette: bool = True
    """Offered by name in the command palette (for the app's scopes)."""

    @property
    def binding_id(self) -> str:
        return f"portscope.{self.id}"

    @property
    def name(self) -> str:
        """The action's method name without its parameters: what `check_action` gets."""
        return self.action.partition("(")[0]

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.show,
            priority=self.priority,
            id=self.binding_id,
            tooltip=self.help,
        )


@dataclass(frozen=True, slots=True)
class Note:
    """A key Textual binds itself (or a mouse gesture), listed in the help with ours."""

    scope: Scope
    keys: str
    help: str


APP, DASHBOARD, TABLE = Scope.APP, Scope.DASHBOARD, Scope.TABLE
SIGNAL_KEYS = {signal.SIGHUP: "r", signal.SIGINT: "i", signal.SIGTERM: "t", signal.SIGKILL: "k"}
"""The process details' key for each of `OFFERED_SIGNALS`; its binding id is
`process.<action>` (`process.reload`, `process.kill`)."""
IN_FOOTER = frozenset({signal.SIGTERM, signal.SIGKILL})
"""The signals the Footer names: at 80 columns it has room for two; the details screen
names every offered signal's key, and so does the help."""

ACTIONS: tuple[Action, ...] = (
    # The app's bindings, in the Footer's order.
    Action(
        "help",
        APP,
        "question_mark",
        "help",
        "Help",
        "List every key and what it does",
        palette=False,
    ),
    Action(
        "filter",
        DASHBOARD,
        "slash",
        "filter",
        "Filter",
        "Filter the focused table: text, re:REGEX or an expression (README); Esc clears",
    ),
    Action("sort", DASHBOARD, "s", "sort", "Sort", "Sort the focused table by the next column"),
    Action(
        "reverse",
        DASHBOARD,
        "S",
        "reverse",
        "Reverse",
        "Reverse the sort order of the focused table",
        show=False,
    ),
    Action(
        "all",
        DASHBOARD,
        "a",
        "toggle_all",
        "All conns",
        "Ephemeral pane: show every connection, incoming too",
    ),
    Action(
        "pressure",
        APP,
        "p",
        "pressure",
        "Pressure",
        "Ephemeral ports per destination, CLOSE_WAIT leaks, full accept queues",
    ),
    Action(
        "traffic",
        APP,
        "T",
        "traffic",
        "Traffic",
        "Traffic: the busiest processes, destinations and namespaces, TCP rates over time",
        show=False,  # the Footer is full at 80 columns; help and the palette list it
    ),
    Action(
        "history",
        APP,
        "h",
        "history",
        "History",
        "Recent closed connections and listener changes: the recorder's, else this session's",
        show=False,  # the Footer is full at 80 columns; help and the palette list it
    ),
    Action(
        "lookup_row",
        DASHBOARD,
        "l",
        "lookup_row",
        "Lookup",
        "Look up the port of the selected row",
    ),
    Action(
        "close_connection",
        DASHBOARD,
        "K",
        "close_connection",
        "Close conn",
        "Close the selected TCP connection (as ss -K), after a confirmation; its process lives on",
        show=False,  # the Footer is full at 80 columns; help and the palette list it
    ),
    Action("pause", APP, "space", "toggle_pause", "Pause", "Pause or resume polling"),
    Action("faster", APP, "plus", "interval(-1)", "Poll faster", "Poll more often", show=False),
    Action("slower", APP, "minus", "interval(1)", "Poll slower", "Poll less often", show=False),
    Action(
        "numeric",
        APP,
        "n",
        "toggle_numeric",
        "Names",
        "Numeric addresses or resolved host names",
        show=False,
    ),
    Action(
        "netns",
        DASHBOARD,
        "w",
        "next_netns",
        "Netns",
        "Narrow every pane to the next network namespace with sockets; after the last, "
        "back to all of them",
        show=False,  # the Footer is full at 80 columns; help and the palette list it
    ),
    Action(
        "maximize",
        DASHBOARD,
        "z",
        "toggle_maximize",
        "Zoom",
        "Maximise the focused pane, or restore it",
    ),
    Action(
        "lookup_pane",
        DASHBOARD,
        "ctrl+l",
        "focus_lookup",
        "Lookup box",
        "Jump to the lookup box",
        show=False,
    ),
    Action(
        "palette",
        APP,
        "ctrl+p",
        "command_palette",
        "palette",
        "Command palette: every action by name, themes",
        show=False,
        priority=True,
        palette=False,
    ),
    Action("quit", APP, "q", "quit", "Quit", "Quit portscope", palette=False),
    Action(
        "quit.everywhere",
        APP,
        "ctrl+c",
        "quit",
        "Quit",
        "Quit portscope from anywhere, a text box or a dialog too",
        show=False,
        priority=True,
        palette=False,
    ),
    # The tables, on every screen that has one.
    Action("table.up", TABLE, "up", "cursor(-1)", "Up", "Move the cursor a row", show=False),
    Action("table.down", TABLE, "down", "cursor(1)", "Down", "Move the cursor a row", show=False),
    Action(
        "table.page_up",
        TABLE,
        "pageup",
        "page(-1)",
        "Page up",
        "Move the cursor a page",
        show=False,
    ),
    Action(
        "table.page_down",
        TABLE,
        "pagedown",
        "page(1)",
        "Page down",
        "Move the cursor a page",
        show=False,
    ),
    Action(
        "table.home",
        TABLE,
        "home",
        "jump(0)",
        "First row",
        "To the first, the last row",
        show=False,
    ),
    Action(
        "table.end", TABLE, "end", "jump(-1)", "Last row", "To the first, the last row", show=False
    ),
    Action(
        "table.details",
        TABLE,
        "enter",
        "select",
        "Details",
        "The process behind this row (cmdline, sockets, terminate); its port in Lookup",
    ),
    Action(
        "filter.clear",
        Scope.FILTER,
        "escape",
        "clear",
        "Clear filter",
        "Clear the filter and close it (Enter keeps it and returns to the table)",
    ),
    Action(
        "lookup.leave",
        Scope.LOOKUP,
        "escape",
        "leave",
        "Back to tables",
        "Back to the tables",
    ),
    Action(
        "process.back", Scope.PROCESS, "escape", "dismiss(None)", "Back", "Back to the dashboard"
    ),
    Action(
        "process.copy",
        Scope.PROCESS,
        "c",
        "copy_row",
        "Copy row",
        "Send the selected socket row to the terminal's clipboard (OSC 52)",
    ),
    Action(
        "process.lookup",
        Scope.PROCESS,
        "l",
        "lookup",
        "Look up port",
        "Look up the selected row's port",
    ),
    *(
        Action(
            f"process.{offer.action.lower()}",
            Scope.PROCESS,
            SIGNAL_KEYS[sig],
            f"signal({int(sig)})",
            offer.action,
            f"{offer.action} ({sig.name}), after "
            f"{'a confirmation' if offer.confirmations == 1 else 'two confirmations'} "
            "naming the process and pid",
            show=sig in IN_FOOTER,
        )
        for sig, offer in OFFERED_SIGNALS.items()
    ),
    Action(
        "pressure.back",
        Scope.PRESSURE,
        "escape,p",
        "dismiss(None)",
        "Back",
        "Back to the dashboard",
    ),
    Action(
        "traffic.back",
        Scope.TRAFFIC,
        "escape,T",
        "dismiss(None)",
        "Back",
        "Back to where it was opened",
    ),
    Action(
        "history.back",
        Scope.HISTORY,
        "escape,h",
        "dismiss(None)",
        "Back",
        "Close the History view, back to the dashboard",
    ),
    Action(
        "history.filter",
        Scope.HISTORY,
        "slash",
        "filter",
        "Filter",
        "Filter the history as the panes are filtered: text, re:REGEX or an expression",
        show=False,  # the Footer is full at 80 columns; the view's top lines name it
    ),
    Action("confirm.yes", Scope.CONFIRM, "y", "answer(True)", "Yes", "Do it"),
    Action("confirm.no", Scope.CONFIRM, "n,escape", "answer(False)", "No", "Cancel"),
    Action("help.close", Scope.HELP, "escape,question_mark,q", "dismiss", "Close", "Close help"),
)

NOTES: tuple[Note, ...] = (
    Note(DASHBOARD, "tab, shift+tab", "Move between panes"),
    Note(TABLE, "click header", "Sort by that column; click again to reverse"),
    Note(Scope.TRAFFIC, "↑ ↓, tab", "Move in a list, between the lists"),
    Note(Scope.TRAFFIC, "enter", "On a process: its details (totals, rates, flags explained)"),
)

BY_ID: dict[str, Action] = {a.binding_id: a for a in ACTIONS}
SCOPE_OF: dict[str, Scope] = {a.name: a.scope for a in ACTIONS if a.scope.host == APP.name}
"""The scope of each action the app binds, by the name `check_action` is given."""
PALETTE: tuple[Action, ...] = tuple(a for a in ACTIONS if a.palette and a.scope.host == APP.name)
"""What the command palette offers by name (where `state_of_action` allows)."""


def bindings(scope: Scope) -> list[BindingType]:
    """The BINDINGS of the node that hosts `scope` (the app hosts the dashboard's too)."""
    return [a.binding() for a in ACTIONS if a.scope.host == scope.name]


def key_list(keys: str) -> list[str]:
    """`keys` as Textual binds them: split at commas, one character as its key name."""
    return [b.key for b in Binding.make_bindings([Binding(keys, "")])]


def is_key(key: str) -> bool:
    """A key name Textual can report: modifiers, then a character or a named key."""
    *modifiers, base = key.split("+")
    if not base or not MODIFIERS.issuperset(modifiers):
        return False
    if len(base) == 1 or base in NAMED_KEYS:
        return base.isprintable()
    return key_to_character(REPLACED_KEYS.get(base, base)) is not None


def shown_key(key: str) -> str:
    """A key as the help writes it: its character or short name, modifiers spelt out."""
    *modifiers, base = key.split("+")
    return "+".join([*modifiers, format_key(base)])


def keys_in_force(action: Action, keymap: Mapping[str, str]) -> list[str]:
    """The keys that run `action` once `keymap` is applied, as Textual names them."""
    return key_list(keymap.get(action.binding_id) or action.key)


def key_names(action: Action, keymap: Mapping[str, str]) -> str:
    """`action`'s keys after `keymap`, as the help lists them: `esc, p`."""
    return ", ".join(shown_key(k) for k in keys_in_force(action, keymap))


def keymap_of(node: DOMNode) -> Mapping[str, str]:
    """The keymap the app applies: the one place that reads Textual's private
    `App._keymap`. Textual 8.2.8 has no public reader for it: `set_keymap` and
    `update_keymap` only write it, and `Screen.active_bindings` covers only the
    bindings of the focused widget's chain, not every screen's, which the help and
    the text naming keys need."""
    return node.app._keymap


def first_key(node: DOMNode, binding_id: str) -> str:
    """The first key that runs `binding_id` now, for text that names it ("press q")."""
    action = BY_ID[binding_id]
    return shown_key(keys_in_force(action, keymap_of(node))[0])


def full_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """Every binding id with its keys, `keymap`'s where it has them. Textual moves each
    binding a keymap names after the others of its node, so naming them all keeps the
    Footer in the registry's order (a remapped key would drop off a narrow Footer)."""
    return {a.binding_id: keymap.get(a.binding_id, a.key) for a in ACTIONS}


def checked_keymap(keymap: Mapping[str, str]) -> tuple[dict[str, str], list[Problem]]:
    """The entries of a config file's keymap that can be applied, and what is wrong with
    the others: an id no binding has, something that is no key, or a key another binding
    of the same screen keeps (Textual would take it from that one without a word)."""
    problems: list[Problem] = []
    usable: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        where = f'keymap."{binding_id}"'
        if binding_id not in BY_ID:
            problems.append(Problem(where, keys, "a binding id from the README's list"))
            continue
        try:
            valid = all(is_key(k) for k in key_list(keys))
        except InvalidBinding:
            valid = False
        if not valid:
            problems.append(Problem(where, keys, WANTED_KEYS))
            continue
        usable[binding_id] = keys
    for binding_id, why in list(clashes(usable)):
        problems.append(Problem(f'keymap."{binding_id}"', usable.pop(binding_id), why))
    return usable, problems


def clashes(keymap: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    """(remapped id, why) for each entry of `keymap` that takes a key another binding on
    the same node keeps, after every entry is applied."""
    for binding_id, keys in keymap.items():
        mine = BY_ID[binding_id]
        for other in ACTIONS:
            if other is mine or other.scope.host != mine.scope.host:
                continue
            taken = set(key_list(keys)) & set(keys_in_force(other, keymap))
            if taken:
                key = shown_key(sorted(taken)[0])
                yield binding_id, f"keys no other binding there has: {key} is {other.binding_id}'s"
                break
