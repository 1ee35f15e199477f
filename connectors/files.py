"""The files connector (SPEC §7): a folder of CSV or Parquet files shaped as SPEC §3.

CSV conventions (the user reference is docs/connectors.md, "files"): a header row with exactly
the contract's columns, booleans ``true``/``false``, ISO dates, numbers in one plain grammar,
empty = null. Every value is read as text and typed by the data contract, so a bad cell
quarantines its row, with the cell's text, instead of failing the read or being guessed: dates
by validation.quarantine.parse_iso_dates (``28.11.2026`` is ``not_a_date``), numbers by
validation.numbers (``5.000`` in a credit limit is ``ambiguous_number``, ``5,000`` is
``not_a_number``). Parquet columns that are typed pass as they are; text columns are read as CSV
cells are. A file that cannot be used as a whole (empty, wrong header, no customers) is one
ConnectorError naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from etl.decisions import DECISION_COLUMNS
from etl.extract import Extract
from etl.ports import ConnectorError, ErpProvenance
from validation.contracts import ENTITIES, columns, empty_frame
from validation.numbers import parse_number_text, text_cells

_BOOLEANS = {"true": True, "false": False}
#: entities without which there is nothing to evaluate: a header-only file is an error
_NEEDS_ROWS = {"companies": "company", "customers": "customer"}


class FilesConnector:
    """Reads ``<entity>.csv`` or ``<entity>.parquet`` from one folder; writes ``decisions.csv``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConnectorError(f"{self.folder}: data folder not found (erp.options.path / --data)")

    def _read(self, entity: str) -> pd.DataFrame:
        csv, parquet = self.folder / f"{entity}.csv", self.folder / f"{entity}.parquet"
        expected = columns(entity)
        if parquet.is_file():
            path = parquet
            try:
                frame = pd.read_parquet(parquet)
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                raise ConnectorError(f"{parquet}: cannot read Parquet ({_first_line(exc)})") from exc
        elif csv.is_file():
            path = csv
            try:
                frame = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
            except pd.errors.EmptyDataError:
                raise ConnectorError(f"{csv}: the file is empty; it needs a header row "
                                     f"({','.join(expected)}) and one line per row") from None
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise ConnectorError(f"{csv}: cannot read CSV ({_first_line(exc)})") from exc
            frame = frame.astype(object).where(frame.notna(), None)
        else:
            raise ConnectorError(f"{csv}: file not found (the files connector needs {entity}.csv or .parquet)")
        _check_header(path, entity, frame, expected)
        if frame.empty and entity in _NEEDS_ROWS:
            raise ConnectorError(f"{path}: no rows, only the header: there is nothing to evaluate without "
                                 f"at least one {_NEEDS_ROWS[entity]}")
        model, _ = ENTITIES[entity]
        for name, column in model.to_schema().columns.items():
            if str(column.dtype) == "bool" and frame[name].dtype == object:
                # only true/false (any case) are booleans; "yes" or "1" stay as read, so the
                # contract quarantines them with the cell's own text
                raw = frame[name]
                text = raw.where(text_cells(raw), None).astype(object)
                flag = text.str.strip().str.lower().map(_BOOLEANS) if text.notna().any() else text
                frame[name] = flag.where(flag.notna(), raw)
        return frame

    def _for(self, entity: str, companies: Sequence[str]) -> pd.DataFrame:
        frame = self._read(entity)
        if companies and "company" in frame:
            frame = frame[frame["company"].isin(list(companies))].reset_index(drop=True)
        return frame

    def read_companies(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._for("companies", companies)

    def read_customers(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._for("customers", companies)

    def read_open_items(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._for("open_items", companies)

    def read_open_orders(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._for("open_orders", companies)

    def read_payments(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._for("payments", companies)

    def read_open_deliveries(self, companies: Sequence[str]) -> pd.DataFrame:
        """``open_deliveries.csv`` / ``.parquet`` when the folder has one (it is optional)."""
        if not any((self.folder / f"open_deliveries.{ext}").is_file() for ext in ("csv", "parquet")):
            return empty_frame("open_deliveries")
        return self._for("open_deliveries", companies)

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._read("fx_rates")

    def read_extract(self, companies: Sequence[str] = ()) -> Extract:
        return Extract(**{e: getattr(self, f"read_{e}")(companies) for e in Extract.entities()})

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        customers = self._for("customers", companies)
        orders = self._for("open_orders", companies)
        state = customers[["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit"]].copy()
        for flag in ("is_blocked", "on_prepayment"):  # a cell that is no boolean is null (its row is quarantined)
            state[flag] = state[flag].map({True: True, False: False})
        limit, problems = parse_number_text(state["credit_limit"], limit=True)
        state["credit_limit"] = pd.to_numeric(limit.where(problems.isna(), None), errors="coerce")
        state["payment_terms"] = ""
        return state, orders[["company", "order_id", "customer_id", "on_hold"]].copy()

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """Nothing: this connector never writes to an ERP."""
        return ErpProvenance(changes=None, marked=False)

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        raise ConnectorError(
            "the files connector cannot change an ERP: set writeback to dry-run or off "
            "(decisions are written as decisions.csv)"
        )


def _check_header(path: Path, entity: str, frame: pd.DataFrame, expected: list[str]) -> None:
    """The file's columns are the contract's: one line naming the file and the columns if not."""
    missing = [c for c in expected if c not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in expected]
    if not missing and not extra:
        return
    if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
        raise ConnectorError(f"{path}: the header is one column {str(frame.columns[0])!r}: separate the "
                             f"columns with commas ({','.join(expected)})")
    parts = [f"missing column(s) {', '.join(missing)}"] if missing else []
    parts += [f"unexpected column(s) {', '.join(extra)}"] if extra else []
    raise ConnectorError(f"{path}: {'; '.join(parts)} (the {entity} columns are {','.join(expected)})")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def write_decisions(decisions: pd.DataFrame, path: Path) -> None:
    """Decisions as SPEC §9 CSV: the §6.1 columns without run_id (so not the ``name`` the
    pipeline adds for people), booleans true/false, empty = null, sorted by company, customer."""
    spec_columns = [c for c in DECISION_COLUMNS if c != "run_id"]
    out = decisions.sort_values(["company", "customer_id"], kind="stable")[spec_columns].copy()
    for name in out.columns:
        if out[name].dtype == bool:
            out[name] = out[name].map({True: "true", False: "false"})
    for name in ("credit_limit", "new_credit_limit"):
        if name in out:
            out[name] = out[name].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    out.to_csv(path, index=False)


__all__ = ["FilesConnector", "write_decisions"]
