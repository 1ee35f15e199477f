"""Benchmark: etl.positions.compute_positions against one DuckDB query on the same frames.

Not a test. Usage::

    .venv/bin/python bench/positions_bench.py --customers 100000
    .venv/bin/python bench/positions_bench.py --customers 1000000 --verify 0

Each stage runs in its own subprocess, which builds the same synthetic in-memory frames (seeded,
so both stages see identical data), then measures only the stage itself:

- ``wall_s``: wall-clock time of the stage (time.perf_counter), frames already built; the
  fastest of ``--repeat`` runs in the same process (all runs in ``wall_runs_s``: the box is
  shared, the minimum is the least disturbed);
- ``peak_rss_mb``: the process's peak resident set size during the stage's runs (Linux VmHWM, reset
  through /proc/self/clear_refs just before the stage), i.e. frames + everything the stage
  allocated, Python and C++ (DuckDB) alike;
- ``rss_before_mb``: resident size just before the stage (the frames themselves, roughly);
- ``stage_extra_mb``: peak_rss_mb - rss_before_mb, what the stage needed on top of its input.

The DuckDB stage is one SQL statement computing the same fields (same FX rule, same windows,
same rounding points) from the pandas frames, with its result fetched as a pandas frame. The
``verify`` stage runs both in one process and compares them field by field (money to the cent).

Prints one JSON document and stores it in bench/results/positions.json (``--out``) under
``runs[<customers>]``, keeping the other sizes' latest runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from etl.extract import Extract  # noqa: E402
from etl.positions import POSITION_COLUMNS, compute_positions  # noqa: E402

AS_OF = datetime.date(2026, 6, 30)
COMPANIES = [("DE01", "EUR"), ("US01", "USD"), ("GB01", "GBP")]
# document currencies besides the company's; JPY has no rate at all -> quarantined rows
FOREIGN = ["EUR", "USD", "GBP", "CHF", "JPY"]


# ---------------------------------------------------------------------------- synthetic data

def _ids(prefix: str, n: int) -> np.ndarray:
    return (prefix + pd.Series(np.arange(n)).astype(str).str.zfill(9)).to_numpy(dtype=object)


def _dates(day_offsets: np.ndarray) -> np.ndarray:
    base = np.datetime64(AS_OF, "D")
    return (base - day_offsets.astype("timedelta64[D]")).astype("datetime64[ns]")


def _currencies(rng: np.random.Generator, company_cur: np.ndarray, foreign_share: float) -> np.ndarray:
    n = len(company_cur)
    foreign = rng.random(n) < foreign_share
    pick = np.array(FOREIGN, dtype=object)[rng.choice(len(FOREIGN), n, p=[0.3, 0.3, 0.2, 0.1995, 0.0005])]
    return np.where(foreign, pick, company_cur)


def build_extract(n_customers: int, items_per: int, orders_per: int, payments_per: int, seed: int) -> Extract:
    """Synthetic frames shaped as the SPEC §3 contracts; rows in random customer order."""
    rng = np.random.default_rng(seed)
    comp_names = np.array([c for c, _ in COMPANIES], dtype=object)
    comp_curs = np.array([k for _, k in COMPANIES], dtype=object)
    companies = pd.DataFrame({"company": comp_names, "currency": comp_curs})

    c_comp = rng.integers(0, len(COMPANIES), n_customers)
    cust_ids = _ids("C", n_customers)
    limit = np.round(rng.choice([0.0, 5_000.0, 20_000.0, 100_000.0], n_customers), 2)
    limit_null = rng.random(n_customers) < 0.1
    insured = np.where(rng.random(n_customers) < 0.5, np.nan, limit * 0.8)
    rating = pd.array(rng.integers(1, 11, n_customers), dtype="Int64")
    rating[rng.random(n_customers) < 0.3] = pd.NA
    customers = pd.DataFrame({
        "company": comp_names[c_comp],
        "customer_id": cust_ids,
        "name": cust_ids,
        "country": np.array(["DE", "US", "GB", None], dtype=object)[rng.integers(0, 4, n_customers)],
        "currency": comp_curs[c_comp],
        "credit_limit": np.where(limit_null, np.nan, limit),
        "payment_terms_days": rng.choice([0, 14, 30, 60], n_customers).astype(np.int64),
        "customer_since": _dates(rng.integers(0, 4000, n_customers)),
        "segment": np.array(["retail", "wholesale", None], dtype=object)[rng.integers(0, 3, n_customers)],
        "insured_limit": insured,
        "external_rating": rating,
        "is_blocked": rng.random(n_customers) < 0.02,
        "on_prepayment": rng.random(n_customers) < 0.02,
    })

    def rows_for(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        who = rng.integers(0, n_customers, count)
        return comp_names[c_comp[who]], cust_ids[who], comp_curs[c_comp[who]]

    n_items = n_customers * items_per
    comp, cust, ccur = rows_for(n_items)
    doc_type = np.array(["invoice", "credit_note", "payment_on_account", "debit_note"], dtype=object)[
        rng.choice(4, n_items, p=[0.86, 0.07, 0.04, 0.03])]
    sign = np.where((doc_type == "credit_note") | (doc_type == "payment_on_account"), -1.0, 1.0)
    amount = np.round(rng.lognormal(6.0, 1.2, n_items), 2) * sign
    open_amount = np.round(amount * rng.choice([1.0, 1.0, 0.5, 0.25], n_items), 2)
    doc_off = rng.integers(0, 420, n_items)
    term = rng.choice([0, 14, 30, 60], n_items)
    open_items = pd.DataFrame({
        "company": comp, "item_id": _ids("I", n_items), "customer_id": cust, "doc_type": doc_type,
        "doc_date": _dates(doc_off), "due_date": _dates(doc_off - term), "amount": amount,
        "open_amount": open_amount, "currency": _currencies(rng, ccur, 0.1),
        "dunning_level": rng.choice([0, 0, 0, 1, 2, 3], n_items).astype(np.int64),
    })
    del comp, cust, ccur, doc_type, sign, amount, open_amount, doc_off, term

    n_orders = n_customers * orders_per
    comp, cust, ccur = rows_for(n_orders)
    open_orders = pd.DataFrame({
        "company": comp, "order_id": _ids("O", n_orders), "customer_id": cust,
        "order_date": _dates(rng.integers(0, 60, n_orders)),
        "open_amount": np.round(rng.lognormal(6.0, 1.0, n_orders), 2),
        "currency": _currencies(rng, ccur, 0.1), "on_hold": rng.random(n_orders) < 0.05,
    })

    n_pay = n_customers * payments_per
    comp, cust, ccur = rows_for(n_pay)
    doc_off = rng.integers(0, 450, n_pay)
    due_off = doc_off - rng.choice([0, 14, 30, 60], n_pay)
    paid_off = due_off - rng.integers(-15, 75, n_pay)
    payments = pd.DataFrame({
        "company": comp, "item_id": _ids("P", n_pay), "customer_id": cust,
        "doc_date": _dates(doc_off), "due_date": _dates(due_off), "paid_date": _dates(paid_off),
        "amount": np.round(rng.lognormal(6.0, 1.2, n_pay), 2) + 0.01,
        "currency": _currencies(rng, ccur, 0.1),
    })

    days = np.arange(0, 400, 1)
    pairs = [("USD", "EUR", 0.92), ("GBP", "EUR", 1.17), ("CHF", "EUR", 1.04),
             ("EUR", "USD", 1.09), ("GBP", "USD", 1.27), ("USD", "CHF", 0.88), ("CHF", "GBP", 0.89), ("EUR", "GBP", 0.85)]
    fx = pd.concat([pd.DataFrame({
        "from_currency": f, "to_currency": t,
        "rate": np.round(r * (1 + 0.02 * np.sin(days / 30.0)), 6),
        "as_of": _dates(days - 5),  # a few rates dated after as_of: must not be used
    }) for f, t, r in pairs], ignore_index=True)
    return Extract(companies=companies, customers=customers, open_items=open_items,
                   open_orders=open_orders, payments=payments, fx_rates=fx)


# ---------------------------------------------------------------------------- DuckDB baseline

def duckdb_sql(as_of: datetime.date) -> str:
    a = f"TIMESTAMP '{as_of.isoformat()}'"
    return f"""
WITH latest AS (
    SELECT from_currency, to_currency, arg_max(rate, as_of) AS rate
    FROM fx_rates WHERE as_of <= {a} GROUP BY ALL
),
cur AS (
    SELECT from_currency AS currency FROM latest UNION SELECT to_currency FROM latest
    UNION SELECT currency FROM companies
),
pair AS (
    SELECT c.company, k.currency AS doc_currency,
           CASE WHEN k.currency = c.currency THEN 1.0 ELSE coalesce(d.rate, 1.0 / i.rate) END AS rate
    FROM companies c CROSS JOIN cur k
    LEFT JOIN latest d ON d.from_currency = k.currency AND d.to_currency = c.currency
    LEFT JOIN latest i ON i.from_currency = c.currency AND i.to_currency = k.currency
),
it AS (
    SELECT o.company, o.customer_id, o.doc_type, o.doc_date, o.dunning_level, p.rate,
           o.amount * p.rate AS amount_cc, o.open_amount * p.rate AS open_cc,
           date_diff('day', o.due_date, {a}) AS dpd
    FROM open_items o LEFT JOIN pair p ON p.company = o.company AND p.doc_currency = o.currency
),
ia AS (
    SELECT company, customer_id,
        sum(open_cc) AS open_ar,
        -sum(open_cc) FILTER (WHERE open_cc < 0) AS unapplied,
        sum(open_cc) FILTER (WHERE open_cc > 0 AND dpd <= 0) AS b0,
        sum(open_cc) FILTER (WHERE open_cc > 0 AND dpd BETWEEN 1 AND 30) AS b1,
        sum(open_cc) FILTER (WHERE open_cc > 0 AND dpd BETWEEN 31 AND 60) AS b2,
        sum(open_cc) FILTER (WHERE open_cc > 0 AND dpd BETWEEN 61 AND 90) AS b3,
        sum(open_cc) FILTER (WHERE open_cc > 0 AND dpd >= 91) AS b4,
        max(dpd) FILTER (WHERE open_cc > 0) AS max_dpd,
        max(dunning_level) FILTER (WHERE rate IS NOT NULL) AS max_dunning,
        sum(amount_cc) FILTER (WHERE doc_type = 'invoice' AND doc_date > {a} - INTERVAL 90 DAY
                               AND doc_date <= {a}) AS sales,
        bool_or(rate IS NULL) AS incomplete
    FROM it GROUP BY company, customer_id
),
oa AS (
    SELECT o.company, o.customer_id, sum(o.open_amount * p.rate) AS open_orders,
           bool_or(p.rate IS NULL) AS incomplete
    FROM open_orders o LEFT JOIN pair p ON p.company = o.company AND p.doc_currency = o.currency
    GROUP BY o.company, o.customer_id
),
pt AS (
    SELECT y.company, y.customer_id, p.rate, y.amount * p.rate AS w, y.doc_date,
           greatest(date_diff('day', y.due_date, y.paid_date), 0) AS late,
           y.paid_date > {a} - INTERVAL 365 DAY AND y.paid_date <= {a} AS in_year,
           y.paid_date > {a} - INTERVAL 90 DAY AND y.paid_date <= {a} AS in_recent
    FROM payments y LEFT JOIN pair p ON p.company = y.company AND p.doc_currency = y.currency
),
pa AS (
    SELECT company, customer_id,
        count(w) FILTER (WHERE in_year) AS n_year,
        sum(w * late) FILTER (WHERE in_year) / sum(w) FILTER (WHERE in_year) AS m_year,
        count(w) FILTER (WHERE in_recent) AS n_recent,
        sum(w * late) FILTER (WHERE in_recent) / sum(w) FILTER (WHERE in_recent) AS m_recent,
        count(w) FILTER (WHERE in_year AND NOT in_recent) AS n_older,
        sum(w * late) FILTER (WHERE in_year AND NOT in_recent)
            / sum(w) FILTER (WHERE in_year AND NOT in_recent) AS m_older,
        sum(w) FILTER (WHERE doc_date > {a} - INTERVAL 90 DAY AND doc_date <= {a}) AS sales,
        bool_or(rate IS NULL) AS incomplete
    FROM pt GROUP BY company, customer_id
),
base AS (
    SELECT c.*, date_diff('day', c.customer_since, {a}) AS customer_age_days,
        round(coalesce(ia.open_ar, 0), 2) AS open_ar,
        round(coalesce(ia.unapplied, 0), 2) AS unapplied_credits,
        round(coalesce(ia.b0, 0), 2) AS not_due,
        round(coalesce(ia.b1, 0), 2) AS overdue_1_30,
        round(coalesce(ia.b2, 0), 2) AS overdue_31_60,
        round(coalesce(ia.b3, 0), 2) AS overdue_61_90,
        round(coalesce(ia.b4, 0), 2) AS overdue_91_plus,
        greatest(coalesce(ia.max_dpd, 0), 0) AS max_days_overdue,
        coalesce(ia.max_dunning, 0) AS max_dunning_level,
        round(coalesce(oa.open_orders, 0), 2) AS open_orders_amount,
        round(coalesce(pa.m_year, 0), 6) AS avg_days_late,
        coalesce(pa.n_year, 0) AS paid_items_365,
        round(CASE WHEN pa.n_recent > 0 AND pa.n_older > 0 THEN pa.m_recent - pa.m_older ELSE 0 END, 6)
            AS late_trend,
        round(coalesce(ia.sales, 0) + coalesce(pa.sales, 0), 2) AS sales_90,
        coalesce(ia.incomplete, false) OR coalesce(oa.incomplete, false) OR coalesce(pa.incomplete, false)
            OR c.company NOT IN (SELECT company FROM companies) AS data_incomplete
    FROM customers c
    LEFT JOIN ia ON ia.company = c.company AND ia.customer_id = c.customer_id
    LEFT JOIN oa ON oa.company = c.company AND oa.customer_id = c.customer_id
    LEFT JOIN pa ON pa.company = c.company AND pa.customer_id = c.customer_id
),
d AS (
    SELECT *, round(overdue_1_30 + overdue_31_60 + overdue_61_90 + overdue_91_plus, 2) AS overdue_amount,
           round(open_ar + open_orders_amount, 2) AS exposure
    FROM base
)
SELECT company, customer_id, currency, country, segment, credit_limit, insured_limit, external_rating,
       payment_terms_days, is_blocked, on_prepayment, customer_age_days,
       open_ar, unapplied_credits, not_due, overdue_1_30, overdue_31_60, overdue_61_90, overdue_91_plus,
       overdue_amount, max_days_overdue, max_dunning_level, open_orders_amount, exposure,
       CASE WHEN credit_limit IS NOT NULL THEN round(greatest(exposure - credit_limit, 0), 2) END
           AS over_limit_amount,
       CASE WHEN credit_limit <> 0 THEN exposure / credit_limit END AS utilisation,
       round(greatest(exposure - coalesce(insured_limit, 0), 0), 2) AS uninsured_exposure,
       avg_days_late, paid_items_365, paid_items_365 > 0 AS has_payment_history, late_trend,
       sales_90, CASE WHEN sales_90 <> 0 THEN open_ar / sales_90 * 90 END AS dso, data_incomplete
FROM d ORDER BY company, customer_id
"""


def run_duckdb(extract: Extract, as_of: datetime.date, threads: int | None = None) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads TO {int(threads)}")
    for name, frame in extract.frames().items():
        con.register(name, frame)
    result = con.execute(duckdb_sql(as_of)).df()
    con.close()
    return result


# ---------------------------------------------------------------------------- measurement

def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Give freed heap back to the OS (so RSS is what is live), then reset the VmHWM peak."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def compare(pandas_positions: pd.DataFrame, duck: pd.DataFrame) -> dict[str, object]:
    """Field-by-field comparison: money within a cent, counts and flags exact, nulls alike."""
    p = pandas_positions.reset_index(drop=True)
    d = duck.reset_index(drop=True)
    problems: dict[str, int] = {}
    if len(p) != len(d) or not (p["customer_id"].to_numpy() == d["customer_id"].to_numpy()).all():
        return {"ok": False, "problems": {"rows": abs(len(p) - len(d)) or -1}}
    for col in POSITION_COLUMNS:
        a, b = p[col], d[col]
        if pd.api.types.is_float_dtype(a.dtype):
            x = a.to_numpy(dtype=float, na_value=np.nan)
            y = pd.to_numeric(b, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            xv, yv = np.nan_to_num(x), np.nan_to_num(y)
            if col == "dso":  # open_ar / sales_90 * 90: a cent on either sum moves it by this much
                ar = np.abs(p["open_ar"].to_numpy())
                sales = np.maximum(np.abs(p["sales_90"].fillna(0).to_numpy()), 0.01)
                tol = 90 * 0.0100001 * (1 / sales + ar / sales**2) + 1e-9 * np.abs(xv)
            elif col == "utilisation":  # exposure / credit_limit
                limit = np.maximum(np.abs(p["credit_limit"].fillna(0).to_numpy()), 0.01)
                tol = 0.0100001 / limit + 1e-9 * np.abs(xv)
            elif col in ("avg_days_late", "late_trend"):  # rounded to 6 decimals
                tol = 2e-6
            else:  # money: within a cent (both round, but sum in different orders)
                tol = 0.0100001
            diff = (np.isnan(x) != np.isnan(y)) | (np.abs(xv - yv) > tol)
        else:
            diff = ~(a.astype(object).fillna("<NA>").astype(str).to_numpy()
                      == b.astype(object).fillna("<NA>").astype(str).to_numpy())
        bad = int(np.sum(diff))
        if bad:
            problems[col] = bad
    return {"ok": not problems, "problems": problems}


def stage_main(args: argparse.Namespace) -> dict[str, object]:
    t0 = time.perf_counter()
    extract = build_extract(args.customers, args.items_per_customer, args.orders_per_customer,
                            args.payments_per_customer, args.seed)
    build_s = time.perf_counter() - t0
    reset = _reset_peak()
    rss_before = _status_kb("VmRSS")
    extra: dict[str, object] = {}
    walls = []
    for _ in range(1 if args.stage == "verify" else args.repeat):
        t0 = time.perf_counter()
        if args.stage == "pandas":
            result = compute_positions(extract, AS_OF)
            extra = {"positions": len(result.positions), "quarantined_rows": len(result.quarantine),
                     "data_incomplete": int(result.positions["data_incomplete"].sum())}
        elif args.stage == "duckdb":
            out = run_duckdb(extract, AS_OF, args.threads)
            extra = {"positions": len(out)}
        elif args.stage == "verify":
            result = compute_positions(extract, AS_OF)
            extra = compare(result.positions, run_duckdb(extract, AS_OF, args.threads))
        walls.append(time.perf_counter() - t0)
        result = out = None  # type: ignore[assignment]
    peak = _status_kb("VmHWM")
    return {
        "stage": args.stage, "wall_s": round(min(walls), 3), "wall_runs_s": [round(w, 3) for w in walls],
        "build_s": round(build_s, 3),
        "rss_before_mb": round(rss_before / 1024, 1),
        "peak_rss_mb": round(peak / 1024, 1) if reset else None,
        "stage_extra_mb": round((peak - rss_before) / 1024, 1) if reset else None,
        "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **extra,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--items-per-customer", type=int, default=20)
    ap.add_argument("--orders-per-customer", type=int, default=2)
    ap.add_argument("--payments-per-customer", type=int, default=12, help="a year of cleared invoices")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="runs per stage; wall_s is the fastest (shared box)")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: DuckDB's, all cores)")
    ap.add_argument("--verify", type=int, default=None,
                    help="also compare pandas and DuckDB results (1/0; default on up to 200k customers)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "positions.json")
    ap.add_argument("--stage", choices=["pandas", "duckdb", "verify"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.stage:
        print(json.dumps(stage_main(args)))
        return 0

    verify = args.verify if args.verify is not None else int(args.customers <= 200_000)
    stages = ["pandas", "duckdb"] + (["verify"] if verify else [])
    base = [sys.executable, str(Path(__file__).resolve()), "--customers", str(args.customers),
            "--items-per-customer", str(args.items_per_customer),
            "--orders-per-customer", str(args.orders_per_customer),
            "--payments-per-customer", str(args.payments_per_customer), "--seed", str(args.seed),
            "--repeat", str(args.repeat)]
    if args.threads:
        base += ["--threads", str(args.threads)]
    results: dict[str, object] = {}
    for stage in stages:
        proc = subprocess.run([*base, "--stage", stage], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            results[stage] = {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
        else:
            results[stage] = json.loads(proc.stdout.strip().splitlines()[-1])
    pandas_s = results.get("pandas", {}).get("wall_s")
    duck_s = results.get("duckdb", {}).get("wall_s")
    import duckdb

    report = {
        "benchmark": "positions",
        "as_of": AS_OF.isoformat(),
        "customers": args.customers,
        "open_items": args.customers * args.items_per_customer,
        "open_orders": args.customers * args.orders_per_customer,
        "payments": args.customers * args.payments_per_customer,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "pandas": pd.__version__, "numpy": np.__version__, "duckdb": duckdb.__version__},
        "measures": "wall_s = fastest of wall_runs_s, stage wall time on prebuilt frames; peak_rss_mb = VmHWM during the "
                    "stage (reset via clear_refs), frames included; stage_extra_mb = peak - RSS before",
        "stages": results,
        "pandas_vs_duckdb": round(pandas_s / duck_s, 2) if pandas_s and duck_s else None,
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(report, indent=2))
    # the results file keeps the latest run per customer count: {"runs": {"100000": {...}, ...}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        saved = json.loads(args.out.read_text())
    except (OSError, ValueError):
        saved = {}
    runs = saved.get("runs", {}) if isinstance(saved, dict) else {}
    runs[str(args.customers)] = report
    args.out.write_text(json.dumps({"benchmark": "positions", "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
