"""The JSON a bundle or key file holds is read strictly: nesting counted outside strings only."""
from __future__ import annotations

import pytest

from keys.errors import FormatError
from keys.strict import MAX_DEPTH, load_json


def test_brackets_inside_strings_are_text_not_nesting():
    text = '{"a": "' + "[{" * 1000 + '", "b": "\\"[[[[", "c": [[1]]}'
    assert load_json(text.encode(), "the manifest")["c"] == [[1]]


def test_nesting_past_the_limit_is_refused_even_after_a_string_with_an_escaped_quote():
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    with pytest.raises(FormatError, match="nested too deeply"):
        load_json(('{"a": "x\\"]]]]", "b": ' + deep + "}").encode(), "the manifest")
    assert load_json(('{"b": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}").encode(), "m")
