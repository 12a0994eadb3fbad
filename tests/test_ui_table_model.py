"""The row model behind every socket table: incremental changes equal a fresh sort."""

from __future__ import annotations

from operator import itemgetter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portscope.ui.narrow import fit_marked
from portscope.ui.widgets.socket_table import layout_columns
from portscope.view.columns import Column, Columns, Row
from portscope.view.filters import row_matcher
from portscope.view.socket_cells import format_age
from portscope.view.table_model import FilterError, RowModel

PAIRS: Columns[tuple[int, int]] = Columns(
    Column("key", "key", 4, cell=lambda kv: f"k{kv[0]}", sort=lambda kv: kv[0]),
    Column("value", "value", 4, cell=lambda kv: f"v{kv[1]}", sort=lambda kv: kv[1]),
)


def row(key: int, value: int) -> Row:
    return PAIRS.row(key, (key, value))


def shown(model: RowModel) -> list[int]:
    return [model.row_at(i).key for i in range(len(model))]


def expected(rows: dict[int, int], column: str, reverse: bool, needle: str = "") -> list[int]:
    """Sorted by the column; ties in the order keys were first added (dicts keep it)."""
    kept = [(k, v) for k, v in rows.items() if needle in f"k{k}" or needle in f"v{v}"]
    arrival = {k: i for i, k in enumerate(rows)}
    position = PAIRS.index(column)
    ordered = sorted(kept, key=lambda kv: (kv[position], arrival[kv[0]]))
    keys = [k for k, _v in ordered]
    return keys[::-1] if reverse else keys


changes = st.lists(
    st.tuples(st.booleans(), st.integers(0, 40), st.integers(0, 5)), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(changes, st.sampled_from(PAIRS.ids), st.booleans(), st.sampled_from(["", "1", "v3"]))
def test_incremental_changes_match_a_full_sort(ops, column, reverse, needle) -> None:
    model = RowModel(PAIRS, sort_column=column, reverse=reverse)
    model.set_matcher(row_matcher(needle))
    truth: dict[int, int] = {}
    for batch_start in range(0, len(ops), 7):
        pending: dict[int, int] = {}
        removals: set[int] = set()
        for add, key, value in ops[batch_start : batch_start + 7]:
            if add:
                pending[key] = value
                removals.discard(key)
            else:
                pending.pop(key, None)
                if key in truth:
                    removals.add(key)
        model.apply([row(k, v) for k, v in pending.items()], removals)
        for key in removals:
            del truth[key]
        truth.update(pending)
        want = expected(truth, column, reverse, needle)
        assert shown(model) == want
        assert all(model.index_of(k) == i for i, k in enumerate(want))
    assert model.total == len(truth)


big_changes = st.lists(
    st.tuples(st.booleans(), st.integers(0, 600), st.integers(0, 5)), min_size=40, max_size=90
)


@settings(max_examples=60, deadline=None)
@given(big_changes, st.sampled_from(PAIRS.ids), st.booleans(), st.sampled_from(["", "1"]))
def test_batched_changes_to_many_rows_match_a_full_sort(ops, column, reverse, needle) -> None:
    """Changes too many to bisect one by one, too few for a rebuild, are merged in."""
    truth = {key: key % 7 for key in range(0, 600, 2)}
    model = RowModel(PAIRS, sort_column=column, reverse=reverse)
    model.set_matcher(row_matcher(needle))
    model.replace_all(row(k, v) for k, v in truth.items())
    upserts = [row(key, value) for add, key, value in ops if add]
    removals = {key for add, key, _value in ops if not add and key in truth}
    removals -= {r.key for r in upserts}
    model.apply(upserts, removals)
    for key in removals:
        del truth[key]
    for r in upserts:
        truth[r.key] = r.sort_value("value")
    want = expected(truth, column, reverse, needle)
    assert shown(model) == want
    assert all(model.index_of(k) == i for i, k in enumerate(want))


def test_same_values_keep_their_first_seen_order_in_both_directions() -> None:
    model = RowModel(PAIRS, sort_column="value")
    model.apply([row(5, 1), row(3, 1), row(9, 1)])
    assert shown(model) == [5, 3, 9]
    model.sort_by("value", reverse=True)
    assert shown(model) == [9, 3, 5]


def test_bad_regex_raises_and_keeps_the_previous_filter() -> None:
    model = RowModel(PAIRS)
    model.apply([row(1, 1), row(2, 2)])
    model.set_matcher(row_matcher("re:k1"))
    assert shown(model) == [1]
    with pytest.raises(FilterError, match="bad regular expression"):
        model.set_matcher(row_matcher("re:("))
    assert shown(model) == [1]


def cells(*texts: str) -> Row:
    """A row of these cells, one column each."""
    columns = Columns(*(Column(f"c{i}", f"c{i}", 4, cell=itemgetter(i)) for i in range(len(texts))))
    return columns.row(texts, texts)


def test_plain_filter_is_a_case_insensitive_substring_not_a_pattern() -> None:
    matcher = row_matcher("A.B")
    assert matcher is not None
    assert matcher(cells("xa.by")) and not matcher(cells("xaxby"))
    assert row_matcher("") is None and row_matcher("re:") is None


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("re:8080$", True),
        ("re:^8080$", True),
        ("re:^LISTEN$", True),
        ("re:^tcp$", True),
        ("re:^tcp.8080", False),
        (r"re:tcp\s8080", False),
        ("re:tcp[^x]*8080", False),
        ("re:1\t8080", False),
        ("re:^127.0.0.1$", True),
        ("re:8080$|^nothing", True),
        ("tcp\t127", False),
    ],
)
def test_a_filter_matches_within_one_cell_never_across_two(pattern: str, matches: bool) -> None:
    """Any cell that matches makes the row match; `^`/`$` are a cell's ends."""
    matcher = row_matcher(pattern)
    assert matcher is not None
    assert matcher(cells("tcp", "127.0.0.1", "8080", "listen")) is matches


def test_narrow_tables_drop_low_priority_columns_first() -> None:
    columns = (
        Column("a", "a", 10, priority=3),
        Column("b", "b", 10, priority=1),
        Column("c", "c", 10, priority=2, grow=True),
    )

    def laid_out(room: int) -> list[tuple[str, int]]:
        return [(column.id, width) for _index, column, width in layout_columns(columns, room)]

    assert laid_out(40) == [("a", 10), ("b", 10), ("c", 18)]
    assert laid_out(25) == [("a", 10), ("c", 14)]
    assert laid_out(5) == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-3, "0s"), (42, "42s"), (185, "3m05s"), (7620, "2h07m"), (273_600, "3d04h")],
)
def test_ages_are_compact(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


@pytest.mark.timeout(20)
def test_a_catastrophic_regex_cannot_freeze_the_filter() -> None:
    """`(a+)+$` backtracks exponentially in Python's re; the filter's RE2 stays linear."""
    long = Columns(Column("text", "text", 8, cell=lambda _i: "a" * 5_000 + "b", sort=int))
    model = RowModel(long)
    model.apply(long.row(i, i) for i in range(2_000))
    model.set_matcher(row_matcher("re:(a+)+$"))
    assert len(model) == 0
    model.set_matcher(row_matcher("re:(a+)+b$"))
    assert len(model) == 2_000


def test_regex_features_re2_lacks_are_inline_errors() -> None:
    for pattern in (r"re:(\w)\1", "re:(?=x)", "re:(?<!y)z"):
        with pytest.raises(FilterError, match="bad regular expression"):
            row_matcher(pattern)


@pytest.mark.parametrize(
    ("width", "shown"),
    [
        (24, "python3.11 ✖ queue full "),
        (18, "pyth… ✖ queue full"),
        (12, "pyth… ✖ full"),
        (9, "✖ full   "),
        (4, "✖ f…"),
    ],
)
def test_a_marker_cuts_the_text_before_it_then_shortens_then_stands_alone(
    width: int, shown: str
) -> None:
    forms = (" ✖ queue full", " ✖ full")
    assert fit_marked("python3.11 ✖ queue full", forms, width) == shown


def test_rows_and_the_model_name_columns_and_refuse_unknown_ones() -> None:
    """A cell, a sort value and the sort itself are asked for by column id; a sort by a
    column the table lacks is refused and leaves the order as it was."""
    model = RowModel(PAIRS, sort_column="value")
    model.apply([row(1, 9), row(2, 3)])
    first = model.rows[1]
    assert (first.cell("key"), first.cell("value"), first.sort_value("value")) == ("k1", "v9", 9)
    assert first.text() == "key=k1  value=v9"
    with pytest.raises(KeyError):
        model.sort_by("age")
    assert (model.sort_column, shown(model)) == ("value", [2, 1])
    model.sort_by("key")
    assert shown(model) == [1, 2]


def test_a_table_cannot_have_two_columns_of_one_id() -> None:
    with pytest.raises(ValueError, match="column ids repeat"):
        Columns(Column("a", "a", 4), Column("a", "b", 4))


def test_cells_are_worded_once_when_first_asked_for() -> None:
    """A row holds its subject; its cells are worded on first use, then kept."""
    worded: list[int] = []

    def cell(n: int) -> str:
        worded.append(n)
        return str(n)

    table = Columns(Column("n", "n", 4, cell=cell, sort=int))
    model = RowModel(table)
    model.apply(table.row(n, n) for n in range(100))
    assert worded == [] and shown(model) == list(range(100))
    assert model.row_at(7).cells == ("7",) and model.row_at(7).cell("n") == "7"
    assert worded == [7]
