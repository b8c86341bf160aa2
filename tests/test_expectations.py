"""The static expectation table (complyflow/core/expectations.py) agrees with Great Expectations itself."""

from __future__ import annotations

from typing import Any

import pytest

from complyflow.core.config import Rule
from complyflow.core.expectations import EXPECTATIONS, class_name

SAMPLES: dict[str, Any] = {
    "list": ["a", "b"],
    "number_or_null": 5,
    "int_or_null": 3,
    "bool": True,
    "fraction": 0.9,
    "str": "^a",
}


def sample_kwargs(expectation: str) -> dict[str, Any]:
    spec = EXPECTATIONS[expectation]
    kwargs = {name: SAMPLES[kwarg.kind] for name, kwarg in spec.kwargs.items()}
    if expectation.endswith("_be_of_type"):
        kwargs["type_"] = "int"
    if "min_value" in kwargs:
        kwargs["min_value"], kwargs["max_value"] = 1, 9
    return kwargs


@pytest.mark.parametrize("expectation", sorted(EXPECTATIONS))
def test_declared_kwargs_are_accepted_by_gx(expectation: str) -> None:
    gxe = pytest.importorskip("great_expectations.expectations")
    cls = getattr(gxe, class_name(expectation))
    kwargs = sample_kwargs(expectation)
    Rule(expectation=expectation, column="c", kwargs=kwargs)  # the table accepts it
    cls(column="c", **kwargs)  # and so does GX
    for name in kwargs:  # every argument on its own too (with what the table requires), as a rule would write it
        required = {k: kwargs[k] for k in EXPECTATIONS[expectation].required}
        one = {**required, name: kwargs[name]}
        if EXPECTATIONS[expectation].one_of and not set(one) & set(EXPECTATIONS[expectation].one_of):
            one["min_value"] = kwargs["min_value"]
        Rule(expectation=expectation, column="c", kwargs=one)
        cls(column="c", **one)


@pytest.mark.parametrize("expectation", sorted(EXPECTATIONS))
def test_unknown_kwarg_is_refused_by_both(expectation: str) -> None:
    gxe = pytest.importorskip("great_expectations.expectations")
    cls = getattr(gxe, class_name(expectation))
    kwargs = {**sample_kwargs(expectation), "max_vlaue": 3}
    with pytest.raises(Exception):  # noqa: B017, PT011
        cls(column="c", **kwargs)
    with pytest.raises(ValueError, match="max_vlaue"):
        Rule(expectation=expectation, column="c", kwargs=kwargs)


def test_between_without_bounds_is_refused_by_both() -> None:
    gxe = pytest.importorskip("great_expectations.expectations")
    with pytest.raises(Exception):  # noqa: B017, PT011
        gxe.ExpectColumnValuesToBeBetween(column="c")
    with pytest.raises(ValueError, match="at least one of min_value, max_value"):
        Rule(expectation="expect_column_values_to_be_between", column="c", kwargs={})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_value": "ninety"}, "must be a number or null"),
        ({"max_value": 9, "mostly": 2}, "between 0 and 1"),
        ({"max_value": 9, "strict_max": "yes"}, "true or false"),
    ],
)
def test_wrong_types_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rule(expectation="expect_column_values_to_be_between", column="c", kwargs=kwargs)


def test_unknown_expectation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Great Expectations expectation"):
        Rule(expectation="expect_column_values_to_be_purple", column="c", kwargs={})
