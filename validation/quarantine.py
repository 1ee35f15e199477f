"""Quarantine: rows that fail their contract leave the run with a reason instead of crashing it.

Check names a data engineer sees in ``quarantine.csv`` (``check`` column):

- ``<column>:null`` / ``<column>:not_a_number`` / ``<column>:not_an_integer`` (text outside
  the number grammar of validation.numbers, e.g. ``5,000``, ``nan``) /
  ``<column>:ambiguous_number`` (a limit written ``5.000``: 5 or 5000?) /
  ``<column>:not_a_date`` (text that is not an ISO date, e.g. ``28.11.2026``) /
  ``<column>:not_a_boolean``: the cell cannot be typed as its contract says;
- ``<column>:not_iso_4217`` / ``<column>:not_iso_3166``: not a currency / country code
  (validation.iso); ``<column>:not_allowed``: outside its set (doc_type);
- ``<column>:greater_than_or_equal_to(0)`` and the like: a range check;
- ``duplicate_key``: the entity's key occurs more than once (every copy is quarantined);
- ``due_not_before_doc``, ``open_within_amount``, ``amount_sign_for_doc_type``: a rule across
  columns (``value`` shows the columns it read);
- from etl: ``unknown_customer`` / ``unknown_company`` (referential), ``fx_rate_missing``.

``value`` is the cell as the connector read it (a CSV cell's text; empty for an empty cell),
never the value after typing. A null key part shows as ``<null, row N>`` (N = the row's 0-based
position in the extract).
"""

from __future__ import annotations

import datetime as dt
from copy import deepcopy

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from validation.contracts import ENTITIES, FRAME_CHECK_COLUMNS, ISO_CHECK_NAMES, LIMIT_COLUMNS
from validation.numbers import only_strings, parse_number_text, plain_text

#: one row per rejected source row and failed check. ``customer_id`` (an addition to SPEC §3's
#: entity/company/key/check/value) names the customer the row belongs to, so the customer can
#: be marked ``data_incomplete``; it is null where the row has none (fx_rates, companies).
QUARANTINE_COLUMNS = ["entity", "company", "key", "customer_id", "check", "value"]


class ContractError(ValueError):
    """A whole frame is unusable (missing or unexpected columns): one line naming the entity."""


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in QUARANTINE_COLUMNS})


def quarantine_rows(
    entity: str, rows: pd.DataFrame, check: str | pd.Series, value: str | pd.Series
) -> pd.DataFrame:
    """Quarantine records for ``rows`` of ``entity`` (vectorised; key columns from the contract)."""
    _, key_columns = ENTITIES[entity]
    if rows.empty:
        return empty_quarantine()
    def part(col: str) -> pd.Series:
        # a null key part names the row's position in the extract instead, so two rows with null
        # keys stay two quarantined rows (the guards count distinct keys) and can be found
        text = rows[col].astype(str)
        return text.where(rows[col].notna(), "<null, row " + rows.index.astype(str) + ">")

    key = part(key_columns[0])
    for col in key_columns[1:]:
        key = key + "/" + part(col)
    out = pd.DataFrame(
        {
            "entity": entity,
            # compact text columns (validation.numbers.compact_text) as the object cells, null None
            "company": plain_text(rows["company"]) if "company" in rows else None,
            "key": key,
            "customer_id": plain_text(rows["customer_id"]) if "customer_id" in rows else None,
            "check": check,
            "value": value,
        },
        index=rows.index,
    )
    return out[QUARANTINE_COLUMNS].reset_index(drop=True)


def _check_columns(entity: str, model: type[pa.DataFrameModel], frame: pd.DataFrame) -> None:
    expected = list(model.to_schema().columns)
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(map(str, extra))}")
        raise ContractError(f"{entity}: {'; '.join(parts)} (expected: {', '.join(expected)})")


def validate_frame(entity: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a frame into (rows satisfying the contract, coerced; quarantine records).

    Validation is lazy so every failing row and check is reported, not just the first. A row
    may fail several checks; it is quarantined once per failed check. Raises ContractError
    only when the frame as a whole is unusable (its columns are wrong).

    Three stages, all vectorised: strict pre-checks pandas would otherwise let through
    (booleans, ISO dates), the model's column checks and key uniqueness through pandera (lazy;
    repeated while a coercion failure may hide further checks), then the model's dataframe-level
    checks evaluated directly as boolean masks on the coerced rows (pandera's failure-case
    reshaping of a frame check costs seconds when many rows fail).
    """
    model, _ = ENTITIES[entity]
    _check_columns(entity, model, frame)
    schema = model.to_schema()
    frame = frame.reset_index(drop=True)
    raw = frame  # the cells as read: every quarantine row's ``value`` comes from here
    found: list[pd.DataFrame] = []
    for name, column in schema.columns.items():
        kind = str(column.dtype)
        if kind == "bool" and frame[name].dtype != bool:
            # pandas coerces None or "no" to a boolean without complaint (None -> False,
            # "no" -> True), so only True/False (or 1/0) pass
            bad = ~frame[name].isin([True, False])
            if bad.any():
                found.append(quarantine_rows(entity, frame[bad], f"{name}:not_a_boolean",
                                             raw_text(raw.loc[bad[bad].index, name])))
                frame = frame[~bad]
        elif kind.startswith("datetime64") and frame[name].dtype == object:
            parsed, bad = parse_iso_dates(frame[name])
            if bad.any():
                found.append(quarantine_rows(entity, frame[bad], f"{name}:not_a_date",
                                             raw_text(raw.loc[bad[bad].index, name])))
            frame = frame.assign(**{name: parsed})[~bad]
        elif kind in _NUMERIC_KINDS and not pd.api.types.is_numeric_dtype(frame[name]):
            # text is read in the one number grammar (validation.numbers), never guessed by pandas
            parsed, problems = parse_number_text(frame[name], integer=kind != "float64",
                                                 limit=name in LIMIT_COLUMNS)
            bad = problems.notna()
            if bad.any():
                found.append(quarantine_rows(entity, frame[bad], name + ":" + problems[bad],
                                             raw_text(raw.loc[bad[bad].index, name])))
            frame = frame.assign(**{name: parsed})[~bad]
    columns_only = _already_text(_columns_only(schema), frame)
    remaining = frame
    # Coercion failures hide later checks of the same column, so validate again what is left
    # until it passes; each round removes at least one row, and in practice two rounds suffice.
    for _ in range(len(frame) + 1):
        try:
            valid = columns_only.validate(remaining, lazy=True)
        except SchemaErrors as exc:
            cases = exc.failure_cases
            bad = cases[cases["index"].notna()]
            if bad.empty:
                raise ContractError(f"{entity}: {_first_line(exc)}") from exc
            bad = _readable_checks(entity, bad)
            bad_index = pd.Index(bad["index"].unique())
            rows = frame.loc[bad["index"].to_numpy()]
            found.append(quarantine_rows(entity, rows, bad["check"].to_numpy(), _case_values(raw, bad)))
            remaining = remaining.drop(index=bad_index.intersection(remaining.index))
            continue
        except SchemaError as exc:  # pragma: no cover - lazy=True reports SchemaErrors
            raise ContractError(f"{entity}: {_first_line(exc)}") from exc
        valid, frame_quarantine = _frame_checks(entity, schema, valid, raw)
        found.extend(frame_quarantine)
        found = [q for q in found if not q.empty]
        quarantine = pd.concat(found, ignore_index=True) if found else empty_quarantine()
        return valid.reset_index(drop=True), quarantine
    raise AssertionError("unreachable: validation did not converge")


_NUMERIC_KINDS = ("float64", "int64", "Int64")


def raw_text(values: pd.Series) -> pd.Series:
    """Cells as the text a data engineer recognises: strings as read, a null as empty."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype(str).where(values.notna(), "")
    return values.astype(object).where(values.notna(), "").astype(str)


def _case_values(raw: pd.DataFrame, cases: pd.DataFrame) -> np.ndarray:
    """The raw cell behind each pandera failure case (row-level checks name no cell: empty)."""
    values = cases["failure_case"].astype(str).to_numpy(dtype=object, copy=True)  # written below
    index = cases["index"].astype("int64").to_numpy()
    column = cases["column"].to_numpy(dtype=object)
    cell = cases["check"].str.contains(":", regex=False).to_numpy()
    for name in pd.unique(column[cell]):
        if name in raw.columns:
            take = cell & (column == name)
            values[take] = raw_text(raw[name].loc[index[take]]).to_numpy()
    return values


#: an ISO 8601 calendar date, optionally with a time: what the contracts accept as date text
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"


def parse_iso_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Strictly typed dates of an object column: (datetime64 values, mask of unusable cells).

    Text must be ISO 8601 (``2026-11-28``, optionally with a time); ``28.11.2026``,
    ``2026/11/28`` or ``11/28/2026`` are not guessed but flagged, as are impossible dates
    (``2026-02-30``) and values of other types (numbers would otherwise become epoch offsets).
    Python dates, datetimes and pandas timestamps pass. Nulls stay null (the contract judges them).
    """
    # fast path (vectorised, strict): plain ISO dates; only the cells it rejects are looked at
    parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    rest = parsed.isna() & values.notna()
    if not rest.any():
        return parsed.astype("datetime64[ns]"), rest
    values = values[rest]
    parsed = parsed.astype("datetime64[ns]")
    parsed[rest], bad = _parse_rest(values)
    return parsed, bad.reindex(parsed.index, fill_value=False)


def _parse_rest(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    kinds = values.map(type)
    is_text = kinds.eq(str)
    is_date = kinds.map(lambda k: issubclass(k, (dt.date, np.datetime64)))
    is_null = values.isna()
    text_ok = values.where(is_text, "").str.match(_ISO_DATE)
    usable = (is_text & text_ok) | is_date | is_null
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    take = usable & ~is_null
    if take.any():
        parsed[take] = pd.to_datetime(values[take].astype(str), format="ISO8601", errors="coerce")
    bad = ~usable | (take & parsed.isna())
    return parsed, bad


def _columns_only(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """The schema without its dataframe-level checks (those run in _frame_checks)."""
    if not schema.checks:
        return schema
    copy = deepcopy(schema)
    copy.checks = []
    return copy


def _already_text(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pa.DataFrameSchema:
    """``schema`` without the ``str`` type of the columns whose values are all strings already.

    pandera checks and coerces a ``str`` column one cell at a time (a Python call per cell, a
    third of a frame's validation); for a column that holds only strings (nulls aside:
    validation.numbers.only_strings, by pandas' C type inference or a compact text dtype) both
    are no-ops, and its other checks (nullability, patterns, sets) still run. Its coercion would
    also turn a compact column (categorical, Arrow strings) back into Python objects. Any other
    content (numbers, mixed) keeps the type and is coerced as before.
    """
    text = {name: {"dtype": None} for name, column in schema.columns.items()
            if str(column.dtype) == "str" and name in frame and only_strings(frame[name])}
    return schema.update_columns(text) if text else schema


def _frame_checks(entity: str, schema: pa.DataFrameSchema, valid: pd.DataFrame,
                  raw: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Run the dataframe-level checks as boolean masks; rows failing any leave ``valid``."""
    failed = pd.Series(False, index=valid.index)
    found = []
    for check in schema.checks:
        if valid.empty:
            break
        ok = check(valid).check_output
        ok = ok.reindex(valid.index).fillna(False).astype(bool)
        if not ok.all():
            bad = valid[~ok]
            value = pd.Series("", index=bad.index)
            for i, col in enumerate(FRAME_CHECK_COLUMNS.get(check.name, [])):
                value = value + ("" if i == 0 else ", ") + col + "=" + raw_text(raw.loc[bad.index, col])
            found.append(quarantine_rows(entity, bad, check.name, value.to_numpy()))
            failed |= ~ok
    return valid[~failed], found


_COERCE_NAMES = {"float64": "not_a_number", "int64": "not_an_integer", "datetime64[ns]": "not_a_date",
                 "bool": "not_a_boolean", "Int64": "not_an_integer"}


def _readable_checks(entity: str, cases: pd.DataFrame) -> pd.DataFrame:
    """One failure per row and problem, named so a data engineer can act on it."""
    cases = cases.copy()
    column = cases["column"].fillna(entity).astype(str)
    check = cases["check"].astype(str)
    coerce = check.str.extract(r"^coerce_dtype\('(.+)'\)$")[0]
    named = coerce.map(_COERCE_NAMES).fillna("wrong_type")
    check = check.where(coerce.isna(), named)
    # a failed coercion is also reported as a dtype failure of the same cell: keep the first
    is_dtype = check.str.startswith("dtype(")
    check = check.where(~is_dtype, "wrong_type")
    check = check.replace({"multiple_fields_uniqueness": "duplicate_key", "not_nullable": "null"})
    check = check.str.replace(r"^isin\(.*\)$", "not_allowed", regex=True)
    is_regex = check.str.startswith("str_matches(")
    iso = column.map(ISO_CHECK_NAMES)
    check = check.where(~is_regex, iso.fillna("bad_format"))
    # uniqueness and dataframe-level checks name the row, not one cell
    table_level = (check == "duplicate_key") | (cases["schema_context"] == "DataFrameSchema")
    cases["check"] = check.where(table_level, column + ":" + check)
    cases["failure_case"] = cases["failure_case"].where(~table_level, "")
    cases = cases.drop_duplicates(subset=["index", "check"])
    cell = cases["index"].astype(str) + "|" + column.loc[cases.index]
    coerced = cell[cases["check"].str.contains(":not_a")]
    cases = cases[~(cases["check"].str.endswith(":wrong_type") & cell.isin(coerced))]
    # an empty cell cannot be typed either: ":null" says what is wrong with it
    cell = cell.loc[cases.index]
    nulled = cell[cases["check"].str.endswith(":null")]
    return cases[~(cases["check"].str.contains(":not_a") & cell.isin(nulled))]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def quarantine_share(frame_rows: int, quarantined_keys: int) -> float:
    """Percent of an entity's rows that were quarantined (0 for an empty extract)."""
    return 0.0 if frame_rows == 0 else 100.0 * quarantined_keys / frame_rows
