"""The demo ERP: a SQLite file with the ERPNext schema and deterministic, realistic data.

``generate_demo_erp(path, customers, as_of, seed)`` writes it; ``DemoConnector(path)`` is the
ERPNext connector on it (reads and writes exactly as on a real ERPNext).

Everything is drawn from ``numpy.random.default_rng(seed)`` in a fixed order and dated
relative to ``as_of`` (no wall clock), so the same arguments give the same table contents.
Generation is vectorised; rows are bulk-inserted with executemany.

The mix (shares of ``customers``; each at least one customer):

* healthy (~72%): pay around the due date, exposure well within the limit;
* chronic late payers (10%): pay 30-60 days late on average, open items < 90 days overdue;
* over limit (6%): exposure (open items + open orders) 110-150% of their own limit;
* new (6%): created < 90 days ago, no paid invoices yet;
* seriously overdue (2.5%): one to three invoices 95-220 days overdue (dunned three times);
  about half of them already blocked (``is_frozen``) by a person;
* on prepayment terms (3%): payment terms template "Prepayment" (0 days).

Across them: two companies (Demo GmbH in EUR, Demo Inc in USD), foreign-currency customers
(GBP/CHF/USD for the GmbH, EUR/CAD for the Inc) with weekly ``tabCurrency Exchange`` rates over
66 weeks, installment terms (payment schedule of 2 or 3 rows), partial payments, credit notes
(against open invoices and standalone open ones), unallocated payments on account, dunnings,
customers on their group's limit only, customers with limit 0 (= no limit), orders put on hold
by a person (with a comment), closed / completed / draft / cancelled orders, and about 15
months of history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, event, insert

from connectors.erpnext import ErpNextConnector
from connectors.erpnext import schema as t
from etl.ports import ConnectorError

COMPANIES = [("Demo GmbH", "EUR", "Germany"), ("Demo Inc", "USD", "United States")]
#: the demo ERP's company names (erp.companies of the demo run config)
DEMO_COMPANIES = tuple(c[0] for c in COMPANIES)
GROUPS = ["Retail", "Wholesale", "Construction", "Public Sector"]
#: group limits per company (company currency); Public Sector has none, Construction only in the GmbH
GROUP_LIMITS = {
    ("Demo GmbH", "Retail"): 20_000, ("Demo GmbH", "Wholesale"): 100_000, ("Demo GmbH", "Construction"): 50_000,
    ("Demo Inc", "Retail"): 25_000, ("Demo Inc", "Wholesale"): 120_000,
}
TERMS = {  # template -> credit_days of its rows (several rows = installments)
    "Net 14": [14], "Net 30": [30], "Net 60": [60], "Prepayment": [0],
    "Installments 30/60": [30, 60], "Installments 30/60/90": [30, 60, 90],
}
PREPAYMENT = "Prepayment"
PROFILES = ["healthy", "late", "over_limit", "new", "severe", "prepayment"]
SHARES = {"late": 0.10, "over_limit": 0.06, "new": 0.06, "severe": 0.025, "prepayment": 0.03}
#: base rates (units of company currency per unit) of the foreign currencies, per company
FX_BASE = {("GBP", "EUR"): 1.17, ("CHF", "EUR"): 1.05, ("USD", "EUR"): 0.92, ("EUR", "USD"): 1.09,
           ("CAD", "USD"): 0.73}
FX_WEEKS = 66
HISTORY_DAYS = 455
DUNNING_TYPES = ["First Notice", "Second Notice", "Final Notice"]
COUNTRY_OF = {"EUR": "Germany", "USD": "United States", "GBP": "United Kingdom", "CHF": "Switzerland",
              "CAD": "Canada"}

_SURNAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Anderson", "Thomas", "Moore",
    "Martin", "Jackson", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "O'Neill",
]
_TRADES = ["Bau", "Handel", "Technik", "Logistik", "Elektro", "Metall", "Holz", "Food", "Supply", "Systems",
           "Trading", "Services", "Industries", "Partners"]
_FORMS = [["GmbH", "AG", "KG", "GmbH & Co. KG", "e.K."], ["Inc", "LLC", "Corp", "Co."]]


def _hashes(start: int, count: int) -> list[str]:
    """Frappe-looking 10-hex-digit names, unique and deterministic (odd multiplier mod 2**40)."""
    return [format((i * 0x9E3779B1) % (1 << 40), "010x") for i in range(start, start + count)]


def _series_names(prefix: str, days: np.ndarray, as_of: np.datetime64, order: np.ndarray | None = None) -> np.ndarray:
    """ERPNext naming-series names ``<prefix>-<YYYY>-<#####>``, numbered by date within each year."""
    n = len(days)
    order = np.lexsort((np.arange(n), days)) if order is None else order
    years = (as_of + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970
    seq = pd.Series(years[order]).groupby(years[order]).cumcount().to_numpy() + 1
    names = np.empty(n, dtype=object)
    names[order] = [f"{prefix}-{y}-{s:05d}" for y, s in zip(years[order], seq, strict=True)]
    return names


def _dates(as_of: np.datetime64, days: np.ndarray) -> list[date]:
    return (as_of + np.asarray(days, dtype="int64").astype("timedelta64[D]")).tolist()


def _records(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Column arrays -> executemany parameter dicts of Python values."""
    keys = list(columns)
    n = max((len(v) for v in columns.values() if not np.isscalar(v) and v is not None), default=0)
    cols = []
    for key in keys:
        value = columns[key]
        if value is None or np.isscalar(value):
            cols.append([value] * n)
        elif isinstance(value, np.ndarray):
            cols.append(value.tolist())
        else:
            cols.append(list(value))
    return [dict(zip(keys, row, strict=True)) for row in zip(*cols, strict=True)]


@dataclass
class _Rows:
    """Accumulates rows per table, inserted at the end in a fixed order."""

    tables: dict[str, list[dict[str, Any]]]

    def add(self, table: str, columns: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).extend(_records(columns))


def generate_demo_erp(path: Path, customers: int = 2000, as_of: date | None = None, seed: int = 7) -> Path:
    """Create a fresh demo ERP (SQLite, ERPNext schema) at ``path``; returns ``path``.

    ``as_of`` is required (the data is dated relative to it; no wall clock is read).
    """
    if as_of is None:
        raise TypeError("generate_demo_erp: as_of is required (the demo data is dated relative to it)")
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if customers < 20:
        raise ValueError("generate_demo_erp: use at least 20 customers (the mix needs them)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    rows = _build(np.random.default_rng(seed), int(customers), np.datetime64(as_of, "D"))

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn, _record):  # a throwaway file being built: no journal needed
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    t.create_all(engine)
    with engine.begin() as conn:
        for table in t.metadata.sorted_tables:
            data = rows.tables.get(table.name)
            if data:
                conn.execute(insert(table), data)
    engine.dispose()
    return path


def _build(rng: np.random.Generator, n: int, as_of: np.datetime64) -> _Rows:
    rows = _Rows({})
    company_names = [c[0] for c in COMPANIES]
    company_cur = np.array([c[1] for c in COMPANIES], dtype=object)

    # ---------------------------------------------------------------- fx rates (weekly, 66 weeks)
    pairs = list(FX_BASE)
    week_days = -7 * np.arange(FX_WEEKS, -1, -1)  # -462 .. 0
    steps = rng.normal(0.0, 0.006, size=(len(pairs), len(week_days)))
    rates = np.round(np.array([FX_BASE[p] for p in pairs])[:, None] * np.exp(np.cumsum(steps, axis=1)
                                                                              - steps[:, :1]), 6)
    pair_index = {p: i for i, p in enumerate(pairs)}

    def fx(cur: np.ndarray, comp: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Company-currency units per unit of ``cur`` on ``day`` (latest weekly rate on or before)."""
        out = np.ones(len(cur))
        week = np.clip((np.asarray(day) - week_days[0]) // 7, 0, len(week_days) - 1)
        comp_cur = company_cur[comp]
        for (src, dst), i in pair_index.items():
            m = (cur == src) & (comp_cur == dst)
            out[m] = rates[i, week[m]]
        return out

    cx_from = np.repeat([p[0] for p in pairs], len(week_days))
    cx_to = np.repeat([p[1] for p in pairs], len(week_days))
    cx_day = np.tile(week_days, len(pairs))
    cx_dates = _dates(as_of, cx_day)
    rows.add("tabCurrency Exchange", {
        "name": [f"{d.isoformat()}-{a}-{b}" for d, a, b in zip(cx_dates, cx_from, cx_to, strict=True)],
        "date": cx_dates, "from_currency": cx_from, "to_currency": cx_to, "exchange_rate": rates.ravel(),
        "for_buying": 1, "for_selling": 1,
    })

    # ---------------------------------------------------------------- masters
    rows.add("tabCompany", {"name": company_names, "default_currency": list(company_cur),
                            "country": [c[2] for c in COMPANIES], "credit_limit": 0})
    rows.add("tabCustomer Group", {"name": ["All Customer Groups", *GROUPS]})
    rows.add("tabPayment Terms Template", {"name": list(TERMS)})
    det_parent = [name for name, days in TERMS.items() for _ in days]
    det_days = [d for days in TERMS.values() for d in days]
    det_idx = [i + 1 for days in TERMS.values() for i in range(len(days))]
    rows.add("tabPayment Terms Template Detail", {
        "name": _hashes(1, len(det_parent)), "parent": det_parent, "parenttype": "Payment Terms Template",
        "parentfield": "terms", "idx": det_idx, "credit_days": det_days,
    })

    # ---------------------------------------------------------------- customers
    counts = {p: max(1, round(s * n)) for p, s in SHARES.items()}
    counts = {"healthy": n - sum(counts.values()), **counts}
    profile = rng.permutation(np.repeat(np.arange(len(PROFILES)), [counts[p] for p in PROFILES]))
    prof = {p: profile == i for i, p in enumerate(PROFILES)}
    comp = np.zeros(n, dtype=int)
    comp[rng.permutation(n)[: round(0.4 * n)]] = 1
    cust_ids = np.array([f"CUST-{i + 1:05d}" for i in range(n)], dtype=object)

    names = (np.array(_SURNAMES, dtype=object)[rng.integers(0, len(_SURNAMES), n)] + " "
             + np.array(_TRADES, dtype=object)[rng.integers(0, len(_TRADES), n)] + " ")
    form_pick = rng.integers(0, 5, n)
    forms = np.array([_FORMS[c][f % len(_FORMS[c])] for c, f in zip(comp, form_pick, strict=True)], dtype=object)
    names = names + forms

    # billing currency: some foreign customers (not new / prepayment / over-limit: keeps those exact)
    foreign_ok = ~(prof["new"] | prof["prepayment"] | prof["over_limit"])
    u = rng.random(n)
    pick = rng.random(n)
    currency = company_cur[comp].copy()
    de_foreign = foreign_ok & (comp == 0) & (u < 0.10)
    us_foreign = foreign_ok & (comp == 1) & (u < 0.06)
    currency[de_foreign] = np.where(pick[de_foreign] < 0.4, "GBP", np.where(pick[de_foreign] < 0.7, "CHF", "USD"))
    currency[us_foreign] = np.where(pick[us_foreign] < 0.6, "EUR", "CAD")
    foreign = currency != company_cur[comp]
    default_currency = np.where(foreign | (rng.random(n) < 0.3), currency, None)

    group = np.array(GROUPS, dtype=object)[rng.choice(len(GROUPS), n, p=[0.4, 0.3, 0.2, 0.1])]
    term_names = np.array(list(TERMS), dtype=object)
    terms = term_names[rng.choice(len(TERMS), n, p=[0.27, 0.50, 0.15, 0.0, 0.05, 0.03])]
    terms[prof["new"]] = np.where(rng.random(prof["new"].sum()) < 0.5, "Net 14", "Net 30")
    terms[prof["prepayment"]] = PREPAYMENT
    term_days = np.array([max(TERMS[x]) for x in terms])

    created = np.where(prof["new"], -rng.integers(5, 86, n), -rng.integers(470, 2600, n))
    created_at = (as_of + created.astype("timedelta64[D]")).astype("datetime64[s]") + \
        rng.integers(8 * 3600, 18 * 3600, n).astype("timedelta64[s]")

    size = np.exp(rng.normal(np.log(1500.0), 0.8, n)) * np.select(
        [group == "Wholesale", group == "Public Sector"], [2.0, 1.5], 1.0)
    freq = rng.uniform(0.3, 1.5, n)  # invoices per 30 days

    mu = np.select(
        [prof["late"], prof["severe"], prof["over_limit"], prof["prepayment"]],
        [rng.uniform(30, 60, n), rng.uniform(15, 40, n), rng.uniform(0, 15, n), np.zeros(n)],
        rng.uniform(-3, 6, n),
    )
    sd = np.select([prof["late"], prof["severe"]], [10.0, 10.0], 4.0)
    late_cap = np.select([prof["late"] | prof["severe"], prof["prepayment"]], [80, 0], 25)

    # ---------------------------------------------------------------- invoices
    start = np.maximum(created, -HISTORY_DAYS)
    span = -start
    n_inv = np.where(prof["new"], rng.integers(1, 3, n), np.maximum(2, rng.poisson(freq * span / 30.0)))
    inv_c = np.repeat(np.arange(n), n_inv)
    new_start = np.maximum(created, -25)
    lo = np.where(prof["new"], new_start, start)[inv_c]
    posting = lo + np.floor(rng.random(len(inv_c)) * (1 - lo)).astype(int)

    # seriously overdue customers: 1-3 extra invoices 95-220 days overdue, still open
    n_old = np.where(prof["severe"], rng.integers(1, 4, n), 0)
    old_c = np.repeat(np.arange(n), n_old)
    old_due = -rng.integers(95, 221, len(old_c))
    old_post = old_due - term_days[old_c]
    inv_c = np.concatenate([inv_c, old_c])
    posting = np.concatenate([posting, old_post])
    forced_open = np.concatenate([np.zeros(len(posting) - len(old_c), bool), np.ones(len(old_c), bool)])

    order = np.lexsort((inv_c, posting))
    inv_c, posting, forced_open = inv_c[order], posting[order], forced_open[order]
    m = len(inv_c)
    inv_names = _series_names("ACC-SINV", posting, as_of)
    inv_comp = comp[inv_c]
    inv_cur = currency[inv_c]
    rate = fx(inv_cur, inv_comp, posting)
    base_amount = np.round(size[inv_c] * rng.lognormal(0.0, 0.5, m), 2)
    grand = np.round(base_amount / rate, 2)
    base_grand = np.round(grand * rate, 2)
    inv_terms = terms[inv_c]
    due = posting + term_days[inv_c]
    late = np.clip(np.rint(rng.normal(mu[inv_c], sd[inv_c])), -term_days[inv_c], late_cap[inv_c]).astype(int)
    late[prof["prepayment"][inv_c]] = 0
    never_paid = forced_open | prof["new"][inv_c]

    # schedule rows (every ERPNext invoice with terms has one; installment templates 2-3)
    k_inst = np.array([len(TERMS[x]) for x in inv_terms])
    ps_inv = np.repeat(np.arange(m), k_inst)
    ps_idx = np.concatenate([np.arange(1, k + 1) for k in k_inst]) if m else np.zeros(0, int)
    ps_days = np.array([TERMS[inv_terms[i]][j - 1] for i, j in zip(ps_inv, ps_idx, strict=True)])
    ps_due = posting[ps_inv] + ps_days
    ps_amount = np.round(grand[ps_inv] / k_inst[ps_inv], 2)
    last_row = ps_idx == k_inst[ps_inv]
    first_rows = np.bincount(ps_inv, weights=np.where(last_row, 0.0, ps_amount), minlength=m)
    ps_amount = np.where(last_row, np.round(grand[ps_inv] - first_rows[ps_inv], 2), ps_amount)
    ps_paid_day = ps_due + late[ps_inv]
    ps_paid = (ps_paid_day <= 0) & ~never_paid[ps_inv]
    ps_names = _hashes(1_000_000, len(ps_inv))
    paid_sum = np.bincount(ps_inv, weights=np.where(ps_paid, ps_amount, 0.0), minlength=m)
    cleared = np.isclose(paid_sum, grand) & ~never_paid

    # payments: one Payment Entry per paid schedule row (a single row = the whole invoice)
    pay_rows = np.flatnonzero(ps_paid)
    pe_inv = ps_inv[pay_rows]
    pe_day = ps_paid_day[pay_rows]
    pe_amount = ps_amount[pay_rows]

    # partial payments of open single-row invoices (not new customers)
    open_single = ~cleared & (k_inst == 1) & ~prof["new"][inv_c] & (posting < 0)
    partial = open_single & (rng.random(m) < 0.12)
    part_inv = np.flatnonzero(partial)
    part_frac = rng.uniform(0.2, 0.7, len(part_inv))
    part_amount = np.round(grand[part_inv] * part_frac, 2)
    part_day = posting[part_inv] + np.floor(rng.random(len(part_inv)) * (-posting[part_inv])).astype(int) + 1
    part_day = np.minimum(part_day, 0)

    # credit notes against open invoices without a partial payment (reduce the invoice's outstanding)
    cn_open = open_single & ~partial & ~prof["over_limit"][inv_c] & (rng.random(m) < 0.05)
    cna_inv = np.flatnonzero(cn_open)
    cna_amount = -np.round(grand[cna_inv] * rng.uniform(0.1, 0.3, len(cna_inv)), 2)
    cna_day = np.minimum(posting[cna_inv] + np.floor(rng.random(len(cna_inv)) * (-posting[cna_inv])).astype(int)
                         + 1, 0)

    # standalone credit notes (own outstanding, open): ~2% of customers, against their last cleared invoice
    last_cleared = pd.Series(np.arange(m)[cleared]).groupby(inv_c[cleared]).max()
    eligible = last_cleared.index.to_numpy()
    eligible = eligible[~prof["over_limit"][eligible]]
    cns_cust = np.sort(rng.choice(eligible, size=min(len(eligible), max(1, round(0.02 * n))), replace=False)) \
        if len(eligible) else np.zeros(0, int)
    cns_orig = last_cleared.loc[cns_cust].to_numpy() if len(cns_cust) else np.zeros(0, int)
    cns_amount = -np.round(grand[cns_orig] * rng.uniform(0.1, 0.5, len(cns_orig)), 2)
    cns_day = -rng.integers(1, 46, len(cns_orig))

    cn_orig = np.concatenate([cna_inv, cns_orig])
    cn_amount = np.concatenate([cna_amount, cns_amount])
    cn_day = np.concatenate([cna_day, cns_day])
    cn_standalone = np.concatenate([np.zeros(len(cna_inv), bool), np.ones(len(cns_orig), bool)])
    cn_names = _series_names("ACC-SINV-RET", cn_day, as_of)
    cn_rate = rate[cn_orig]

    # unallocated payments on account: ~2% of established customers, in the last 30 days
    poa_pool = np.flatnonzero(~prof["new"] & ~prof["over_limit"])
    poa_cust = np.sort(rng.choice(poa_pool, size=min(len(poa_pool), max(1, round(0.02 * n))), replace=False))
    poa_day = -rng.integers(0, 31, len(poa_cust))
    poa_amount = -np.round(rng.uniform(100, 3000, len(poa_cust)), 2)
    poa_rate = fx(currency[poa_cust], comp[poa_cust], poa_day)

    # outstanding per invoice (document currency)
    outstanding = grand - paid_sum
    np.subtract.at(outstanding, part_inv, part_amount)
    np.add.at(outstanding, cna_inv, cna_amount)
    outstanding = np.round(outstanding, 2)

    inv_status = np.where(cleared, "Paid", np.where(due < 0, "Overdue", "Unpaid"))
    inv_status = np.where(~cleared & (paid_sum + np.bincount(part_inv, part_amount, m) > 0),
                          np.where(due < 0, "Overdue", "Partly Paid"), inv_status)
    rows.add("tabSales Invoice", {
        "name": np.concatenate([inv_names, cn_names]),
        "customer": np.concatenate([cust_ids[inv_c], cust_ids[inv_c[cn_orig]]]),
        "company": np.array(company_names, dtype=object)[np.concatenate([inv_comp, inv_comp[cn_orig]])],
        "posting_date": _dates(as_of, np.concatenate([posting, cn_day])),
        "due_date": _dates(as_of, np.concatenate([due, cn_day])),
        "currency": np.concatenate([inv_cur, inv_cur[cn_orig]]),
        "conversion_rate": np.concatenate([rate, cn_rate]),
        "grand_total": np.concatenate([grand, cn_amount]),
        "base_grand_total": np.concatenate([base_grand, np.round(cn_amount * cn_rate, 2)]),
        "outstanding_amount": np.concatenate([outstanding, np.where(cn_standalone, cn_amount, 0.0)]),
        "is_return": np.concatenate([np.zeros(m, int), np.ones(len(cn_orig), int)]),
        "return_against": np.concatenate([np.full(m, None, dtype=object), inv_names[cn_orig]]),
        "docstatus": 1,
        "status": np.concatenate([inv_status, np.full(len(cn_orig), "Return", dtype=object)]),
    })
    rows.add("tabPayment Schedule", {
        "name": ps_names, "parent": inv_names[ps_inv], "parenttype": "Sales Invoice",
        "parentfield": "payment_schedule", "idx": ps_idx, "due_date": _dates(as_of, ps_due),
        "payment_amount": ps_amount, "outstanding": np.where(ps_paid, 0.0, ps_amount),
        "paid_amount": np.where(ps_paid, ps_amount, 0.0),
        "base_payment_amount": np.round(ps_amount * rate[ps_inv], 2),
    })

    # payment ledger: invoices, payments (full / installment / partial), credit notes, on account
    n_pe = len(pe_inv) + len(part_inv)
    pe_all_inv = np.concatenate([pe_inv, part_inv])
    pe_all_day = np.concatenate([pe_day, part_day])
    pe_names = _series_names("ACC-PAY", np.concatenate([pe_all_day, poa_day]), as_of)
    poa_names = pe_names[n_pe:]
    pe_names = pe_names[:n_pe]
    pe_all_amount = -np.concatenate([pe_amount, part_amount])
    cn_against = np.where(cn_standalone, cn_names, inv_names[cn_orig])

    ple_vtype = np.concatenate([
        np.full(m, "Sales Invoice", dtype=object), np.full(n_pe, "Payment Entry", dtype=object),
        np.full(len(cn_orig), "Sales Invoice", dtype=object), np.full(len(poa_cust), "Payment Entry", dtype=object)])
    ple_vno = np.concatenate([inv_names, pe_names, cn_names, poa_names])
    ple_avno = np.concatenate([inv_names, inv_names[pe_all_inv], cn_against, poa_names])
    ple_avtype = np.concatenate([ple_vtype[:m], np.full(n_pe, "Sales Invoice", dtype=object),
                                 ple_vtype[m + n_pe:]])
    ple_cust = np.concatenate([inv_c, inv_c[pe_all_inv], inv_c[cn_orig], poa_cust])
    ple_day = np.concatenate([posting, pe_all_day, cn_day, poa_day])
    ple_acc = np.concatenate([grand, pe_all_amount, cn_amount, poa_amount])
    ple_rate = np.concatenate([rate, rate[pe_all_inv], cn_rate, poa_rate])
    ple_due = np.concatenate([due, due[pe_all_inv], cn_day, poa_day])
    rows.add("tabPayment Ledger Entry", {
        "name": _hashes(2_000_000, len(ple_vno)),
        "posting_date": _dates(as_of, ple_day),
        "company": np.array(company_names, dtype=object)[comp[ple_cust]],
        "account_type": "Receivable", "party_type": "Customer", "party": cust_ids[ple_cust],
        "voucher_type": ple_vtype, "voucher_no": ple_vno,
        "against_voucher_type": ple_avtype, "against_voucher_no": ple_avno,
        "amount": np.round(ple_acc * ple_rate, 2), "amount_in_account_currency": ple_acc,
        "account_currency": currency[ple_cust], "due_date": _dates(as_of, ple_due),
        "delinked": 0,
    })

    # ---------------------------------------------------------------- sales orders
    n_open = np.select([prof["over_limit"], prof["new"], prof["prepayment"]],
                       [1 + rng.poisson(1.0, n), np.ones(n, int), rng.poisson(0.3, n)], rng.poisson(0.7, n))
    n_done = rng.integers(0, 4, n) * ~prof["new"]
    so_c = np.concatenate([np.repeat(np.arange(n), n_open), np.repeat(np.arange(n), n_done)])
    so_open = np.concatenate([np.ones(n_open.sum(), bool), np.zeros(n_done.sum(), bool)])
    k = len(so_c)
    so_day = np.where(so_open, -rng.integers(0, 46, k), np.maximum(created[so_c], -HISTORY_DAYS)
                      + np.floor(rng.random(k) * np.minimum(-created[so_c], HISTORY_DAYS) * 0.9).astype(int))
    so_amount_base = np.round(size[so_c] * rng.lognormal(0.2, 0.5, k) * 1.5, 2)
    so_amount_base = np.where(prof["over_limit"][so_c] & so_open, so_amount_base * 2.5, so_amount_base)
    so_rate = fx(currency[so_c], comp[so_c], so_day)
    so_grand = np.round(so_amount_base / so_rate, 2)
    so_base = np.round(so_grand * so_rate, 2)
    r = rng.random(k)
    per_billed = np.where(so_open, np.where(r < 0.75, 0.0, np.round(rng.uniform(20, 80, k))), 100.0)
    per_delivered = np.where(so_open, np.where(per_billed > 0, 100.0, np.where(r < 0.15, 100.0, 0.0)), 100.0)
    status = np.where(per_delivered >= 100, "To Bill", "To Deliver and Bill").astype(object)
    status[~so_open] = "Completed"
    docstatus = np.ones(k, int)
    # a few closed, draft and cancelled orders
    odd = rng.random(k)
    closed = ~so_open & (odd < 0.06)
    status[closed], per_billed[closed], per_delivered[closed] = "Closed", 50.0, 50.0
    draft = so_open & (odd < 0.02)
    status[draft], docstatus[draft] = "Draft", 0
    cancelled = so_open & (odd >= 0.02) & (odd < 0.03)
    status[cancelled], docstatus[cancelled] = "Cancelled", 2
    # held by a person: a quarter of late / severe customers' open orders, a few others
    held_p = np.where((prof["late"] | prof["severe"])[so_c], 0.25, 0.01)
    held = so_open & (docstatus == 1) & (rng.random(k) < held_p)
    status[held] = "On Hold"
    so_order = np.lexsort((so_c, so_day))
    so_names = _series_names("SAL-ORD", so_day, as_of, order=so_order)
    rows.add("tabSales Order", {
        "name": so_names,
        "modified": (as_of + so_day.astype("timedelta64[D]")).astype("datetime64[s]").astype("datetime64[us]")
        + np.timedelta64(10, "h"),
        "customer": cust_ids[so_c], "company": np.array(company_names, dtype=object)[comp[so_c]],
        "transaction_date": _dates(as_of, so_day), "delivery_date": _dates(as_of, so_day + 21),
        "currency": currency[so_c], "grand_total": so_grand, "base_grand_total": so_base,
        "per_billed": per_billed, "per_delivered": per_delivered, "status": status, "docstatus": docstatus,
    })
    held_idx = np.flatnonzero(held)
    hold_at = (as_of + (so_day[held_idx] + 1).clip(max=0).astype("timedelta64[D]")).astype("datetime64[us]") \
        + np.timedelta64(9, "h")
    rows.add("tabComment", {
        "name": _hashes(3_000_000, len(held_idx)), "creation": hold_at, "modified": hold_at,
        "owner": "credit.manager@demo.example", "comment_type": "Comment",
        "reference_doctype": "Sales Order", "reference_name": so_names[held_idx],
        "content": "Reason for hold: waiting for overdue payments",
    })

    # ---------------------------------------------------------------- unbilled delivery notes
    # a few deliveries without an order (ERPNext counts them in the outstanding), some partly
    # invoiced; home-currency customers only. Their own generator: the other tables stay as they were
    drng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    dn_c = np.flatnonzero(~foreign & ~prof["new"] & (drng.random(n) < 0.04))
    dn_day = -drng.integers(1, 40, len(dn_c))
    dn_net = np.round(drng.uniform(300, 6000, len(dn_c)), 2)
    dn_grand = np.round(dn_net * 1.19, 2)
    dn_names = _series_names("MAT-DN", dn_day, as_of)
    dn_items = np.array(_hashes(6_000_000, len(dn_c)), dtype=object)
    rows.add("tabDelivery Note", {
        "name": dn_names, "customer": cust_ids[dn_c], "company": np.array(company_names, dtype=object)[comp[dn_c]],
        "posting_date": _dates(as_of, dn_day), "currency": currency[dn_c], "docstatus": 1, "status": "To Bill",
        "net_total": dn_net, "base_net_total": dn_net, "grand_total": dn_grand, "base_grand_total": dn_grand,
    })
    rows.add("tabDelivery Note Item", {
        "name": dn_items, "parent": dn_names, "parenttype": "Delivery Note", "parentfield": "items", "idx": 1,
        "amount": dn_net, "base_amount": dn_net, "docstatus": 1,
    })
    partly = np.flatnonzero(drng.random(len(dn_c)) < 0.4)
    rows.add("tabSales Invoice Item", {
        "name": _hashes(7_000_000, len(partly)), "parent": [f"{x}-INV" for x in dn_names[partly]],
        "parenttype": "Sales Invoice", "parentfield": "items", "idx": 1, "docstatus": 1,
        "dn_detail": dn_items[partly], "delivery_note": dn_names[partly], "amount": np.round(dn_net[partly] * 0.4, 2),
    })
    dn_open = dn_net.copy()
    dn_open[partly] -= np.round(dn_net[partly] * 0.4, 2)

    # ---------------------------------------------------------------- exposure -> credit limits
    exposure = np.bincount(inv_c, weights=outstanding * rate, minlength=n)
    exposure += np.bincount(dn_c, weights=dn_open / dn_net * dn_grand, minlength=n)
    exposure += np.bincount(inv_c[cn_orig], weights=np.where(cn_standalone, cn_amount * cn_rate, 0.0), minlength=n)
    exposure += np.bincount(poa_cust, weights=poa_amount * poa_rate, minlength=n)
    counts_open = so_open & (docstatus == 1) & (per_billed < 100)
    exposure += np.bincount(so_c, weights=np.where(counts_open, so_base * (100 - per_billed) / 100, 0.0), minlength=n)
    exposure = np.maximum(exposure, 0.0)

    def round_up(x: np.ndarray, step: float) -> np.ndarray:
        return np.ceil(x / step) * step

    limit = round_up(np.maximum(exposure * rng.uniform(1.6, 3.0, n), size * 6), 1000.0)
    limit = np.where(prof["late"], round_up(np.maximum(exposure * rng.uniform(1.15, 2.0, n), size * 3), 500.0), limit)
    limit = np.where(prof["severe"], round_up(np.maximum(exposure * rng.uniform(1.0, 2.0, n), size * 3), 500.0),
                     limit)
    over_ratio = rng.uniform(1.15, 1.45, n)
    limit = np.where(prof["over_limit"], np.maximum(100.0, np.floor(exposure / over_ratio / 100.0) * 100.0), limit)
    small = np.maximum(rng.uniform(2000, 10000, n), exposure * rng.uniform(1.3, 2.0, n))
    limit = np.where(prof["new"] | prof["prepayment"], round_up(small, 500.0), limit)

    group_limit = np.array([GROUP_LIMITS.get((company_names[c], g), 0) for c, g in zip(comp, group, strict=True)],
                           dtype=float)
    healthy_home = prof["healthy"] & ~foreign
    group_only = healthy_home & (group_limit > 0) & (exposure < 0.5 * group_limit) & (rng.random(n) < 0.25)
    no_limit = healthy_home & (group == "Public Sector") & (rng.random(n) < 0.4)
    limit = np.where(no_limit, 0.0, limit)
    own = ~group_only
    own_idx = np.flatnonzero(own)
    group_rows = [(g, c) for (c, g) in GROUP_LIMITS]
    rows.add("tabCustomer Credit Limit", {
        "name": _hashes(4_000_000, len(own_idx) + len(group_rows)),
        "creation": np.concatenate([created_at[own_idx].astype("datetime64[us]"),
                                    np.full(len(group_rows), created_at.min(), dtype="datetime64[us]")]),
        "modified": np.concatenate([created_at[own_idx].astype("datetime64[us]"),
                                    np.full(len(group_rows), created_at.min(), dtype="datetime64[us]")]),
        "parent": np.concatenate([cust_ids[own_idx], np.array([g for g, _ in group_rows], dtype=object)]),
        "parenttype": ["Customer"] * len(own_idx) + ["Customer Group"] * len(group_rows),
        "parentfield": "credit_limits", "idx": 1,
        "company": np.concatenate([np.array(company_names, dtype=object)[comp[own_idx]],
                                   np.array([c for _, c in group_rows], dtype=object)]),
        "credit_limit": np.concatenate([limit[own_idx], np.array([GROUP_LIMITS[(c, g)] for g, c in group_rows],
                                                                 dtype=float)]),
        "bypass_credit_limit_check": 0,
    })

    # ---------------------------------------------------------------- flags, dunning, customers
    frozen = np.zeros(n, bool)
    sev = np.flatnonzero(prof["severe"])
    frozen[sev[: max(1, len(sev) // 2)]] = True
    frozen |= prof["late"] & (rng.random(n) < 0.1)

    dpd = -due
    dun_level = np.where(~cleared & (outstanding > 0) & (k_inst == 1) & ~prof["new"][inv_c] & (dpd > 14),
                         1 + (dpd >= 45) + (dpd >= 75), 0)
    dun_level = np.where(prof["healthy"][inv_c] & (rng.random(m) < 0.7), 0, dun_level)
    dn_inv = np.repeat(np.arange(m), dun_level)
    dn_k = np.concatenate([np.arange(1, lvl + 1) for lvl in dun_level[dun_level > 0]]) if dun_level.any() \
        else np.zeros(0, int)
    dn_day = np.minimum(due[dn_inv] + 15 + 30 * (dn_k - 1), 0)
    dn_names = _series_names("DUNN", dn_day, as_of)
    rows.add("tabDunning", {
        "name": dn_names, "customer": cust_ids[inv_c[dn_inv]],
        "company": np.array(company_names, dtype=object)[inv_comp[dn_inv]],
        "posting_date": _dates(as_of, dn_day), "docstatus": 1,
        "dunning_type": np.array(DUNNING_TYPES, dtype=object)[dn_k - 1],
    })
    first_ps = np.searchsorted(ps_inv, dn_inv)  # single-row invoices: their one schedule row
    rows.add("tabOverdue Payment", {
        "name": _hashes(5_000_000, len(dn_inv)), "parent": dn_names, "parenttype": "Dunning",
        "parentfield": "overdue_payments", "idx": 1, "sales_invoice": inv_names[dn_inv],
        "payment_schedule": np.array(ps_names, dtype=object)[first_ps] if len(dn_inv) else [],
    })

    territory = np.array([COUNTRY_OF[c] for c in currency], dtype=object)
    rows.add("tabCustomer", {
        "name": cust_ids, "creation": created_at.astype("datetime64[us]"), "modified": created_at.astype("datetime64[us]"),
        "customer_name": names, "customer_group": group, "territory": territory,
        "default_currency": default_currency, "payment_terms": terms, "is_frozen": frozen.astype(int),
        "disabled": 0,
    })
    return rows


class DemoConnector(ErpNextConnector):
    """The ERPNext connector on the demo ERP file (``sqlite:///path``).

    No ERPNext application serves the demo file, so its plans are written by SQL, in one
    transaction per company (``write_via: sql``); against a live ERPNext site the erpnext
    connector writes through the site's REST API instead.
    """

    setting = "erp.options.path"
    extra_options = frozenset({"path"})
    default_write_via = "sql"

    def __init__(self, path: Path, options: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        super().__init__(f"sqlite:///{self.path}", options)

    def _check_target(self) -> None:
        if not self.path.is_file():
            raise ConnectorError(
                f"demo ERP not found at {self.path} (erp.options.path): generate it with `creditctl demo`"
            )
