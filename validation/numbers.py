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


#: how a connector hands over a text column with many distinct values (ids, names) compactly:
#: Arrow-backed strings, a few bytes per cell instead of a Python ``str`` object each
TEXT_DTYPE = pd.StringDtype("pyarrow")


def only_strings(values: pd.Series) -> bool:
    """Whether a column holds strings only (nulls aside), with no Python call per cell: an object
    column by pandas' C type inference; a compact text column (Arrow-backed or pandas strings, a
    categorical of strings, see :func:`compact_text`) by its dtype."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return True
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(dtype.categories, skipna=True) in ("string", "empty")
    return pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) == "string"


def compact_text(values: pd.Series, category: bool) -> pd.Series:
    """An object column of strings (nulls aside) held compactly: a categorical with its categories
    in code-point order (``category``: few distinct values, so sorting and comparing it is the
    same as the strings'), else Arrow-backed strings (:data:`TEXT_DTYPE`). A null stays null.

    Any other column (numbers or mixed values on their way to the contract's quarantine, a column
    already compact) is returned as it is."""
    if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return values
    if category:
        return values.astype(pd.CategoricalDtype(sorted(pd.unique(values.dropna()))))
    return values.astype(TEXT_DTYPE)


def sorted_categories(values: pd.Series) -> pd.Series:
    """A categorical column with its categories in code-point order (as pandas infers them), so
    that sorting by it orders as its strings do; anything else as it is."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values
    categories = values.cat.categories
    ordered = categories.sort_values()
    return values if categories.equals(ordered) else values.cat.reorder_categories(ordered)


def plain_text(values: pd.Series) -> pd.Series:
    """A text column as an object column with None for every null, as a connector without compact
    columns gives it (an object column is returned as it is)."""
    if values.dtype == object:
        return values
    out = values.astype(object)
    missing = values.isna().to_numpy()
    return out.where(~missing, None) if missing.any() else out


def text_cells(values: pd.Series) -> pd.Series:
    """Mask of the cells that are text (the others, numbers or nulls, are left to the contract)."""
    if values.dtype != object and only_strings(values):
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


__all__ = ["AMBIGUOUS_LIMIT", "INTEGER", "NUMBER", "TEXT_DTYPE", "compact_text", "only_strings", "parse_number_text",
           "plain_text", "sorted_categories", "text_cells"]
