"""The one grammar a number given as text is read in (CSV cells, text columns of a database).

A number is ASCII digits with an optional leading sign, optional ``.`` decimals and an optional
exponent: ``-12``, ``5000``, ``5000.5``, ``1e3``, ``-1.5E-2``; spaces around it are ignored. An
integer column takes digits with an optional sign only. Nothing else is guessed: ``5,000``,
``5.000,00``, ``1 234,56``, ``1'234.56``, ``€5``, ``5 EUR``, ``(100)``, ``1_000``, ``0x10``,
``nan``, ``inf`` are not numbers, whatever pandas or Python would make of them.

Limit columns (:data:`validation.contracts.LIMIT_COLUMNS`) refuse one more shape that IS
valid under the grammar: 1-3 digits, a dot and exactly three digits (``5.000``, ``12.500``,
``-100.250``). Written by a German or Swiss export it means 5000, by a plain one 5, and a limit
1000 times too low holds the customer: it is quarantined as ``ambiguous_number``, not guessed.
Limits are round figures a person set, so the rule costs nothing there; document amounts are
left to the grammar, since an ERP's computed amounts (a partly invoiced order: 219.445, a KWD
invoice) have three decimals and must not fail the nightly run.
"""

from __future__ import annotations

import pandas as pd

NUMBER = r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
INTEGER = r"[+-]?[0-9]+"
#: a thousands separator or three decimals? (a leading 0, as in 0.500, is never a thousands group)
AMBIGUOUS_LIMIT = r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}"


def only_strings(values: pd.Series) -> bool:
    """Whether an object column holds strings only (nulls aside), by pandas' C type inference:
    no Python call per cell."""
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string"


def text_cells(values: pd.Series) -> pd.Series:
    """Mask of the cells that are text (the others, numbers or nulls, are left to the contract)."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.notna()
    if values.dtype != object:
        return pd.Series(False, index=values.index)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "string":
        return values.notna()
    if kind in ("empty", "floating", "integer", "decimal", "boolean", "datetime", "date", "mixed-integer-float"):
        return pd.Series(False, index=values.index)
    return values.map(lambda v: isinstance(v, str)).astype(bool)


def parse_number_text(values: pd.Series, *, integer: bool = False,
                      limit: bool = False) -> tuple[pd.Series, pd.Series]:
    """``values`` with every text cell read in the grammar, and the problem of each unusable one.

    Returns (values, problems): text that is a number becomes that number (a blank cell becomes
    None, which the contract judges), any other value is left as it is; ``problems`` holds
    ``not_a_number`` / ``not_an_integer`` / ``ambiguous_number`` for each text cell that is not
    usable and None elsewhere. Vectorised: one regex match over the text cells.
    """
    problems = pd.Series(None, index=values.index, dtype=object)
    is_text = text_cells(values)
    if not is_text.any():
        return values, problems
    text = values[is_text].astype(str).str.strip()
    blank = text.eq("")
    ok = text.str.fullmatch(INTEGER if integer else NUMBER)
    bad = ~ok & ~blank
    problems[bad[bad].index] = "not_an_integer" if integer else "not_a_number"
    if limit:
        ambiguous = ok & text.str.fullmatch(AMBIGUOUS_LIMIT)
        problems[ambiguous[ambiguous].index] = "ambiguous_number"
        ok &= ~ambiguous
    out = values.astype(object).copy()
    out[blank[blank].index] = None
    if ok.any():
        if integer:
            # more than int64 holds is no count anyone meant
            digits = text[ok].str.lstrip("+-").str.lstrip("0").str.len()
            too_big = digits > 18
            problems[too_big[too_big].index] = "not_an_integer"
            numbers = pd.to_numeric(text[ok][~too_big]).astype("int64")
        else:
            numbers = text[ok].astype("float64")  # 1e999 is inf: the contract's range check reports it
        out[numbers.index] = numbers.astype(object)
    return out, problems


__all__ = ["AMBIGUOUS_LIMIT", "INTEGER", "NUMBER", "parse_number_text", "text_cells"]
