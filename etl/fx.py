"""Conversion of document amounts into company currency (SPEC §3 fx_rates, §4).

The rate for a document is the one of the latest ``as_of`` on or before the evaluation date
for the pair (document currency -> company currency):

- same currency: rate 1, whatever fx_rates holds;
- else the direct pair ``from_currency = document, to_currency = company`` if it has any rate
  on or before the evaluation date;
- else, if only the inverse pair ``company -> document`` has one, ``1 / rate`` of its latest
  (a direct rate, however old, wins over a newer inverse one: the direct pair is the one the
  ERP maintains for that direction);
- else there is no rate and the row is quarantined (``fx_rate_missing``); rows whose company is
  not in ``companies`` are quarantined too (``unknown_company``). Never a silent 0 or 1.

There is no cross-rate triangulation (USD->CHF via EUR) and no maximum age of a rate.

Everything is vectorised: the rates are resolved once per (company, currency) pair into a small
matrix, and each row picks its rate by integer codes (one hash lookup of ``company`` and one of
``currency`` per row, then fancy indexing) — never a Python loop over rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from validation.numbers import plain_text
from validation.quarantine import QUARANTINE_COLUMNS, empty_quarantine

FX_RATE_MISSING = "fx_rate_missing"
UNKNOWN_COMPANY = "unknown_company"


@dataclass(frozen=True)
class RateLookup:
    """Per-row result of :meth:`RateTable.lookup`."""

    company_code: np.ndarray  # intp, index into RateTable.companies, -1 = company not in the table
    currency_code: np.ndarray  # intp, index into RateTable.currencies, -1 = currency never seen
    rate: np.ndarray  # float64, units of company currency per document unit; NaN = no rate

    @property
    def missing(self) -> np.ndarray:
        return np.isnan(self.rate)


@dataclass(frozen=True)
class RateTable:
    """The rates valid on ``as_of`` for every (company, document currency) pair, as a matrix.

    ``companies`` are sorted; ``company_currency[i]`` is None for a company that was only given
    as an extra key (no row in the companies frame: its rows quarantine as unknown_company).
    ``rates`` has one extra row and column of NaN at the end, so code -1 (unknown) looks up NaN.
    """

    as_of: datetime.date
    companies: pd.Index
    company_currency: np.ndarray  # object, per company; None = unknown company
    currencies: pd.Index
    rates: np.ndarray  # float64 [len(companies) + 1, len(currencies) + 1]

    @classmethod
    def build(
        cls,
        companies: pd.DataFrame,
        fx_rates: pd.DataFrame,
        as_of: datetime.date,
        extra_companies: pd.Series | None = None,
    ) -> RateTable:
        comp = companies[["company", "currency"]].drop_duplicates("company")
        known = dict(zip(comp["company"].astype(str), comp["currency"].astype(str), strict=True))
        names = set(known)
        if extra_companies is not None:
            names.update(pd.unique(extra_companies.dropna().astype(str)))
        company_index = pd.Index(sorted(names), dtype=object)
        company_currency = np.array([known.get(c) for c in company_index], dtype=object)

        cutoff = pd.Timestamp(as_of)
        valid = fx_rates[fx_rates["as_of"] <= cutoff]
        latest = (
            valid.sort_values("as_of", kind="stable")
            .drop_duplicates(["from_currency", "to_currency"], keep="last")
            .set_index(["from_currency", "to_currency"])["rate"]
            .astype(float)
        )
        currency_names = set(comp["currency"].astype(str))
        currency_names.update(latest.index.get_level_values(0))
        currency_names.update(latest.index.get_level_values(1))
        currency_index = pd.Index(sorted(currency_names), dtype=object)

        # every (company, document currency) pair, vectorised over the small pair grid
        nc, nk = len(company_index), len(currency_index)
        to_cur = np.repeat(company_currency, nk)
        from_cur = np.tile(currency_index.to_numpy(dtype=object), nc)
        has_company = np.array([c is not None for c in to_cur], dtype=bool)
        to_key = np.where(has_company, to_cur, "")
        direct = latest.reindex(pd.MultiIndex.from_arrays([from_cur, to_key])).to_numpy()
        inverse = latest.reindex(pd.MultiIndex.from_arrays([to_key, from_cur])).to_numpy()
        with np.errstate(divide="ignore"):
            rate = np.where(
                from_cur == to_key, 1.0, np.where(np.isnan(direct), 1.0 / inverse, direct)
            )
        rate = np.where(has_company, rate, np.nan)
        matrix = np.full((nc + 1, nk + 1), np.nan)
        matrix[:nc, :nk] = rate.reshape(nc, nk)
        return cls(as_of, company_index, company_currency, currency_index, matrix)

    def company_codes(self, company: pd.Series) -> np.ndarray:
        return index_codes(self.companies, company)

    def lookup(self, frame: pd.DataFrame, company_code: np.ndarray | None = None) -> RateLookup:
        """The rate of every row of ``frame`` (columns company, currency)."""
        cc = self.company_codes(frame["company"]) if company_code is None else company_code
        cur = index_codes(self.currencies, frame["currency"])
        return RateLookup(cc, cur, self.rates[cc, cur])

    def known_company(self, company_code: np.ndarray) -> np.ndarray:
        known = np.append(np.array([c is not None for c in self.company_currency], dtype=bool), False)
        return known[company_code]

    def quarantine(
        self, frame: pd.DataFrame, entity: str, key_column: str, lookup: RateLookup
    ) -> pd.DataFrame:
        """Quarantine rows (QUARANTINE_COLUMNS) for the rows of ``frame`` that have no rate.

        ``key`` is ``company/<key_column>`` — the format of validation.quarantine.quarantine_rows
        for the SPEC §3 entities (e.g. ``DE01/INV-1`` for open_items).
        """
        bad = np.flatnonzero(lookup.missing)
        if bad.size == 0:
            return empty_quarantine()
        cc = lookup.company_code[bad]
        unknown = ~self.known_company(cc)
        # compact text columns (validation.numbers.compact_text) as object cells, a null None
        doc_cur = plain_text(frame["currency"].iloc[bad]).to_numpy(dtype=object)
        company = plain_text(frame["company"].iloc[bad]).to_numpy(dtype=object)
        comp_cur = np.append(self.company_currency, None)[cc]
        fx_value = (
            pd.Series(doc_cur, dtype=object).astype(str)
            + "->"
            + pd.Series(comp_cur, dtype=object).astype(str)
            + f" on or before {self.as_of.isoformat()}"
        ).to_numpy(dtype=object)
        customer = (
            plain_text(frame["customer_id"].iloc[bad]).to_numpy(dtype=object)
            if "customer_id" in frame.columns
            else np.full(bad.size, None, dtype=object)
        )
        return pd.DataFrame(
            {
                "entity": entity,
                "company": company,
                "key": (pd.Series(company, dtype=object).astype(str) + "/"
                        + frame[key_column].iloc[bad].astype(str).reset_index(drop=True)).to_numpy(dtype=object),
                "customer_id": customer,
                "check": np.where(unknown, UNKNOWN_COMPANY, FX_RATE_MISSING).astype(object),
                "value": np.where(unknown, company, fx_value),
            },
            columns=QUARANTINE_COLUMNS,
        )


def index_codes(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each value in ``index`` (-1 when absent): one hash lookup per row, or per
    category for a categorical column; Arrow-backed strings are looked up by Arrow's hash kernel
    (pandas would first make a Python ``str`` of every cell)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.cat
        mapped = np.append(index.get_indexer(cat.categories), -1)
        return mapped[cat.codes.to_numpy()].astype(np.intp)
    if isinstance(values.dtype, pd.StringDtype | pd.ArrowDtype) and index.inferred_type in ("string", "empty"):
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            found = pc.index_in(pa.array(values, type=pa.string()),
                                value_set=pa.array(index.to_numpy(dtype=object), type=pa.string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return index.get_indexer(values)
        return found.fill_null(-1).to_numpy().astype(np.intp)
    return index.get_indexer(values)


def convert_to_company_currency(
    frame: pd.DataFrame,
    entity: str,
    amount_columns: list[str],
    companies: pd.DataFrame,
    fx_rates: pd.DataFrame,
    as_of: datetime.date,
    key_column: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert ``amount_columns`` of ``frame`` into each row's company currency.

    ``frame`` needs ``company``, ``currency``, ``key_column`` and the amount columns (and
    ``customer_id`` if its quarantine rows should name the customer). Returns
    ``(converted, quarantine)``:

    - ``converted``: the rows that have a rate, same columns and index as ``frame``, the amount
      columns multiplied by the rate (unrounded) and ``currency`` set to the company currency,
      so the frame stays truthful about its amounts;
    - ``quarantine``: one row (QUARANTINE_COLUMNS, key ``company/<key_column>``) per row
      without a rate, check
      ``fx_rate_missing`` (value ``"USD->EUR on or before 2026-11-28"``) or ``unknown_company``
      (value the company code). These rows are not in ``converted``.
    """
    table = RateTable.build(companies, fx_rates, pd.Timestamp(as_of).date())
    lookup = table.lookup(frame)
    quarantine = table.quarantine(frame, entity, key_column, lookup)
    keep = np.flatnonzero(~lookup.missing)
    converted = frame.take(keep)
    rate = lookup.rate[keep]
    updates = {c: frame[c].to_numpy(dtype=float)[keep] * rate for c in amount_columns}
    updates["currency"] = table.company_currency[lookup.company_code[keep]]
    converted = converted.assign(**updates)
    return converted, quarantine
