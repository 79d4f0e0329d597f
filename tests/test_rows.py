"""A compact row reads exactly as the dict it was made from, and columns built from rows are what pandas infers."""

from __future__ import annotations

import pickle
from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.form.functions import XlError
from xlkit.intake.rows import ValueRow, columns

KEYS = [f"f{i}" for i in range(8)]
VALUE = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 5), st.text(max_size=3),
                  st.booleans(), st.just(XlError("#DIV/0!")), st.just(date(2019, 12, 31)))


def _dict(values: list) -> dict:
    return {key: value for key, value in zip(KEYS, values, strict=False) if value is not None}


@settings(max_examples=200, deadline=None)
@given(st.lists(VALUE, min_size=8, max_size=8))
def test_a_row_reads_as_its_dict_and_travels(values):
    plain = _dict(values)
    row = ValueRow.of(plain, KEYS)
    back = pickle.loads(pickle.dumps(row))
    for candidate in (row, back):
        assert dict(candidate) == plain and list(candidate) == list(plain) and len(candidate) == len(plain)
        assert all(candidate.get(k, "x") == plain.get(k, "x") and (k in candidate) == (k in plain) for k in [*KEYS, "nope"])
        assert all(type(candidate[k]) is type(plain[k]) for k in plain)
        items = list(candidate.items())  # the fast items() (from the arrays) against Mapping's lookups, type and all
        assert items == list(plain.items()) and [type(v) for _k, v in items] == [type(v) for v in plain.values()]
        assert candidate.items() == plain.items()
    assert back.keys_ is row.keys_  # the field ids are held once, however many reports bring them


@pytest.mark.parametrize("keys", [("a", "b\nc", "d"), ("a", "b", "c"), ("x",)])
def test_a_row_travels_to_a_process_that_never_saw_its_field_ids(keys):
    """The ids travel as one text when no id holds a newline (else as a tuple); a process meeting them for the
    first time rebuilds them, and the next row with the same ids shares them."""
    from xlkit.intake import rows

    plain = {key: float(i) for i, key in enumerate(keys)}
    message = pickle.dumps(ValueRow.of(plain, keys))
    rows._BY_KEYS.clear()
    rows._BY_TEXT.clear()
    first, second = pickle.loads(message), pickle.loads(message)
    assert dict(first) == plain == dict(second) and first.keys_ == keys and second.keys_ is first.keys_


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(VALUE, min_size=8, max_size=8)), min_size=1, max_size=12))
def test_columns_are_what_pandas_infers_from_lists(units):
    """Two layouts (the second has fewer fields, in another order), any values: the same frame as from lists."""
    other_layout = list(reversed(KEYS[:6]))
    rows = [ValueRow.of({k: v for k, v in _dict(values).items() if k in other_layout}, other_layout) if second
            else ValueRow.of(_dict(values), KEYS) for second, values in units]
    built = pd.DataFrame(columns(rows))
    keys = list(dict.fromkeys(k for row in rows for k in row))
    expected = pd.DataFrame({k: [row.get(k) for row in rows] for k in keys})
    assert sorted(built.columns) == sorted(expected.columns)
    pd.testing.assert_frame_equal(built[expected.columns], expected)


def test_rows_and_dicts_mixed_fall_back_to_lists():
    rows = [ValueRow.of({"a": 1.0}, ["a", "b"]), {"b": "x"}]
    assert columns(rows) == {"a": [1.0, None], "b": [None, "x"]}
