"""The files connector (SPEC §7): a folder of CSV or Parquet files shaped as SPEC §3.

CSV conventions: a header row with the contract's columns, booleans ``true``/``false``, ISO
dates, empty = null. Every value is read as text and typed by the data contract, so a bad cell
quarantines its row instead of failing the read. Date text is parsed strictly there
(validation.quarantine.parse_iso_dates, vectorised): ``28.11.2026`` or ``2026/11/28`` is
quarantined as ``not_a_date``, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from etl.extract import Extract
from etl.ports import ConnectorError, ErpProvenance
from validation.contracts import ENTITIES

_BOOLEANS = {"true": True, "false": False}


class FilesConnector:
    """Reads ``<entity>.csv`` or ``<entity>.parquet`` from one folder; writes ``decisions.csv``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConnectorError(f"{self.folder}: data folder not found (erp.options.path / --data)")

    def _read(self, entity: str) -> pd.DataFrame:
        csv, parquet = self.folder / f"{entity}.csv", self.folder / f"{entity}.parquet"
        if parquet.is_file():
            return pd.read_parquet(parquet)
        if not csv.is_file():
            raise ConnectorError(f"{csv}: file not found (the files connector needs {entity}.csv or .parquet)")
        try:
            frame = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ConnectorError(f"{csv}: cannot read CSV ({str(exc).splitlines()[0]})") from exc
        frame = frame.astype(object).where(frame.notna(), None)
        model, _ = ENTITIES[entity]
        for name, column in model.to_schema().columns.items():
            if str(column.dtype) == "bool" and name in frame:
                # "yes" or "1" are not booleans here: they become null and fail the contract
                frame[name] = frame[name].str.strip().str.lower().map(_BOOLEANS)
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

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame:
        return self._read("fx_rates")

    def read_extract(self, companies: Sequence[str] = ()) -> Extract:
        return Extract(**{e: self._for(e, companies) if e != "fx_rates" else self._read(e)
                          for e in Extract.entities()})

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        customers = self._for("customers", companies)
        orders = self._for("open_orders", companies)
        state = customers[["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit"]].copy()
        state["credit_limit"] = pd.to_numeric(state["credit_limit"], errors="coerce")
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


def write_decisions(decisions: pd.DataFrame, path: Path) -> None:
    """Decisions as SPEC §9 CSV: booleans true/false, empty = null, sorted by company, customer."""
    out = decisions.sort_values(["company", "customer_id"], kind="stable").copy()
    for name in out.columns:
        if out[name].dtype == bool:
            out[name] = out[name].map({True: "true", False: "false"})
    for name in ("credit_limit", "new_credit_limit"):
        if name in out:
            out[name] = out[name].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    out.to_csv(path, index=False)


__all__ = ["FilesConnector", "write_decisions"]
