"""Quarantine: rows that fail their contract leave the run with a reason instead of crashing it."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from validation.contracts import ENTITIES

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
    key = rows[key_columns[0]].astype(str)
    for col in key_columns[1:]:
        key = key + "/" + rows[col].astype(str)
    out = pd.DataFrame(
        {
            "entity": entity,
            "company": rows["company"].astype(object) if "company" in rows else None,
            "key": key,
            "customer_id": rows["customer_id"].astype(object) if "customer_id" in rows else None,
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
    """
    model, _ = ENTITIES[entity]
    _check_columns(entity, model, frame)
    frame = frame.reset_index(drop=True)
    found: list[pd.DataFrame] = []
    # pandas coerces None or "no" to a boolean without complaint (None -> False, "no" -> True),
    # so booleans are checked before coercion: only True/False (or 1/0) pass
    for name, column in model.to_schema().columns.items():
        if str(column.dtype) == "bool" and frame[name].dtype != bool:
            bad = ~frame[name].isin([True, False])
            if bad.any():
                found.append(quarantine_rows(entity, frame[bad], f"{name}:not_a_boolean",
                                             frame.loc[bad, name].astype(str)))
                frame = frame[~bad]
    remaining = frame
    # Coercion failures hide later checks of the same column, so validate again what is left
    # until it passes; each round removes at least one row, and in practice two rounds suffice.
    for _ in range(len(frame) + 1):
        try:
            valid = model.validate(remaining, lazy=True)
        except SchemaErrors as exc:
            cases = exc.failure_cases
            bad = cases[cases["index"].notna()]
            if bad.empty:
                raise ContractError(f"{entity}: {_first_line(exc)}") from exc
            bad = _readable_checks(entity, bad)
            bad_index = pd.Index(bad["index"].unique())
            rows = frame.loc[bad["index"].to_numpy()]
            found.append(
                quarantine_rows(entity, rows, bad["check"].to_numpy(), bad["failure_case"].astype(str).to_numpy())
            )
            remaining = remaining.drop(index=bad_index.intersection(remaining.index))
            continue
        except SchemaError as exc:  # pragma: no cover - lazy=True reports SchemaErrors
            raise ContractError(f"{entity}: {_first_line(exc)}") from exc
        quarantine = pd.concat(found, ignore_index=True) if found else empty_quarantine()
        return valid.reset_index(drop=True), quarantine
    raise AssertionError("unreachable: validation did not converge")


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
    check = check.str.replace(r"^str_matches\(.*\)$", "bad_format", regex=True)
    # uniqueness and dataframe-level checks name the row, not one cell
    table_level = (check == "duplicate_key") | (cases["schema_context"] == "DataFrameSchema")
    cases["check"] = check.where(table_level, column + ":" + check)
    cases["failure_case"] = cases["failure_case"].where(~table_level, "")
    cases = cases.drop_duplicates(subset=["index", "check"])
    cell = cases["index"].astype(str) + "|" + column.loc[cases.index]
    coerced = cell[cases["check"].str.contains(":not_a")]
    cases = cases[~(cases["check"].str.endswith(":wrong_type") & cell.isin(coerced))]
    return cases


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def quarantine_share(frame_rows: int, quarantined_keys: int) -> float:
    """Percent of an entity's rows that were quarantined (0 for an empty extract)."""
    return 0.0 if frame_rows == 0 else 100.0 * quarantined_keys / frame_rows
