"""ERPNext tables -> the canonical frames (SPEC §3).

Every read is one SQLAlchemy Core select (bound parameters only, portable across SQLite and
MariaDB) that aggregates in SQL — outstanding amounts, dunning counts, effective credit limits —
and is streamed into pandas ``chunk_size`` rows at a time; the only pandas-side work is
vectorised (dtype coercion, the installment split, sorting). No per-row Python.

Mapping choices (where the SPEC leaves room) are documented on each function and in
``connectors/erpnext/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import (
    Float,
    and_,
    case,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from connectors.erpnext import schema as t
from connectors.sql import coerce, read_frame, stream  # noqa: F401 - re-exported for the other connectors
from validation.contracts import empty_frame

#: an outstanding amount smaller than this is zero (decimal(21,9) sums, float on SQLite)
TOLERANCE = 0.005

#: order states that never count as open (ERPNext's credit check excludes Closed; Completed
#: orders are fully billed anyway)
CLOSED_ORDER_STATES = ("Closed", "Completed")

#: names passed to ``IN (...)`` per query when a read needs a second pass over a subset
_IN_CHUNK = 1000

STATE_CUSTOMER_COLUMNS = ["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit", "payment_terms"]
STATE_ORDER_COLUMNS = ["company", "order_id", "customer_id", "on_hold"]


def _money(expr):
    """Read a decimal expression as float on every driver (pymysql returns Decimal otherwise)."""
    return type_coerce(expr, Float(asdecimal=False))


# --------------------------------------------------------------------------- streaming + dtypes


def _chunks(values: Sequence[str], size: int = _IN_CHUNK) -> Iterator[list[str]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --------------------------------------------------------------------------- companies, fx


def companies_stmt(companies: Sequence[str]) -> Select:
    co = t.company
    return select(co.c.name.label("company"), co.c.default_currency.label("currency")).where(
        co.c.name.in_(list(companies))
    )


def fx_stmt() -> Select:
    """Selling rates (``for_selling = 1``); several rows for one day average out."""
    cx = t.currency_exchange
    return (
        select(
            cx.c.from_currency,
            cx.c.to_currency,
            _money(func.avg(cx.c.exchange_rate)).label("rate"),
            cx.c.date.label("as_of"),
        )
        .where(cx.c.for_selling == 1)
        .group_by(cx.c.from_currency, cx.c.to_currency, cx.c.date)
    )


# --------------------------------------------------------------------------- customers


def _limits(parenttype: str):
    """One credit-limit row per (parent, company): the max, should ERPNext hold duplicates; with
    ``bypass`` when any of them has ``bypass_credit_limit_check`` set."""
    ccl = t.customer_credit_limit
    return (
        select(ccl.c.parent, ccl.c.company, func.max(ccl.c.credit_limit).label("credit_limit"),
               func.max(ccl.c.bypass_credit_limit_check).label("bypass"))
        .where(ccl.c.parenttype == parenttype)
        .group_by(ccl.c.parent, ccl.c.company)
        .subquery(f"limits_{parenttype.replace(' ', '_').lower()}")
    )


def _active_in_company(customer, company):
    """A customer is in a company's extract when it has its own credit-limit row, a submitted
    invoice, a submitted order, a submitted delivery note or a (not delinked) receivable ledger
    entry there. (ERPNext customers are global; a group limit alone does not make a customer
    active. A customer whose only documents are delivery notes still owes what
    ``get_customer_outstanding`` counts of them: its open deliveries need its row.)

    Each test is an EXISTS probing one document table through its customer index (the child
    table's ``parent``, ``customer``, the ledger's ``party``, all indexed in ERPNext), so the
    cost grows with the customers, not with the company's invoices and ledger rows: a UNION of
    the company's rows scans every invoice, order and ledger entry of the company.
    """
    ccl, si, so, ple = t.customer_credit_limit, t.sales_invoice, t.sales_order, t.payment_ledger_entry
    dn = t.delivery_note
    return or_(
        select(ccl.c.name).where(ccl.c.parent == customer, _unindexed(ccl.c.parenttype) == "Customer",
                                 _unindexed(ccl.c.company) == company).exists(),
        select(si.c.name).where(si.c.customer == customer, _unindexed(si.c.company) == company,
                                si.c.docstatus == 1).exists(),
        select(so.c.name).where(so.c.customer == customer, _unindexed(so.c.company) == company,
                                so.c.docstatus == 1).exists(),
        select(ple.c.name).where(ple.c.party == customer, _unindexed(ple.c.party_type) == "Customer",
                                 _unindexed(ple.c.company) == company, ple.c.delinked == 0).exists(),
        select(dn.c.name).where(dn.c.customer == customer, _unindexed(dn.c.company) == company,
                                dn.c.docstatus == 1).exists(),
    )


def _unindexed(column):
    """``column`` (a text column) such that no index on it can serve the comparison.

    ``coalesce(x, '') = v`` is ``x = v`` for any value ``v``; it keeps a planner without
    statistics (SQLite, the demo) from probing by company or party type — one read of all the
    company's rows per customer — instead of by customer. MariaDB picks the customer index
    either way.
    """
    return func.coalesce(column, "")


def customers_stmt(companies: Sequence[str]) -> Select:
    """Customers with their effective limit, terms and flags (plus the raw ``payment_terms``).

    credit_limit follows ERPNext's ``get_credit_limit``: the customer's row for the company
    unless it is 0, else the customer group's row unless 0 or its ``bypass_credit_limit_check``
    is set (ERPNext then skips it), else the company's default ``credit_limit``; 0 everywhere ->
    null (no limit). payment_terms_days is that of the template ERPNext applies to the next
    invoice (customer, else customer group, else company; see :func:`_terms_days`); the raw
    ``payment_terms`` (and ``on_prepayment``) are the customer's own field, the one creditctl writes.
    """
    c, co, cg = t.customer, t.company, t.customer_group
    own = _limits("Customer")
    grp = _limits("Customer Group")
    terms = _terms_days()
    # ERPNext's get_payment_terms_template: the customer's, else its group's, else the company's
    template = func.coalesce(func.nullif(c.c.payment_terms, ""), func.nullif(cg.c.payment_terms, ""),
                             func.nullif(co.c.payment_terms, ""))
    limit = func.coalesce(
        func.nullif(own.c.credit_limit, 0),
        func.nullif(case((func.coalesce(grp.c.bypass, 0) == 0, grp.c.credit_limit)), 0),
        func.nullif(co.c.credit_limit, 0),
    )
    return select(
        co.c.name.label("company"),
        c.c.name.label("customer_id"),
        func.coalesce(func.nullif(c.c.customer_name, ""), c.c.name).label("name"),
        null().label("country"),
        func.coalesce(func.nullif(c.c.default_currency, ""), co.c.default_currency).label("currency"),
        _money(limit).label("credit_limit"),
        func.coalesce(terms.c.days, 0).label("payment_terms_days"),
        c.c.creation.label("customer_since"),
        func.nullif(c.c.customer_group, "").label("segment"),
        null().label("insured_limit"),
        null().label("external_rating"),
        c.c.is_frozen.label("is_blocked"),
        c.c.payment_terms,
    ).select_from(
        # every (customer, requested company) pair, kept when the customer is active there
        c.join(co, co.c.name.in_(list(companies)))
        .outerjoin(own, and_(own.c.parent == c.c.name, own.c.company == co.c.name))
        .outerjoin(grp, and_(grp.c.parent == c.c.customer_group, grp.c.company == co.c.name))
        .outerjoin(cg, cg.c.name == c.c.customer_group)
        .outerjoin(terms, terms.c.parent == template)
    ).where(_active_in_company(c.c.name, co.c.name))


#: days from an invoice to the end of its month, on average: what terms counted from the end of
#: the invoice month add to their own days (a single number of days cannot say more)
END_OF_MONTH_DAYS = 15


def _terms_days():
    """Per Payment Terms Template, the days from the invoice date to the due date of its last
    portion, by each row's ``due_date_based_on`` as ERPNext computes due dates: ``credit_days``
    after the invoice date; ``credit_days`` after the end of the invoice month; or
    ``credit_months`` after the end of the invoice month (30 days a month)."""
    ptd = t.payment_terms_template_detail
    based_on = func.coalesce(ptd.c.due_date_based_on, "")
    days = case(
        (based_on == "Day(s) after the end of the invoice month",
         func.coalesce(ptd.c.credit_days, 0) + END_OF_MONTH_DAYS),
        (based_on == "Month(s) after the end of the invoice month",
         30 * func.coalesce(ptd.c.credit_months, 0) + END_OF_MONTH_DAYS),
        else_=func.coalesce(ptd.c.credit_days, 0),
    )
    return select(ptd.c.parent, func.max(days).label("days")).group_by(ptd.c.parent).subquery("terms")


def with_prepayment(prepayment_terms: str):
    """Chunk transform: ``on_prepayment`` = the customer's terms are the prepayment template."""

    def transform(chunk: pd.DataFrame) -> pd.DataFrame:
        return chunk.assign(on_prepayment=chunk["payment_terms"].eq(prepayment_terms).fillna(False))

    return transform


# --------------------------------------------------------------------------- receivables


def balances(companies: Sequence[str]):
    """Receivable balance per document from the Payment Ledger, as ERPNext's Accounts Receivable
    report builds it (``ReceivablePayableReport.update_voucher_balance``): one row per
    (company, party, against_voucher) over the entries that are not delinked.

    Each money column comes twice: in the company currency (``amount`` of Payment Ledger Entry,
    the report's default) and, suffixed ``_acc``, in the receivable account's currency
    (``amount_in_account_currency``, the report's "in party currency").

    open_amount    Σ amount: the outstanding, signed
    own_amount     Σ of the document's own entries (voucher = against_voucher): its original amount
    paid           what payments and journals took off it (Σ −amount of entries of other
                   vouchers that are not Sales Invoices)
    credited       what credit notes against it took off (Σ −amount of other Sales Invoices' entries)
    first_date     earliest posting date (the document's own date for payments on account)
    last_allocated latest posting date of an entry other than the document's own (paid_date)
    account_currency the receivable account's currency
    """
    ple = t.payment_ledger_entry
    own = and_(ple.c.voucher_type == ple.c.against_voucher_type, ple.c.voucher_no == ple.c.against_voucher_no)
    by_invoice = ple.c.voucher_type == "Sales Invoice"
    money = []
    for suffix, amount in (("", ple.c.amount), ("_acc", ple.c.amount_in_account_currency)):
        money += [
            func.sum(amount).label(f"open_amount{suffix}"),
            func.sum(case((own, amount), else_=literal(0))).label(f"own_amount{suffix}"),
            func.sum(case((and_(~own, ~by_invoice), -amount), else_=literal(0))).label(f"paid{suffix}"),
            func.sum(case((and_(~own, by_invoice), -amount), else_=literal(0))).label(f"credited{suffix}"),
        ]
    return (
        select(
            ple.c.company,
            ple.c.party.label("customer_id"),
            ple.c.against_voucher_type.label("voucher_type"),
            ple.c.against_voucher_no.label("voucher_no"),
            *money,
            func.min(ple.c.posting_date).label("first_date"),
            func.max(case((~own, ple.c.posting_date))).label("last_allocated"),
            func.max(ple.c.account_currency).label("account_currency"),
        )
        .where(
            ple.c.company.in_(list(companies)),
            # ERPNext's Accounts Receivable report: a cancelled voucher's entries and their
            # reversals are delinked; Payment Ledger Entry has no is_cancelled (GL Entry has)
            ple.c.delinked == 0,
            ple.c.account_type == "Receivable",
            ple.c.party_type == "Customer",
        )
        .group_by(ple.c.company, ple.c.party, ple.c.against_voucher_type, ple.c.against_voucher_no)
        .subquery("balances")
    )


def _is_open(b):
    """The Accounts Receivable report's test (``build_data``): a document is outstanding when its
    balance is not zero in the company currency AND not zero in the account currency (a foreign
    invoice settled in its own currency whose exchange difference was not booked is not open)."""
    return and_(func.abs(b.c.open_amount) >= TOLERANCE, func.abs(b.c.open_amount_acc) >= TOLERANCE)


def _dunning_counts(companies: Sequence[str], by_schedule: bool, name: str,
                    invoices: Sequence[str] | None = None):
    """Submitted Dunnings referencing an invoice (per payment-schedule row when ``by_schedule``;
    a row without one is keyed by ``''``)."""
    d, op = t.dunning, t.overdue_payment
    keys = [op.c.sales_invoice]
    cols = [op.c.sales_invoice]
    if by_schedule:
        row = func.coalesce(op.c.payment_schedule, "")
        keys.append(row)
        cols.append(row.label("payment_schedule"))
    where = [d.c.docstatus == 1, d.c.company.in_(list(companies))]
    if invoices is not None:
        where.append(op.c.sales_invoice.in_(list(invoices)))
    return (
        select(*cols, func.count(distinct(d.c.name)).label("level"))
        .select_from(op.join(d, d.c.name == op.c.parent))
        .where(*where)
        .group_by(*keys)
        .subquery(name)
    )


def open_items_stmt(companies: Sequence[str], in_party_currency: bool = False) -> Select:
    """Outstanding documents (:func:`_is_open`), one row each, as ERPNext's Accounts Receivable
    report lists them: by default in the company currency; with ``in_party_currency`` (the
    report's option of that name) in the receivable account's currency.

    doc_type: a Sales Invoice is ``invoice`` or (is_return) ``credit_note``; any other voucher
    with a balance of its own is ``payment_on_account`` when negative (an unallocated Payment
    Entry / Journal Entry) and ``debit_note`` when positive (a Journal Entry debiting the party).
    amount is the document's own ledger amount (for an invoice its base grand total, or its
    grand total in party currency), the outstanding when it has none; currency the company's
    default currency (or the account's). ``installments`` (schedule rows), ``paid``,
    ``credited`` and ``total_advance`` let the caller split invoices paid by a payment schedule
    (:func:`split_installments`).
    """
    si, ps, co = t.sales_invoice, t.payment_schedule, t.company
    b = balances(companies)
    dun = _dunning_counts(companies, by_schedule=False, name="dunning")
    n_ps = (
        select(ps.c.parent, func.count().label("n"))
        .where(ps.c.parenttype == "Sales Invoice")
        .group_by(ps.c.parent)
        .subquery("schedule_rows")
    )
    is_si = b.c.voucher_type == "Sales Invoice"
    sfx = "_acc" if in_party_currency else ""
    own_amount, open_amount = b.c[f"own_amount{sfx}"], b.c[f"open_amount{sfx}"]
    currency = func.coalesce(b.c.account_currency, co.c.default_currency) if in_party_currency \
        else co.c.default_currency
    doc_type = case(
        (and_(is_si, si.c.is_return == 1), "credit_note"),
        (is_si, "invoice"),
        (open_amount < 0, "payment_on_account"),
        else_="debit_note",
    )
    amount = case((func.abs(own_amount) >= TOLERANCE, own_amount), else_=open_amount)
    return (
        select(
            b.c.company,
            b.c.voucher_no.label("item_id"),
            b.c.customer_id,
            doc_type.label("doc_type"),
            func.coalesce(si.c.posting_date, b.c.first_date).label("doc_date"),
            func.coalesce(si.c.due_date, si.c.posting_date, b.c.first_date).label("due_date"),
            _money(amount).label("amount"),
            _money(open_amount).label("open_amount"),
            currency.label("currency"),
            func.coalesce(dun.c.level, 0).label("dunning_level"),
            func.coalesce(n_ps.c.n, 0).label("installments"),
            _money(b.c[f"paid{sfx}"]).label("paid"),
            _money(b.c[f"credited{sfx}"]).label("credited"),
            _money(func.coalesce(si.c.total_advance, 0)).label("total_advance"),
        )
        .select_from(
            b.join(co, co.c.name == b.c.company)
            .outerjoin(si, and_(is_si, si.c.name == b.c.voucher_no))
            .outerjoin(dun, and_(is_si, dun.c.sales_invoice == b.c.voucher_no))
            .outerjoin(n_ps, and_(is_si, n_ps.c.parent == b.c.voucher_no))
        )
        .where(_is_open(b), or_(b.c.voucher_type != "Sales Invoice", si.c.docstatus == 1))
    )


def installments_stmt(companies: Sequence[str], invoices: Sequence[str], in_party_currency: bool = False) -> Select:
    """Payment-schedule rows of some invoices: the row's amount and what Payment Entries paid on
    it by its payment term (+ ``discounted_amount``), in company currency (``base_payment_amount``,
    ``base_paid_amount``) or with ``in_party_currency`` in the invoice's (``payment_amount``,
    ``paid_amount``), as the Accounts Receivable report's ``append_payment_term`` takes them;
    with the dunnings naming each row (or the invoice without a row)."""
    ps = t.payment_schedule
    amount, paid = (ps.c.payment_amount, ps.c.paid_amount) if in_party_currency \
        else (ps.c.base_payment_amount, ps.c.base_paid_amount)
    dun_row = _dunning_counts(companies, by_schedule=True, name="dunning_row", invoices=invoices)
    dun_inv = _dunning_counts(companies, by_schedule=True, name="dunning_invoice", invoices=invoices)
    return (
        select(
            ps.c.parent.label("invoice"),
            ps.c.idx,
            ps.c.due_date.label("installment_due"),
            _money(func.coalesce(amount, 0)).label("payment_amount"),
            _money(func.coalesce(paid, 0) + func.coalesce(ps.c.discounted_amount, 0)).label("recorded_paid"),
            _money(func.coalesce(ps.c.paid_amount, 0)).label("paid_in_document"),
            (func.coalesce(dun_row.c.level, 0) + func.coalesce(dun_inv.c.level, 0)).label("installment_dunning"),
        )
        .select_from(
            ps.outerjoin(dun_row, and_(dun_row.c.sales_invoice == ps.c.parent, dun_row.c.payment_schedule == ps.c.name))
            .outerjoin(dun_inv, and_(dun_inv.c.sales_invoice == ps.c.parent, dun_inv.c.payment_schedule == ""))
        )
        .where(ps.c.parenttype == "Sales Invoice", ps.c.parent.in_(list(invoices)))
    )


def _fifo(pool: pd.Series, room: pd.Series, by: list[pd.Series]) -> pd.Series:
    """Allocate each group's ``pool`` over its rows' ``room`` in row order, first come first
    served: row i takes min(room_i, max(0, pool − Σ room before i))."""
    before = room.groupby(by, sort=False).cumsum() - room
    return np.minimum(room, np.maximum(0.0, pool - before))


def split_installments(items: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """Replace each invoice in ``schedule`` by one item per still-open installment, as ERPNext's
    Accounts Receivable report splits an invoice by its payment terms
    (``allocate_outstanding_based_on_payment_terms``, company currency):

    * the terms in the report's order: what was paid on them by payment term first
      (``paid_amount`` descending), then by due date (then idx);
    * each term's amount is ``base_payment_amount``; what Payment Entries paid on the term
      itself (``base_paid_amount`` + ``discounted_amount``) stays on it;
    * the rest of the payments — less the advances allocated in the invoice (``total_advance``,
      which the schedule already left out) — goes to the terms nobody paid by term, in that
      order; then the credit notes against the invoice to whatever is still open, in that order;
    * terms left with an outstanding > 0 are items ``<invoice>/<idx>``, due on their own date.

    Two roundings are kept out of the figures so the installments' open amounts add up to the
    invoice's outstanding in the ledger exactly: the last term (by due date) absorbs any
    difference between the schedule and the invoice's ledger amount less its advances, and the
    last open term whatever the report's split would lose (a term recorded as paid a cent more
    than its base amount shows no negative outstanding in the report).
    """
    if schedule.empty:
        return items
    s = schedule.merge(
        items[["company", "item_id", "customer_id", "doc_date", "amount", "open_amount", "currency",
               "paid", "credited", "total_advance"]],
        left_on="invoice", right_on="item_id", how="inner",
    )
    by_due = s.sort_values(["company", "invoice", "installment_due", "idx"], kind="stable")
    last_due = s.index.isin(by_due.groupby(["company", "invoice"], sort=False).tail(1).index)
    s = s.assign(_last=last_due, _neg_paid=-s["paid_in_document"]).sort_values(
        ["company", "invoice", "_neg_paid", "installment_due", "idx"], kind="stable").reset_index(drop=True)
    keys = [s["company"], s["invoice"]]
    last_due = s["_last"].to_numpy()
    total = s.groupby(keys, sort=False)["payment_amount"].transform("sum")
    inst_amount = s["payment_amount"] + np.where(last_due, s["amount"] - s["total_advance"] - total, 0.0)
    recorded = s["recorded_paid"]
    by_term = recorded.ne(0)
    paid_pool = np.maximum(0.0, s["paid"] - s["total_advance"] - recorded.groupby(keys, sort=False).transform("sum"))
    room = (inst_amount - recorded).clip(lower=0.0)
    took_paid = _fifo(paid_pool, room.where(~by_term, 0.0), keys)
    room = room - took_paid
    took_credit = _fifo(np.maximum(0.0, s["credited"]), room, keys)
    inst_open = room - took_credit
    # what the report loses (a term paid a cent over its base amount: ERPNext rounds each
    # payment's base_paid_amount on its own) goes to the last open term: the installments add
    # up to the invoice's outstanding in the ledger
    shown = inst_open >= TOLERANCE
    residual = s["open_amount"] - inst_open.where(shown, 0.0).groupby(keys, sort=False).transform("sum")
    last_shown = s.index.isin(s[shown].sort_values(["company", "invoice", "installment_due", "idx"], kind="stable")
                              .groupby(["company", "invoice"], sort=False).tail(1).index)
    none_shown = ~shown.groupby(keys, sort=False).transform("any").to_numpy()
    inst_open = (inst_open + np.where(last_shown | (last_due & none_shown), residual, 0.0)).round(9)
    parts = pd.DataFrame({
        "company": s["company"].to_numpy(),
        "item_id": (s["invoice"].astype(str) + "/" + s["idx"].astype(int).astype(str)).to_numpy(),
        "customer_id": s["customer_id"].to_numpy(),
        "doc_type": "invoice",
        "doc_date": s["doc_date"].to_numpy(),
        "due_date": s["installment_due"].to_numpy(),
        "amount": inst_amount.to_numpy(),
        "open_amount": inst_open.to_numpy(),
        "currency": s["currency"].to_numpy(),
        "dunning_level": s["installment_dunning"].to_numpy(),
    })
    parts = parts[parts["open_amount"] >= TOLERANCE]
    split = pd.MultiIndex.from_frame(s[["company", "invoice"]].drop_duplicates())
    keep = ~pd.MultiIndex.from_frame(items[["company", "item_id"]]).isin(split)
    parts = parts.astype(items.dtypes[list(parts.columns)].to_dict())
    return pd.concat([items.loc[keep, list(parts.columns)], parts], ignore_index=True)


def payments_stmt(companies: Sequence[str]) -> Select:
    """Cleared invoices: not outstanding (:func:`_is_open`) and something other than the
    invoice's own entry was allocated to it; paid_date = the latest such entry's posting date,
    amount = grand_total (document currency)."""
    si = t.sales_invoice
    b = balances(companies)
    return (
        select(
            b.c.company,
            b.c.voucher_no.label("item_id"),
            b.c.customer_id,
            si.c.posting_date.label("doc_date"),
            func.coalesce(si.c.due_date, si.c.posting_date).label("due_date"),
            b.c.last_allocated.label("paid_date"),
            _money(si.c.grand_total).label("amount"),
            si.c.currency,
        )
        .select_from(b.join(si, si.c.name == b.c.voucher_no))
        .where(
            b.c.voucher_type == "Sales Invoice",
            ~_is_open(b),
            b.c.last_allocated.is_not(None),
            si.c.docstatus == 1,
            si.c.is_return == 0,
            # the invoice's ledger rows are in its own company: other companies' invoices need no probe
            si.c.company.in_(list(companies)),
        )
    )


# --------------------------------------------------------------------------- orders


def open_orders_stmt(companies: Sequence[str], amounts: str = "base") -> Select:
    """Submitted orders, not Closed/Completed, per_billed < 100.

    amounts="base" (default, SPEC §7 / ERPNext's own credit check): base_grand_total ×
    (100 − per_billed) / 100 in the company currency; amounts="document": grand_total × … in
    the order currency.
    """
    so, co = t.sales_order, t.company
    per_billed = func.coalesce(so.c.per_billed, 0)
    if amounts == "document":
        total, currency = so.c.grand_total, so.c.currency
    else:
        total, currency = so.c.base_grand_total, co.c.default_currency
    return (
        select(
            so.c.company,
            so.c.name.label("order_id"),
            so.c.customer.label("customer_id"),
            so.c.transaction_date.label("order_date"),
            _money(total * (literal(100) - per_billed) / literal(100)).label("open_amount"),
            currency.label("currency"),
            (so.c.status == "On Hold").label("on_hold"),
        )
        .select_from(so.join(co, co.c.name == so.c.company))
        .where(
            so.c.company.in_(list(companies)),
            so.c.docstatus == 1,
            or_(so.c.status.is_(None), so.c.status.not_in(CLOSED_ORDER_STATES)),
            per_billed < 100,
        )
    )


# --------------------------------------------------------------------------- deliveries

#: delivery notes in these states are never counted (ERPNext's get_customer_outstanding)
CLOSED_DELIVERY_STATES = ("Closed", "Stopped")


def open_deliveries_stmt(companies: Sequence[str]) -> Select:
    """Unbilled delivery notes not against an order, as ERPNext's ``get_customer_outstanding``
    counts them: per submitted Delivery Note (not Closed / Stopped), its items with no
    ``against_sales_order`` and no ``against_sales_invoice``, each item's amount less what
    submitted Sales Invoice Items billed of it (``dn_detail``), where that is positive, scaled
    by the note's base_grand_total / base_net_total — in the company currency.
    """
    dn, dni, sii, co = t.delivery_note, t.delivery_note_item, t.sales_invoice_item, t.company
    billed = (select(sii.c.dn_detail, func.sum(sii.c.amount).label("billed"))
              .where(sii.c.docstatus == 1, func.coalesce(sii.c.dn_detail, "") != "")
              .group_by(sii.c.dn_detail).subquery("billed"))
    unbilled = dni.c.amount - func.coalesce(billed.c.billed, 0)
    open_amount = func.sum(case((and_(unbilled > 0, func.coalesce(dn.c.base_net_total, 0) != 0),
                                 unbilled / dn.c.base_net_total * dn.c.base_grand_total), else_=literal(0)))
    return (
        select(
            dn.c.company,
            dn.c.name.label("delivery_id"),
            dn.c.customer.label("customer_id"),
            dn.c.posting_date.label("delivery_date"),
            _money(open_amount).label("open_amount"),
            co.c.default_currency.label("currency"),
        )
        .select_from(dni.join(dn, dn.c.name == dni.c.parent).join(co, co.c.name == dn.c.company)
                     .outerjoin(billed, billed.c.dn_detail == dni.c.name))
        .where(
            dn.c.company.in_(list(companies)),
            dn.c.docstatus == 1,
            or_(dn.c.status.is_(None), dn.c.status.not_in(CLOSED_DELIVERY_STATES)),
            func.coalesce(dni.c.against_sales_order, "") == "",
            func.coalesce(dni.c.against_sales_invoice, "") == "",
        )
        .group_by(dn.c.company, dn.c.name, dn.c.customer, dn.c.posting_date, co.c.default_currency)
        .having(open_amount >= TOLERANCE)
    )


# --------------------------------------------------------------------------- entry points


def read_companies(conn: Connection, companies: Sequence[str], chunk_size: int) -> pd.DataFrame:
    return read_frame(conn, companies_stmt(companies), empty_frame("companies"), chunk_size, sort=["company"])


def read_customers_raw(conn: Connection, companies: Sequence[str], chunk_size: int,
                       prepayment_terms: str) -> pd.DataFrame:
    """The customers frame plus ``payment_terms`` (for read_state)."""
    template = empty_frame("customers").assign(payment_terms=pd.Series([], dtype=object))
    return read_frame(conn, customers_stmt(companies), template, chunk_size,
                      transform=with_prepayment(prepayment_terms), sort=["company", "customer_id"])


def read_open_items(conn: Connection, companies: Sequence[str], chunk_size: int,
                    in_party_currency: bool = False) -> pd.DataFrame:
    """Open items in company currency (ERPNext's Accounts Receivable report), or with
    ``in_party_currency`` in the receivable account's currency (the report's option)."""
    template = empty_frame("open_items")
    extra = ["installments", "paid", "credited", "total_advance"]
    raw = template.assign(installments=pd.Series([], dtype="int64"), paid=pd.Series([], dtype="float64"),
                          credited=pd.Series([], dtype="float64"), total_advance=pd.Series([], dtype="float64"))
    items = read_frame(conn, open_items_stmt(companies, in_party_currency), raw, chunk_size)
    split = items["installments"].gt(1) & items["doc_type"].eq("invoice") & items["open_amount"].gt(0)
    invoices = items.loc[split, "item_id"].unique().tolist()
    if invoices:
        sched_template = pd.DataFrame({
            "invoice": pd.Series([], dtype=object), "idx": pd.Series([], dtype="int64"),
            "installment_due": pd.Series([], dtype="datetime64[ns]"),
            "payment_amount": pd.Series([], dtype="float64"),
            "recorded_paid": pd.Series([], dtype="float64"),
            "paid_in_document": pd.Series([], dtype="float64"),
            "installment_dunning": pd.Series([], dtype="int64"),
        })
        schedule = pd.concat(
            [read_frame(conn, installments_stmt(companies, part, in_party_currency), sched_template, chunk_size)
             for part in _chunks(invoices)],
            ignore_index=True,
        )
        return split_installments(items, schedule).sort_values(["company", "item_id"], kind="stable") \
            .reset_index(drop=True)
    items = items.drop(columns=extra)
    return items.sort_values(["company", "item_id"], kind="stable").reset_index(drop=True)


def read_payments(conn: Connection, companies: Sequence[str], chunk_size: int) -> pd.DataFrame:
    return read_frame(conn, payments_stmt(companies), empty_frame("payments"), chunk_size,
                      sort=["company", "item_id"])


def read_open_orders(conn: Connection, companies: Sequence[str], chunk_size: int,
                     amounts: str = "base") -> pd.DataFrame:
    return read_frame(conn, open_orders_stmt(companies, amounts), empty_frame("open_orders"), chunk_size,
                      sort=["company", "order_id"])


def read_open_deliveries(conn: Connection, companies: Sequence[str], chunk_size: int) -> pd.DataFrame:
    return read_frame(conn, open_deliveries_stmt(companies), empty_frame("open_deliveries"), chunk_size,
                      sort=["company", "delivery_id"])


def read_fx_rates(conn: Connection, chunk_size: int) -> pd.DataFrame:
    return read_frame(conn, fx_stmt(), empty_frame("fx_rates"), chunk_size,
                      sort=["from_currency", "to_currency", "as_of"])
