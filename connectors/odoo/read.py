"""Odoo 17 / 18 tables -> the canonical frames (SPEC §3).

Every read is one SQLAlchemy Core select with bound parameters that aggregates in SQL and is
streamed as ``COPY (select) TO STDOUT`` CSV, parsed by Arrow ``chunk_size`` rows at a time
(connectors.sql.read_frame); pandas only receives typed columns. Mapping choices are documented in ``connectors/odoo/__init__.py`` and
docs/connectors/odoo.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import (
    Float,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from connectors.odoo.schema import OdooTables
from connectors.sql import coerce, read_frame, stream  # noqa: F401
from validation.contracts import empty_frame

#: an amount smaller than this is zero
TOLERANCE = 0.005
#: the language key read from Odoo's translatable jsonb names
LANG = "en_US"

STATE_CUSTOMER_COLUMNS = ["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit", "payment_terms"]
STATE_ORDER_COLUMNS = ["company", "order_id", "customer_id", "on_hold"]


def _money(expr):
    """A float8 column: PostgreSQL rounds numeric -> double once, exactly as float(Decimal) would,
    and its float8 text (shortest exact) reads back to the same double in every read path."""
    return cast(expr, Float(asdecimal=False))


# --------------------------------------------------------------------------- shared expressions


def customer_key(t: OdooTables):
    """customer_id: the partner's ``ref`` when set, else its id as text."""
    p = t.res_partner
    return func.coalesce(func.nullif(func.trim(p.c.ref), ""), cast(p.c.id, String))


def commercial(t: OdooTables, partner_id_col):
    """(join target, on-clause) joining res_partner as the commercial entity of ``partner_id_col``.

    Orders and invoices may name a contact (child partner); credit is the commercial partner's.
    """
    contact = t.res_partner.alias("contact")
    p = t.res_partner
    return contact, (contact.c.id == partner_id_col), (p.c.id == func.coalesce(contact.c.commercial_partner_id,
                                                                                 contact.c.id))


def partner_res_id(t: OdooTables):
    return literal("res.partner,") + cast(t.res_partner.c.id, String)


def field_id(t: OdooTables, field: str):
    """ir_model_fields id of res.partner.<field> (an init plan: evaluated once per query)."""
    mf = t.ir_model_fields
    return select(mf.c.id).where(mf.c.model == "res.partner", mf.c.name == field).limit(1).scalar_subquery()


def _property(t: OdooTables, field: str, column, *, defaults: bool):
    """Odoo 17: the ir_property value of res.partner.<field> for (partner, company).

    Filters on the expressions of Odoo's unique index ``ir_property_unique_index``
    (fields_id, COALESCE(company_id, 0), COALESCE(res_id, '')) so each lookup is an index probe.
    ``defaults``: fall back to the partner's company-less row, then the company default
    (res_id NULL), then the global default, as Odoo's ``_get`` does.
    """
    ip, co = t.ir_property, t.res_company
    res_id = func.coalesce(ip.c.res_id, "")
    company = func.coalesce(ip.c.company_id, 0)
    if not defaults:
        where = [res_id == partner_res_id(t), company == co.c.id]
    else:
        where = [res_id.in_([partner_res_id(t), literal("")]), company.in_([co.c.id, literal(0)])]
    return (select(column).where(ip.c.fields_id == field_id(t, field), *where)
            .order_by(res_id == "", company == 0).limit(1).scalar_subquery())


def credit_limit_expr(t: OdooTables):
    """The partner-specific credit limit for the company (res_company joined); 0 / none -> NULL."""
    p, co = t.res_partner, t.res_company
    if t.version == 18:
        value = cast(p.c.credit_limit.op("->>")(cast(co.c.id, Text)), Float)
    else:
        value = _property(t, "credit_limit", t.ir_property.c.value_float, defaults=False)
    return func.nullif(value, 0)


def payment_term_expr(t: OdooTables):
    """The partner's account.payment.term id for the company, with Odoo's fallbacks.

    17: ir_property rows (see :func:`_property`); 18: the jsonb key of the company, else the
    ``ir_default`` of the field for the company, else the global one.
    """
    p, co = t.res_partner, t.res_company
    if t.version == 18:
        d = t.ir_default
        default = (select(cast(func.nullif(d.c.json_value, "false"), Integer))
                   .where(d.c.field_id == field_id(t, "property_payment_term_id"), d.c.user_id.is_(None),
                          d.c.condition.is_(None), or_(d.c.company_id == co.c.id, d.c.company_id.is_(None)))
                   .order_by(d.c.company_id.is_(None), d.c.id).limit(1).scalar_subquery())
        return func.coalesce(cast(p.c.property_payment_term_id.op("->>")(cast(co.c.id, Text)), Integer), default)
    ref = t.ir_property.c.value_reference
    return _property(t, "property_payment_term_id",
                     cast(func.nullif(func.split_part(ref, ",", 2), ""), Integer), defaults=True)


def _partner_company_join(t: OdooTables, companies: Sequence[str]):
    """(partner x company) rows of customers active in the requested companies."""
    p, co = t.res_partner, t.res_company
    return (p.join(co, or_(p.c.company_id == co.c.id, p.c.company_id.is_(None))),
            and_(co.c.name.in_(list(companies)), p.c.customer_rank > 0,
                 or_(p.c.commercial_partner_id.is_(None), p.c.commercial_partner_id == p.c.id)))


# --------------------------------------------------------------------------- companies, fx


def companies_stmt(t: OdooTables, companies: Sequence[str]) -> Select:
    co, cur = t.res_company, t.res_currency
    return (select(co.c.name.label("company"), cur.c.name.label("currency"))
            .select_from(co.join(cur, cur.c.id == co.c.currency_id))
            .where(co.c.name.in_(list(companies))))


def fx_stmt(t: OdooTables, companies: Sequence[str]) -> Select:
    """res_currency_rate -> fx_rates.

    Odoo's ``rate`` is units of the rate's currency per 1 unit of the company currency, so a row
    (currency X, rate r) of a company in currency C is ``1 X = 1/r C``: from_currency X,
    to_currency C, rate 1/r. Rows without company apply to every company. Several rows for one
    pair and day (e.g. two companies in the same currency) average.
    """
    r, cur, co = t.res_currency_rate, t.res_currency, t.res_company
    ccur = t.res_currency.alias("company_currency")
    sub = (select(cur.c.name.label("from_currency"), ccur.c.name.label("to_currency"),
                  (literal(1.0) / r.c.rate).label("rate"), r.c.name.label("as_of"))
           .select_from(r.join(cur, cur.c.id == r.c.currency_id)
                        .join(co, or_(r.c.company_id == co.c.id, r.c.company_id.is_(None)))
                        .join(ccur, ccur.c.id == co.c.currency_id))
           .where(co.c.name.in_(list(companies)), r.c.currency_id != co.c.currency_id, r.c.rate > 0)
           .subquery())
    return (select(sub.c.from_currency, sub.c.to_currency, _money(func.avg(sub.c.rate)).label("rate"), sub.c.as_of)
            .group_by(sub.c.from_currency, sub.c.to_currency, sub.c.as_of))


# --------------------------------------------------------------------------- customers


def customers_stmt(t: OdooTables, companies: Sequence[str], prepayment_term: str) -> Select:
    p, co, m = t.res_partner, t.res_company, t.account_move
    joined, where = _partner_company_join(t, companies)
    # billing currency: the currency of the partner's latest posted invoice in the company
    # (one DISTINCT ON pass over the invoices, hash-joined; no per-partner lookup)
    last = (select(m.c.commercial_partner_id.label("partner_id"), m.c.company_id, m.c.currency_id)
            .where(m.c.state == "posted", m.c.move_type.in_(["out_invoice", "out_refund"]))
            .distinct(m.c.commercial_partner_id, m.c.company_id)
            .order_by(m.c.commercial_partner_id, m.c.company_id, m.c.invoice_date.desc().nulls_last(),
                      m.c.id.desc())
            .subquery("last_invoice"))
    joined = joined.outerjoin(last, and_(last.c.partner_id == p.c.id, last.c.company_id == co.c.id))
    base = (select(co.c.name.label("company"), customer_key(t).label("customer_id"), p.c.name.label("name"),
                   p.c.country_id, p.c.industry_id, p.c.create_date.label("customer_since"),
                   func.coalesce(last.c.currency_id, co.c.currency_id).label("currency_id"),
                   credit_limit_expr(t).label("credit_limit"), payment_term_expr(t).label("term_id"),
                   (func.coalesce(p.c.sale_warn, "") == "block").label("is_blocked"))
            .select_from(joined).where(where).subquery())
    term, line = t.account_payment_term, t.account_payment_term_line
    days = (select(line.c.payment_id, func.max(line.c.nb_days).label("days"))
            .group_by(line.c.payment_id).subquery())
    country, industry, cur = t.res_country, t.res_partner_industry, t.res_currency
    return (select(base.c.company, base.c.customer_id, base.c.name, country.c.code.label("country"),
                   cur.c.name.label("currency"), _money(base.c.credit_limit).label("credit_limit"),
                   func.coalesce(days.c.days, 0).label("payment_terms_days"), base.c.customer_since,
                   industry.c.name.op("->>")(LANG).label("segment"),
                   null().label("insured_limit"), null().label("external_rating"), base.c.is_blocked,
                   func.coalesce(term.c.name.op("->>")(LANG) == prepayment_term, false()).label("on_prepayment"),
                   func.coalesce(cast(base.c.term_id, String), "").label("payment_terms"))
            .select_from(base.join(cur, cur.c.id == base.c.currency_id)
                         .outerjoin(country, country.c.id == base.c.country_id)
                         .outerjoin(industry, industry.c.id == base.c.industry_id)
                         .outerjoin(term, term.c.id == base.c.term_id)
                         .outerjoin(days, days.c.payment_id == base.c.term_id)))


# --------------------------------------------------------------------------- open items, payments


def _receivable_lines(t: OdooTables):
    aml, acc = t.account_move_line, t.account_account
    return aml.join(acc, and_(acc.c.id == aml.c.account_id, acc.c.account_type == "asset_receivable"))


def open_items_stmt(t: OdooTables, companies: Sequence[str]) -> Select:
    """Posted receivable lines not reconciled with a residual; one item per line.

    item_id is the move name, or ``<move name>/<n>`` for the n-th receivable line (by due date)
    of a move with several (installments).
    """
    aml, m, co, p, cur = t.account_move_line, t.account_move, t.res_company, t.res_partner, t.res_currency
    contact, on_contact, on_partner = commercial(t, aml.c.partner_id)
    numbered = (select(aml.c.id, aml.c.move_id,
                       func.row_number().over(partition_by=aml.c.move_id,
                                              order_by=(aml.c.date_maturity, aml.c.id)).label("n"),
                       func.count().over(partition_by=aml.c.move_id).label("lines"))
                .select_from(_receivable_lines(t))
                .where(aml.c.parent_state == "posted",
                       aml.c.move_id.in_(select(aml.c.move_id).select_from(_receivable_lines(t))
                                         .where(aml.c.parent_state == "posted", aml.c.reconciled.isnot(True))))
                .subquery())
    item_id = case((numbered.c.lines == 1, m.c.name), else_=m.c.name + literal("/") + cast(numbered.c.n, String))
    residual = aml.c.amount_residual_currency
    doc_type = case((m.c.move_type.in_(["out_invoice", "out_receipt"]), "invoice"),
                    (m.c.move_type == "out_refund", "credit_note"),
                    (residual < 0, "payment_on_account"), else_="debit_note")
    return (select(co.c.name.label("company"), item_id.label("item_id"), customer_key(t).label("customer_id"),
                   doc_type.label("doc_type"), func.coalesce(m.c.invoice_date, m.c.date).label("doc_date"),
                   func.coalesce(aml.c.date_maturity, m.c.invoice_date_due, m.c.date).label("due_date"),
                   _money(aml.c.amount_currency).label("amount"), _money(residual).label("open_amount"),
                   cur.c.name.label("currency"), literal(0).label("dunning_level"))
            .select_from(numbered.join(aml, aml.c.id == numbered.c.id).join(m, m.c.id == aml.c.move_id)
                         .join(co, co.c.id == aml.c.company_id).join(contact, on_contact).join(p, on_partner)
                         .join(cur, cur.c.id == aml.c.currency_id))
            .where(co.c.name.in_(list(companies)), aml.c.reconciled.isnot(True),
                   or_(func.abs(aml.c.amount_residual) >= TOLERANCE, func.abs(residual) >= TOLERANCE)))


def payments_stmt(t: OdooTables, companies: Sequence[str]) -> Select:
    """Posted customer invoices whose receivable lines are all reconciled, with at least one partial.

    paid_date: the latest ``max_date`` of the partials reconciling those lines (an invoice's
    receivable line is the debit side of its partials).
    """
    aml, m, co, p, cur = t.account_move_line, t.account_move, t.res_company, t.res_partner, t.res_currency
    apr = t.account_partial_reconcile
    contact, on_contact, on_partner = commercial(t, m.c.partner_id)
    per_move = (select(aml.c.move_id, func.bool_and(func.coalesce(aml.c.reconciled, False)).label("done"),
                       func.max(apr.c.max_date).label("paid_date"), func.count(apr.c.id).label("partials"))
                .select_from(_receivable_lines(t).outerjoin(apr, apr.c.debit_move_id == aml.c.id))
                .where(aml.c.parent_state == "posted")
                .group_by(aml.c.move_id).subquery())
    return (select(co.c.name.label("company"), m.c.name.label("item_id"), customer_key(t).label("customer_id"),
                   m.c.invoice_date.label("doc_date"), func.coalesce(m.c.invoice_date_due, m.c.invoice_date)
                   .label("due_date"), per_move.c.paid_date, _money(m.c.amount_total).label("amount"),
                   cur.c.name.label("currency"))
            .select_from(per_move.join(m, m.c.id == per_move.c.move_id).join(co, co.c.id == m.c.company_id)
                         .join(contact, on_contact).join(p, on_partner).join(cur, cur.c.id == m.c.currency_id))
            .where(co.c.name.in_(list(companies)), m.c.state == "posted",
                   m.c.move_type.in_(["out_invoice", "out_receipt"]), per_move.c.done, per_move.c.partials > 0,
                   m.c.amount_total > 0))


# --------------------------------------------------------------------------- orders


def has_custom_fields(conn: Connection) -> bool:
    """Whether setup added sale_order.x_credit_hold in this database."""
    return bool(conn.execute(text(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'sale_order' AND column_name = :col"), {"col": "x_credit_hold"}).scalar())


def open_orders_stmt(t: OdooTables, companies: Sequence[str], hold_field: bool) -> Select:
    """Confirmed orders (state 'sale') with amount_to_invoice > 0, at amount_to_invoice."""
    so, co, p, cur = t.sale_order, t.res_company, t.res_partner, t.res_currency
    contact, on_contact, on_partner = commercial(t, so.c.partner_id)
    on_hold = func.coalesce(so.c.x_credit_hold, False) if hold_field else false()
    return (select(co.c.name.label("company"), so.c.name.label("order_id"), customer_key(t).label("customer_id"),
                   so.c.date_order.label("order_date"), _money(so.c.amount_to_invoice).label("open_amount"),
                   cur.c.name.label("currency"), on_hold.label("on_hold"))
            .select_from(so.join(co, co.c.id == so.c.company_id).join(contact, on_contact).join(p, on_partner)
                         .join(cur, cur.c.id == func.coalesce(so.c.currency_id, co.c.currency_id)))
            .where(co.c.name.in_(list(companies)), so.c.state == "sale", so.c.amount_to_invoice >= TOLERANCE))


# --------------------------------------------------------------------------- frame readers


def read_companies(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, companies_stmt(t, companies), empty_frame("companies"), chunk_size, sort=["company"])


def read_customers_raw(conn, t, companies, chunk_size, prepayment_term) -> pd.DataFrame:
    template = empty_frame("customers").assign(payment_terms=pd.Series([], dtype=object))
    return read_frame(conn, customers_stmt(t, companies, prepayment_term), template, chunk_size,
                      sort=["company", "customer_id"])


def read_open_items(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, open_items_stmt(t, companies), empty_frame("open_items"), chunk_size,
                      sort=["company", "item_id"])


def read_payments(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, payments_stmt(t, companies), empty_frame("payments"), chunk_size,
                      sort=["company", "item_id"])


def read_open_orders(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, open_orders_stmt(t, companies, has_custom_fields(conn)), empty_frame("open_orders"),
                      chunk_size, sort=["company", "order_id"])


def read_fx_rates(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, fx_stmt(t, companies), empty_frame("fx_rates"), chunk_size,
                      sort=["from_currency", "to_currency", "as_of"])
