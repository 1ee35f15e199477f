"""Synthetic ERP data for bench/nightly_bench.py: SPEC §3 frames, generated vectorised, loaded by COPY.

``generate(n, as_of, seed)`` builds the canonical frames of ``n`` customers with exactly 20 open
items, 12 payments (cleared invoices) and 2 open orders per customer on average (new customers have
no payment history; their share of payments goes to the other customers), shaped like the demo
business (connectors/demo.py, connectors/synthetic.py):

* profiles: healthy (~72%), chronic late payers (10%), over limit (6%: exposure 110-150% of the
  limit), new (6%: younger than 90 days, no paid invoices), seriously overdue (2.5%: invoices
  95-220 days past due, final dunning, half already blocked by a person), on prepayment (3%);
* three companies (DE01 EUR, US01 USD, GB01 GBP), foreign-currency customers (billing currency
  other than the company's, with daily rates), credit notes, payments on account, debit notes,
  partial payments, dunning levels, limits missing for some, insured limits and external ratings
  for some, orders held by a person;
* a few contract breaks (an open item due before its date: quarantined), as an ERP has them.

Everything comes from ``numpy.random.default_rng(seed)`` in a fixed order, dated relative to
``as_of``, so the same arguments give the same rows.

Loaders: :class:`CanonicalLoader` writes the frames into the canonical connector's tables
(connectors.canonical_schema) with ``COPY ... FROM STDIN`` (psycopg ``cursor.copy``), indexes
built after the load. Another connector's loader (Odoo, ERPNext tables) implements the same
``create`` / ``load`` / ``connector`` methods on its own tables.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.extract import Extract

COMPANIES = [("DE01", "EUR"), ("US01", "USD"), ("GB01", "GBP")]
COMPANY_SHARE = [0.5, 0.35, 0.15]
PROFILES = ["healthy", "late", "over_limit", "new", "severe", "prepayment"]
SHARES = {"late": 0.10, "over_limit": 0.06, "new": 0.06, "severe": 0.025, "prepayment": 0.03}
SEGMENTS = ["Retail", "Wholesale", "Construction", "Public Sector"]
#: foreign billing currencies per company currency
FOREIGN = {"EUR": ["GBP", "CHF", "USD"], "USD": ["EUR", "CAD"], "GBP": ["EUR", "USD"]}
COUNTRY = {"EUR": "DE", "USD": "US", "GBP": "GB", "CHF": "CH", "CAD": "CA"}
#: units of the second currency per unit of the first (quoted pairs; inverses are derived by positions)
FX_BASE = {("GBP", "EUR"): 1.17, ("CHF", "EUR"): 1.05, ("USD", "EUR"): 0.92, ("EUR", "USD"): 1.09,
           ("CAD", "USD"): 0.73, ("EUR", "GBP"): 0.85, ("USD", "GBP"): 0.79}
ITEMS_PER, PAYMENTS_PER, ORDERS_PER = 20, 12, 2
BROKEN_SHARE = 0.0002  # open items due before their document date (contract break -> quarantine)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)).astype(object)


def _days_before(as_of: dt.date, offsets: np.ndarray) -> np.ndarray:
    return (np.datetime64(as_of, "D") - offsets.astype("timedelta64[D]")).astype("datetime64[ns]")


def generate(n: int, as_of: dt.date, seed: int = 7, items_per: int = ITEMS_PER, payments_per: int = PAYMENTS_PER,
             orders_per: int = ORDERS_PER, companies: Sequence[tuple[str, str]] | None = None) -> Extract:
    """The SPEC §3 frames of ``n`` synthetic customers (see the module docstring).

    ``companies`` ((company, currency) pairs) replaces the three of :data:`COMPANIES`, the customers
    then split evenly over them (bench/partition_bench.py: equal company partitions); the default
    output is unchanged.
    """
    rng = np.random.default_rng(seed)
    pairs = COMPANIES if companies is None else list(companies)
    # ------------------------------------------------------------------ customers
    counts = {p: max(1, int(round(n * s))) for p, s in SHARES.items()}
    counts = {"healthy": n - sum(counts.values()), **counts}
    prof_idx = rng.permutation(np.repeat(np.arange(len(PROFILES)), [counts[p] for p in PROFILES]))
    prof = {p: prof_idx == i for i, p in enumerate(PROFILES)}
    if companies is None:
        comp = rng.choice(len(COMPANIES), n, p=COMPANY_SHARE)
    else:  # exactly n / k customers each (the first n % k companies one more)
        comp = rng.permutation(np.arange(n) % len(pairs))
    comp_names = np.array([c for c, _ in pairs], dtype=object)
    comp_cur = np.array([k for _, k in pairs], dtype=object)[comp]
    currency = comp_cur.copy()
    foreign_ok = ~(prof["new"] | prof["prepayment"] | prof["over_limit"])
    foreign = foreign_ok & (rng.random(n) < 0.08)
    pick = rng.random(n)
    for home, options in FOREIGN.items():
        m = foreign & (comp_cur == home)
        currency[m] = np.array(options, dtype=object)[(pick[m] * len(options)).astype(int)]
    country = np.array([COUNTRY[c] for c in currency], dtype=object)
    country[rng.random(n) < 0.02] = None
    terms = rng.choice([14, 30, 60], n, p=[0.3, 0.5, 0.2])
    terms[prof["prepayment"]] = 0
    limit = rng.choice([5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0], n, p=[0.25, 0.3, 0.25, 0.15, 0.05])
    no_limit = ~prof["over_limit"] & (rng.random(n) < 0.05)
    limit = np.where(no_limit, np.nan, limit)
    insured = np.where(rng.random(n) < 0.3, np.round(np.nan_to_num(limit, nan=20_000.0) * 0.8, 2), np.nan)
    rating = pd.array(rng.integers(1, 11, n), dtype="Int64")
    rating[rng.random(n) >= 0.3] = pd.NA
    age = np.where(prof["new"], rng.integers(5, 90, n), rng.integers(400, 5000, n))
    cust_ids = _ids("C", n, 8)
    customers = pd.DataFrame({
        "company": comp_names[comp], "customer_id": cust_ids,
        "name": np.char.add("Customer ", cust_ids.astype(str)).astype(object),
        "country": country, "currency": currency, "credit_limit": limit,
        "payment_terms_days": terms.astype(np.int64), "customer_since": _days_before(as_of, age),
        "segment": np.array(SEGMENTS + [None], dtype=object)[rng.choice(5, n, p=[0.4, 0.3, 0.15, 0.1, 0.05])],
        "insured_limit": insured, "external_rating": rating,
        "is_blocked": prof["severe"] & (rng.random(n) < 0.5),
        "on_prepayment": prof["prepayment"].copy(),
    })
    # target exposure (document currency ~ company currency: rates are near 1, fine for a shape)
    util = np.select([prof["over_limit"], prof["late"] | prof["severe"]],
                     [rng.uniform(1.15, 1.5, n), rng.uniform(0.4, 0.95, n)], rng.uniform(0.05, 0.7, n))
    exposure = np.where(np.isnan(limit), rng.uniform(2_000, 40_000, n), limit * util)
    order_share = np.where(prof["over_limit"], rng.uniform(0.2, 0.4, n), rng.uniform(0.05, 0.2, n))

    # ------------------------------------------------------------------ open items
    m = n * items_per
    ic = np.repeat(np.arange(n), items_per)
    doc_type = np.array(["invoice", "credit_note", "payment_on_account", "debit_note"], dtype=object)[
        rng.choice(4, m, p=[0.93, 0.04, 0.02, 0.01])]
    negative = (doc_type == "credit_note") | (doc_type == "payment_on_account")
    weight = rng.lognormal(0.0, 0.8, m)
    pos_weight = np.bincount(ic, weights=np.where(negative, 0.0, weight), minlength=n)
    ar_target = exposure * (1 - order_share)
    amount = np.round(weight * (ar_target / np.maximum(pos_weight, 1e-9))[ic], 2) + 0.01
    amount = np.where(negative, -np.round(amount * 0.15, 2) - 0.01, amount)
    partial = rng.random(m) < 0.08
    open_amount = np.where(partial, np.round(amount * rng.uniform(0.2, 0.9, m), 2), amount)
    t = terms[ic]
    # days past due: healthy mostly current, late 0-85, severe: three items 95-220, new: current
    dpd = np.select(
        [prof["late"][ic], prof["severe"][ic], prof["healthy"][ic]],
        [rng.integers(-60, 86, m), rng.integers(-30, 60, m), rng.integers(-60, 25, m)],
        rng.integers(-60, 1, m))
    severe_old = prof["severe"][ic] & (np.arange(m) % items_per < 3)
    dpd = np.where(severe_old, rng.integers(95, 221, m), dpd)
    doc_off = np.maximum(dpd + t, 0)
    doc_off = np.minimum(doc_off, age[ic])  # no document before the customer existed
    due_off = doc_off - t
    broken = rng.random(m) < BROKEN_SHARE
    due_off = np.where(broken, doc_off + 5, due_off)  # due 5 days before the document: quarantined
    dunning = np.select([due_off > 90, due_off > 60, due_off > 30], [3, 2, 1], 0).astype(np.int64)
    open_items = pd.DataFrame({
        "company": customers["company"].to_numpy()[ic], "item_id": _ids("I", m, 9),
        "customer_id": cust_ids[ic], "doc_type": doc_type,
        "doc_date": _days_before(as_of, doc_off), "due_date": _days_before(as_of, due_off),
        "amount": amount, "open_amount": open_amount, "currency": currency[ic], "dunning_level": dunning,
    })
    del ic, doc_type, negative, weight, amount, open_amount, t, dpd, severe_old, doc_off, due_off, broken, dunning

    # ------------------------------------------------------------------ open orders
    k = n * orders_per
    oc = np.repeat(np.arange(n), orders_per)
    ow = rng.uniform(0.3, 1.0, k)
    osum = np.bincount(oc, weights=ow, minlength=n)
    held = rng.random(k) < np.where((prof["late"] | prof["severe"])[oc], 0.25, 0.01)
    open_orders = pd.DataFrame({
        "company": customers["company"].to_numpy()[oc], "order_id": _ids("O", k, 9),
        "customer_id": cust_ids[oc], "order_date": _days_before(as_of, rng.integers(0, 60, k)),
        "open_amount": np.round(ow * (exposure * order_share / osum)[oc], 2),
        "currency": currency[oc], "on_hold": held,
    })
    del oc, ow, held

    # ------------------------------------------------------------------ payments (cleared invoices)
    p = n * payments_per
    payers = np.flatnonzero(~prof["new"])
    pc = np.sort(np.concatenate([np.repeat(payers, payments_per),
                                 rng.choice(payers, p - len(payers) * payments_per)]))
    mu = np.select([prof["late"][pc], prof["severe"][pc], prof["prepayment"][pc]], [45.0, 30.0, 0.0], 2.0)
    late = np.clip(np.rint(rng.normal(mu, np.where(prof["prepayment"][pc], 0.0, 8.0))), -10, 120).astype(int)
    late = np.where(prof["prepayment"][pc], 0, late)
    pt = terms[pc]
    paid_off = rng.integers(1, 450, p)
    due_off = paid_off + late
    doc_off = np.minimum(due_off + pt, age[pc])
    due_off = np.maximum(doc_off - pt, paid_off - 120)
    due_off = np.minimum(due_off, doc_off)
    payments = pd.DataFrame({
        "company": customers["company"].to_numpy()[pc], "item_id": _ids("P", p, 9),
        "customer_id": cust_ids[pc], "doc_date": _days_before(as_of, doc_off),
        "due_date": _days_before(as_of, due_off), "paid_date": _days_before(as_of, paid_off),
        "amount": np.round(rng.lognormal(7.0, 1.0, p), 2) + 0.01, "currency": currency[pc],
    })
    del pc, mu, late, pt, paid_off, due_off, doc_off

    # ------------------------------------------------------------------ companies, fx rates
    company_frame = pd.DataFrame({"company": comp_names, "currency": [k for _, k in pairs]})
    days = np.arange(0, 460)
    fx = pd.concat([pd.DataFrame({
        "from_currency": f, "to_currency": to,
        "rate": np.round(r * (1 + 0.03 * np.sin(days / 40.0 + i)), 6),
        "as_of": _days_before(as_of, days),
    }) for i, ((f, to), r) in enumerate(FX_BASE.items())], ignore_index=True)
    return Extract(companies=company_frame, customers=customers, open_items=open_items, open_orders=open_orders,
                   payments=payments, fx_rates=fx)


# ---------------------------------------------------------------------------- loading


@dataclass
class LoadResult:
    rows: dict[str, int]
    seconds: dict[str, float]


def _copy_frame(cursor, table: str, frame: pd.DataFrame, chunk: int = 500_000) -> None:  # noqa: ANN001
    """``frame`` into ``table`` with COPY FROM STDIN (CSV, empty unquoted field = NULL), in chunks."""
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
        for start in range(0, len(frame), chunk):
            buf = io.StringIO()
            frame.iloc[start:start + chunk].to_csv(buf, header=False, index=False, date_format="%Y-%m-%d")
            copy.write(buf.getvalue())


class CanonicalLoader:
    """The canonical connector's tables (connectors/canonical_schema.py) in one database, filled by COPY."""

    kind = "canonical"

    def __init__(self, url: str) -> None:
        self.url = url

    def load(self, extract: Extract, log: Callable[[str], None] = print) -> LoadResult:
        from sqlalchemy import create_engine

        from connectors.canonical_schema import canonical_tables

        tables = canonical_tables()
        engine = create_engine(self.url)
        rows: dict[str, int] = {}
        seconds: dict[str, float] = {}
        try:
            tables.metadata.create_all(engine)
            source = tables.source()
            with engine.begin() as conn:  # indexes after the load: COPY into bare heaps
                for table in source.values():
                    for index in table.indexes:
                        conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
            raw = engine.raw_connection()
            try:
                driver = raw.driver_connection
                for name, table in source.items():
                    frame = getattr(extract, name)
                    if frame.empty:
                        continue
                    start = time.perf_counter()
                    with driver.cursor() as cur:
                        _copy_frame(cur, f'"{table.name}"', frame[[c.name for c in table.columns]])
                    driver.commit()
                    rows[name] = len(frame)
                    seconds[name] = round(time.perf_counter() - start, 2)
                    log(f"  COPY {name}: {len(frame):,} rows in {seconds[name]:.1f} s")
            finally:
                raw.close()
            start = time.perf_counter()
            with engine.begin() as conn:
                for table in source.values():
                    for index in table.indexes:
                        index.create(conn)
            seconds["indexes"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
            seconds["vacuum_analyze"] = round(time.perf_counter() - start, 2)
        finally:
            engine.dispose()
        return LoadResult(rows, seconds)

    def connector(self):  # noqa: ANN201 - etl.ports.ErpConnector
        from connectors.canonical import CanonicalConnector

        return CanonicalConnector(self.url)


#: connector kind -> loader class (another connector adds its own: same load / connector methods)
LOADERS = {"canonical": CanonicalLoader}
