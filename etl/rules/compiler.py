"""Compile rule conditions (AST) to durable_rules condition JSON.

The engine's own logic is not the language's: a missing field makes an engine test false, and
there is no negation of a test. So `not` is pushed down to the leaves with the two-valued null
semantics written out (not(a > 5) == a is null or a <= 5; not(a in [..]) == a is null or a != ..),
every comparison states `$ex` for the fields it reads, and constant parts are folded at compile
time. Arithmetic involving fields becomes a derived column (`_d0`, `_d1`, ...) computed
vectorised before facts are asserted; field-vs-field comparisons use the engine's `{"$m": name}`.
Scope is compiled into the condition (company / segment / country in [...]).

The ruleset name is a hash of the compiled definition: it changes with the rules active for an
as_of (and their scope), and a name is only ever registered once per process.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from etl.rules.facts import MARKER, dumps
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
    to_text,
)
from etl.rules.ruleset import Rule
from etl.rules.vocabulary import FIELDS, Type

#: a compiled condition: a constant (folded) or an engine condition mapping
Cond = bool | dict[str, Any]

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "==": "$eq", "!=": "$neq"}
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class DerivedColumn:
    name: str  # column name in the facts, e.g. _d0
    expr: Expr  # the arithmetic it holds


@dataclass(frozen=True)
class CompiledRules:
    name: str  # durable ruleset name, from the definition's hash
    conditions: dict[str, dict[str, Any]]  # rule key (r0, r1, ...) -> engine condition
    rule_index: dict[str, int]  # rule key -> index into the rules compiled
    derived: tuple[DerivedColumn, ...]
    fact_fields: dict[str, Type]  # what each fact carries (nulls omitted), derived columns included
    never: tuple[int, ...]  # rules whose condition folded to false (they cannot fire)


@dataclass(frozen=True)
class _Ref:
    name: str


@dataclass(frozen=True)
class _Const:
    value: float | str | bool | None  # None = null


def _and(parts: list[Cond]) -> Cond:
    out: list[dict[str, Any]] = []
    for p in parts:
        if p is False:
            return False
        if p is True:
            continue
        assert isinstance(p, dict)
        out.extend(p["$and"] if set(p) == {"$and"} else [p])
    if not out:
        return True
    return out[0] if len(out) == 1 else {"$and": out}


def _or(parts: list[Cond]) -> Cond:
    out: list[dict[str, Any]] = []
    for p in parts:
        if p is True:
            return True
        if p is False:
            continue
        assert isinstance(p, dict)
        out.extend(p["$or"] if set(p) == {"$or"} else [p])
    if not out:
        return False
    return out[0] if len(out) == 1 else {"$or": out}


def _ex(name: str) -> dict[str, Any]:
    return {"$ex": {name: 1}}


def _nex(name: str) -> dict[str, Any]:
    return {"$nex": {name: 1}}


_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
            "==": operator.eq, "!=": operator.ne}


def _fold_arith(op: str, a: float | None, b: float | None) -> float | None:
    """Constant arithmetic with the language's nulls: null operand, x/0 or overflow give null."""
    if a is None or b is None:
        return None
    try:
        value = _ARITH[op](a, b)
    except (ZeroDivisionError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _compare_consts(op: str, a: object, b: object) -> bool:
    if a is None or b is None:
        return False
    return bool(_COMPARE[op](a, b))


class _Compiler:
    def __init__(self) -> None:
        self.derived: dict[str, DerivedColumn] = {}
        self.fields: dict[str, Type] = {}

    # -- operands -------------------------------------------------------------------------
    def operand(self, node: Expr) -> _Ref | _Const:
        if isinstance(node, FieldRef):
            self.fields[node.name] = FIELDS[node.name].type
            return _Ref(node.name)
        if isinstance(node, Number):
            return _Const(float(node.value))
        if isinstance(node, String):
            return _Const(node.value)
        if isinstance(node, Boolean):
            return _Const(bool(node.value))
        if isinstance(node, Null):
            return _Const(None)
        if isinstance(node, Neg | Arith):
            folded = self._fold(node)
            if folded is not _NOT_CONSTANT:
                return _Const(folded)  # type: ignore[arg-type]
            key = to_text(node)
            if key not in self.derived:
                self.derived[key] = DerivedColumn(f"_d{len(self.derived)}", node)
            name = self.derived[key].name
            self.fields[name] = Type.NUMBER
            return _Ref(name)
        raise TypeError(f"{type(node).__name__} is not a value")

    def _fold(self, node: Expr) -> object:
        if isinstance(node, Number):
            return float(node.value)
        if isinstance(node, Null):
            return None
        if isinstance(node, Neg):
            inner = self._fold(node.operand)
            return inner if inner is _NOT_CONSTANT or inner is None else -inner  # type: ignore[operator]
        if isinstance(node, Arith):
            a, b = self._fold(node.left), self._fold(node.right)
            if a is _NOT_CONSTANT or b is _NOT_CONSTANT:
                return _NOT_CONSTANT
            return _fold_arith(node.op, a, b)  # type: ignore[arg-type]
        return _NOT_CONSTANT

    # -- conditions -----------------------------------------------------------------------
    def cond(self, node: Expr, negate: bool) -> Cond:  # noqa: C901 - one branch per node kind
        if isinstance(node, Not):
            return self.cond(node.operand, not negate)
        if isinstance(node, And | Or):
            parts = [self.cond(item, negate) for item in node.items]
            conjunction = isinstance(node, And) != negate  # De Morgan
            return _and(parts) if conjunction else _or(parts)
        if isinstance(node, Boolean):
            return bool(node.value) != negate
        if isinstance(node, Null):
            return negate
        if isinstance(node, FieldRef):  # a boolean field alone: true only when true
            self.fields[node.name] = FIELDS[node.name].type
            if negate:
                return _or([_nex(node.name), {"$eq": {node.name: False}}])
            return {"$eq": {node.name: True}}
        if isinstance(node, Compare):
            return self.compare(node.op, self.operand(node.left), self.operand(node.right), negate)
        if isinstance(node, IsNull):
            value = self.operand(node.operand)
            is_null = not node.negated
            if isinstance(value, _Const):
                return ((value.value is None) == is_null) != negate
            want_null = is_null != negate
            return _nex(value.name) if want_null else _ex(value.name)
        if isinstance(node, In):
            value = self.operand(node.operand)
            items = [i.value for i in node.items if not isinstance(i, Null)]
            negate = negate != node.negated  # `x not in L` is `not (x in L)`
            if isinstance(value, _Const):
                inside = value.value is not None and value.value in items
                return inside != negate
            if negate:
                return _or([_nex(value.name), _and([{"$neq": {value.name: v}} for v in items])])
            return _and([_ex(value.name), _or([{"$eq": {value.name: v}} for v in items])])
        raise TypeError(f"{type(node).__name__} is not a condition")

    def compare(self, op: str, left: _Ref | _Const, right: _Ref | _Const, negate: bool) -> Cond:
        if isinstance(left, _Const) and isinstance(right, _Const):
            return _compare_consts(op, left.value, right.value) != negate
        if isinstance(left, _Const):
            left, right, op = right, left, _FLIPPED[op]
        assert isinstance(left, _Ref)
        if isinstance(right, _Const) and right.value is None:
            return negate  # a comparison with null is false
        refs = [left.name] + ([right.name] if isinstance(right, _Ref) else [])
        target = {"$m": right.name} if isinstance(right, _Ref) else right.value
        if negate:
            return _or([*(_nex(r) for r in refs), {_OPS[_NEGATED[op]]: {left.name: target}}])
        return _and([*(_ex(r) for r in refs), {_OPS[op]: {left.name: target}}])


class _NotConstant:
    def __repr__(self) -> str:  # pragma: no cover
        return "<not constant>"


_NOT_CONSTANT = _NotConstant()


def compile_condition(compiler: _Compiler, expr: Expr, scope: dict[str, tuple[str, ...]]) -> Cond:
    parts: list[Cond] = []
    for key, values in scope.items():
        compiler.fields[key] = FIELDS[key].type
        parts.append(_and([_ex(key), _or([{"$eq": {key: v}} for v in values])]))
    parts.append(compiler.cond(expr, negate=False))
    return _and(parts)


def compile_rules(rules: Sequence[Rule]) -> CompiledRules:
    """Compile the given (active) rules; keys r0, r1, ... follow their order."""
    compiler = _Compiler()
    conditions: dict[str, dict[str, Any]] = {}
    rule_index: dict[str, int] = {}
    never: list[int] = []
    for i, rule in enumerate(rules):
        cond = compile_condition(compiler, rule.condition, dict(rule.scope))
        if cond is False:
            never.append(i)
            continue
        key = f"r{i}"
        # the marker keeps the engine's state document from matching (see facts.py)
        conditions[key] = _and([{"$eq": {MARKER: 1}}, cond])  # type: ignore[assignment]
        rule_index[key] = i
    digest = hashlib.sha256(dumps(conditions).encode("utf-8")).hexdigest()
    return CompiledRules(
        name=f"creditctl-{digest[:32]}",
        conditions=conditions,
        rule_index=rule_index,
        derived=tuple(compiler.derived.values()),
        fact_fields=dict(compiler.fields),
        never=tuple(never),
    )
