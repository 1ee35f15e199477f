"""Customers the compiled rules cannot tell apart, so durable_rules decides each group once.

A compiled condition (compiler.py) only ever asks of a fact: does a field exist, how does a
number compare with a literal, how does it compare with another field (``$m``), is a string or
boolean equal to (or ordered against) a literal. Two facts that answer every such question
alike fire exactly the same rules. So each customer gets a class key built from:

* every field's null-ness (a fact omits null and non-finite values, facts.py);
* a number compared with literals: its place among them (below / equal to / above each one),
  not its value;
* two numbers compared with each other: the sign of their difference;
* a string or boolean: its value itself (there are few distinct ones; no reasoning needed);
* a number whose literals are not all numbers: its value itself (not produced by the compiler
  today, kept exact rather than clever).

The engine then sees one representative fact per class, and every customer of the class gets
the representative's hits. Comparisons of finite doubles are exact in the engine (facts.py
sends numbers it reads back bit for bit), so the classes are a partition, not an approximation.
evaluate.py also sends a sample of other customers through the engine and refuses to decide if
any of them fires differently from its class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from etl.rules.derive import Vector
from etl.rules.facts import MARKER
from etl.rules.vocabulary import Type

_TESTS = {"$eq", "$neq", "$lt", "$lte", "$gt", "$gte"}
#: keys stay below this before they are renumbered densely (so products never overflow int64)
_KEY_LIMIT = 1 << 40


@dataclass
class Questions:
    """What the conditions ask of each field: the literals it meets, the fields it meets."""

    literals: dict[str, set[Any]] = field(default_factory=dict)
    pairs: set[tuple[str, str]] = field(default_factory=set)


def _tests(node: Any) -> Iterator[tuple[str, str, Any]]:
    """(operator, field, operand) of every test in a compiled condition; ``$ex``/``$nex`` included."""
    if isinstance(node, list):
        for item in node:
            yield from _tests(item)
        return
    if not isinstance(node, Mapping):
        raise TypeError(f"unexpected compiled condition part {node!r}")
    for op, body in node.items():
        if op in ("$and", "$or"):
            yield from _tests(body)
        elif op in ("$ex", "$nex") or op in _TESTS:
            for name, operand in body.items():
                yield op, name, operand
        else:
            raise ValueError(f"compiled condition uses {op!r}, which rule classes do not know")


def questions(conditions: Mapping[str, Mapping[str, Any]]) -> Questions:
    """Collect what ``conditions`` (CompiledRules.conditions) ask of each fact field."""
    out = Questions()
    for condition in conditions.values():
        for op, name, operand in _tests(condition):
            if op in ("$ex", "$nex") or name == MARKER:
                continue
            if isinstance(operand, Mapping):  # {"$m": other}: field against field
                out.pairs.add((name, operand["$m"]))
            else:
                out.literals.setdefault(name, set()).add(operand)
    return out


def _number_code(vec: Vector, literals: set[Any]) -> np.ndarray:
    """0 for null; else 1 + 2 * (literals below the value) + (value equals a literal)."""
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in literals):
        return _value_code(vec)
    cuts = np.unique(np.array(sorted(literals), dtype="float64"))
    data = np.where(vec.valid, vec.data.astype("float64"), 0.0)
    below = np.searchsorted(cuts, data, side="left")
    equal = np.zeros(len(data), dtype=bool)
    inside = below < len(cuts)
    equal[inside] = cuts[below[inside]] == data[inside]
    return np.where(vec.valid, 1 + 2 * below + equal, 0).astype(np.int64)


def _value_code(vec: Vector) -> np.ndarray:
    """0 for null, else 1 + the value's number among the distinct values."""
    codes = np.zeros(len(vec.data), dtype=np.int64)
    if vec.valid.any():
        found, _ = pd.factorize(pd.Series(vec.data[vec.valid], dtype=object))
        codes[vec.valid] = found + 1
    return codes


def _sign_code(left: Vector, right: Vector) -> np.ndarray:
    """0 when either side is null, else 1, 2, 3 for left <, ==, > right."""
    both = left.valid & right.valid
    a = np.where(both, left.data.astype("float64"), 0.0)
    b = np.where(both, right.data.astype("float64"), 0.0)
    return np.where(both, 2 + (a > b).astype(np.int64) - (a < b).astype(np.int64), 0)


def _combine(key: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Mixed-radix key of (key, code), renumbered densely first when it could overflow."""
    base = int(code.max()) + 1 if len(code) else 1
    if int(key.max(initial=0)) + 1 > _KEY_LIMIT // base:
        key, _ = pd.factorize(key)
        key = key.astype(np.int64)
    return key * base + code


def class_of(columns: Mapping[str, tuple[Type, Vector]], asked: Questions, n: int) -> np.ndarray:
    """Each row's class number (0..k-1, in order of first appearance) under the questions asked.

    ``columns`` are the fact fields as the engine would see them: name -> (type, vector), with
    non-finite numbers already null.
    """
    key = np.zeros(n, dtype=np.int64)
    for name, (type_, vec) in columns.items():
        if type_ == Type.NUMBER:
            code = _number_code(vec, asked.literals.get(name, set()))
        else:
            code = _value_code(vec)
        key = _combine(key, code)
    for left, right in sorted(asked.pairs):
        (ltype, lvec), (rtype, rvec) = columns[left], columns[right]
        if ltype == Type.NUMBER and rtype == Type.NUMBER:
            key = _combine(key, _sign_code(lvec, rvec))
        # strings and booleans are keyed by their values already: equal values, equal answers
    classes, _ = pd.factorize(key)
    return classes.astype(np.int64)


def representatives(classes: np.ndarray) -> np.ndarray:
    """The first row of each class, indexed by class number."""
    _, first = np.unique(classes, return_index=True)
    return first
