"""The Great Expectations column expectations a control may use, with the keyword arguments each accepts.

Declared here, statically, so that checking a rule does not import Great Expectations (seconds of
start-up). tests/test_expectations.py instantiates the real GX class with every declared argument, so
this table cannot accept what GX refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kwarg:
    """One keyword argument: what it must be, as a check and in words."""

    kind: str  # list | number | number_or_null | int_or_null | bool | fraction | str

    def accepts(self, value: Any) -> bool:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return {
            "list": isinstance(value, list),
            "number_or_null": value is None or is_number,
            "int_or_null": value is None or (isinstance(value, int) and not isinstance(value, bool)),
            "bool": isinstance(value, bool),
            "fraction": is_number and 0 <= value <= 1,
            "str": isinstance(value, str),
        }[self.kind]

    @property
    def described(self) -> str:
        return {
            "list": "a list",
            "number_or_null": "a number or null",
            "int_or_null": "an integer or null",
            "bool": "true or false",
            "fraction": "a number between 0 and 1",
            "str": "a string",
        }[self.kind]


@dataclass(frozen=True)
class ExpectationSpec:
    kwargs: dict[str, Kwarg]
    required: tuple[str, ...] = ()  # every one of these
    one_of: tuple[str, ...] = ()  # at least one of these, not null


MOSTLY = {"mostly": Kwarg("fraction")}
_BOUNDS = {
    "min_value": Kwarg("number_or_null"),
    "max_value": Kwarg("number_or_null"),
    "strict_min": Kwarg("bool"),
    "strict_max": Kwarg("bool"),
}

EXPECTATIONS: dict[str, ExpectationSpec] = {
    "expect_column_values_to_be_in_set": ExpectationSpec({"value_set": Kwarg("list"), **MOSTLY}, ("value_set",)),
    "expect_column_values_to_not_be_in_set": ExpectationSpec({"value_set": Kwarg("list"), **MOSTLY}, ("value_set",)),
    "expect_column_values_to_be_between": ExpectationSpec({**_BOUNDS, **MOSTLY}, one_of=("min_value", "max_value")),
    "expect_column_values_to_not_be_null": ExpectationSpec({**MOSTLY}),
    "expect_column_values_to_be_null": ExpectationSpec({**MOSTLY}),
    "expect_column_values_to_match_regex": ExpectationSpec({"regex": Kwarg("str"), **MOSTLY}, ("regex",)),
    "expect_column_values_to_not_match_regex": ExpectationSpec({"regex": Kwarg("str"), **MOSTLY}, ("regex",)),
    "expect_column_values_to_be_unique": ExpectationSpec({**MOSTLY}),
    "expect_column_values_to_be_of_type": ExpectationSpec({"type_": Kwarg("str"), **MOSTLY}, ("type_",)),
    "expect_column_value_lengths_to_be_between": ExpectationSpec(
        {
            "min_value": Kwarg("int_or_null"),
            "max_value": Kwarg("int_or_null"),
            "strict_min": Kwarg("bool"),
            "strict_max": Kwarg("bool"),
            **MOSTLY,
        },
        one_of=("min_value", "max_value"),
    ),
}


def class_name(expectation: str) -> str:
    """`expect_column_values_to_be_between` → `ExpectColumnValuesToBeBetween` (the GX class)."""
    return "".join(part.capitalize() for part in expectation.split("_"))


def check_kwargs(expectation: str, kwargs: dict[str, Any]) -> list[str]:
    """Every problem with an expectation and its keyword arguments, as messages naming the argument."""
    spec = EXPECTATIONS.get(expectation)
    if spec is None:
        return [f"unknown Great Expectations expectation {expectation!r}; supported: {', '.join(EXPECTATIONS)}"]
    allowed = ", ".join(spec.kwargs) or "none"
    problems = []
    for name, value in kwargs.items():
        kwarg = spec.kwargs.get(name)
        if kwarg is None:
            problems.append(f"kwargs.{name}: unknown argument of {expectation}; allowed: {allowed}")
        elif not kwarg.accepts(value):
            problems.append(f"kwargs.{name}: must be {kwarg.described}, got {value!r}")
    problems.extend(f"kwargs.{name}: required by {expectation}" for name in spec.required if name not in kwargs)
    if spec.one_of and all(kwargs.get(name) is None for name in spec.one_of):
        problems.append(f"kwargs: {expectation} needs at least one of {', '.join(spec.one_of)}")
    return problems
