"""Filter expressions: one grammar for the dashboard's `/` box and the CLI's `--filter`.

    state established and ( dport = :443 or sport = :443 )
    dst 10.0.0.0/8 and not process ~ "^(sshd|nginx)$"
    nginx                          (a bare word: the row's text, as before)

Fields are in `filter_fields.FIELDS`. Operators: `=` (also `==`, `eq`, or none at all,
as ss allows), `!=` (`ne`, `neq`), `<` `>` `<=` `>=` (`lt` `gt` `le` `ge` `leq` `geq`),
`~` (an RE2 regular expression); `and` (`&`, `&&`, or nothing between two terms), `or`
(`|`, `||`), `not` (`!`, on the term after it), parentheses. `and` and `or` at one
level need parentheses (see `Parser.joined`). ss's leading `state X state Y exclude Z`
is read as ss reads it: the union of the states named, minus those excluded. A value
with spaces or any of `()=!<>~&|` goes in quotes (`"..."` or `'...'`; `\\"` is a quote
inside, `\\\\` a backslash).

Text that uses none of this (no operator, parenthesis, quote or `and`/`or`/`not`, and no
field name followed by anything) keeps its old meaning, the whole text as one
case-insensitive substring of the row, and `re:PATTERN` stays a regular expression over
the row, so the words, ports and addresses typed before expressions existed find what
they found. Inside an expression a bare word is such a substring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from portscope.exposure import listener_exposure
from portscope.model import Snapshot, Socket, endpoint, proto_label
from portscope.view.columns import CELL_SEPARATOR, Row
from portscope.view.filter_fields import (
    FIELDS,
    STATE,
    ExposureField,
    Field,
    PlaceField,
    ValueProblem,
    quoted,
    regex,
)
from portscope.view.table_model import FilterError, Matcher

REGEX_PREFIX = "re:"


class RowText(Protocol):
    """The text a bare word or `re:` searches: a row's cells, one per line (`lines`),
    and the same casefolded (`search`); the name of the socket's namespace, which
    `netns` reads (`netns`), and the listener's exposure as judged with its snapshot
    ("" where none was), which `exposure` reads. The dashboard's `Row` is one."""

    @property
    def lines(self) -> str: ...

    @property
    def search(self) -> str: ...

    @property
    def netns(self) -> str: ...

    @property
    def exposure(self) -> str: ...


Check = Callable[[Socket | None, RowText], bool]
"""A compiled expression: does this socket (None for a row that holds none), whose row
reads `text`, pass?"""


class FilterSyntaxError(FilterError):
    """An expression that cannot be used: where (1-based, in characters) and why."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"at {position}: {reason}")
        self.position = position
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled filter: `matches(sock, text)`. `uses_socket` is False when only the
    row's text is read (a bare word, `re:`), so it also works on rows with no socket."""

    text: str
    check: Check
    uses_socket: bool

    def matches(self, sock: Socket | None, text: RowText) -> bool:
        return self.check(sock, text)


MAX_DEPTH = 64
"""How deeply parentheses and `not` may nest: far beyond any expression a person writes,
and well inside Python's recursion limit."""
SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "=", "<", ">", "~", "!", "&", "|", "(", ")")
"""Longest first, so `<=` is one token, not `<` then `=`."""
BREAKS = frozenset("()=!<>~&|")
"""What ends a word besides white space."""
QUOTES = frozenset("\"'")
COMPARISONS = {
    "=": "=",
    "==": "=",
    "eq": "=",
    "!=": "!=",
    "ne": "!=",
    "neq": "!=",
    "<": "<",
    "lt": "<",
    ">": ">",
    "gt": ">",
    "<=": "<=",
    "le": "<=",
    "leq": "<=",
    ">=": ">=",
    "ge": ">=",
    "geq": ">=",
    "~": "~",
}
"""Every spelling of a comparison (ss's words included) -> the operator."""
AND = frozenset({"and", "&", "&&"})
OR = frozenset({"or", "|", "||"})
NOT = frozenset({"not", "!"})
STATE_PREFIX = frozenset({"state", "exclude", "excl"})


class Token(NamedTuple):
    text: str
    position: int
    symbol: bool
    """An operator or parenthesis (not a word or a quoted value)."""
    quoted: bool = False

    @property
    def word(self) -> str:
        """The token as a keyword (lower case), or "" for a quoted value."""
        return "" if self.quoted else self.text.lower()

    @property
    def connective(self) -> bool:
        return not self.quoted and self.word in AND | OR | NOT

    def shown(self) -> str:
        return quoted(self.text)


def tokens(text: str) -> list[Token]:
    """Words, quoted values and symbols, each with its 1-based position."""
    found: list[Token] = []
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in QUOTES:
            value, end = quoted_value(text, i)
            found.append(Token(value, i + 1, False, True))
            i = end
        elif symbol := next((s for s in SYMBOLS if text.startswith(s, i)), None):
            found.append(Token(symbol, i + 1, True))
            i += len(symbol)
        else:
            start = i
            while i < size and text[i] not in BREAKS and not text[i].isspace():
                i += 1
            found.append(Token(text[start:i], start + 1, False))
    return found


def quoted_value(text: str, start: int) -> tuple[str, int]:
    """The value of the quotation starting at `start`, and the index just after it. A
    backslash escapes the quote or a backslash; any other is kept, so `"\\d+"` reaches
    a regular expression as typed."""
    quote, i, value = text[start], start + 1, []
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in (quote, "\\"):
            value.append(text[i + 1])
            i += 2
        elif char == quote:
            return "".join(value), i + 1
        else:
            value.append(char)
            i += 1
    raise FilterSyntaxError(start + 1, f"the quote {quote} is never closed")


def is_expression(found: list[Token]) -> bool:
    """Whether the text uses the grammar: an operator, a parenthesis, a quote, a
    connective, or a field name followed by something. Anything else is plain text."""
    for index, token in enumerate(found):
        if token.symbol or token.quoted or token.connective:
            return True
        if (token.word in FIELDS or token.word in STATE_PREFIX) and index + 1 < len(found):
            return True
    return False


def compile_filter(text: str) -> Filter | None:
    """The filter `text` means; None when it filters nothing (empty). Raises
    FilterSyntaxError, and nothing else, for text it cannot use."""
    if text.startswith(REGEX_PREFIX):
        return regex_filter(text)
    if not text:
        return None
    found = tokens(text)
    if not is_expression(found):
        return substring_filter(text)
    return Filter(text, Parser(text, found).parse(), True)


def row_matcher(text: str) -> Matcher | None:
    """What the dashboard's `/` box hands its table: `text` compiled, tested on each
    row's socket (None for a row that holds none) and cells. None when `text` filters
    nothing; raises FilterSyntaxError, before the table changes, for text it cannot use."""
    chosen = compile_filter(text)
    if chosen is None:
        return None

    def matches(row: Row) -> bool:
        sock = row.payload if isinstance(row.payload, Socket) else None
        return chosen.matches(sock, row)

    return matches


def substring_filter(text: str) -> Filter:
    needle = text.casefold()
    return Filter(text, lambda sock, row: needle in row.search, False)


def regex_filter(text: str) -> Filter | None:
    pattern = text[len(REGEX_PREFIX) :]
    if not pattern:
        return None
    try:
        compiled = regex(pattern)
    except ValueProblem as exc:
        raise FilterSyntaxError(len(REGEX_PREFIX) + 1, str(exc)) from None
    return Filter(text, lambda sock, row: compiled.search(row.lines) is not None, False)


def socket_test(test: Callable[[Socket], bool]) -> Check:
    return lambda sock, row: sock is not None and test(sock)


def row_test(test: Callable[[Socket, str], bool], reads: str) -> Check:
    """A test of the socket and its row's `reads` attribute (a `RowText` one)."""
    return lambda sock, row: sock is not None and test(sock, getattr(row, reads))


def negated(check: Check) -> Check:
    return lambda sock, row: not check(sock, row)


def every(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda sock, row: first(sock, row) and second(sock, row)
    parts = tuple(checks)
    return lambda sock, row: all(check(sock, row) for check in parts)


def either(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda sock, row: first(sock, row) or second(sock, row)
    parts = tuple(checks)
    return lambda sock, row: any(check(sock, row) for check in parts)


class Parser:
    """Recursive descent over the tokens: terms joined at one level, a term being a
    predicate, a bare word, `not` a term, or a parenthesised level."""

    def __init__(self, text: str, found: list[Token]) -> None:
        self.text = text
        self.tokens = found
        self.index = 0
        self.depth = 0

    def parse(self) -> Check:
        """The whole expression. ss's state prefix applies to all that follows it
        directly (`state established sport = :22 or dport = :22`), as in ss; followed by
        `and` or `or` it is an ordinary first term."""
        prefix = self.state_prefix()
        token = self.peek()
        if prefix is None:
            check = self.joined(self.term(after=None))
        elif token is None or token.text == ")":
            check = prefix
        elif token.word in AND | OR:
            check = self.joined(prefix)
        else:
            check = every([prefix, self.joined(self.term(after=None))])
        token = self.peek()
        if token is not None:  # only a ')' stops `joined` early
            raise FilterSyntaxError(token.position, "')' without a matching '('")
        return check

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def where(self) -> int:
        token = self.peek()
        return token.position if token is not None else len(self.text) + 1

    def joined(self, first: Check) -> Check:
        """Terms after `first` up to a ')' or the end, joined all by `and` (or nothing)
        or all by `or`. Both at one level need parentheses: ss(8) says `and` binds
        first, but ss itself reads them left to right, so `a or b and c` would mean
        one thing here and another there."""
        checks, kind = [first], ""
        while (token := self.peek()) is not None and token.text != ")":
            if token.word in AND | OR:
                self.take()
                joiner, after = ("or" if token.word in OR else "and"), token
            else:
                joiner, after = "and", None  # side by side: and, as in ss
            if kind and joiner != kind:
                raise FilterSyntaxError(
                    token.position,
                    "'and' and 'or' together need parentheses: (a and b) or c, a and (b or c)",
                )
            kind = joiner
            checks.append(self.term(after))
        return either(checks) if kind == "or" else every(checks)

    def term(self, after: Token | None) -> Check:
        token = self.peek()
        if token is None or token.text == ")" or token.word in AND | OR:
            if after is not None:
                raise FilterSyntaxError(self.where(), f"expected a term after {after.shown()}")
            if token is not None:
                raise FilterSyntaxError(token.position, f"{token.shown()} needs a term before it")
            raise FilterSyntaxError(self.where(), "expected a term")
        self.nest(token)
        try:
            if token.word in NOT:
                self.take()
                return negated(self.term(after=token))
            if token.text == "(":
                self.take()
                inner = self.joined(self.term(after=token))
                closing = self.peek()
                if closing is None or closing.text != ")":
                    raise FilterSyntaxError(token.position, "'(' is never closed")
                self.take()
                return inner
            return self.predicate()
        finally:
            self.depth -= 1

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterSyntaxError(token.position, f"nested more than {MAX_DEPTH} deep")

    def predicate(self) -> Check:
        token = self.take()
        if token.symbol:
            if token.text in COMPARISONS:
                raise FilterSyntaxError(
                    token.position, f"{token.shown()} needs a field before it ({field_names()})"
                )
            raise FilterSyntaxError(token.position, f"unexpected {token.shown()}")
        field = FIELDS.get(token.word)
        if field is None:
            if token.word in STATE_PREFIX - {"state"}:
                raise FilterSyntaxError(
                    token.position, f"{token.shown()} is only taken at the start, as in ss"
                )
            needle = token.text.casefold()
            return lambda sock, row: needle in row.search
        return self.comparison(token, field)

    def comparison(self, name: Token, field: Field) -> Check:
        """`FIELD [OP] VALUE`; no operator is `=`, as in ss."""
        operator = self.peek()
        if operator is not None and operator.word in COMPARISONS:
            self.take()
            op = COMPARISONS[operator.word]
        else:
            operator, op = None, "="
        value = self.value(after=operator or name, name=name)
        negate = op == "!="
        op = "=" if negate else op
        if operator is not None and op not in field.operators:
            taken = ", ".join(("=", "!=", *field.operators[1:]))
            raise FilterSyntaxError(
                operator.position, f"{name.shown()} takes {taken}, not {operator.shown()}"
            )
        try:
            if isinstance(field, PlaceField | ExposureField):
                check = row_test(field.test(op, value.text), field.reads)
            else:
                check = socket_test(field.test(op, value.text))
        except ValueProblem as exc:
            raise FilterSyntaxError(value.position, str(exc)) from None
        return negated(check) if negate else check

    def value(self, after: Token, name: Token) -> Token:
        token = self.peek()
        if token is None or token.symbol or token.connective:
            raise FilterSyntaxError(
                self.where(), f"expected a value for {name.shown()} after {after.shown()}"
            )
        return self.take()

    def state_prefix(self) -> Check | None:
        """ss's `state A state B exclude C` before the expression: one set of states.
        None when the text does not start that way (`state = X` is a predicate)."""
        chosen: frozenset[str] | None = None
        while (token := self.peek()) is not None and token.word in STATE_PREFIX:
            following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
            if following is None or following.symbol or following.connective:
                break
            self.take()
            name = self.take()
            try:
                states = STATE.values(name.text)
            except ValueProblem as exc:
                raise FilterSyntaxError(name.position, str(exc)) from None
            if token.word == "state":
                chosen = (chosen or frozenset()) | states
            else:
                chosen = (STATE.values("all") if chosen is None else chosen) - states
        if chosen is None:
            return None
        return socket_test(STATE.member_of(chosen))


def field_names() -> str:
    return ", ".join(FIELDS)


class SocketText:
    """A socket's text for bare words on the command line: the columns `portscope
    snapshot` prints (proto, state, local and peer, netns, pid, process, user, and the
    container or unit the process runs in)."""

    __slots__ = ("exposure", "lines", "netns", "search")

    def __init__(self, sock: Socket, netns: str = "", exposure: str = "") -> None:
        """`netns`: the name of the socket's namespace ("" when not known); `exposure`
        its exposure as judged with its snapshot ("": by its address)."""
        owner = sock.owner
        self.netns = netns
        self.exposure = exposure
        cells = (
            proto_label(sock.proto, sock.family),
            sock.state_label,
            endpoint(sock.local_address, sock.local_port),
            endpoint(sock.remote_address, sock.remote_port),
            netns,
            str(owner.pid) if owner else "",
            (owner.name or "") if owner else "",
            (owner.user or "") if owner else "",
            (owner.where or "") if owner else "",
        )
        self.lines = CELL_SEPARATOR.join(cells)
        self.search = self.lines.casefold()


def select(snapshot: Snapshot, chosen: Filter | None) -> Snapshot:
    """The snapshot with only the sockets `chosen` lets through (on their `SocketText`);
    everything else (the range, totals, counters) is the machine's and stays."""
    if chosen is None:
        return snapshot
    return snapshot.selected(lambda sock: chosen.matches(sock, socket_text(sock, snapshot)))


def socket_text(sock: Socket, snapshot: Snapshot) -> SocketText:
    """`sock`'s text as `snapshot` names its namespace and, for a listener, judges its
    exposure (as the Listening pane's column)."""
    exposure = listener_exposure(sock, snapshot) if sock.is_listener else ""
    return SocketText(sock, snapshot.namespace_name(sock.netns), exposure)
