"""A deliberately simple, independent evaluator of rule files, for differential tests.

It shares no code with etl.rules: its own tokenizer and recursive-descent parser, plain Python
evaluation per customer (dicts, None = null), and Decimal arithmetic for limits. It handles one
rule file without includes. Semantics, straight from SPEC §5.2-5.4 / §6.1:

* arithmetic with a null operand, a division by zero or a non-finite result is null;
* a comparison with a null side is false; `not` negates the two-valued result;
* `x in [...]` with null x is false, `x not in [...]` is `not (x in [...])`;
* a boolean field alone is true only when it is true.

Limits (SPEC §4, §6.1): ``by_percent`` is taken from ``base_credit_limit`` (the customer's
``credit_limit`` when absent), never above ``credit_limit``; decisions are a fixed point: while
the new limit is below the limit a customer was judged with, the customer is judged again with
that limit (utilisation and over_limit_amount recomputed from exposure).
"""

from __future__ import annotations

import datetime
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import yaml

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?(?:[eE][+-]?\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,)
    )""", re.VERBOSE)

ORDER = ["block", "hold", "require_prepayment", "reduce_limit", "review", "none"]


def tokenize(text: str) -> list[tuple[str, Any]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SyntaxError(f"bad input at {pos}: {text[pos:]!r}")
        pos = m.end()
        if m.group("num") is not None:
            tokens.append(("num", float(m.group("num").replace("_", ""))))
        elif m.group("str") is not None:
            body = m.group("str")[1:-1]
            body = re.sub(r"\\(.)", lambda x: {"n": "\n", "t": "\t"}.get(x.group(1), x.group(1)), body)
            tokens.append(("str", body))
        elif m.group("name") is not None:
            word = m.group("name")
            kw = {"and", "or", "not", "in", "is", "null", "true", "false"}
            tokens.append(("kw", word) if word in kw else ("name", word))
        else:
            tokens.append(("op", m.group("op")))
    tokens.append(("end", None))
    return tokens


class Parser:
    """or > and > not > comparison / in / is null > + - > * / > unary minus > atom."""

    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, Any]:
        return self.toks[self.i + k]

    def take(self, kind: str | None = None, value: Any = None) -> tuple[str, Any]:
        tok = self.toks[self.i]
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise SyntaxError(f"expected {kind} {value}, got {tok}")
        self.i += 1
        return tok

    def accept(self, kind: str, value: Any) -> bool:
        if self.peek() == (kind, value):
            self.i += 1
            return True
        return False

    def parse(self) -> tuple:
        node = self.or_()
        self.take("end")
        return node

    def or_(self) -> tuple:
        node = self.and_()
        while self.accept("kw", "or"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> tuple:
        node = self.not_()
        while self.accept("kw", "and"):
            node = ("and", node, self.not_())
        return node

    def not_(self) -> tuple:
        if self.accept("kw", "not"):
            return ("not", self.not_())
        return self.predicate()

    def predicate(self) -> tuple:
        left = self.sum_()
        tok = self.peek()
        if tok[0] == "op" and tok[1] in ("<", "<=", ">", ">=", "==", "!="):
            self.i += 1
            return ("cmp", tok[1], left, self.sum_())
        if self.accept("kw", "in"):
            return ("in", left, self.list_())
        if tok == ("kw", "not") and self.peek(1) == ("kw", "in"):
            self.i += 2
            return ("not", ("in", left, self.list_()))
        if self.accept("kw", "is"):
            negated = self.accept("kw", "not")
            self.take("kw", "null")
            return ("not", ("isnull", left)) if negated else ("isnull", left)
        return left

    def list_(self) -> list:
        self.take("op", "[")
        items = []
        while not self.accept("op", "]"):
            neg = self.accept("op", "-")
            kind, value = self.take()
            if kind == "kw":
                value = {"true": True, "false": False, "null": None}[value]
            items.append(-value if neg else value)
            self.accept("op", ",")
        return items

    def sum_(self) -> tuple:
        node = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            node = ("arith", op, node, self.product())
        return node

    def product(self) -> tuple:
        node = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self) -> tuple:
        if self.accept("op", "-"):
            return ("neg", self.unary())
        kind, value = self.take()
        if kind == "num" or kind == "str":
            return ("lit", value)
        if kind == "kw":
            return ("lit", {"true": True, "false": False, "null": None}[value])
        if kind == "name":
            return ("field", value)
        if (kind, value) == ("op", "("):
            node = self.or_()
            self.take("op", ")")
            return node
        raise SyntaxError(f"unexpected {value!r}")


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def value(node: tuple, row: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "field":
        v = row.get(node[1])
        if isinstance(v, float) and math.isnan(v):
            return None
        return _finite(v)
    if kind == "neg":
        v = value(node[1], row)
        return None if v is None else -v
    if kind == "arith":
        a, b = value(node[2], row), value(node[3], row)
        if a is None or b is None:
            return None
        try:
            r = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[node[1]]()
        except (ZeroDivisionError, OverflowError):
            return None
        return _finite(r)
    return truth(node, row)


def truth(node: tuple, row: dict[str, Any]) -> bool:
    kind = node[0]
    if kind in ("field", "lit"):
        return value(node, row) is True
    if kind == "not":
        return not truth(node[1], row)
    if kind == "and":
        return truth(node[1], row) and truth(node[2], row)
    if kind == "or":
        return truth(node[1], row) or truth(node[2], row)
    if kind == "isnull":
        return value(node[1], row) is None
    if kind == "in":
        v = value(node[1], row)
        return v is not None and any(v == item for item in node[2] if item is not None)
    if kind == "cmp":
        a, b = value(node[2], row), value(node[3], row)
        if a is None or b is None:
            return False
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[node[1]]
    raise ValueError(f"not a condition: {node}")


def holds(text: str, row: dict[str, Any]) -> bool:
    return truth(Parser(text).parse(), row)


def _cents(x: Any) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _number(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _judge(rule_file: dict[str, Any], row: dict[str, Any], as_of: datetime.date) -> dict[str, Any]:
    """One evaluation of one customer: scorecard, fired rules, the decision fields."""
    row = dict(row)
    file_scope = rule_file.get("scope") or {}
    card = rule_file.get("scorecard")
    if card:
        score = float(sum(p["add"] for p in card.get("points", []) if holds(p["when"], row)))
        grade = next(g["grade"] for g in card["grades"] if g.get("max") is None or score <= g["max"])
        row["risk_score"], row["risk_grade"] = score, grade
    else:
        row["risk_score"], row["risk_grade"] = None, None
    fired = []
    for rule in rule_file.get("rules", []):
        if not rule.get("enabled", True):
            continue
        eff = rule.get("effective") or {}
        if eff.get("from") and as_of < eff["from"] or eff.get("to") and as_of > eff["to"]:
            continue
        scoped = True
        for scope in (file_scope, rule.get("scope") or {}):
            for key, values in scope.items():
                values = values if isinstance(values, list) else [values]
                if row.get(key) is None or row.get(key) not in [str(v) for v in values]:
                    scoped = False
        if scoped and holds(rule["when"], row):
            fired.append(rule)
    actions = [r["then"] if isinstance(r["then"], str) else "reduce_limit" for r in fired]
    limit = _number(row.get("credit_limit"))
    base = _number(row["base_credit_limit"]) if "base_credit_limit" in row else limit
    new_limit: Any = limit
    if "reduce_limit" in actions:
        candidates = [] if limit is None else [_cents(limit)]
        for r in fired:
            if isinstance(r["then"], dict):
                params = r["then"]["reduce_limit"]
                if "by_percent" in params:
                    if limit is not None and base is not None:  # from the base a person set
                        kept = _cents(base) * (Decimal(100) - Decimal(str(params["by_percent"]))) / Decimal(100)
                        candidates.append(kept.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
                else:
                    candidates.append(_cents(params["to"]))
        new_limit = float(min(candidates)) if candidates else None
    return {
        "risk_score": row["risk_score"],
        "risk_grade": row["risk_grade"],
        "rule_ids": [r["id"] for r in fired],
        "reasons": [r.get("reason") or r.get("description") or r["id"] for r in fired],
        "action": min(actions, key=ORDER.index) if actions else "none",
        "block": "block" in actions,
        "hold": "block" in actions or "hold" in actions,
        "require_prepayment": "require_prepayment" in actions,
        "new_credit_limit": new_limit,
    }


def _with_limit(row: dict[str, Any], limit: float) -> dict[str, Any]:
    """The customer as it will be with ``limit`` in force (SPEC §4 definitions)."""
    out = dict(row, credit_limit=limit)
    exposure = _number(row.get("exposure"))
    out["over_limit_amount"] = None if exposure is None else round(max(0.0, exposure - limit), 2)
    out["utilisation"] = None if exposure is None or limit == 0 else exposure / limit
    return out


def reference_decisions(rule_file: dict[str, Any], customers: list[dict[str, Any]],
                        as_of: datetime.date) -> list[dict[str, Any]]:
    """Per customer (input order): risk_score, risk_grade, fired ids and the decision fields,
    of the last evaluation of the fixed point; ``evaluations`` counts them."""
    out = []
    for customer in customers:
        row = dict(customer)
        for evaluations in range(1, 101):  # noqa: B007 - read after the loop
            decision = _judge(rule_file, row, as_of)
            new, judged_with = decision["new_credit_limit"], _number(row.get("credit_limit"))
            if new is None or (judged_with is not None and Decimal(repr(new)) >= _cents(judged_with)):
                break
            row = _with_limit(row, new)
        else:
            raise AssertionError(f"limit of {customer} still falling after 100 evaluations")
        out.append({**decision, "evaluations": evaluations})
    return out


def load_rule_file(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)
