"""`applies_when`: a small, safe condition language over evidence columns.

Config is data, never code: a control's `applies_when` is parsed here into a tree of plain dataclasses
and evaluated column-wise with pandas, never handed to `eval`, `DataFrame.query` or a GX row condition.

Grammar (Python expression syntax, whitelisted node by node):

- column names: bare identifiers (no dunders)
- literals: 'strings' / "strings", ints, floats, true/false/True/False, null/None
- comparisons: == != < <= > >= (not chained), column or literal on either side
- `col in [lit, ...]`, `col not in [lit, ...]`
- `col is null`, `col is not null` (also `None`)
- `and`, `or`, `not`, parentheses

As in pandas query, a comparison involving a null value is False, except `!=` and `not in`, which
hold (null != 'x'); `is null` tests `isna()`.
Anything else (attribute access, calls, subscripts, `@` variables, arithmetic, lambdas, f-strings)
raises `ConditionError`.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Condition", "ConditionError", "parse_condition"]

_CONSTANT_NAMES: dict[str, Any] = {
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "null": None,
    "None": None,
}
_COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MAX_LENGTH = 2000


class ConditionError(ValueError):
    """An `applies_when` expression outside the allowed grammar."""


# --- the parsed tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, float, bool or None


Operand = Column | Literal


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class Membership:
    column: Column
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class NullTest:
    column: Column
    negated: bool  # True: `is not null`


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


Node = Compare | Membership | NullTest | Not | BoolOp | Column | Literal


@dataclass(frozen=True)
class Condition:
    """A parsed `applies_when`: the source text, its tree and the columns it reads."""

    text: str
    root: Node
    columns: frozenset[str]

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """A boolean Series over `frame`'s rows: True where the condition holds.

        Raises KeyError when the condition reads a column the frame does not have.
        """
        missing = sorted(self.columns - set(frame.columns))
        if missing:
            raise KeyError(f"applies_when reads column(s) not in the evidence: {', '.join(missing)}")
        result = _evaluate(self.root, frame)
        return _as_mask(result, frame)


# --- parsing -------------------------------------------------------------------------------------


def parse_condition(text: str) -> Condition:
    """Parse an `applies_when` expression; ConditionError when it is outside the grammar."""
    if not isinstance(text, str):
        raise ConditionError("applies_when must be a string")
    if not text.strip():
        raise ConditionError("applies_when is empty")
    if len(text) > _MAX_LENGTH:
        raise ConditionError(f"applies_when is longer than {_MAX_LENGTH} characters")
    if "@" in text:
        raise ConditionError("'@' (pandas local variables) is not allowed in applies_when")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"applies_when {text!r} is not a valid expression: {exc.msg}") from None
    root = _node(tree.body)
    if isinstance(root, Literal):
        raise ConditionError("applies_when must test a column, not be a constant")
    return Condition(text=text, root=root, columns=frozenset(_columns(root)))


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access",
        ast.Call: "function calls",
        ast.Subscript: "subscripts",
        ast.Lambda: "lambdas",
        ast.JoinedStr: "f-strings",
        ast.BinOp: "arithmetic",
        ast.UnaryOp: "arithmetic",
    }
    for kind, name in names.items():
        if isinstance(node, kind):
            return name
    return type(node).__name__


def _reject(node: ast.AST) -> ConditionError:
    return ConditionError(
        f"{_describe(node)} is not allowed in applies_when (allowed: column names, literals, "
        "comparisons, in / not in [...], is null / is not null, and / or / not, parentheses)"
    )


def _node(node: ast.AST) -> Node:
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return BoolOp(op, tuple(_node(v) for v in node.values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Not(_node(node.operand))
    if isinstance(node, ast.Compare):
        return _compare(node)
    if isinstance(node, ast.Name | ast.Constant):
        return _operand(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _operand(node)
    raise _reject(node)


def _operand(node: ast.AST) -> Operand:
    if isinstance(node, ast.Name):
        if node.id in _CONSTANT_NAMES:
            return Literal(_CONSTANT_NAMES[node.id])
        if node.id.startswith("__") or (node.id.startswith("_") and node.id.endswith("_")):
            raise ConditionError(f"dunder / private name {node.id!r} is not allowed in applies_when")
        return Column(node.id)
    return Literal(_literal(node))


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise ConditionError(f"literal {value!r} is not allowed in applies_when (strings, numbers, booleans, null)")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = node.operand
        if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
            return -inner.value if isinstance(node.op, ast.USub) else inner.value
        raise _reject(node)
    if isinstance(node, ast.Name):
        if node.id in _CONSTANT_NAMES:
            return _CONSTANT_NAMES[node.id]
        raise ConditionError(f"only literals are allowed in an 'in' / 'not in' list, not the name {node.id!r}")
    raise _reject(node)


def _compare(node: ast.Compare) -> Node:
    if len(node.ops) != 1:
        raise ConditionError("chained comparisons are not allowed in applies_when; combine them with 'and'")
    op, right = node.ops[0], node.comparators[0]
    if isinstance(op, ast.In | ast.NotIn):
        left = _operand(node.left)
        if not isinstance(left, Column):
            raise ConditionError("the left side of 'in' / 'not in' must be a column name")
        if not isinstance(right, ast.List | ast.Tuple):
            raise ConditionError("'in' / 'not in' needs a list of literals, e.g. status in ['A', 'B']")
        return Membership(left, tuple(_literal(e) for e in right.elts), isinstance(op, ast.NotIn))
    if isinstance(op, ast.Is | ast.IsNot):
        left = _operand(node.left)
        if not isinstance(left, Column) or _operand(right) != Literal(None):
            raise ConditionError("'is' / 'is not' is only allowed as 'column is null' / 'column is not null'")
        return NullTest(left, isinstance(op, ast.IsNot))
    symbol = _COMPARISONS.get(type(op))
    if symbol is None:
        raise _reject(op)
    compare = Compare(_operand(node.left), symbol, _operand(right))
    if Literal(None) in (compare.left, compare.right):
        raise ConditionError("compare with null using 'is null' / 'is not null', not == / !=")
    return compare


def _columns(node: Node) -> set[str]:
    if isinstance(node, Column):
        return {node.name}
    if isinstance(node, Literal):
        return set()
    if isinstance(node, Compare):
        return _columns(node.left) | _columns(node.right)
    if isinstance(node, Membership | NullTest):
        return {node.column.name}
    if isinstance(node, Not):
        return _columns(node.operand)
    return set().union(*(_columns(n) for n in node.operands))


# --- evaluation ----------------------------------------------------------------------------------


def _as_mask(value: Any, frame: pd.DataFrame) -> pd.Series:
    """A boolean Series aligned with `frame`: nulls are False, a bare column is truthy where True."""
    import pandas as pd

    if not isinstance(value, pd.Series):
        return pd.Series(bool(value), index=frame.index, dtype=bool)
    if value.dtype == bool:
        return value
    return value.map(lambda v: v is True or (not pd.isna(v) and isinstance(v, bool | int) and bool(v))).astype(bool)


def _evaluate(node: Node, frame: pd.DataFrame) -> Any:
    import pandas as pd

    if isinstance(node, Column):
        return _as_mask(frame[node.name], frame)
    if isinstance(node, Literal):
        return _as_mask(node.value is not None and bool(node.value), frame)
    if isinstance(node, NullTest):
        nulls = frame[node.column.name].isna()
        return ~nulls if node.negated else nulls
    if isinstance(node, Membership):
        series = frame[node.column.name]
        values = [v for v in node.values if v is not None]
        present = series.isin(values) & series.notna()
        return ~present if node.negated else present
    if isinstance(node, Compare):
        return _compare_values(node, frame)
    if isinstance(node, Not):
        return ~_as_mask(_evaluate(node.operand, frame), frame)
    masks = [_as_mask(_evaluate(n, frame), frame) for n in node.operands]
    result = masks[0]
    for mask in masks[1:]:
        result = (result & mask) if node.op == "and" else (result | mask)
    return pd.Series(result, index=frame.index, dtype=bool)


def _side(operand: Operand, frame: pd.DataFrame) -> Any:
    return frame[operand.name] if isinstance(operand, Column) else operand.value


def _compare_values(node: Compare, frame: pd.DataFrame) -> pd.Series:
    import pandas as pd

    left, right = _side(node.left, frame), _side(node.right, frame)
    func = _OPERATORS[node.op]
    known = pd.Series(True, index=frame.index, dtype=bool)
    for side in (left, right):
        if isinstance(side, pd.Series):
            known &= side.notna()
    # As in pandas: a null compares False, except `!=`, which holds (null != 'x').
    result = pd.Series(node.op == "!=", index=frame.index, dtype=bool)
    if not known.any():
        return result
    lhs = left[known] if isinstance(left, pd.Series) else left
    rhs = right[known] if isinstance(right, pd.Series) else right
    try:
        compared = func(lhs, rhs)
    except TypeError:
        compared = _elementwise(func, lhs, rhs)
    compared = pd.Series(compared, index=known[known].index)
    result[known] = compared.fillna(False).astype(bool)
    return result


def _elementwise(func: Any, lhs: Any, rhs: Any) -> list[bool]:
    """Row by row for mixed-type object columns: a value that cannot be compared does not match."""
    import pandas as pd

    left = lhs.tolist() if isinstance(lhs, pd.Series) else None
    right = rhs.tolist() if isinstance(rhs, pd.Series) else None
    size = len(left if left is not None else right or [])
    out = []
    for i in range(size):
        a = left[i] if left is not None else lhs
        b = right[i] if right is not None else rhs
        try:
            out.append(bool(func(a, b)))
        except TypeError:
            out.append(False)
    return out
