"""Odoo's own credit figures, re-derived plainly from its source, for tests (issue 14).

Written from Odoo's code as read (facts, not code): plain pandas / Python loops over whole
tables read with ``SELECT *``, one function per Odoo function, independent of the connector's
SQL (``connectors/odoo/read.py``) on purpose: tests/test_odoo_reference.py compares the two.

Sources (bare git mirrors, ``git show <commit>:<path>``):

* Odoo 17.0 Community: UmmeHani-SCI/Odoo17-UH_Hospital_Management @ a6ec4682c7cd1dcd0a870a1101199d3336da62a3
* Odoo 18.0 Community: sajjatdev/odoo-docker @ 1e963891a9a2f74fd846fbd1bf9416828912b270
* Odoo 18.0 Enterprise ``account_reports`` (aged receivable): AhmedElarabyy/odoo-18 @
  c7678f850974aaef37c6c5ce89bd7738d18805cd, ``odoo/addons/account_reports/models/account_aged_partner_balance.py``
  (``AgedPartnerBalanceCustomHandler._aged_partner_report_custom_engine_common``) and
  ``data/aged_partner_balance.xml`` (columns period0..period5).
* Odoo 17.0 Enterprise ``account_reports``: no mirror holds it; a public copy of the 17.0 file
  (found by the code search, repository not named there: the handler with
  ``_get_custom_display_config``, ``warnings=`` and the trust read from ``ir_property``) has the
  same six periods hard-coded, ``COALESCE(date_maturity, date)`` and the same partial arithmetic;
  18 only made the interval (default 30) and the aging date (default the maturity date) options.

What each function follows:

* :func:`partner_credit` — addons/account/models/partner.py ``res.partner._credit_debit_get``
  (17, 18): ``credit`` = SUM(amount_residual) of posted, not reconciled lines on receivable
  accounts, per line ``partner_id``, companies ``child_of`` the current company's root.
  :func:`partner_residual_by_currency`: the same lines, ``amount_residual_currency`` per currency
  (Odoo shows no such figure; it is what the connector's document-currency items must add up to).
* :func:`credit_limit` — the company-dependent ``res.partner.credit_limit``:
  17 odoo/fields.py ``Field._compute_company_dependent`` -> odoo/addons/base/models/ir_property.py
  ``_get_multi`` (``ORDER BY company_id NULLS FIRST``, later rows win; ``res_id IS NULL`` rows are
  the default; float cleaned ``val or False``); 18 odoo/models.py ``BaseModel._field_to_sql``
  (company_dependent: the jsonb key of the company, a present ``null`` stays empty) with
  odoo/fields.py ``Field.get_company_dependent_fallback`` -> odoo/addons/base/models/ir_default.py
  ``_get_model_defaults`` (read as SUPERUSER_ID: ``user_id IS NULL OR user_id = 1``,
  ``ORDER BY user_id, company_id, id``, first row per field wins).
  :func:`limit_in_force`: addons/account/models/account_move.py ``_build_credit_warning_message``
  (17, 18): ``if not partner_id.credit_limit ... return ''`` — 0 means no limit.
* :func:`amount_to_invoice_17` — the stored ``sale_order.amount_to_invoice`` (17: a stored
  compute). :func:`amount_to_invoice_17_definition` — addons/sale/models/sale_order.py
  ``_compute_amount_to_invoice`` (``invoice_status == 'invoiced'`` -> 0, else amount_total minus
  the posted invoices' share) with ``_get_invoiced`` (invoice_ids: moves of the lines'
  invoice_lines of type out_invoice / out_refund) and addons/sale/models/account_move.py
  ``_get_sale_order_invoiced_amount`` (price_total of the invoice lines linked to the order,
  times ``-direction_sign``, converted to the order currency at the invoice date).
* :func:`amount_to_invoice_18` — addons/sale/models/sale_order_line.py (18)
  ``_compute_amount_to_invoice`` (per line; ``sale.order._compute_amount_to_invoice`` sums the
  lines), ``_compute_qty_invoiced_posted``, ``_get_invoice_lines``; addons/uom/models/uom_uom.py
  ``_compute_quantity`` (rounding 'UP' to the target unit's rounding, odoo/tools/float_utils.py
  ``float_round``); addons/account/models/account_move.py ``_compute_direction_sign``; the invoice
  policy is ``product_template.invoice_policy`` of the line's product.
* :func:`credit_to_invoice` — addons/sale/models/res_partner.py ``_compute_credit_to_invoice``
  (17: orders with ``amount_to_invoice > 0``; 18: orders with a line whose stored
  ``untaxed_amount_to_invoice > 0``, only when ``res_company.account_use_credit_limit``; both:
  state 'sale', the company, ``partner_id in ids`` (the partner itself, not its contacts),
  ``amount_to_invoice`` converted to the company currency at today's rate).
* :func:`aged_receivable` — the report handler named above, grouped by line (``id``): posted
  lines on receivable accounts dated up to ``date_to``; amount = balance - partials on the debit
  side + partials on the credit side with ``max_date <= date_to`` (company currency, the single
  company's currency table rate is 1); ``amount_currency`` likewise with the partials'
  debit/credit_amount_currency; period by ``COALESCE(date_maturity, date)``: period0 on or after
  ``date_to``, then 1-30, 31-60, 61-90, 91-120 days before it, period5 older; lines whose debit
  and credit remainders both round to 0 are left out (the HAVING clause).
* :func:`currency_rate` / :func:`convert` — odoo/addons/base/models/res_currency.py ``_get_rates``
  (latest row on or before the day, the company's before the company-less ones) and ``_convert``
  (``amount * to_rate / from_rate``, rounded to the target currency).
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, inspect, text

#: the tables read here (those absent from a database are empty frames)
TABLES = ("res_company", "res_currency", "res_currency_rate", "res_partner", "account_account",
          "account_move", "account_move_line", "account_partial_reconcile", "sale_order", "sale_order_line",
          "sale_order_line_invoice_rel", "product_product", "product_template", "uom_uom", "ir_model_fields",
          "ir_property", "ir_default")
#: odoo.SUPERUSER_ID: get_company_dependent_fallback reads ir.default as this user
SUPERUSER_ID = 1
#: the report's six period columns (period4 + period5 are SPEC §4's 91+)
PERIODS = ("not due", "1-30", "31-60", "61-90", "91-120", "older")
#: SPEC §4 / etl.positions buckets, from the report's periods
BUCKET_OF_PERIOD = {0: "not_due", 1: "overdue_1_30", 2: "overdue_31_60", 3: "overdue_61_90", 4: "overdue_91_plus",
                    5: "overdue_91_plus"}


def day(value: Any) -> datetime.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return pd.Timestamp(value).date()


def num(value: Any) -> float:
    """A numeric column's value as Odoo's ORM gives it: NULL is 0.0."""
    return 0.0 if value is None or pd.isna(value) else float(value)


def is_null(value: Any) -> bool:
    return value is None or (not isinstance(value, (dict, list, str)) and pd.isna(value))


@dataclass
class Odoo:
    """The raw rows of the tables read here, loaded once with ``SELECT *``."""

    version: int
    frames: dict[str, pd.DataFrame]
    _rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _by_id: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, url: str, version: int) -> Odoo:
        engine = create_engine(url)
        try:
            present = set(inspect(engine).get_table_names())
            frames = {}
            with engine.connect() as conn:
                for name in TABLES:
                    frames[name] = (pd.read_sql_query(text(f'SELECT * FROM "{name}"'), conn)  # noqa: S608 - names above
                                    if name in present else pd.DataFrame())
        finally:
            engine.dispose()
        return cls(version, frames)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.frames[table]

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The table's rows as dicts (read once; the tables do not change after load)."""
        if table not in self._rows:
            self._rows[table] = self.frames[table].to_dict("records")
        return self._rows[table]

    def by_id(self, table: str) -> dict[int, dict[str, Any]]:
        if table not in self._by_id:
            self._by_id[table] = {int(r["id"]): r for r in self.rows(table)}
        return self._by_id[table]


# --------------------------------------------------------------------------- res.partner credit


def company_and_children(odoo: Odoo, company_id: int) -> set[int]:
    """``('company_id', 'child_of', company.root_id.id)``: the root of the company and every company
    below it (res_company.parent_id)."""
    companies = odoo.by_id("res_company")
    root = company_id
    while "parent_id" in companies[root] and not is_null(companies[root].get("parent_id")):
        root = int(companies[root]["parent_id"])
    found, grew = {root}, True
    while grew:
        grew = False
        for cid, row in companies.items():
            parent = row.get("parent_id")
            if cid not in found and not is_null(parent) and int(parent) in found:
                found.add(cid)
                grew = True
    return found


def _open_receivable_lines(odoo: Odoo, company_id: int) -> list[dict[str, Any]]:
    receivable = {int(a["id"]) for a in odoo.rows("account_account") if a["account_type"] == "asset_receivable"}
    companies = company_and_children(odoo, company_id)
    return [line for line in odoo.rows("account_move_line")
            if line["parent_state"] == "posted" and not is_null(line["company_id"])
            and int(line["company_id"]) in companies
            and not is_null(line["account_id"]) and int(line["account_id"]) in receivable
            and line["reconciled"] is not True and not is_null(line["partner_id"])]


def partner_credit(odoo: Odoo, company_id: int) -> dict[int, float]:
    """res.partner.credit per partner id (line ``partner_id``) in the company's context (17, 18:
    account/models/partner.py ``_credit_debit_get``); a partner without lines has none (False = 0)."""
    credit: dict[int, float] = {}
    for line in _open_receivable_lines(odoo, company_id):
        pid = int(line["partner_id"])
        credit[pid] = credit.get(pid, 0.0) + num(line["amount_residual"])
    return credit


def partner_residual_by_currency(odoo: Odoo, company_id: int) -> dict[tuple[int, int], float]:
    """The lines of :func:`partner_credit`, ``amount_residual_currency`` per (partner id, currency id)."""
    out: dict[tuple[int, int], float] = {}
    for line in _open_receivable_lines(odoo, company_id):
        key = (int(line["partner_id"]), int(line["currency_id"]))
        out[key] = out.get(key, 0.0) + num(line["amount_residual_currency"])
    return out


def commercial_partner(odoo: Odoo, partner_id: int) -> int:
    """res.partner.commercial_partner_id (stored; the partner itself when empty)."""
    row = odoo.by_id("res_partner")[partner_id]
    value = row.get("commercial_partner_id")
    return partner_id if is_null(value) else int(value)


# --------------------------------------------------------------------------- credit limit


def _field_id(odoo: Odoo, model: str, name: str) -> int | None:
    """ir.model.fields._get(model, name).id"""
    for f in odoo.rows("ir_model_fields"):
        if f["model"] == model and f["name"] == name:
            return int(f["id"])
    return None


def credit_limit(odoo: Odoo, partner_id: int, company_id: int) -> float:
    """res.partner.credit_limit of ``partner_id`` as read in ``company_id`` (0.0 = empty)."""
    field_id = _field_id(odoo, "res.partner", "credit_limit")
    if odoo.version == 17:
        # ir.property._get_multi: rows of the field for the partner or no record, of the company
        # or no company, ORDER BY company_id NULLS FIRST; result.update(rows): later rows win
        if field_id is None:
            return 0.0
        rows = [p for p in odoo.rows("ir_property") if not is_null(p["fields_id"]) and int(p["fields_id"]) == field_id
                and (is_null(p["company_id"]) or int(p["company_id"]) == company_id)
                and (is_null(p["res_id"]) or p["res_id"] == f"res.partner,{partner_id}")]
        rows.sort(key=lambda p: 0 if is_null(p["company_id"]) else 1)  # stable: NULLS FIRST, as the SQL
        result: dict[Any, Any] = {}
        for p in rows:
            result[None if is_null(p["res_id"]) else partner_id] = p["value_float"]
        value = result.get(partner_id, result.get(None))
        return num(value) if not is_null(value) and value else 0.0  # TYPE2CLEAN['float']: val or False
    # 18: the jsonb key of the company; absent -> the ir.default fallback
    stored = odoo.by_id("res_partner")[partner_id].get("credit_limit")
    if isinstance(stored, str):
        stored = json.loads(stored)
    key = str(company_id)
    if isinstance(stored, dict) and key in stored:
        value = stored[key]  # a present null is an explicit empty value ('null'::jsonb ->> 0 IS NULL)
        return num(value) if value is not None else 0.0
    fallback = _ir_default_fallback(odoo, field_id, company_id)
    return num(fallback) if fallback not in (None, False) else 0.0


def _ir_default_fallback(odoo: Odoo, field_id: int | None, company_id: int) -> Any:
    """ir.default._get_model_defaults(...)[field] of ir_model_fields ``field_id`` as SUPERUSER_ID in ``company_id``, condition-less."""
    if field_id is None or odoo["ir_default"].empty:
        return None
    rows = [d for d in odoo.rows("ir_default") if int(d["field_id"]) == field_id and is_null(d["condition"])
            and (is_null(d["user_id"]) or int(d["user_id"]) == SUPERUSER_ID)
            and (is_null(d["company_id"]) or int(d["company_id"]) == company_id)]
    if not rows:
        return None
    # ORDER BY d.user_id, d.company_id, d.id  (ascending: NULLs last in PostgreSQL)
    rows.sort(key=lambda d: (is_null(d["user_id"]), is_null(d["company_id"]), int(d["id"])))
    return json.loads(rows[0]["json_value"])


def limit_in_force(odoo: Odoo, partner_id: int, company_id: int) -> float | None:
    """The limit Odoo's credit check compares against: None when credit_limit is 0 / empty."""
    value = credit_limit(odoo, partner_id, company_id)
    return value if value else None


# --------------------------------------------------------------------------- currencies


def currency_rate(odoo: Odoo, currency_id: int, company_id: int, when: datetime.date) -> float:
    """res.currency._get_rates: the latest rate dated on or before ``when`` of the company, else of
    no company (``ORDER BY company_id, name DESC``); 1.0 without any."""
    rows = [r for r in odoo.rows("res_currency_rate") if int(r["currency_id"]) == currency_id
            and day(r["name"]) <= when and (is_null(r["company_id"]) or int(r["company_id"]) == company_id)]
    if not rows:
        return 1.0
    rows.sort(key=lambda r: (is_null(r["company_id"]), -day(r["name"]).toordinal()))
    return num(rows[0]["rate"]) or 1.0


def convert(odoo: Odoo, amount: float, from_currency: int, to_currency: int, company_id: int,
            when: datetime.date) -> float:
    """res.currency._convert (round=True): amount * to_rate / from_rate, rounded to the target."""
    if from_currency == to_currency:
        value = amount
    else:
        value = amount * currency_rate(odoo, to_currency, company_id, when) / currency_rate(
            odoo, from_currency, company_id, when)
    rounding = num(odoo.by_id("res_currency")[to_currency].get("rounding")) or 0.01
    return float_round(value, rounding, "HALF-UP")


def float_round(value: float, rounding: float, method: str = "HALF-UP") -> float:
    """odoo.tools.float_utils.float_round with precision_rounding (HALF-UP, UP: away from zero,
    with the epsilon scaled to the value that Odoo adds against representation errors)."""
    if rounding == 0 or value == 0:
        return 0.0
    factor = rounding
    if factor < 1:  # Odoo inverts small rounding factors
        inverse = 1 / factor
        normalized = value * inverse
        undo = lambda v: v / inverse  # noqa: E731
    else:
        normalized = value / factor
        undo = lambda v: v * factor  # noqa: E731
    epsilon = 2 ** (math.log2(abs(normalized)) - 50)
    if method == "UP":
        result = math.trunc(normalized + math.copysign(1 - epsilon, normalized))
    else:
        result = round(normalized + math.copysign(epsilon, normalized))
    return undo(result)


# --------------------------------------------------------------------------- amount to invoice


def direction_sign(move_type: str) -> int:
    """account.move._compute_direction_sign: 1 for entries and outbound types, else -1."""
    return 1 if move_type in ("entry", "in_invoice", "out_refund", "in_receipt") else -1


def uom_compute_quantity(odoo: Odoo, qty: float, from_uom: Any, to_uom: Any) -> float:
    """uom.uom._compute_quantity(qty, to_unit) with its defaults (round=True, rounding 'UP')."""
    if is_null(from_uom) or not qty:
        return qty
    uoms = odoo.by_id("uom_uom")
    source = uoms[int(from_uom)]
    target = uoms[int(to_uom)] if not is_null(to_uom) else None
    if target is None:
        amount = qty / num(source["factor"])
    elif int(from_uom) == int(to_uom):
        amount = qty
    else:
        if "category_id" in source and source["category_id"] != target["category_id"]:
            raise ValueError(f"uom {from_uom} -> {to_uom}: different categories (Odoo raises)")
        amount = qty / num(source["factor"]) * num(target["factor"])
    if target is not None:
        amount = float_round(amount, num(target["rounding"]), "UP")
    return amount


def _invoice_lines_of(odoo: Odoo) -> dict[int, list[int]]:
    """sale.order.line.invoice_lines: the many2many sale_order_line_invoice_rel."""
    links: dict[int, list[int]] = {}
    for r in odoo.rows("sale_order_line_invoice_rel"):
        links.setdefault(int(r["order_line_id"]), []).append(int(r["invoice_line_id"]))
    return links


def invoice_policy(odoo: Odoo, product_id: Any) -> str | None:
    """product.product.invoice_policy: its template's (sale adds it to product.template)."""
    if is_null(product_id):
        return None
    product = odoo.by_id("product_product")[int(product_id)]
    return odoo.by_id("product_template")[int(product["product_tmpl_id"])].get("invoice_policy")


def qty_invoiced_posted(odoo: Odoo, line: dict[str, Any], links: dict[int, list[int]] | None = None) -> float:
    """sale.order.line._compute_qty_invoiced_posted (18)."""
    links = _invoice_lines_of(odoo) if links is None else links
    amls, moves = odoo.by_id("account_move_line"), odoo.by_id("account_move")
    total = 0.0
    for aml_id in links.get(int(line["id"]), []):  # _get_invoice_lines (no accrual_entry_date)
        aml = amls[aml_id]
        move = moves[int(aml["move_id"])]
        if move["state"] == "posted" or move.get("payment_state") == "invoicing_legacy":
            qty = uom_compute_quantity(odoo, num(aml["quantity"]), aml["product_uom_id"], line["product_uom"])
            total += qty * -direction_sign(move["move_type"])
    return total


def line_amount_to_invoice_18(odoo: Odoo, line: dict[str, Any], links: dict[int, list[int]] | None = None) -> float:
    """sale.order.line._compute_amount_to_invoice (18), as written (the discount applied to a
    price_total that already contains it)."""
    ordered = num(line["product_uom_qty"])
    if not ordered:
        return 0.0
    considered = num(line["qty_delivered"]) if invoice_policy(odoo, line["product_id"]) == "delivery" else ordered
    to_invoice = considered - qty_invoiced_posted(odoo, line, links)
    unit_price_total = num(line["price_total"]) / ordered
    price_reduce = unit_price_total * (1 - num(line["discount"]) / 100.0)
    return price_reduce * to_invoice


def amount_to_invoice_18(odoo: Odoo) -> dict[int, float]:
    """sale.order._compute_amount_to_invoice (18): the sum of the order's lines, per order id."""
    links = _invoice_lines_of(odoo)
    out = {int(o["id"]): 0.0 for o in odoo.rows("sale_order")}
    for line in odoo.rows("sale_order_line"):
        out[int(line["order_id"])] += line_amount_to_invoice_18(odoo, line, links)
    return out


def amount_to_invoice_17(odoo: Odoo) -> dict[int, float]:
    """sale_order.amount_to_invoice as stored (17: a stored compute)."""
    return {int(o["id"]): num(o["amount_to_invoice"]) for o in odoo.rows("sale_order")}


def amount_to_invoice_17_definition(odoo: Odoo) -> dict[int, float]:
    """sale.order._compute_amount_to_invoice (17) from the order's amount_total and its posted
    invoices (_get_invoiced, account.move._get_sale_order_invoiced_amount)."""
    lines_of: dict[int, list[dict]] = {}
    for line in odoo.rows("sale_order_line"):
        lines_of.setdefault(int(line["order_id"]), []).append(line)
    links = _invoice_lines_of(odoo) if not odoo["sale_order_line_invoice_rel"].empty else {}
    amls, moves = odoo.by_id("account_move_line"), odoo.by_id("account_move")
    out: dict[int, float] = {}
    for order in odoo.rows("sale_order"):
        oid = int(order["id"])
        if order.get("invoice_status") == "invoiced":
            out[oid] = 0.0
            continue
        order_line_ids = {int(sol["id"]) for sol in lines_of.get(oid, [])}
        # invoice_ids: moves of the lines' invoice lines, out_invoice / out_refund
        invoice_ids = {int(amls[a]["move_id"]) for sid in order_line_ids for a in links.get(sid, [])}
        invoice_ids = {m for m in invoice_ids if moves[m]["move_type"] in ("out_invoice", "out_refund")}
        linked = {a for sid in order_line_ids for a in links.get(sid, [])}
        invoiced = 0.0
        for mid in sorted(invoice_ids):
            move = moves[mid]
            if move["state"] != "posted":
                continue
            prices = sum(num(amls[a]["price_total"]) for a in linked if int(amls[a]["move_id"]) == mid)
            currency = int(move["currency_id"])
            target = int(order["currency_id"]) if not is_null(order["currency_id"]) else currency
            invoiced += convert(odoo, prices * -direction_sign(move["move_type"]), currency, target,
                                int(move["company_id"]), day(move["date"]))
        out[oid] = num(order["amount_total"]) - invoiced
    return out


def amount_to_invoice(odoo: Odoo) -> dict[int, float]:
    """sale.order.amount_to_invoice per order id, as the version computes it."""
    return amount_to_invoice_18(odoo) if odoo.version == 18 else amount_to_invoice_17(odoo)


def untaxed_to_invoice_orders(odoo: Odoo) -> set[int]:
    """Orders with a line whose stored untaxed_amount_to_invoice > 0 (18's credit_to_invoice domain)."""
    return {int(sol["order_id"]) for sol in odoo.rows("sale_order_line") if num(sol["untaxed_amount_to_invoice"]) > 0}


def credit_to_invoice(odoo: Odoo, company_id: int, today: datetime.date) -> dict[int, float]:
    """res.partner.credit_to_invoice per partner id (sale/models/res_partner.py), company currency."""
    company = odoo.by_id("res_company")[company_id]
    if odoo.version == 18 and not company.get("account_use_credit_limit"):
        return {}
    amounts = amount_to_invoice(odoo)
    eligible = untaxed_to_invoice_orders(odoo) if odoo.version == 18 else None
    out: dict[int, float] = {}
    groups: dict[tuple[int, int], float] = {}
    for order in odoo.rows("sale_order"):
        oid = int(order["id"])
        if order["state"] != "sale" or int(order["company_id"]) != company_id:
            continue
        if odoo.version == 17 and not amounts[oid] > 0:
            continue
        if eligible is not None and oid not in eligible:
            continue
        key = (int(order["partner_id"]), int(order["currency_id"]))
        groups[key] = groups.get(key, 0.0) + amounts[oid]
    for (pid, currency), total in groups.items():
        out[pid] = out.get(pid, 0.0) + convert(odoo, total, currency, int(company["currency_id"]), company_id, today)
    return out


# --------------------------------------------------------------------------- aged receivable


def period_of(aging_date: datetime.date, date_to: datetime.date) -> int:
    """The report's period index (0..5) of a line aged by ``aging_date`` (interval 30)."""
    if aging_date >= date_to:
        return 0
    days = (date_to - aging_date).days  # >= 1
    return min((days - 1) // 30 + 1, 5)


def aged_receivable(odoo: Odoo, company_id: int, date_to: datetime.date) -> pd.DataFrame:
    """The aged receivable report unfolded by journal item: one row per line with columns line_id,
    move_id, partner_id, currency_id, aging_date, period, amount (company currency), amount_currency."""
    receivable = {int(a["id"]) for a in odoo.rows("account_account") if a["account_type"] == "asset_receivable"}
    debit_parts: dict[int, list[dict]] = {}
    credit_parts: dict[int, list[dict]] = {}
    for part in odoo.rows("account_partial_reconcile"):
        if day(part["max_date"]) is not None and day(part["max_date"]) <= date_to:
            debit_parts.setdefault(int(part["debit_move_id"]), []).append(part)
            credit_parts.setdefault(int(part["credit_move_id"]), []).append(part)
    out = []
    for line in odoo.rows("account_move_line"):
        if (line["parent_state"] != "posted" or is_null(line["company_id"]) or int(line["company_id"]) != company_id
                or is_null(line["account_id"]) or int(line["account_id"]) not in receivable
                or day(line["date"]) > date_to):
            continue
        lid = int(line["id"])
        debit = sum(num(p["amount"]) for p in debit_parts.get(lid, []))
        credit = sum(num(p["amount"]) for p in credit_parts.get(lid, []))
        balance = num(line["balance"])
        having_debit = max(balance, 0.0) - debit
        having_credit = max(-balance, 0.0) - credit
        if round(having_debit, 2) == 0 and round(having_credit, 2) == 0:
            continue
        aging = day(line["date_maturity"]) or day(line["date"])
        out.append({
            "line_id": lid, "move_id": int(line["move_id"]),
            "partner_id": None if is_null(line["partner_id"]) else int(line["partner_id"]),
            "currency_id": int(line["currency_id"]), "aging_date": aging, "period": period_of(aging, date_to),
            "amount": balance - debit + credit,
            "amount_currency": (num(line["amount_currency"])
                                - sum(num(p["debit_amount_currency"]) for p in debit_parts.get(lid, []))
                                + sum(num(p["credit_amount_currency"]) for p in credit_parts.get(lid, []))),
        })
    return pd.DataFrame(out, columns=["line_id", "move_id", "partner_id", "currency_id", "aging_date", "period",
                                      "amount", "amount_currency"])
