"""Static type checking of conditions against the vocabulary: unknown fields and mismatches."""

from __future__ import annotations

from dataclasses import dataclass

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
from etl.rules.vocabulary import FIELDS, SCORE_FIELDS, Type, suggest

ORDERING = frozenset({"<", "<=", ">", ">="})
#: nodes that are conditions; they may be combined with and/or/not but are not values
_CONDITIONS = (Compare, In, IsNull, And, Or, Not)


@dataclass(frozen=True)
class TypeIssue:
    offset: int  # character offset in the expression text
    message: str
    hint: str | None


def check_condition(expr: Expr, *, in_scorecard: bool = False) -> list[TypeIssue]:
    """Every type problem of a condition (empty when it is a well-typed boolean expression)."""
    checker = _Checker(in_scorecard)
    result = checker.infer(expr)
    if result is not None and result != Type.BOOLEAN:
        checker.not_a_condition(expr, result)
    return checker.issues


def _describe(node: Expr, type_: Type) -> str:
    text = node.name if isinstance(node, FieldRef) else to_text(node)
    return f"{text} ({type_.value})"


class _Checker:
    def __init__(self, in_scorecard: bool) -> None:
        self.in_scorecard = in_scorecard
        self.issues: list[TypeIssue] = []

    def issue(self, node: Expr, message: str, hint: str | None = None) -> None:
        self.issues.append(TypeIssue(node.span[0], message, hint))

    def not_a_condition(self, node: Expr, type_: Type) -> None:
        if type_ == Type.NUMBER:
            hint = f"compare it, e.g. `{to_text(node) if not isinstance(node, FieldRef) else node.name} > 0`"
        elif type_ == Type.STRING:
            hint = "compare it, e.g. `segment == 'retail'`"
        else:
            hint = "use `x is null` to test for null"
        self.issue(node, f"{_describe(node, type_)} is not a condition", hint)

    def infer(self, node: Expr) -> Type | None:  # noqa: C901 - one branch per node kind
        if isinstance(node, FieldRef):
            spec = FIELDS.get(node.name)
            if spec is None:
                guess = suggest(node.name)
                self.issue(node, f"unknown field '{node.name}'",
                           f"did you mean '{guess}'?" if guess else "see docs/rules.md for the fields a rule can use")
                return None
            if self.in_scorecard and node.name in SCORE_FIELDS:
                self.issue(node, f"the scorecard cannot use {node.name}: it is the scorecard's own result",
                           "use the position fields the score is built from")
                return None
            return spec.type
        if isinstance(node, Number):
            return Type.NUMBER
        if isinstance(node, String):
            return Type.STRING
        if isinstance(node, Boolean):
            return Type.BOOLEAN
        if isinstance(node, Null):
            return Type.NULL
        if isinstance(node, Neg):
            inner = self.infer(node.operand)
            if inner is not None and inner != Type.NUMBER:
                self.issue(node, f"cannot negate {_describe(node.operand, inner)}", "unary minus applies to numbers")
                return None
            return None if inner is None else Type.NUMBER
        if isinstance(node, Arith):
            left, right = self.infer(node.left), self.infer(node.right)
            ok = True
            for side, t in ((node.left, left), (node.right, right)):
                if t is None or t == Type.NUMBER:
                    continue
                ok = False
                if t == Type.NULL:
                    self.issue(side, "arithmetic with null is always null", "test for null with `x is null`")
                else:
                    self.issue(side, f"cannot use {_describe(side, t)} in arithmetic ({node.op})",
                               "+ - * / work on numbers only")
            return Type.NUMBER if ok and left is not None and right is not None else None
        if isinstance(node, Compare):
            self.compare(node)
            return Type.BOOLEAN
        if isinstance(node, In):
            self.membership(node)
            return Type.BOOLEAN
        if isinstance(node, IsNull):
            if not self.value_not_condition(node.operand):
                self.infer(node.operand)
            return Type.BOOLEAN
        if isinstance(node, And | Or | Not):
            word = "and" if isinstance(node, And) else "or" if isinstance(node, Or) else "not"
            items = (node.operand,) if isinstance(node, Not) else node.items
            for item in items:
                t = self.infer(item)
                if t is not None and t != Type.BOOLEAN:
                    self.issue(item, f"`{word}` needs conditions, but {_describe(item, t)} is not one",
                               self._condition_hint(item, t))
            return Type.BOOLEAN
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    @staticmethod
    def _condition_hint(node: Expr, t: Type) -> str:
        name = node.name if isinstance(node, FieldRef) else to_text(node)
        if t == Type.NUMBER:
            return f"compare it, e.g. `{name} > 0`"
        if t == Type.STRING:
            return f"compare it, e.g. `{name} == 'value'`"
        return "null is not a condition; test a field with `is null`"

    def value_not_condition(self, node: Expr) -> bool:
        """Report a condition used where a value belongs; True when it was one."""
        if isinstance(node, _CONDITIONS):
            self.issue(node, f"{to_text(node)} is a condition, not a value",
                       "compare fields and values; combine conditions with and / or / not")
            return True
        return False

    def compare(self, node: Compare) -> None:
        if self.value_not_condition(node.left) | self.value_not_condition(node.right):
            return
        left, right = self.infer(node.left), self.infer(node.right)
        if left is None or right is None:
            return
        if Type.NULL in (left, right):
            other = node.left if right == Type.NULL else node.right
            name = to_text(other) if not isinstance(other, FieldRef) else other.name
            better = "is not null" if node.op == "!=" else "is null"
            self.issue(node, f"a comparison with null is always false ({node.op} null)",
                       f"write `{name} {better}`")
            return
        if node.op in ORDERING and (left != Type.NUMBER or right != Type.NUMBER):
            bad = node.left if left != Type.NUMBER else node.right
            bad_t = left if left != Type.NUMBER else right
            hint = ("text compares only with ==, != or in [...]" if bad_t == Type.STRING
                    else "booleans compare only with == and != (or stand alone: `has_payment_history`)")
            self.issue(bad, f"cannot order {_describe(bad, bad_t)} with {node.op}", hint)
            return
        if left != right:
            self.issue(node, f"cannot compare {_describe(node.left, left)} with {_describe(node.right, right)}",
                       self._mismatch_hint(node, left, right))

    @staticmethod
    def _mismatch_hint(node: Compare, left: Type, right: Type) -> str:
        types = {left, right}
        if types == {Type.STRING, Type.NUMBER}:
            return "quote text values: segment == '5'; numbers go unquoted"
        if types == {Type.STRING, Type.BOOLEAN}:
            return "write true / false without quotes"
        return "both sides of a comparison must have the same type"

    def membership(self, node: In) -> None:
        if self.value_not_condition(node.operand):
            return
        operand = self.infer(node.operand)
        if not node.items:
            self.issue(node, "an empty list never matches", "list the values, e.g. segment in ['retail']")
        for item in node.items:
            t = self.infer(item)
            if t == Type.NULL:
                self.issue(item, "null in a list never matches",
                           f"write `{to_text(node.operand)} is null or {to_text(node.operand)} in [...]`")
            elif operand is not None and operand != Type.NULL and t != operand:
                self.issue(item, f"list item {_describe(item, t)} does not match {_describe(node.operand, operand)}",
                           "every item must have the type of the value tested")
        if operand == Type.NULL:
            self.issue(node.operand, "null in [...] is always false", "test for null with `x is null`")
