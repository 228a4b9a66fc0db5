"""fleet --json and diff --json: indented at the top, each deeper value on one line, still the same JSON."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.render.jsontext import json_text

VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_any_value_round_trips(value):
    for levels in (0, 1, 3):
        assert json.loads(json_text(value, levels=levels)) == value


def test_levels_indent_the_top_and_keep_deeper_values_on_one_line():
    data = {"counts": {"nodes": 2}, "nodes": [{"name": "a", "facts": {"gpu": "H100"}}, {"name": "b", "facts": {}}]}
    assert json_text(data, levels=2).splitlines() == [
        "{",
        '  "counts": {',
        '    "nodes": 2',
        "  },",
        '  "nodes": [',
        '    {"name": "a", "facts": {"gpu": "H100"}},',
        '    {"name": "b", "facts": {}}',
        "  ]",
        "}",
    ]
    assert json_text("é") == '"é"'  # text as it is, not \u-escaped
