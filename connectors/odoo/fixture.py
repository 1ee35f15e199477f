"""Write canonical frames (an :class:`etl.extract.Extract`) into Odoo 17 / 18 tables.

Tests and benchmarks use it so the Odoo connector reads the same business as the demo. Ids are
assigned here and the serial sequences moved past them afterwards. What Odoo cannot represent:

* dunning levels (Odoo Community has no follow-up levels; the connector reads 0);
* insured_limit / external_rating (no Odoo field; read as null);
* a customer's billing currency other than through its invoices (read as the currency of the
  latest invoice, else the company currency);
* customers on prepayment get the prepayment term (0 days), whatever payment_terms_days said.

The addon ``creditctl_credit_control`` is recorded as installed (``ir_module_module``) unless
``addon=False``: without it the connector refuses to apply (docs/connectors/odoo.md).

The tables are the generated ones (connectors/odoo/tables.py), with Odoo's indexes and
``_sql_constraints``. Rows carry what Odoo would store for the figures read: a sales journal and a
bank journal per company, an ``account.payment`` behind each payment entry (17 ``payment_id``,
18 ``origin_payment_id``), one order line per order (product "Goods", invoiced on ordered
quantities, unit "Units", nothing invoiced yet; 17 also stores ``amount_to_invoice``), and 18's
receivable account shared through ``account_account_res_company_rel`` with its code in
``code_store``. Other NOT NULL columns get a placeholder of their type (:func:`with_placeholders`).
"""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
from sqlalchemy import create_engine, insert, text

from connectors.odoo.tables import ADDON, SETUP_DDL, create_schema, load, tables
from etl.extract import Extract

DEFAULT_PREPAYMENT_TERM = "Prepayment"
_INSTALLMENT = re.compile(r"^(?P<base>.+)/(?P<n>\d+)$")
_MOVE_TYPE = {"invoice": "out_invoice", "credit_note": "out_refund", "payment_on_account": "entry",
              "debit_note": "entry"}


def _date(value):
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _term_name(days: int) -> str:
    return "Immediate Payment" if days == 0 else f"{days} Days"


def load_extract(url: str, extract: Extract, version: int = 18, *, create: bool = True,
                 prepayment_term: str = DEFAULT_PREPAYMENT_TERM, addon: bool = True) -> None:
    """Create the Odoo schema (unless ``create`` is False) and write ``extract`` as Odoo rows.

    ``addon``: record creditctl's addon as installed, as on an Odoo where holds are enforced.
    """
    if create:
        create_schema(url, version)
    t = tables(version)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for ddl in SETUP_DDL:
                conn.execute(text(ddl))
            _load(conn, t, extract, version, prepayment_term)
            if addon:
                conn.execute(insert(t.ir_module_module).values(name=ADDON, state="installed"))
            for table in t.metadata.sorted_tables:
                if "id" not in table.c:  # many2many relation tables have no serial
                    continue
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                  f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
        with engine.begin() as conn:  # planner statistics, as a live Odoo database has them
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


#: a placeholder per column type for NOT NULL columns nothing reads (the ORM would fill them)
_PLACEHOLDER = {"bool": False, "int4": 1, "int8": 1, "numeric": 0, "float8": 0.0, "date": datetime(2000, 1, 1).date(),
                "timestamp": datetime(2000, 1, 1), "jsonb": {"en_US": "-"}, "text": "-"}


def with_placeholders(version: int, table: str, rows: list[dict]) -> list[dict]:
    """``rows`` with every NOT NULL column they lack set to a placeholder of its type."""
    required = [c for c in load(version)["tables"][table]["columns"] if not c["nullable"] and c["type"] != "serial"]
    out = []
    for row in rows:
        filled = dict(row)
        for c in required:
            if filled.get(c["name"]) is None:
                filled[c["name"]] = _PLACEHOLDER.get(c["type"], "-")
        out.append(filled)
    return out


def _load(conn, t, ex: Extract, version: int, prepayment_term: str) -> None:  # noqa: C901 - a fixture
    rows: dict[str, list[dict]] = {name: [] for name in t.metadata.tables}
    codes = sorted(set(ex.companies["currency"]) | set(ex.customers["currency"]) | set(ex.open_items["currency"])
                   | set(ex.open_orders["currency"]) | set(ex.payments["currency"])
                   | set(ex.fx_rates["from_currency"]) | set(ex.fx_rates["to_currency"]))
    currency = {code: i for i, code in enumerate(codes, 1)}
    rows["res_currency"] = [{"id": i, "name": c, "symbol": c, "active": True, "rounding": 0.01}
                            for c, i in currency.items()]
    n_customers = len(ex.customers)
    company, receivable, sales_journal, bank_journal = {}, {}, {}, {}
    for i, r in enumerate(ex.companies.itertuples(index=False), 1):
        company[r.company] = i
        partner_id = n_customers + i  # the company's own partner, after the customers
        rows["res_partner"].append({"id": partner_id, "name": r.company, "type": "contact", "is_company": True,
                                    "commercial_partner_id": partner_id, "active": True, "customer_rank": 0})
        rows["res_company"].append({"id": i, "name": r.company, "currency_id": currency[r.currency],
                                    "partner_id": partner_id, "account_use_credit_limit": True,
                                    "layout_background": "Blank", "fiscalyear_last_day": 31,
                                    "fiscalyear_last_month": "12", "account_opening_date": datetime(2020, 1, 1).date(),
                                    **({"account_price_include": "tax_excluded"} if version == 18 else {})})
        account = {"id": i, "name": {"en_US": "Account Receivable"}, "account_type": "asset_receivable",
                   "reconcile": True}
        if version == 18:  # 18: code company-dependent, companies a many2many
            account["code_store"] = {str(i): "121000"}
            rows["account_account_res_company_rel"].append({"account_account_id": i, "res_company_id": i})
        else:
            account.update(code="121000", company_id=i)
        rows["account_account"].append(account)
        receivable[r.company] = i
        for code, kind, store in (("INV", "sale", sales_journal), ("BNK1", "bank", bank_journal)):
            journal_id = len(rows["account_journal"]) + 1
            store[r.company] = journal_id
            rows["account_journal"].append({"id": journal_id, "name": {"en_US": code}, "code": code, "type": kind,
                                            "invoice_reference_type": "invoice", "invoice_reference_model": "odoo",
                                            "company_id": i, "active": True})
    company_currency = dict(zip(ex.companies["company"], ex.companies["currency"], strict=True))
    countries = sorted(set(ex.customers["country"].dropna()))
    country = {c: i for i, c in enumerate(countries, 1)}
    rows["res_country"] = [{"id": i, "name": {"en_US": c}, "code": c} for c, i in country.items()]
    segments = sorted(set(ex.customers["segment"].dropna()))
    industry = {s: i for i, s in enumerate(segments, 1)}
    rows["res_partner_industry"] = [{"id": i, "name": {"en_US": s}, "full_name": {"en_US": s}, "active": True}
                                    for s, i in industry.items()]
    term = {}
    for days in sorted(set(ex.customers["payment_terms_days"].astype(int))):
        term[_term_name(days)] = (len(term) + 1, days)
    term.setdefault(prepayment_term, (len(term) + 1, 0))
    for name, (i, days) in term.items():
        rows["account_payment_term"].append({"id": i, "name": {"en_US": name}, "active": True, "sequence": 10})
        rows["account_payment_term_line"].append({"id": i, "payment_id": i, "value": "percent",
                                                  "value_amount": 100, "nb_days": days,
                                                  "delay_type": "days_after"})
    rows["ir_model_fields"] = [
        {"id": 1, "model": "res.partner", "name": "credit_limit", "ttype": "float", "model_id": 1,
         "field_description": {"en_US": "Credit Limit"}, "state": "base"},
        {"id": 2, "model": "res.partner", "name": "property_payment_term_id", "ttype": "many2one", "model_id": 1,
         "field_description": {"en_US": "Customer Payment Terms"}, "state": "base"}]
    partner: dict[tuple[str, str], int] = {}
    for i, r in enumerate(ex.customers.itertuples(index=False), 1):
        co = company[r.company]
        partner[(r.company, r.customer_id)] = i
        term_id = term[prepayment_term][0] if r.on_prepayment else term[_term_name(int(r.payment_terms_days))][0]
        limit = None if pd.isna(r.credit_limit) else float(r.credit_limit)
        row = {"id": i, "name": r.name, "ref": r.customer_id, "company_id": co, "customer_rank": 1,
               "commercial_partner_id": i, "type": "contact", "is_company": True,
               "country_id": country.get(r.country), "industry_id": industry.get(r.segment),
               "create_date": pd.Timestamp(r.customer_since).to_pydatetime(), "active": True,
               "sale_warn": "block" if r.is_blocked else "no-message",
               "sale_warn_msg": "blocked by credit control" if r.is_blocked else None}
        if version == 18:
            row["credit_limit"] = {str(co): limit} if limit is not None else None
            row["property_payment_term_id"] = {str(co): term_id}
            row["autopost_bills"] = "ask"
        else:
            res_id = f"res.partner,{i}"
            if limit is not None:
                rows["ir_property"].append({"name": "credit_limit", "res_id": res_id, "company_id": co,
                                            "fields_id": 1, "value_float": limit, "type": "float"})
            rows["ir_property"].append({"name": "property_payment_term_id", "res_id": res_id, "company_id": co,
                                        "fields_id": 2, "value_reference": f"account.payment.term,{term_id}",
                                        "type": "many2one"})
        rows["res_partner"].append(row)
    if version == 17:
        for n, prop in enumerate(rows["ir_property"], 1):
            prop["id"] = n

    # latest rate foreign -> company currency, to fill the company-currency columns
    fx = ex.fx_rates.sort_values("as_of").drop_duplicates(["from_currency", "to_currency"], keep="last")
    to_company = {(f, to): float(r) for f, to, r in zip(fx["from_currency"], fx["to_currency"], fx["rate"],
                                                       strict=True)}

    def balance(amount: float, cur: str, co_name: str) -> float:
        cc = company_currency[co_name]
        return amount if cur == cc else round(amount * to_company.get((cur, cc), 1.0), 2)

    moves, lines, partials = rows["account_move"], rows["account_move_line"], rows["account_partial_reconcile"]

    def add_line(move_id, co_name, pid, cur, amount, residual, due, date, reconciled):
        line_id = len(lines) + 1
        bal = balance(amount, cur, co_name)
        lines.append({"id": line_id, "move_id": move_id, "move_name": moves[move_id - 1]["name"],
                      "journal_id": moves[move_id - 1]["journal_id"], "account_id": receivable[co_name],
                      "partner_id": pid, "company_id": company[co_name], "date": date,
                      "date_maturity": due, "currency_id": currency[cur],
                      "company_currency_id": currency[company_currency[co_name]], "amount_currency": amount,
                      "amount_residual_currency": residual, "balance": bal, "debit": max(bal, 0.0),
                      "credit": max(-bal, 0.0), "amount_residual": balance(residual, cur, co_name),
                      "reconciled": reconciled, "parent_state": "posted", "display_type": "payment_term"})
        return line_id

    def add_move(name, move_type, co_name, pid, cur, date, invoice_date, due, total, residual, journal=None):
        move_id = len(moves) + 1
        moves.append({"id": move_id, "name": name, "move_type": move_type, "state": "posted", "date": date,
                      "journal_id": (journal or sales_journal)[co_name], "auto_post": "no",
                      "invoice_date": invoice_date, "invoice_date_due": due, "partner_id": pid,
                      "commercial_partner_id": pid, "company_id": company[co_name], "currency_id": currency[cur],
                      "amount_total": total, "amount_residual": residual, "amount_total_signed": total,
                      "amount_residual_signed": residual,
                      "payment_state": "paid" if residual == 0 else ("partial" if residual != total else "not_paid")})
        return move_id

    items = ex.open_items.copy()
    split = items["item_id"].str.extract(_INSTALLMENT)
    items["base"] = split["base"].fillna(items["item_id"])
    items["n"] = pd.to_numeric(split["n"]).fillna(0).astype(int)
    for (co_name, base), group in items.groupby(["company", "base"], sort=True):
        group = group.sort_values("n")
        first = group.iloc[0]
        pid = partner[(co_name, first.customer_id)]
        doc, cur = _date(first.doc_date), first.currency
        invoice_like = first.doc_type in ("invoice", "credit_note")
        move_id = add_move(base, _MOVE_TYPE[first.doc_type], co_name, pid, cur, doc, doc if invoice_like else None,
                           _date(group["due_date"].max()), float(group["amount"].abs().sum()),
                           float(group["open_amount"].abs().sum()))
        if group["n"].max() == 0:
            add_line(move_id, co_name, pid, cur, float(first.amount), float(first.open_amount),
                     _date(first.due_date), doc, False)
            continue
        present = {int(r.n): r for r in group.itertuples(index=False)}
        top = max(present) if len(present) > 1 or max(present) > 1 else 2  # a lone "/1" needs a sibling
        for n in range(1, top + 1):
            if n in present:
                r = present[n]
                add_line(move_id, co_name, pid, cur, float(r.amount), float(r.open_amount), _date(r.due_date),
                         doc, False)
            else:  # an installment already paid: reconciled, placed in due order
                later = [k for k in present if k > n]
                near = present[min(later)] if later else present[max(present)]
                add_line(move_id, co_name, pid, cur, float(near.amount), 0.0, _date(near.due_date), doc, True)

    payment_link = "origin_payment_id" if version == 18 else "payment_id"
    for r in ex.payments.itertuples(index=False):
        pid = partner[(r.company, r.customer_id)]
        doc, due, paid, amount = _date(r.doc_date), _date(r.due_date), _date(r.paid_date), float(r.amount)
        inv = add_move(r.item_id, "out_invoice", r.company, pid, r.currency, doc, doc, due, amount, 0.0)
        debit = add_line(inv, r.company, pid, r.currency, amount, 0.0, due, doc, True)
        pay = add_move(f"PBNK/{r.item_id}", "entry", r.company, pid, r.currency, paid, None, paid, amount, 0.0,
                       journal=bank_journal)
        payment_id = len(rows["account_payment"]) + 1
        moves[pay - 1][payment_link] = payment_id
        rows["account_payment"].append({
            "id": payment_id, "move_id": pay, "amount": amount, "payment_type": "inbound", "partner_type": "customer",
            "partner_id": pid, "currency_id": currency[r.currency], "is_reconciled": True,
            **({"date": paid, "journal_id": bank_journal[r.company], "company_id": company[r.company],
                "state": "paid", "name": f"PBNK/{r.item_id}"} if version == 18 else {})})
        credit = add_line(pay, r.company, pid, r.currency, -amount, 0.0, paid, paid, True)
        bal = balance(amount, r.currency, r.company)
        partials.append({"id": len(partials) + 1, "debit_move_id": debit, "credit_move_id": credit, "amount": bal,
                         "debit_amount_currency": amount, "credit_amount_currency": amount,
                         "company_id": company[r.company], "max_date": paid})

    # one product sold on ordered quantities, in the reference unit
    rows["uom_uom"] = [{"id": 1, "name": {"en_US": "Units"}, "category_id": 1, "factor": 1, "rounding": 0.01,
                        "uom_type": "reference", "active": True}]
    rows["product_template"] = [{"id": 1, "name": {"en_US": "Goods"}, "invoice_policy": "order", "uom_id": 1,
                                 "uom_po_id": 1, "categ_id": 1, "active": True, "sale_ok": True,
                                 "sale_line_warn": "no-message",
                                 **({"type": "consu", "service_tracking": "no"} if version == 18
                                    else {"detailed_type": "consu"})}]
    rows["product_product"] = [{"id": 1, "product_tmpl_id": 1, "active": True}]
    for i, r in enumerate(ex.open_orders.itertuples(index=False), 1):
        pid, co, amount = partner[(r.company, r.customer_id)], company[r.company], float(r.open_amount)
        order = {"id": i, "name": r.order_id, "partner_id": pid, "partner_invoice_id": pid, "partner_shipping_id": pid,
                 "company_id": co, "state": "sale", "date_order": datetime.combine(_date(r.order_date),
                                                                                  datetime.min.time()),
                 "currency_id": currency[r.currency], "amount_untaxed": amount, "amount_tax": 0.0,
                 "amount_total": amount, "invoice_status": "to invoice", "locked": False,
                 "x_credit_hold": bool(r.on_hold),
                 "x_credit_hold_reason": "held by credit control" if r.on_hold else None}
        if version == 17:  # stored in 17 only
            order["amount_to_invoice"] = amount
        rows["sale_order"].append(order)
        rows["sale_order_line"].append({
            "id": i, "order_id": i, "sequence": 10, "company_id": co, "currency_id": currency[r.currency],
            "order_partner_id": pid, "state": "sale", "product_id": 1, "product_uom": 1, "name": "Goods",
            "product_uom_qty": 1, "price_unit": amount, "discount": 0, "price_subtotal": amount, "price_tax": 0,
            "price_total": amount, "customer_lead": 0, "qty_delivered_method": "manual", "qty_delivered": 0,
            "qty_invoiced": 0, "qty_to_invoice": 1, "invoice_status": "to invoice",
            "untaxed_amount_invoiced": 0, "untaxed_amount_to_invoice": amount})

    by_currency = {cur: name for name, cur in company_currency.items()}
    for r in ex.fx_rates.itertuples(index=False):
        if r.to_currency in by_currency:  # 1 from = rate to  ->  Odoo: rate units of `from` per 1 `to`
            co, cur, rate = company[by_currency[r.to_currency]], r.from_currency, 1.0 / float(r.rate)
        elif r.from_currency in by_currency:  # read back in the other direction (documented)
            co, cur, rate = company[by_currency[r.from_currency]], r.to_currency, float(r.rate)
        else:
            continue
        rows["res_currency_rate"].append({"id": len(rows["res_currency_rate"]) + 1, "name": _date(r.as_of),
                                          "rate": rate, "currency_id": currency[cur], "company_id": co})

    for table in t.metadata.sorted_tables:
        data = rows.get(table.name)
        if data:
            data = with_placeholders(version, table.name, data)
            keys = {k for d in data for k in d}
            data = [{k: d.get(k) for k in keys} for d in data]
            conn.execute(insert(table), data)
