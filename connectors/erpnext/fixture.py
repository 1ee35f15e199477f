"""Write canonical frames (an :class:`etl.extract.Extract`) into ERPNext (v15) tables.

Tests and benchmarks use it so the ERPNext connector is read on a real server (MariaDB through
``mysql+pymysql`` / ``mysql+pyodbc``, or SQLite) with the same business as every other ERP
(``connectors.synthetic``). The frames are turned into ERPNext documents with vectorised pandas
and bulk-inserted executemany-style, one statement per table; read back through
:class:`connectors.erpnext.ErpNextConnector` they give the same frames, except what ERPNext
cannot represent or reports otherwise:

* customers are global in ERPNext: a customer_id in several companies is one ``tabCustomer``
  (name, currency, terms, segment, block and creation of its first row); a credit limit is the
  customer's own ``tabCustomer Credit Limit`` row per company (0 = no limit, so every customer
  is active in its company);
* country, insured_limit and external_rating have no ERPNext field (read as null);
* payment terms are one template per day count (``Net <days>``); customers on prepayment get
  the prepayment template (0 days), whatever payment_terms_days said;
* an open item is a Sales Invoice (invoice, or credit note with ``is_return``), a Payment Entry
  (payment_on_account) or a Journal Entry (debit_note) with its Payment Ledger rows; what is
  already paid of it is one allocation entry dated on the document date. A document in a
  foreign currency is booked as ERPNext books it: ``amount_in_account_currency`` in its own
  currency (the party account's), ``amount`` in the company currency converted with the
  latest rate of the extract's fx rates, to the cent, entry by entry. The connector reports
  receivables in the company currency (ERPNext's Accounts Receivable report), so such an item
  reads back converted, in the company's currency (``read.read_open_items(...,
  in_party_currency=True)`` reads it back as it was). Company-currency items read back
  exactly; :func:`company_currency_extract` restates an extract's foreign items so that the
  whole extract does. ``<invoice>/<n>`` items are installments of one invoice with a payment schedule
  (``base_payment_amount`` the converted ``payment_amount``, the last row taking the rounding
  so the rows add up to the invoice's base total; payments not made by payment term, so no
  ``paid_amount`` on the rows): installments missing from the frame were paid and get the
  amount of the next open one (a lone ``/1`` a zero sibling); dunning levels become that many
  submitted Dunnings; items other than invoices carry none and fall due on their document date;
* a cleared invoice (payments) is a Sales Invoice fully allocated by one Payment Entry dated
  ``paid_date`` (history stays in the document currency, as the connector reads it);
* open orders are submitted Sales Orders, nothing billed yet (``status`` "On Hold" when held);
  their amount is ``grand_total`` in the order currency and ``base_grand_total`` converted with
  the latest rate into the company currency (the connector's default ``order_amounts: base``
  reads the extract back unchanged for orders in company currency);
* names are global in ERPNext: item and order ids must be unique across companies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, insert

from connectors.erpnext import schema as t
from etl.extract import Extract

DEFAULT_PREPAYMENT_TERMS = "Prepayment"
#: rows per executemany round trip
LOAD_CHUNK = 10_000
#: an allocation smaller than this is no allocation (the connector's tolerance)
_TOLERANCE = 0.005
_INSTALLMENT = r"^(?P<base>.+)/(?P<n>\d+)$"
#: columns that are datetime(6) in ERPNext (every other datetime64 column is a date)
_DATETIME_COLUMNS = {"creation", "modified"}


def load_extract(url: str, extract: Extract, *, create: bool = True,
                 prepayment_terms: str = DEFAULT_PREPAYMENT_TERMS) -> None:
    """Create the ERPNext tables (unless ``create`` is False) and write ``extract`` as ERPNext rows."""
    rows = build_rows(extract, prepayment_terms)
    engine = create_engine(url)
    try:
        if create:
            t.create_all(engine)
        with engine.begin() as conn:
            for table in t.metadata.sorted_tables:
                frame = rows.get(table.name)
                if frame is None or frame.empty:
                    continue
                for chunk in _records(frame):
                    conn.execute(insert(table), chunk)
    finally:
        engine.dispose()


def _records(frame: pd.DataFrame) -> Iterator[list[dict[str, Any]]]:
    """Driver-native parameter dicts (None for nulls, date / datetime objects), in chunks."""
    cols: dict[str, list] = {}
    for name in frame.columns:
        s = frame[name]
        if s.dtype.kind == "M":
            # datetime64[us] -> datetime objects, [D] -> date objects (NaT -> None)
            unit = "us" if name in _DATETIME_COLUMNS else "D"
            cols[name] = s.to_numpy(dtype=f"datetime64[{unit}]").astype(object).tolist()
        else:
            cols[name] = s.astype(object).where(s.notna(), None).tolist()
    names = list(cols)
    records = [dict(zip(names, r, strict=True)) for r in zip(*cols.values(), strict=True)]
    for start in range(0, len(records), LOAD_CHUNK):
        yield records[start:start + LOAD_CHUNK]


def _names(prefix: str, count: int) -> np.ndarray:
    """Unique document names ``<prefix>00000001``…"""
    return np.array([f"{prefix}{i:08d}" for i in range(1, count + 1)], dtype=object)


def _to_company_rate(extract: Extract, currency: pd.Series, company: pd.Series) -> np.ndarray:
    """Company-currency units per unit of ``currency``: the latest rate, 1 for the company's own."""
    co_cur = company.map(dict(zip(extract.companies["company"], extract.companies["currency"], strict=True)))
    fx = extract.fx_rates.sort_values("as_of").drop_duplicates(["from_currency", "to_currency"], keep="last")
    key = pd.MultiIndex.from_arrays([currency.astype(str), co_cur.astype(str)])
    rate = pd.Series(fx["rate"].to_numpy(dtype=float),
                     index=pd.MultiIndex.from_frame(fx[["from_currency", "to_currency"]].astype(str)))
    found = rate.reindex(key).to_numpy()
    return np.where(currency.to_numpy() == co_cur.to_numpy(), 1.0, np.nan_to_num(found, nan=1.0))


def build_rows(extract: Extract, prepayment_terms: str = DEFAULT_PREPAYMENT_TERMS) -> dict[str, pd.DataFrame]:
    """The ERPNext rows of ``extract``, one frame per table name (see the module docstring)."""
    rows: dict[str, pd.DataFrame] = {}
    rows.update(_masters(extract, prepayment_terms))
    docs, schedule, dunned = _open_documents(extract)
    history = _history(extract)
    rows.update(_invoices_and_ledger(extract, docs, history))
    rows["tabPayment Schedule"] = _base_schedule(extract, schedule)
    rows.update(_dunnings(dunned))
    rows["tabSales Order"] = _orders(extract)
    fx = extract.fx_rates
    rows["tabCurrency Exchange"] = pd.DataFrame({
        "name": (fx["as_of"].dt.strftime("%Y-%m-%d") + "-" + fx["from_currency"] + "-" + fx["to_currency"]
                 + "-" + pd.Series(np.arange(len(fx)), index=fx.index).astype(str)),
        "date": fx["as_of"], "from_currency": fx["from_currency"], "to_currency": fx["to_currency"],
        "exchange_rate": fx["rate"].astype(float), "for_buying": 1, "for_selling": 1,
    })
    return rows


def _base_schedule(ex: Extract, schedule: pd.DataFrame) -> pd.DataFrame:
    """``base_payment_amount`` of each schedule row: the converted ``payment_amount`` to the cent,
    the invoice's last row taking the rounding so the rows add up to its base grand total (what
    ERPNext's ``validate_payment_schedule_amount`` requires)."""
    rate = _to_company_rate(ex, schedule["currency"], schedule["company"])
    amount = schedule["payment_amount"].astype(float)
    base = (amount * rate).round(2)
    invoice_base = (amount.groupby(schedule["parent"]).transform("sum") * rate).round(2)
    last = schedule["idx"].eq(schedule.groupby("parent")["idx"].transform("max"))
    rest = base.where(~last, 0.0).groupby(schedule["parent"]).transform("sum")
    return schedule.drop(columns=["company", "currency"]).assign(
        base_payment_amount=np.where(last, (invoice_base - rest).round(2), base),
        base_outstanding=lambda d: d["base_payment_amount"])


def company_currency_extract(extract: Extract) -> Extract:
    """``extract`` with every foreign-currency open item restated in its company's currency, as
    ERPNext's Accounts Receivable report (and so the connector) states receivables: the latest
    rate of the extract's fx rates, the amount and what is paid of it each converted to the cent
    (as :func:`build_rows` books a foreign document's ledger entries). Loading the result reads
    back unchanged; payments history, orders and customers are left as they are."""
    items = extract.open_items
    company_currency = items["company"].map(
        dict(zip(extract.companies["company"], extract.companies["currency"], strict=True)))
    foreign = items["currency"].ne(company_currency)
    if not foreign.any():
        return extract
    rate = pd.Series(_to_company_rate(extract, items["currency"], items["company"]), index=items.index)
    amount = items["amount"].astype(float)
    converted = (amount * rate).round(2)
    open_ = (converted - ((amount - items["open_amount"].astype(float)) * rate).round(2)).round(2)
    items = items.assign(amount=converted.where(foreign, items["amount"]),
                         open_amount=open_.where(foreign, items["open_amount"]),
                         currency=company_currency.where(foreign, items["currency"])).astype(items.dtypes.to_dict())
    return extract.replace(open_items=items)


def _masters(ex: Extract, prepayment_terms: str) -> dict[str, pd.DataFrame]:
    co = ex.companies
    cust = ex.customers
    days = cust["payment_terms_days"].astype(int)
    terms = pd.Series(np.where(cust["on_prepayment"].astype(bool), prepayment_terms, "Net " + days.astype(str)),
                      index=cust.index)
    templates = pd.concat([pd.DataFrame({"name": terms, "days": np.where(cust["on_prepayment"].astype(bool), 0, days)}),
                           pd.DataFrame({"name": [prepayment_terms], "days": [0]})], ignore_index=True)
    templates = templates.drop_duplicates("name").sort_values("name").reset_index(drop=True)
    groups = sorted(set(cust["segment"].dropna().astype(str)))
    company_currency = cust["company"].map(dict(zip(co["company"], co["currency"], strict=True)))
    first = cust.assign(_terms=terms).drop_duplicates("customer_id")
    created = first["customer_since"]
    return {
        "tabCompany": pd.DataFrame({"name": co["company"], "default_currency": co["currency"], "country": None,
                                    "credit_limit": 0.0}),
        "tabCustomer Group": pd.DataFrame({"name": ["All Customer Groups", *groups]}),
        "tabPayment Terms Template": templates[["name"]],
        "tabPayment Terms Template Detail": pd.DataFrame({
            "name": _names("PTTD-", len(templates)), "parent": templates["name"],
            "parenttype": "Payment Terms Template", "parentfield": "terms", "idx": 1,
            "credit_days": templates["days"].astype(int)}),
        "tabCustomer": pd.DataFrame({
            "name": first["customer_id"], "creation": created, "modified": created,
            "customer_name": first["name"], "customer_group": first["segment"], "territory": None,
            # the company's own currency is what ERPNext falls back to: keep the field empty then
            "default_currency": first["currency"].where(first["currency"] != company_currency[first.index]),
            "payment_terms": first["_terms"], "is_frozen": first["is_blocked"].astype(bool).astype(int),
            "disabled": 0}),
        "tabCustomer Credit Limit": pd.DataFrame({
            "name": _names("CCL-", len(cust)), "creation": cust["customer_since"],
            "modified": cust["customer_since"], "parent": cust["customer_id"], "parenttype": "Customer",
            "parentfield": "credit_limits", "idx": cust.groupby("customer_id").cumcount() + 1,
            "company": cust["company"], "credit_limit": cust["credit_limit"].fillna(0.0).astype(float),
            "bypass_credit_limit_check": 0}),
    }


def _open_documents(ex: Extract) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(documents with an outstanding, payment schedule rows, dunned references).

    documents: company, voucher_type, name, customer, doc_date, due_date, amount, open, currency,
    is_return; dunned: company, customer, sales_invoice, payment_schedule (None = the invoice),
    level.
    """
    items = ex.open_items.copy()
    split = items["item_id"].str.extract(_INSTALLMENT)
    inst = split["n"].notna() & items["doc_type"].eq("invoice")
    items["base"] = split["base"].where(inst, items["item_id"])
    items["n"] = pd.to_numeric(split["n"].where(inst)).fillna(0).astype(int)
    single, parts = items[~inst], items[inst]
    schedule, invoices, inst_dunned = _installments(parts)

    voucher = single["doc_type"].map({"invoice": "Sales Invoice", "credit_note": "Sales Invoice",
                                      "payment_on_account": "Payment Entry", "debit_note": "Journal Entry"})
    docs = pd.concat([
        pd.DataFrame({"company": single["company"], "voucher_type": voucher, "name": single["item_id"],
                      "customer": single["customer_id"], "doc_date": single["doc_date"],
                      "due_date": single["due_date"], "amount": single["amount"].astype(float),
                      "open": single["open_amount"].astype(float), "currency": single["currency"],
                      "is_return": single["doc_type"].eq("credit_note").astype(int)}),
        invoices,
    ], ignore_index=True)
    dunned = pd.concat([
        pd.DataFrame({"company": single["company"], "customer": single["customer_id"],
                      "sales_invoice": single["item_id"], "payment_schedule": None,
                      "level": single["dunning_level"].astype(int)})[voucher.eq("Sales Invoice").to_numpy()],
        inst_dunned,
    ], ignore_index=True)
    return docs, schedule, dunned[dunned["level"] > 0].reset_index(drop=True)


def _installments(parts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Installment items -> (schedule rows, one invoice per base, dunned schedule rows).

    The connector allocates payments oldest installment first, so the open installments are the
    latest ones: installments below the first open one were paid. Each gets the amount and due
    date (30 days earlier per step) of the next open one.
    """
    groups = parts.groupby(["company", "base"], sort=True)
    top = groups["n"].max().clip(lower=2)  # a schedule of one row is no installment plan
    full = top.index.repeat(top.to_numpy()).to_frame(index=False)
    full["n"] = full.groupby(["company", "base"]).cumcount() + 1
    s = full.merge(parts, on=["company", "base", "n"], how="left").sort_values(["company", "base", "n"])
    present = s["item_id"].notna()
    by = [s["company"], s["base"]]
    nxt = s[["n", "amount", "due_date"]].where(present).groupby(by).bfill()
    nxt_n = nxt["n"].fillna(s.groupby(by)["n"].transform("max"))
    amount = s["amount"].fillna(nxt["amount"]).fillna(0.0).astype(float)  # a lone "/1": a zero sibling
    last_due = s.groupby(by)["due_date"].transform("max")
    due = s["due_date"].fillna(nxt["due_date"] - pd.to_timedelta(30 * (nxt_n - s["n"]), unit="D")).fillna(last_due)
    open_ = s["open_amount"].fillna(0.0).astype(float)
    for col in ("customer_id", "doc_date", "currency"):
        s[col] = s.groupby(by)[col].transform("first")
    s = s.assign(amount=amount, due=due, open=open_,
                 row=_names("PS-", len(s)), dunning=s["dunning_level"].fillna(0).astype(int))
    # base_payment_amount is set by build_rows (it needs the rates); payments are not made by
    # payment term, so ERPNext leaves paid_amount 0 and outstanding at the row's amount
    schedule = pd.DataFrame({
        "name": s["row"], "parent": s["base"], "parenttype": "Sales Invoice", "parentfield": "payment_schedule",
        "idx": s["n"], "due_date": s["due"], "payment_amount": s["amount"], "outstanding": s["amount"],
        "paid_amount": 0.0, "company": s["company"], "currency": s["currency"]})
    invoices = (s.groupby(["company", "base"], sort=True)
                .agg(customer=("customer_id", "first"), doc_date=("doc_date", "first"), due_date=("due", "max"),
                     amount=("amount", "sum"), open=("open", "sum"), currency=("currency", "first"))
                .reset_index().rename(columns={"base": "name"})
                .assign(voucher_type="Sales Invoice", is_return=0))
    dunned = pd.DataFrame({"company": s["company"], "customer": s["customer_id"], "sales_invoice": s["base"],
                           "payment_schedule": s["row"], "level": s["dunning"]})
    return schedule, invoices, dunned


def _history(ex: Extract) -> pd.DataFrame:
    p = ex.payments
    return pd.DataFrame({"company": p["company"], "voucher_type": "Sales Invoice", "name": p["item_id"],
                         "customer": p["customer_id"], "doc_date": p["doc_date"], "due_date": p["due_date"],
                         "paid_date": p["paid_date"], "amount": p["amount"].astype(float), "open": 0.0,
                         "currency": p["currency"], "is_return": 0})


def _invoices_and_ledger(ex: Extract, docs: pd.DataFrame, history: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """tabSales Invoice for the invoice-like documents, tabPayment Ledger Entry for all of them."""
    every = pd.concat([docs.assign(paid_date=pd.NaT), history], ignore_index=True)
    rate = _to_company_rate(ex, every["currency"], every["company"])
    si = every[every["voucher_type"] == "Sales Invoice"]
    r = rate[(every["voucher_type"] == "Sales Invoice").to_numpy()]
    status = np.select([si["is_return"].eq(1), si["open"].abs() < _TOLERANCE, si["open"] != si["amount"]],
                       ["Return", "Paid", "Partly Paid"], "Unpaid")
    invoices = pd.DataFrame({
        "name": si["name"], "customer": si["customer"], "company": si["company"], "posting_date": si["doc_date"],
        "due_date": si["due_date"], "currency": si["currency"], "conversion_rate": r, "grand_total": si["amount"],
        "base_grand_total": (si["amount"] * r).round(2), "outstanding_amount": si["open"],
        "is_return": si["is_return"], "return_against": None, "docstatus": 1, "status": status})

    # own entry of every document; the paid part of an open one and the payment of a cleared one
    own = every.assign(voucher_no=every["name"], entry_type=every["voucher_type"], value=every["amount"],
                       posting=every["doc_date"], rate=rate)
    paid = (every["amount"] - every["open"]).where(every["paid_date"].isna(), every["amount"])
    alloc_mask = (paid.abs() >= _TOLERANCE).to_numpy()
    alloc = every[alloc_mask].assign(rate=rate[alloc_mask])
    alloc = alloc.assign(voucher_no=_names("ACC-PAY-RT-", len(alloc)), entry_type="Payment Entry",
                         value=-paid[alloc_mask], posting=alloc["paid_date"].fillna(alloc["doc_date"]))
    ple = pd.concat([own, alloc], ignore_index=True)
    ledger = pd.DataFrame({
        "name": _names("PLE-", len(ple)), "posting_date": ple["posting"], "company": ple["company"],
        "account_type": "Receivable", "party_type": "Customer", "party": ple["customer"],
        "voucher_type": ple["entry_type"], "voucher_no": ple["voucher_no"],
        "against_voucher_type": ple["voucher_type"], "against_voucher_no": ple["name"],
        "amount": (ple["value"] * ple["rate"]).round(2), "amount_in_account_currency": ple["value"],
        "account_currency": ple["currency"], "due_date": ple["due_date"], "delinked": 0})
    return {"tabSales Invoice": invoices, "tabPayment Ledger Entry": ledger}


def _dunnings(dunned: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One submitted Dunning (with one Overdue Payment row) per level reached."""
    d = dunned.loc[dunned.index.repeat(dunned["level"].to_numpy())].reset_index(drop=True)
    names = _names("DUNN-RT-", len(d))
    return {
        "tabDunning": pd.DataFrame({"name": names, "customer": d["customer"], "company": d["company"],
                                    "posting_date": None, "docstatus": 1, "dunning_type": None}),
        "tabOverdue Payment": pd.DataFrame({
            "name": _names("ODP-", len(d)), "parent": names, "parenttype": "Dunning",
            "parentfield": "overdue_payments", "idx": 1, "sales_invoice": d["sales_invoice"],
            "payment_schedule": d["payment_schedule"]}),
    }


def _orders(ex: Extract) -> pd.DataFrame:
    o = ex.open_orders
    rate = _to_company_rate(ex, o["currency"], o["company"])
    amount = o["open_amount"].astype(float)
    return pd.DataFrame({
        "name": o["order_id"], "modified": o["order_date"], "customer": o["customer_id"], "company": o["company"],
        "transaction_date": o["order_date"], "delivery_date": o["order_date"] + pd.Timedelta(days=21),
        "currency": o["currency"], "grand_total": amount,
        "base_grand_total": np.where(rate == 1.0, amount, (amount * rate).round(2)),
        "per_billed": 0.0, "per_delivered": 0.0,
        "status": np.where(o["on_hold"].astype(bool), "On Hold", "To Deliver and Bill"), "docstatus": 1})


__all__ = ["DEFAULT_PREPAYMENT_TERMS", "build_rows", "company_currency_extract", "load_extract"]
