"""JSON the durable_rules C engine reads correctly: ruleset definitions and customer facts.

Why not ``json.dumps``: the engine's JSON reader accepts an exponent only after a fraction
(``1.0e-05`` parses, Python's ``1e-05`` is a parse error, code 204), reads a number without a
fraction as a 64-bit integer, and parses the rest with ``atof``. So every number we send is a
finite double written with a fraction (``5.0``, ``1.0e+16``, shortest round-trip digits), which
the engine reads back as exactly the same double. Strings use ``json.dumps(ensure_ascii=False)``
in both definitions and facts, so the engine's byte-wise string compare sees identical escapes.

Facts carry ``"_fact":1`` (MARKER): every compiled condition requires it, because the engine
also matches rules against its own state document ({"sid":..,"id":"sid-0","$s":1}), which
would otherwise satisfy a lone ``$nex`` (`credit_limit is null`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from etl.rules.vocabulary import Type

#: field every fact carries and every condition requires
MARKER = "_fact"


def number(value: float) -> str:
    """A finite float as a JSON number the engine reads back exactly."""
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {value!r} cannot be sent to the rule engine")
    text = repr(float(value))
    if "e" in text and "." not in text:
        text = text.replace("e", ".0e")
    return text


def dumps(obj: Any) -> str:
    """Serialise a ruleset definition (dicts, lists, str, bool, numbers, None)."""
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return number(obj)
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if obj is None:
        return "null"
    if isinstance(obj, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot serialise {type(obj).__name__} for the rule engine")


def _numbers(values: pd.Series) -> np.ndarray:
    """Vectorised ``number``: shortest round-trip text, a fraction before any exponent."""
    floats = values.astype("float64")
    text = floats.astype(str).to_numpy(dtype=object, copy=True)  # str(float) == repr: shortest round trip
    # Python writes an exponent only below 1e-4 or from 1e16 up; fix just those few
    magnitude = np.abs(floats.to_numpy())
    odd = ((magnitude < 1e-4) & (magnitude != 0)) | (magnitude >= 1e16)
    if odd.any():
        text[odd] = pd.Series(text[odd]).str.replace(r"^(-?\d+)e", r"\1.0e", regex=True).to_numpy(dtype=object)
    return text


def encode_column(name: str, type_: Type, data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """`,"name":value` per row, '' where the value is null (facts omit nulls, so `$nex` works)."""
    key = "," + json.dumps(name) + ":"
    out = np.full(len(data), "", dtype=object)
    if not valid.any():
        return out
    if type_ == Type.NUMBER:
        finite = valid & np.isfinite(data.astype("float64"))
        text = _numbers(pd.Series(data[finite]))
        out[finite] = key + text
    elif type_ == Type.BOOLEAN:
        out[valid] = np.where(data[valid].astype(bool), key + "true", key + "false")
    else:
        # few distinct strings (segments, countries, grades): encode each once
        codes, uniques = pd.factorize(pd.Series(data[valid], dtype=object))
        encoded = np.array([key + json.dumps(str(u), ensure_ascii=False) for u in uniques], dtype=object)
        out[valid] = encoded[codes]
    return out


def fact_bodies(columns: Sequence[np.ndarray], n: int) -> list[str]:
    """Concatenate encoded columns row-wise into fact bodies (each '' or starting with ',')."""
    if not columns:
        return [""] * n
    total = columns[0].copy()
    for col in columns[1:]:
        total = total + col  # object arrays: element-wise str concatenation in C
    return total.tolist()
