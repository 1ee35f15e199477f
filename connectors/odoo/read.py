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
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select, visitors
from sqlalchemy.sql.expression import Alias, ColumnClause, TableClause

from connectors.odoo.tables import OdooTables
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


#: Odoo's superuser id (odoo/__init__.py ``SUPERUSER_ID``): company-dependent fallbacks are read as it
SUPERUSER_ID = 1


def _ir_default(t: OdooTables, field: str, sqltype):
    """Odoo 18: the ``ir_default`` of res.partner.<field> for the company (res_company joined),
    as ``Field.get_company_dependent_fallback`` (odoo/fields.py) reads it: ``_get_model_defaults``
    as the superuser (odoo/addons/base/models/ir_default.py: rows of no user or of the superuser,
    of the company or of none, no condition, ``ORDER BY d.user_id, d.company_id, d.id`` with
    PostgreSQL's NULLS LAST: the superuser's row first, then the company's, and the first row
    wins). JSON ``false`` / ``null`` is no default. Evaluated per company (an init plan per
    res_company row)."""
    d, co = t.ir_default, t.res_company
    value = case((d.c.json_value.in_(["false", "null"]), null()), else_=cast(d.c.json_value, sqltype))
    return (select(value)
            .where(d.c.field_id == field_id(t, field), d.c.condition.is_(None),
                   or_(d.c.user_id.is_(None), d.c.user_id == SUPERUSER_ID),
                   or_(d.c.company_id == co.c.id, d.c.company_id.is_(None)))
            .order_by(d.c.user_id.is_(None), d.c.company_id.is_(None), d.c.id).limit(1).scalar_subquery())


def _company_dependent_18(t: OdooTables, col, field: str, sqltype):
    """Odoo 18: a company-dependent jsonb column read as Odoo's ORM reads it
    (odoo/models.py ``BaseModel._field_to_sql``, company_dependent branch, with
    ``Field.get_company_dependent_fallback`` in odoo/fields.py): the company's key when the key
    exists (``{"1": null}`` is an explicit empty value, not the fallback), else the ir_default."""
    co = t.res_company
    key = cast(co.c.id, Text)
    return case((col.op("->")(key).is_(None), _ir_default(t, field, sqltype)),
                else_=cast(col.op("->>")(key), sqltype))


def credit_limit_expr(t: OdooTables):
    """The credit limit in force for the partner in the company (res_company joined); NULL = no limit.

    Odoo stores no partner value equal to the company default, and reads a partner without its
    own value as the default: 17 ``ir.property._get_multi`` (odoo/addons/base/models/ir_property.py:
    the partner's row for the company, else its company-less row, else the default row
    ``res_id IS NULL`` of the company, else the global one); 18 the jsonb key, else ``ir_default``
    (see :func:`_company_dependent_18`). 0 means no limit, as in Odoo's own check
    (addons/account/models/account_move.py ``_build_credit_warning_message``:
    ``if not partner_id.credit_limit or total_credit <= partner_id.credit_limit: return ''``,
    called by ``_compute_partner_credit_warning`` of account.move and sale.order), so 0 -> NULL.
    """
    if t.version == 18:
        value = _company_dependent_18(t, t.res_partner.c.credit_limit, "credit_limit", Float)
    else:
        value = _property(t, "credit_limit", t.ir_property.c.value_float, defaults=True)
    return func.nullif(value, 0)


def payment_term_expr(t: OdooTables):
    """The partner's account.payment.term id for the company, with Odoo's fallbacks.

    17: ir_property rows (see :func:`_property`); 18: the jsonb key of the company, else the
    ``ir_default`` of the field for the company, else the global one (:func:`_company_dependent_18`).
    """
    if t.version == 18:
        return _company_dependent_18(t, t.res_partner.c.property_payment_term_id, "property_payment_term_id",
                                     Integer)
    ref = t.ir_property.c.value_reference
    return _property(t, "property_payment_term_id",
                     cast(func.nullif(func.split_part(ref, ",", 2), ""), Integer), defaults=True)


def _ordering_partners(t: OdooTables):
    """(commercial partner id, company id) of every confirmed sale order (state 'sale').

    Odoo raises ``customer_rank`` only when it posts a sale document or an entry with a receivable
    line (addons/account/models/account_move.py ``_post``: ``_increase_rank('customer_rank')``);
    confirming an order does not. A partner with confirmed orders but no posted invoice is
    still a customer with exposure (its open orders), so it is read too.
    """
    so = t.sale_order
    contact = t.res_partner.alias("order_contact")
    return (select(func.coalesce(contact.c.commercial_partner_id, contact.c.id).label("partner_id"),
                   so.c.company_id)
            .select_from(so.join(contact, contact.c.id == so.c.partner_id))
            .where(so.c.state == "sale").distinct().subquery("ordering"))


def _partner_company_join(t: OdooTables, companies: Sequence[str]):
    """(partner x company) rows of customers active in the requested companies: commercial
    partners with ``customer_rank > 0`` or with a confirmed order in the company."""
    p, co = t.res_partner, t.res_company
    ordering = _ordering_partners(t)
    return (p.join(co, or_(p.c.company_id == co.c.id, p.c.company_id.is_(None)))
            .outerjoin(ordering, and_(ordering.c.partner_id == p.c.id, ordering.c.company_id == co.c.id)),
            and_(co.c.name.in_(list(companies)), or_(p.c.customer_rank > 0, ordering.c.partner_id.isnot(None)),
                 or_(p.c.commercial_partner_id.is_(None), p.c.commercial_partner_id == p.c.id)))


# --------------------------------------------------------------------------- companies, fx


def companies_stmt(t: OdooTables, companies: Sequence[str]) -> Select:
    co, cur = t.res_company, t.res_currency
    return (select(co.c.name.label("company"), cur.c.name.label("currency"))
            .select_from(co.join(cur, cur.c.id == co.c.currency_id))
            .where(co.c.name.in_(list(companies))))


def root_company_id(t: OdooTables):
    """The id of the company's root (``res_company.root_id``, not stored: the first id of
    ``parent_path`` '1/5/'), the company itself without a parent path."""
    co = t.res_company
    return func.coalesce(cast(func.nullif(func.split_part(co.c.parent_path, "/", 1), ""), Integer), co.c.id)


def fx_stmt(t: OdooTables, companies: Sequence[str]) -> Select:
    """res_currency_rate -> fx_rates, with Odoo's company preference.

    Odoo's ``rate`` is units of the rate's currency per 1 unit of the company currency, so a row
    (currency X, rate r) of a company in currency C is ``1 X = 1/r C``: from_currency X,
    to_currency C, rate 1/r.

    Which row applies follows ``res.currency._get_rates`` (odoo/addons/base/models/res_currency.py,
    17.0 and 18.0): among the rows of the currency dated on or before the day, with
    ``company_id`` the company or NULL, ``ORDER BY r.company_id, r.name DESC LIMIT 1`` -- NULLs sort
    last, so the company's latest row wins over any company-less row, even a later one; a
    company-less row applies only while the company has no row of its own on or before that day.
    The frame (latest ``as_of`` on or before the day wins) reproduces that exactly: a company's
    own rows, plus the company-less rows dated before its first own row of that currency. Rows
    are never averaged across a company and no company. Limit of the frame (one rate per pair and
    day, no company): requested companies sharing a currency share the pair, so on a day where
    one has its own row and another only a company-less one the own row is used, own rows of
    several companies average, and a company-less row still used by one of them stays in the
    frame for all.
    Branches: Odoo looks the rates up for ``company.root_id`` (``_get_rates(company, date)``
    executes with ``company.root_id.id``, 17.0 and 18.0), the first id of the company's
    ``parent_path`` (res_company ``_compute_parent_ids``); so does the frame, with the branch's
    own currency as ``to_currency``.
    """
    r, cur, co = t.res_currency_rate, t.res_currency, t.res_company
    root = root_company_id(t)
    ccur = t.res_currency.alias("company_currency")
    own = t.res_currency_rate.alias("own_rate")
    has_own_before = (select(own.c.id)
                      .where(own.c.currency_id == r.c.currency_id, own.c.company_id == root,
                             own.c.name <= r.c.name)
                      .exists())
    specific = r.c.company_id.isnot(None)
    sub = (select(cur.c.name.label("from_currency"), ccur.c.name.label("to_currency"),
                  (literal(1.0) / r.c.rate).label("rate"), r.c.name.label("as_of"), specific.label("specific"))
           .select_from(r.join(cur, cur.c.id == r.c.currency_id)
                        .join(co, or_(r.c.company_id == root, r.c.company_id.is_(None)))
                        .join(ccur, ccur.c.id == co.c.currency_id))
           .where(co.c.name.in_(list(companies)), r.c.currency_id != co.c.currency_id, r.c.rate > 0,
                  or_(specific, ~has_own_before))
           .subquery())
    rate = func.coalesce(func.avg(sub.c.rate).filter(sub.c.specific), func.avg(sub.c.rate))
    return (select(sub.c.from_currency, sub.c.to_currency, _money(rate).label("rate"), sub.c.as_of)
            .group_by(sub.c.from_currency, sub.c.to_currency, sub.c.as_of))


# --------------------------------------------------------------------------- customers


#: days from a date to the end of its month, on average: what a term counted from the end of the
#: month adds to its own days (a single number of days cannot say more; as the ERPNext connector)
END_OF_MONTH_DAYS = 15
#: days of a month, for "end of next month"
MONTH_DAYS = 30
#: Odoo 18's default of ``account.payment.term.line.days_next_month`` (used when the column is absent)
DAYS_NEXT_MONTH_DEFAULT = 10


def _term_days(t: OdooTables, days_next_month: bool):
    """Per account.payment.term, the days from the invoice date to the due date of its last line,
    approximated from each line's rule as ``account.payment.term.line._get_due_date``
    (addons/account/models/account_payment_term.py) computes due dates:

    * ``days_after`` (17, 18): ``nb_days`` after the invoice date -> nb_days;
    * ``days_after_end_of_month`` (17, 18): nb_days after the end of the invoice month ->
      nb_days + 15 (the average distance to the end of the month, END_OF_MONTH_DAYS);
    * ``days_after_end_of_next_month`` (17, 18): nb_days after the end of the next month ->
      nb_days + 15 + 30;
    * ``days_end_of_month_on_the`` (18 only): nb_days after the invoice date, then day
      ``days_next_month`` of the following month -> nb_days + 15 + that day; Odoo reads a
      non-numeric value as day 1, and 0 or an empty value as the end of that month
      (nb_days + 15). Without the column (a schema that lacks it) the field's default, 10.

    The due date of the last portion is the largest of the lines' days. A term without lines is 0.
    """
    cols = [sql_column("payment_id"), sql_column("nb_days"), sql_column("delay_type")]
    if days_next_month:
        cols.append(sql_column("days_next_month"))
    line = sql_table(t.account_payment_term_line.name, *cols).alias("term_line")
    nb = func.coalesce(line.c.nb_days, 0)
    if days_next_month:
        raw = func.trim(line.c.days_next_month)
        day = case((raw.is_(None), 0), (raw == "", 1), (raw.op("~")("^[0-9]+$"), cast(raw, Integer)), else_=1)
    else:
        day = literal(DAYS_NEXT_MONTH_DEFAULT)
    days = case((line.c.delay_type == "days_after_end_of_month", nb + END_OF_MONTH_DAYS),
                (line.c.delay_type == "days_after_end_of_next_month", nb + END_OF_MONTH_DAYS + MONTH_DAYS),
                (line.c.delay_type == "days_end_of_month_on_the", nb + END_OF_MONTH_DAYS + day),
                else_=nb)
    return select(line.c.payment_id, func.max(days).label("days")).group_by(line.c.payment_id).subquery("term_days")


def customers_stmt(t: OdooTables, companies: Sequence[str], prepayment_term: str, *,
                   days_next_month: bool = False) -> Select:
    """customers (without on_prepayment's final shape: ``payment_terms`` is the term id as text).

    ``days_next_month``: the database has 18's ``account_payment_term_line.days_next_month``
    (see :func:`_term_days`).
    """
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
    term = t.account_payment_term
    days = _term_days(t, days_next_month)
    country, industry, cur = t.res_country, t.res_partner_industry, t.res_currency
    return (select(base.c.company, base.c.customer_id, base.c.name, country.c.code.label("country"),
                   cur.c.name.label("currency"), _money(base.c.credit_limit).label("credit_limit"),
                   func.coalesce(days.c.days, 0).label("payment_terms_days"), base.c.customer_since,
                   industry.c.name.op("->>", return_type=Text)(LANG).label("segment"),
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


def payment_link_columns(t: OdooTables) -> tuple[str, ...]:
    """The account_move columns by which Odoo tells a payment: 17 ``payment_id``, 18
    ``origin_payment_id`` (the move of an account.payment), and ``statement_line_id`` (a bank
    statement line), as ``account.move._compute_payment_state`` reads them (``has_payment``,
    ``has_st_line``)."""
    return ("origin_payment_id" if t.version == 18 else "payment_id", "statement_line_id")


def payments_stmt(t: OdooTables, companies: Sequence[str], payment_links: Sequence[str] | None = None) -> Select:
    """Posted customer invoices cleared by payment (SPEC §3: cleared invoices only, ``paid_date``
    the date of the last payment allocated).

    What clears an invoice in Odoo is the set of ``account_partial_reconcile`` rows on its
    receivable lines (the invoice's line is their debit side); Odoo classifies the counterpart
    moves in ``account.move._compute_payment_state`` (addons/account/models/account_move.py,
    17.0 and 18.0): a counterpart move with a payment (17 ``payment_id``, 18 ``origin_payment_id``)
    or a bank statement line is a payment; an ``out_refund`` is a credit note or the invoice's
    reversal (Odoo's ``reversed`` state when nothing else cleared it); any other ``entry`` is a
    write-off, an exchange difference or a reversal entry. The invoice is history when:

    * all its receivable lines are ``reconciled`` (its outstanding reached 0), and
    * at least one partial's counterpart is a payment.

    Invoices cleared only by credit notes, reversals or write-offs are not payment history (the
    customer paid nothing); an invoice paid in part and cleared for the rest by a credit note
    or a write-off is. ``paid_date``: the latest ``max_date`` of its payment partials (credit
    notes and write-offs do not move it); ``amount``: ``amount_total``.

    ``payment_links``: the account_move columns that mark payments present in this database
    (:func:`payment_link_columns`, filtered by what exists). Empty or None, a counterpart of type
    ``entry`` counts as a payment (a schema without those columns cannot tell a write-off apart).
    """
    aml, m, co, p, cur = t.account_move_line, t.account_move, t.res_company, t.res_partner, t.res_currency
    apr = t.account_partial_reconcile
    contact, on_contact, on_partner = commercial(t, m.c.partner_id)
    links = list(payment_links or ())
    counter_line = t.account_move_line.alias("counter_line")
    counter_move = sql_table(t.account_move.name, sql_column("id"), sql_column("move_type"),
                             *(sql_column(name) for name in links)).alias("counter_move")
    if links:
        is_payment = or_(*(counter_move.c[name].isnot(None) for name in links))
    else:
        is_payment = counter_move.c.move_type == "entry"
    is_payment = and_(apr.c.id.isnot(None), func.coalesce(is_payment, False))
    per_move = (select(aml.c.move_id, func.bool_and(func.coalesce(aml.c.reconciled, False)).label("done"),
                       func.max(apr.c.max_date).filter(is_payment).label("paid_date"),
                       func.count(apr.c.id).filter(is_payment).label("payments"))
                .select_from(_receivable_lines(t).outerjoin(apr, apr.c.debit_move_id == aml.c.id)
                             .outerjoin(counter_line, counter_line.c.id == apr.c.credit_move_id)
                             .outerjoin(counter_move, counter_move.c.id == counter_line.c.move_id))
                .where(aml.c.parent_state == "posted")
                .group_by(aml.c.move_id).subquery())
    return (select(co.c.name.label("company"), m.c.name.label("item_id"), customer_key(t).label("customer_id"),
                   m.c.invoice_date.label("doc_date"), func.coalesce(m.c.invoice_date_due, m.c.invoice_date)
                   .label("due_date"), per_move.c.paid_date, _money(m.c.amount_total).label("amount"),
                   cur.c.name.label("currency"))
            .select_from(per_move.join(m, m.c.id == per_move.c.move_id).join(co, co.c.id == m.c.company_id)
                         .join(contact, on_contact).join(p, on_partner).join(cur, cur.c.id == m.c.currency_id))
            .where(co.c.name.in_(list(companies)), m.c.state == "posted",
                   m.c.move_type.in_(["out_invoice", "out_receipt"]), per_move.c.done, per_move.c.payments > 0,
                   m.c.amount_total > 0))


# --------------------------------------------------------------------------- orders


def existing_columns(conn: Connection, table: str, columns: Sequence[str]) -> tuple[str, ...]:
    """Those of ``columns`` that ``table`` has in this database (in the given order)."""
    found = set(conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = :table AND column_name = ANY(:cols)"), {"table": table, "cols": list(columns)}).scalars())
    return tuple(c for c in columns if c in found)


def has_custom_fields(conn: Connection) -> bool:
    """Whether setup added sale_order.x_credit_hold in this database."""
    return bool(existing_columns(conn, "sale_order", ["x_credit_hold"]))


#: move types whose ``direction_sign`` is -1 (account.move ``_compute_direction_sign``: 1 for
#: ``entry`` and outbound types, else -1), so that their invoiced quantity counts positive
_INBOUND = ("out_invoice", "out_receipt", "in_refund")
#: rounding slack of ``float_round(..., rounding_method='UP')`` (odoo/tools/float_utils.py
#: subtracts a few ulps before ceil so that 2.0000000001 stays 2): relative, as there
_ROUND_UP_SLACK = 2.0 ** -40


def _qty_invoiced_posted_18(t: OdooTables):
    """Odoo 18: per sale_order_line id, ``qty_invoiced_posted`` as
    addons/sale/models/sale_order_line.py ``_compute_qty_invoiced_posted`` computes it: over the
    line's ``invoice_lines`` (many2many sale_order_line_invoice_rel) whose move is posted (or
    ``payment_state = 'invoicing_legacy'``), the invoice line's quantity converted to the order
    line's unit (uom.uom ``_compute_quantity``: unchanged without a unit on the invoice line; else
    ``qty / from.factor * to.factor``, rounded UP to the order line unit's ``rounding``), times
    ``-direction_sign`` (positive on customer invoices, negative on credit notes)."""
    sol, rel, aml, m = t.sale_order_line, t.sale_order_line_invoice_rel, t.account_move_line, t.account_move
    src, dst = t.uom_uom.alias("invoice_uom"), t.uom_uom.alias("order_uom")
    qty = func.coalesce(aml.c.quantity, 0)
    converted = case((src.c.id == dst.c.id, qty), else_=qty / src.c.factor * dst.c.factor)
    magnitude = func.abs(converted) / dst.c.rounding
    rounded = func.sign(converted) * func.ceil(magnitude - magnitude * _ROUND_UP_SLACK) * dst.c.rounding
    quantity = case((src.c.id.is_(None), qty), (qty == 0, qty),
                    (dst.c.id.is_(None), qty / src.c.factor),  # no unit to convert to: no rounding either
                    else_=rounded)
    sign = case((m.c.move_type.in_(_INBOUND), 1), else_=-1)
    return (select(rel.c.order_line_id, func.sum(quantity * sign).label("qty"))
            .select_from(rel.join(aml, aml.c.id == rel.c.invoice_line_id).join(m, m.c.id == aml.c.move_id)
                         .join(sol, sol.c.id == rel.c.order_line_id)
                         .outerjoin(src, src.c.id == aml.c.product_uom_id)
                         .outerjoin(dst, dst.c.id == sol.c.product_uom))
            .where(or_(m.c.state == "posted", m.c.payment_state == "invoicing_legacy"))
            .group_by(rel.c.order_line_id).subquery("invoiced"))


def amount_to_invoice_18(t: OdooTables):
    """Odoo 18: per sale_order id, ``amount_to_invoice`` (tax included), a non-stored compute
    over the lines (addons/sale/models/sale_order.py ``_compute_amount_to_invoice``: the sum of the
    lines'; sale_order_line.py ``_compute_amount_to_invoice``): for a line with a quantity,
    ``(qty - qty_invoiced_posted) * price_total / product_uom_qty * (1 - discount / 100)``, where
    qty is ``qty_delivered`` when the product's template has ``invoice_policy = 'delivery'``, else
    ``product_uom_qty``; 0 for a line without quantity (sections, notes). Odoo applies the
    discount on top of ``price_total``, which already includes it; so does this."""
    sol, prod, tmpl = t.sale_order_line, t.product_product, t.product_template
    invoiced = _qty_invoiced_posted_18(t)
    ordered = sol.c.product_uom_qty
    qty = case((tmpl.c.invoice_policy == "delivery", func.coalesce(sol.c.qty_delivered, 0)), else_=ordered)
    line = case((func.coalesce(ordered, 0) != 0,
                 (qty - func.coalesce(invoiced.c.qty, 0)) * (func.coalesce(sol.c.price_total, 0) / ordered)
                 * (1 - func.coalesce(sol.c.discount, 0) / 100.0)), else_=0)
    return (select(sol.c.order_id, func.sum(line).label("amount"))
            .select_from(sol.outerjoin(prod, prod.c.id == sol.c.product_id)
                         .outerjoin(tmpl, tmpl.c.id == prod.c.product_tmpl_id)
                         .outerjoin(invoiced, invoiced.c.order_line_id == sol.c.id))
            .group_by(sol.c.order_id).subquery("to_invoice"))


def open_orders_stmt(t: OdooTables, companies: Sequence[str], hold_field: bool) -> Select:
    """Confirmed orders (state 'sale') with an amount to invoice, at that amount (the order's
    currency, tax included): 17 the stored ``sale_order.amount_to_invoice``; 18 computed from the
    lines (:func:`amount_to_invoice_18`), never from a column an upgrade from 17 may have left."""
    so, co, p, cur = t.sale_order, t.res_company, t.res_partner, t.res_currency
    contact, on_contact, on_partner = commercial(t, so.c.partner_id)
    on_hold = func.coalesce(so.c.x_credit_hold, False) if hold_field else false()
    joined = (so.join(co, co.c.id == so.c.company_id).join(contact, on_contact).join(p, on_partner)
              .join(cur, cur.c.id == func.coalesce(so.c.currency_id, co.c.currency_id)))
    if t.version == 18:
        lines = amount_to_invoice_18(t)
        joined, amount = joined.join(lines, lines.c.order_id == so.c.id), lines.c.amount
    else:
        amount = so.c.amount_to_invoice
    return (select(co.c.name.label("company"), so.c.name.label("order_id"), customer_key(t).label("customer_id"),
                   so.c.date_order.label("order_date"), _money(amount).label("open_amount"),
                   cur.c.name.label("currency"), on_hold.label("on_hold"))
            .select_from(joined)
            .where(co.c.name.in_(list(companies)), so.c.state == "sale", amount >= TOLERANCE))


# --------------------------------------------------------------------------- frame readers


def read_companies(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, companies_stmt(t, companies), empty_frame("companies"), chunk_size, sort=["company"])


def read_customers_raw(conn, t, companies, chunk_size, prepayment_term) -> pd.DataFrame:
    template = empty_frame("customers").assign(payment_terms=pd.Series([], dtype=object))
    days_next_month = bool(existing_columns(conn, t.account_payment_term_line.name, ["days_next_month"]))
    return read_frame(conn, customers_stmt(t, companies, prepayment_term, days_next_month=days_next_month),
                      template, chunk_size, sort=["company", "customer_id"])


def read_open_items(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, open_items_stmt(t, companies), empty_frame("open_items"), chunk_size,
                      sort=["company", "item_id"])


def read_payments(conn, t, companies, chunk_size) -> pd.DataFrame:
    links = existing_columns(conn, t.account_move.name, payment_link_columns(t))
    return read_frame(conn, payments_stmt(t, companies, links), empty_frame("payments"), chunk_size,
                      sort=["company", "item_id"])


def read_open_orders(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, open_orders_stmt(t, companies, has_custom_fields(conn)), empty_frame("open_orders"),
                      chunk_size, sort=["company", "order_id"])


def read_fx_rates(conn, t, companies, chunk_size) -> pd.DataFrame:
    return read_frame(conn, fx_stmt(t, companies), empty_frame("fx_rates"), chunk_size,
                      sort=["from_currency", "to_currency", "as_of"])


# --------------------------------------------------------------------------- what the reads touch


def read_statements(t: OdooTables) -> list[Select]:
    """Every statement the reads build for Odoo ``t.version``, with all optional columns that
    version has (18's ``days_next_month``; the payment links; the hold field when ``t`` has it)."""
    companies = ["?"]
    return [companies_stmt(t, companies), fx_stmt(t, companies),
            customers_stmt(t, companies, "Prepayment", days_next_month=t.version == 18),
            open_items_stmt(t, companies), payments_stmt(t, companies, payment_link_columns(t)),
            open_orders_stmt(t, companies, hold_field="x_credit_hold" in t.sale_order.c)]


def _base_table(from_obj) -> str | None:
    while isinstance(from_obj, Alias):
        from_obj = from_obj.element
    return from_obj.name if isinstance(from_obj, TableClause) else None


def columns_read(t: OdooTables) -> set[tuple[str, str]]:
    """(table, column) of every column the read statements name, aliases resolved to their tables."""
    found: set[tuple[str, str]] = set()
    for stmt in read_statements(t):
        for element in visitors.iterate(stmt):
            if isinstance(element, ColumnClause) and element.table is not None:
                table = _base_table(element.table)
                if table is not None:
                    found.add((table, element.name))
    return found


def tables_read(t: OdooTables) -> list[str]:
    """The tables the read statements select from, sorted (what the read user needs SELECT on)."""
    return sorted({table for table, _ in columns_read(t)})
