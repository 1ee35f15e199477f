"""SAP Business One tables -> the canonical frames (SPEC §3), as SQLAlchemy Core selects.

Every statement is built from :mod:`connectors.sap_b1.schema` only (no text SQL, bound
parameters), aggregates in SQL and compiles for ``mssql`` (pyodbc) as well as PostgreSQL (the
test server). Flags are selected as ``CASE … THEN 1 ELSE 0`` because T-SQL has no boolean
select expressions. Amounts are in the document currency: B1 keeps local-currency amounts in
``DocTotal`` / ``PaidToDate`` / ``InsTotal`` and the document-currency ones in the ``…FC``
columns, which are 0 for local-currency documents; :func:`_doc` picks by ``DocCur``.
"""

from __future__ import annotations

from sqlalchemy import Float, String, case, cast, func, literal, or_, select, type_coerce
from sqlalchemy.sql import ColumnElement, Select

from connectors.sap_b1 import schema as t

#: an open amount smaller than this is zero
TOLERANCE = 0.005


def _money(expr) -> ColumnElement:
    return type_coerce(expr, Float(asdecimal=False))


def _doc(currency, main: str, local, foreign) -> ColumnElement:
    """The document-currency amount: the local column for local documents, else the FC column."""
    return case((currency == main, local), else_=foreign)


def _flag(condition) -> ColumnElement:
    return case((condition, 1), else_=0)


def company_stmt() -> Select:
    a = t.OADM
    return select(a.c.CompnyName, a.c.MainCurncy, a.c.DirectRate)


def customers_stmt(company: str, main: str, prepayment_terms: str) -> Select:
    """Customers (CardType 'C') with segment (OCRG), terms (OCTG) and the raw GroupNum.

    credit_limit: ``CreditLine``; 0 (B1's default for a BP without a limit) is null.
    payment_terms_days: ``ExtraMonth × 30 + ExtraDays``. Currency ``##`` (all currencies) or
    empty is the company currency. is_blocked: ``frozenFor = 'Y'``; on_prepayment: the terms'
    ``PymntGroup`` is the prepayment terms option.
    """
    c, g, p = t.OCRD, t.OCRG, t.OCTG
    currency = case((or_(c.c.Currency.is_(None), c.c.Currency == "", c.c.Currency == "##"), literal(main)),
                    else_=c.c.Currency)
    return (
        select(
            literal(company).label("company"),
            c.c.CardCode.label("customer_id"),
            func.coalesce(c.c.CardName, c.c.CardCode).label("name"),
            func.nullif(c.c.Country, "").label("country"),
            currency.label("currency"),
            _money(func.nullif(c.c.CreditLine, 0)).label("credit_limit"),
            (func.coalesce(p.c.ExtraMonth, 0) * 30 + func.coalesce(p.c.ExtraDays, 0)).label("payment_terms_days"),
            c.c.CreateDate.label("customer_since"),
            g.c.GroupName.label("segment"),
            _flag(c.c.frozenFor == "Y").label("is_blocked"),
            _flag(p.c.PymntGroup == prepayment_terms).label("on_prepayment"),
            cast(c.c.GroupNum, String(10)).label("payment_terms"),
        )
        .select_from(c.outerjoin(g, g.c.GroupCode == c.c.GroupCode).outerjoin(p, p.c.GroupNum == c.c.GroupNum))
        .where(c.c.CardType == "C")
    )


def invoice_items_stmt(company: str, main: str) -> Select:
    """Open installments (INV6 ``Status = 'O'``) of not-cancelled invoices, one item each:
    ``<DocNum>`` for a single-installment invoice, ``<DocNum>/<InstlmntID>`` otherwise."""
    i, r = t.OINV, t.INV6
    n = select(r.c.DocEntry, func.count().label("n")).group_by(r.c.DocEntry).subquery("installments")
    amount = _doc(i.c.DocCur, main, r.c.InsTotal, r.c.InsTotalFC)
    paid = _doc(i.c.DocCur, main, r.c.PaidToDate, r.c.PaidFC)
    docnum = cast(i.c.DocNum, String(11))
    item_id = case((n.c.n > 1, docnum + literal("/") + cast(r.c.InstlmntID, String(11))), else_=docnum)
    return (
        select(
            literal(company).label("company"),
            item_id.label("item_id"),
            i.c.CardCode.label("customer_id"),
            literal("invoice").label("doc_type"),
            i.c.DocDate.label("doc_date"),
            r.c.DueDate.label("due_date"),
            _money(amount).label("amount"),
            _money(amount - paid).label("open_amount"),
            i.c.DocCur.label("currency"),
            func.coalesce(r.c.DunnLevel, 0).label("dunning_level"),
        )
        .select_from(i.join(r, r.c.DocEntry == i.c.DocEntry).join(n, n.c.DocEntry == i.c.DocEntry))
        .where(i.c.CANCELED == "N", r.c.Status == "O", func.abs(amount - paid) >= TOLERANCE)
    )


def credit_memo_items_stmt(company: str, main: str) -> Select:
    """Open credit memos (ORIN, not cancelled): ``CN-<DocNum>``, amounts negative."""
    m = t.ORIN
    amount = _doc(m.c.DocCur, main, m.c.DocTotal, m.c.DocTotalFC)
    paid = _doc(m.c.DocCur, main, m.c.PaidToDate, m.c.PaidFC)
    return (
        select(
            literal(company).label("company"),
            (literal("CN-") + cast(m.c.DocNum, String(11))).label("item_id"),
            m.c.CardCode.label("customer_id"),
            literal("credit_note").label("doc_type"),
            m.c.DocDate.label("doc_date"),
            func.coalesce(m.c.DocDueDate, m.c.DocDate).label("due_date"),
            _money(-amount).label("amount"),
            _money(paid - amount).label("open_amount"),
            m.c.DocCur.label("currency"),
            literal(0).label("dunning_level"),
        )
        .where(m.c.CANCELED == "N", m.c.DocStatus == "O", func.abs(amount - paid) >= TOLERANCE)
    )


def on_account_items_stmt(company: str, main: str) -> Select:
    """Incoming payments with an open on-account balance (``OpenBal``): ``RC-<DocNum>``,
    amount = −``NoDocSum`` (the part not allocated to documents), open = −``OpenBal``."""
    p = t.ORCT
    amount = _doc(p.c.DocCurr, main, p.c.NoDocSum, p.c.NoDocSumFC)
    open_ = _doc(p.c.DocCurr, main, p.c.OpenBal, p.c.OpenBalFc)
    return (
        select(
            literal(company).label("company"),
            (literal("RC-") + cast(p.c.DocNum, String(11))).label("item_id"),
            p.c.CardCode.label("customer_id"),
            literal("payment_on_account").label("doc_type"),
            p.c.DocDate.label("doc_date"),
            p.c.DocDate.label("due_date"),
            _money(-amount).label("amount"),
            _money(-open_).label("open_amount"),
            p.c.DocCurr.label("currency"),
            literal(0).label("dunning_level"),
        )
        .where(p.c.Canceled == "N", p.c.DocType == "C", open_ >= TOLERANCE)
    )


def payments_stmt(company: str, main: str) -> Select:
    """Cleared invoices: not cancelled, ``DocStatus = 'C'``, paid in full, with at least one
    incoming payment (RCT2 ``InvType = '13'``, ORCT not cancelled); paid_date = the latest such
    payment's DocDate. An invoice closed only by a credit memo has no payment and is no history."""
    i, p, a = t.OINV, t.ORCT, t.RCT2
    last = (
        select(a.c.DocEntry, func.max(p.c.DocDate).label("paid_date"))
        .select_from(a.join(p, p.c.DocEntry == a.c.DocNum))
        .where(a.c.InvType == "13", p.c.Canceled == "N")
        .group_by(a.c.DocEntry)
        .subquery("last_payment")
    )
    amount = _doc(i.c.DocCur, main, i.c.DocTotal, i.c.DocTotalFC)
    paid = _doc(i.c.DocCur, main, i.c.PaidToDate, i.c.PaidFC)
    return (
        select(
            literal(company).label("company"),
            cast(i.c.DocNum, String(11)).label("item_id"),
            i.c.CardCode.label("customer_id"),
            i.c.DocDate.label("doc_date"),
            func.coalesce(i.c.DocDueDate, i.c.DocDate).label("due_date"),
            last.c.paid_date,
            _money(amount).label("amount"),
            i.c.DocCur.label("currency"),
        )
        .select_from(i.join(last, last.c.DocEntry == i.c.DocEntry))
        .where(i.c.CANCELED == "N", i.c.DocStatus == "C", amount - paid < TOLERANCE, amount > 0)
    )


def open_orders_stmt(company: str, main: str) -> Select:
    """Open, not cancelled sales orders (``DocStatus = 'O'``) with an open row.

    open_amount = DocTotal × Σ open rows' OpenSum / Σ rows' LineTotal (document currency): the
    uninvoiced share of the rows, grossed up to the document total so VAT, freight and header
    discounts count in proportion. on_hold: ``Confirmed = 'N'`` (B1's "approved" flag). order_id
    is the DocEntry.
    """
    o, r = t.ORDR, t.RDR1
    rows = (
        select(
            r.c.DocEntry,
            func.sum(case((r.c.LineStatus == "O", r.c.OpenSum), else_=0)).label("open_lc"),
            func.sum(case((r.c.LineStatus == "O", r.c.OpenSumFC), else_=0)).label("open_fc"),
            func.sum(r.c.LineTotal).label("total_lc"),
            func.sum(r.c.TotalFrgn).label("total_fc"),
        )
        .group_by(r.c.DocEntry)
        .subquery("order_rows")
    )
    total = _doc(o.c.DocCur, main, o.c.DocTotal, o.c.DocTotalFC)
    open_rows = _doc(o.c.DocCur, main, rows.c.open_lc, rows.c.open_fc)
    all_rows = _doc(o.c.DocCur, main, rows.c.total_lc, rows.c.total_fc)
    return (
        select(
            literal(company).label("company"),
            cast(o.c.DocEntry, String(11)).label("order_id"),
            o.c.CardCode.label("customer_id"),
            o.c.DocDate.label("order_date"),
            _money(total * open_rows / func.nullif(all_rows, 0)).label("open_amount"),
            o.c.DocCur.label("currency"),
            _flag(o.c.Confirmed == "N").label("on_hold"),
        )
        .select_from(o.join(rows, rows.c.DocEntry == o.c.DocEntry))
        .where(o.c.DocStatus == "O", o.c.CANCELED == "N", open_rows > 0)
    )


def fx_stmt(main: str, direct: bool) -> Select:
    """ORTT rates to the company currency: ``Rate`` is local per 1 foreign unit with direct
    quotation (``OADM.DirectRate = 'Y'``) — exactly SPEC's units of to_currency per 1
    from_currency; with indirect quotation it is foreign per local, so the rate is 1 / Rate."""
    x = t.ORTT
    rate = x.c.Rate if direct else literal(1.0) / x.c.Rate
    return select(
        x.c.Currency.label("from_currency"),
        literal(main).label("to_currency"),
        _money(rate).label("rate"),
        x.c.RateDate.label("as_of"),
    ).where(x.c.Rate > 0, x.c.Currency != main)


def pending_stmt(company: str) -> Select:
    """Outbound rows the B1 import has not processed yet, oldest first."""
    o = t.credit_decisions_out
    return (
        select(o.c.id, o.c.customer_id, o.c.change, o.c.order_id, o.c.after)
        .where(o.c.company == company, o.c.processed_at.is_(None))
        .order_by(o.c.id)
    )


def all_statements(company: str = "C", main: str = "EUR", prepayment_terms: str = "Prepayment") -> dict[str, Select]:
    """Every read statement (the compile test renders each for mssql)."""
    return {
        "company": company_stmt(),
        "customers": customers_stmt(company, main, prepayment_terms),
        "invoices": invoice_items_stmt(company, main),
        "credit_memos": credit_memo_items_stmt(company, main),
        "on_account": on_account_items_stmt(company, main),
        "payments": payments_stmt(company, main),
        "open_orders": open_orders_stmt(company, main),
        "fx_direct": fx_stmt(main, True),
        "fx_indirect": fx_stmt(main, False),
        "pending": pending_stmt(company),
    }

