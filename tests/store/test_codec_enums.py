"""Enum decoding by lookup table gives exactly what the enum's own lookup gives."""

from __future__ import annotations

import pytest

from opencasb.model.activity import Category, Outcome
from opencasb.store import codec


@pytest.mark.parametrize("enum", [Category, Outcome])
def test_lookup_table_matches_enum_call(enum: type[Category] | type[Outcome]) -> None:
    table = codec._CATEGORY_BY_VALUE if enum is Category else codec._OUTCOME_BY_VALUE
    for member in enum:
        assert codec._member(table, member.value, enum.__name__) is enum(member.value)


@pytest.mark.parametrize("bad", ["no-such-value", None, 3, ["list"]])
def test_unknown_value_raises_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="is not a valid Category"):
        codec._member(codec._CATEGORY_BY_VALUE, bad, "Category")
