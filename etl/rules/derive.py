"""Vectorised evaluation of expressions over a positions frame (numpy arrays, no row loops).

Used for (1) derived columns: arithmetic the engine cannot express is computed here before
facts are asserted, and (2) scorecard conditions. Semantics are the language's (SPEC §5.2):
every value is a (data, valid) pair; arithmetic with a null operand, a division by zero, or a
non-finite result is null; a comparison with a null side is false; `not` negates the
two-valued result; `x in [...]` with null x is false; a boolean alone is true only when true.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.rules.grammar import (
    And,
    Arith,
    Boolean,
    Compare,
    Expr,
    FieldRef,
    In,
    IsNull,
    Neg,
    Not,
    Null,
    Number,
    Or,
    String,
)
from etl.rules.vocabulary import FIELDS, Type

_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


@dataclass(frozen=True)
class Vector:
    """A column of values with its validity (False = null)."""

    data: np.ndarray
    valid: np.ndarray


def column(frame: pd.DataFrame, name: str, type_: Type | None = None) -> Vector:
    """A positions column as a Vector of its vocabulary type (non-finite numbers are null)."""
    type_ = type_ or FIELDS[name].type
    series = frame[name]
    valid = series.notna().to_numpy(dtype=bool)
    if type_ == Type.NUMBER:
        data = pd.to_numeric(series).astype("float64").to_numpy()
        valid = valid & np.isfinite(data)
        return Vector(data, valid)
    if type_ == Type.BOOLEAN:
        raw = series.to_numpy(dtype=object)
        data = np.where(valid, raw, False).astype(bool)
        return Vector(data, valid)
    raw = series.to_numpy(dtype=object)
    return Vector(np.where(valid, raw, None), valid)


def _const(value: object, n: int, valid: bool = True) -> Vector:
    dtype = "float64" if isinstance(value, float) else bool if isinstance(value, bool) else object
    return Vector(np.full(n, value, dtype=dtype), np.full(n, valid, dtype=bool))


class Evaluator:
    """Evaluates expressions over one frame; columns are read once and cached."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self._columns: dict[str, Vector] = {}

    def field(self, name: str) -> Vector:
        if name not in self._columns:
            self._columns[name] = column(self.frame, name)
        return self._columns[name]

    def value(self, node: Expr) -> Vector:
        n = self.n
        if isinstance(node, FieldRef):
            return self.field(node.name)
        if isinstance(node, Number):
            return _const(float(node.value), n)
        if isinstance(node, String):
            return _const(node.value, n)
        if isinstance(node, Boolean):
            return _const(bool(node.value), n)
        if isinstance(node, Null):
            return _const(np.nan, n, valid=False)
        if isinstance(node, Neg):
            inner = self.value(node.operand)
            return Vector(-inner.data.astype("float64"), inner.valid)
        if isinstance(node, Arith):
            left, right = self.value(node.left), self.value(node.right)
            a, b = left.data.astype("float64"), right.data.astype("float64")
            valid = left.valid & right.valid
            with np.errstate(all="ignore"):
                if node.op == "+":
                    data = a + b
                elif node.op == "-":
                    data = a - b
                elif node.op == "*":
                    data = a * b
                else:
                    data = a / b
                    valid = valid & (b != 0)
            valid = valid & np.isfinite(data)
            return Vector(np.where(valid, data, np.nan), valid)
        # a condition used as a value (e.g. inside `==` between booleans)
        return Vector(self.condition(node), np.ones(n, dtype=bool))

    def condition(self, node: Expr) -> np.ndarray:
        """Two-valued truth of a condition, one bool per row."""
        if isinstance(node, FieldRef | Boolean):
            vec = self.value(node)
            return vec.valid & vec.data.astype(bool)
        if isinstance(node, Compare):
            left, right = self.value(node.left), self.value(node.right)
            valid = left.valid & right.valid
            if not valid.any():
                return valid
            result = np.zeros(self.n, dtype=bool)
            result[valid] = _COMPARE[node.op](left.data[valid], right.data[valid])
            return result
        if isinstance(node, In):
            vec = self.value(node.operand)
            items = [i.value for i in node.items if not isinstance(i, Null)]
            found = np.zeros(self.n, dtype=bool)
            if vec.valid.any() and items:
                found[vec.valid] = pd.Series(vec.data[vec.valid], dtype=object).isin(items).to_numpy()
            inside = vec.valid & found
            return ~inside if node.negated else inside
        if isinstance(node, IsNull):
            vec = self.value(node.operand)
            return vec.valid if node.negated else ~vec.valid
        if isinstance(node, And):
            out = np.ones(self.n, dtype=bool)
            for item in node.items:
                out &= self.condition(item)
            return out
        if isinstance(node, Or):
            out = np.zeros(self.n, dtype=bool)
            for item in node.items:
                out |= self.condition(item)
            return out
        if isinstance(node, Not):
            return ~self.condition(node.operand)
        if isinstance(node, Null):
            return np.zeros(self.n, dtype=bool)
        raise TypeError(f"{type(node).__name__} is not a condition")


def evaluate_condition(expr: Expr, frame: pd.DataFrame) -> pd.Series:
    """A condition over every row of ``frame`` (bool Series on the frame's index)."""
    return pd.Series(Evaluator(frame).condition(expr), index=frame.index, dtype=bool)


def evaluate_number(expr: Expr, frame: pd.DataFrame) -> pd.Series:
    """A numeric expression over every row (float64, NaN = null)."""
    vec = Evaluator(frame).value(expr)
    return pd.Series(np.where(vec.valid, vec.data.astype("float64"), np.nan), index=frame.index)
