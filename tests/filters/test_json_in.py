"""``equals``/``in`` on vendor data (``raw.*``, ``details.*``) tests a value against a set of
texts: exactly what comparing it with each listed value by JSON type gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from opencasb.filters.fields import ascii_fold
from opencasb.filters.predicate import _identity, _json_in, _same_json

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(-3, 3)
    | st.just(float("nan"))
    | st.sampled_from(["a", "A", "b", "Élodie", "élodie", "1", "true", ""])
)
values = scalars | st.lists(scalars, max_size=2) | st.dictionaries(st.just("k"), scalars)


@given(st.lists(scalars, min_size=1, max_size=6), values, st.booleans())
def test_set_lookup_equals_comparing_each_value(wants: list[Any], v: Any, ignore: bool) -> None:
    fold = ascii_fold if ignore else _identity
    folded = [fold(w) if isinstance(w, str) else w for w in wants]
    assert _json_in(folded, fold)(v) == any(_same_json(v, w, fold) for w in folded)


def test_types_never_cross() -> None:
    test = _json_in([True, 1, "1"], _identity)
    assert test(True) and test(1) and test(1.0) and test("1")
    assert not _json_in([1], _identity)(True)
    assert not _json_in([True], _identity)(1)
    assert not _json_in(["true"], _identity)(True)
