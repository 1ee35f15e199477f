"""ERPNext's own credit figures, re-derived plainly from its source, for tests.

Written from ERPNext v15 (ERPNext 15.102.0 on Frappe 15.103.0) as read in its source, without
copying it: row loops over whole tables, one function per ERPNext function. Independent of
``connectors/erpnext/read.py`` on purpose — tests/test_erpnext_reference.py compares the two.

* :func:`get_customer_outstanding` and :func:`get_credit_limit` —
  ``erpnext/selling/doctype/customer/customer.py``, functions of the same names (the figures
  ERPNext's credit check, ``check_credit_limit``, compares).
* :func:`accounts_receivable` and :func:`ageing_bucket` —
  ``erpnext/accounts/report/accounts_receivable/accounts_receivable.py``,
  ``ReceivablePayableReport``: ``init_voucher_balance`` / ``get_voucher_balance`` /
  ``update_voucher_balance`` (balances per voucher from the Payment Ledger), ``build_data``
  (which balances are outstanding), ``allocate_outstanding_based_on_payment_terms`` /
  ``get_payment_terms`` / ``append_payment_term`` / ``allocate_closing_to_term`` /
  ``allocate_extra_payments_or_credits`` (the "Based On Payment Terms" split), ``set_ageing`` /
  ``get_ageing_data`` (ageing by due date, ranges 30, 60, 90, 120).

Stand-ins where the test schema (connectors/erpnext/schema_v15.json) has no table:

* ``get_customer_outstanding`` sums ``tabGL Entry`` (debit − credit, ``is_cancelled = 0``). Every
  GL Entry on a receivable or payable account has exactly one Payment Ledger Entry with
  ``amount`` = debit − credit (receivable) or credit − debit (payable)
  (``erpnext/accounts/utils.py``, ``get_payment_ledger_entries``), and a cancelled voucher's
  entries and their reversals are delinked as the GL's are flagged cancelled; so the party's GL
  balance is the signed sum of its Payment Ledger Entries with ``delinked = 0``.
* The report's "accounts of type Receivable" (``tabAccount``) are the Payment Ledger Entry's own
  ``account_type``; there are no Journal Entries with a ``bill_no`` (no ``tabJournal Entry``), so
  only Sales Invoices lend a due date.

Each term row of the "Based On Payment Terms" split also carries ``schedule_idx`` (the
``tabPayment Schedule`` row's idx), which the report does not show, so a test can name it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, select

from connectors.erpnext import schema as t

#: the doctypes read here
DOCTYPES = ("Company", "Customer", "Customer Credit Limit", "Sales Invoice", "Sales Invoice Item",
            "Payment Schedule", "Payment Ledger Entry", "Sales Order", "Delivery Note", "Delivery Note Item")

#: the report's default ageing ranges (filters.range "30, 60, 90, 120")
RANGES = (30, 60, 90, 120)
#: names of the report's ageing columns, index 0 = not due yet (every range 0)
AGEING_BUCKETS = ("not due", "0-30", "31-60", "61-90", "91-120", "121-above")
#: the report's currency precision (get_currency_precision() or 2)
PRECISION = 2


def flt(value: Any, precision: int | None = None) -> float:
    """frappe.utils.flt: None and '' are 0; optionally rounded."""
    number = float(value or 0)
    return round(number, precision) if precision is not None else number


def day(value: Any) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


class Row(dict):
    """A table row / report row with attribute access (frappe._dict)."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


@dataclass
class Erp:
    """The rows of the doctypes read here, loaded once."""

    rows: dict[str, list[Row]]

    @classmethod
    def load(cls, url: str) -> Erp:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                rows = {name: [Row(r._mapping) for r in conn.execute(select(t.tables[name]))] for name in DOCTYPES}
        finally:
            engine.dispose()
        return cls(rows)

    def __getitem__(self, doctype: str) -> list[Row]:
        return self.rows[doctype]

    def value(self, doctype: str, name: str, field: str) -> Any:
        for r in self[doctype]:
            if r.name == name:
                return r[field]
        return None


# --------------------------------------------------------------------------- customer.py


def get_customer_outstanding(erp: Erp, customer: str, company: str,
                             ignore_outstanding_sales_order: bool = False) -> float:
    """The ledger balance + unbilled sales orders + unbilled delivery notes not against an order."""
    # outstanding based on GL entries (see the module docstring for the Payment Ledger stand-in)
    gle = 0.0
    for e in erp["Payment Ledger Entry"]:
        if e.party_type == "Customer" and e.party == customer and e.company == company and e.delinked == 0:
            gle += flt(e.amount) if e.account_type != "Payable" else -flt(e.amount)

    # outstanding based on sales orders: SQL semantics (a NULL status or per_billed never matches)
    so = 0.0
    if not ignore_outstanding_sales_order:
        for o in erp["Sales Order"]:
            if (o.customer == customer and o.docstatus == 1 and o.company == company
                    and o.per_billed is not None and o.per_billed < 100
                    and o.status is not None and o.status != "Closed" and o.base_grand_total is not None):
                so += o.base_grand_total * (100 - o.per_billed) / 100

    # outstanding based on delivery notes which are not created against a sales order
    notes = {n.name: n for n in erp["Delivery Note"]
             if n.customer == customer and n.company == company and n.docstatus == 1
             and n.status is not None and n.status not in ("Closed", "Stopped")}
    unmarked = [(item, notes[item.parent]) for item in erp["Delivery Note Item"]
                if item.parent in notes and not (item.against_sales_order or "")
                and not (item.against_sales_invoice or "")]
    if not unmarked:
        return gle + so

    names = {item.name for item, _ in unmarked}
    si_amounts: dict[str, float] = {}
    for sii in erp["Sales Invoice Item"]:
        if sii.docstatus == 1 and sii.dn_detail in names:
            si_amounts[sii.dn_detail] = si_amounts.get(sii.dn_detail, 0.0) + flt(sii.amount)

    dn = 0.0
    for item, note in unmarked:
        dn_amount = flt(item.amount)
        si_amount = flt(si_amounts.get(item.name))
        if dn_amount > si_amount and note.base_net_total:
            dn += (dn_amount - si_amount) / note.base_net_total * flt(note.base_grand_total)
    return gle + so + dn


def _one(rows: list[Row], what: str) -> Row | None:
    """frappe.db.get_value takes one row; ERPNext allows one limit row per company (the
    Customer's validate_credit_limit_on_change refuses a second): refuse ambiguous test data."""
    if len(rows) > 1:
        raise ValueError(f"{what}: {len(rows)} credit-limit rows for one company")
    return rows[0] if rows else None


def get_credit_limit(erp: Erp, customer: str, company: str) -> float:
    """The customer's row for the company; if that is missing or 0, its customer group's row
    unless that one has bypass_credit_limit_check; if still nothing or 0, the company's."""
    credit_limit = None
    limits = erp["Customer Credit Limit"]
    if customer:
        own = _one([r for r in limits if r.parent == customer and r.parenttype == "Customer"
                    and r.company == company], customer)
        credit_limit = own.credit_limit if own else None
        if not credit_limit:
            group = erp.value("Customer", customer, "customer_group")
            result = _one([r for r in limits if r.parent == group and r.parenttype == "Customer Group"
                           and r.company == company], str(group))
            if result and not result.bypass_credit_limit_check:
                credit_limit = result.credit_limit
    if not credit_limit:
        credit_limit = erp.value("Company", company, "credit_limit")
    return flt(credit_limit)


# --------------------------------------------------------------------------- accounts_receivable.py


def ageing_bucket(entry_date: Any, age_as_on: datetime.date) -> int | None:
    """Index into AGEING_BUCKETS of an amount whose ageing date is ``entry_date``: the first range
    its age (days from entry_date to age_as_on) is at most, else the last; 0 when entry_date
    lies after age_as_on (not due yet); None without a date."""
    entry = day(entry_date)
    if entry is None or age_as_on is None:
        return None
    if entry > age_as_on:
        return 0
    age = (age_as_on - entry).days
    return next((i for i, days in enumerate(RANGES) if age <= days), len(RANGES)) + 1


def _voucher(ple: Row) -> Row:
    return Row(voucher_type=ple.voucher_type, voucher_no=ple.voucher_no, party=ple.party,
               party_account=ple.account, posting_date=ple.posting_date, account_currency=ple.account_currency,
               invoiced=0.0, paid=0.0, credit_note=0.0, outstanding=0.0, invoiced_in_account_currency=0.0,
               paid_in_account_currency=0.0, credit_note_in_account_currency=0.0,
               outstanding_in_account_currency=0.0)


def _is_invoice(row: Row) -> bool:
    return row.voucher_type in ("Sales Invoice", "Purchase Invoice")


def accounts_receivable(erp: Erp, company: str, report_date: datetime.date, age_as_on: datetime.date,
                        based_on_payment_terms: bool = False, in_party_currency: bool = False,
                        unlisted: list[Row] | None = None) -> list[Row]:
    """The report's rows for ``company`` (party type Customer, ageing by due date, ageing "as
    on" ``age_as_on``): each with voucher_type, voucher_no, party, posting_date, due_date,
    invoiced, paid, credit_note, outstanding, outstanding_in_account_currency, currency, age,
    range1..range5 and ``bucket`` (index into AGEING_BUCKETS).

    ``unlisted`` (a list) receives the balances the report leaves out although they are not 0 in
    the report's currency (0 in the other one: a foreign invoice settled in its own currency)."""
    company_currency = erp.value("Company", company, "default_currency")

    # get_invoice_details: due dates of the company's submitted invoices up to the report date
    invoice_details = {si.name: Row(name=si.name, due_date=si.due_date, po_no=si.po_no)
                       for si in erp["Sales Invoice"]
                       if si.company == company and si.docstatus == 1 and day(si.posting_date) <= report_date}
    # get_return_entries: credit notes that reduce the invoice they return against
    return_entries = {si.name: si.return_against for si in erp["Sales Invoice"]
                      if si.is_return == 1 and si.docstatus == 1 and si.company == company
                      and day(si.posting_date) <= report_date and not si.update_outstanding_for_self}

    # prepare_ple_query: not delinked, the company's receivable accounts, up to the report date
    entries = [e for e in erp["Payment Ledger Entry"]
               if e.delinked == 0 and e.company == company and day(e.posting_date) <= report_date
               and e.account_type == "Receivable" and e.party_type != "Employee"]
    entries.sort(key=lambda e: (day(e.posting_date), e.party or ""))

    balances: dict[tuple, Row] = {}
    for e in entries:  # init_voucher_balance
        balances.setdefault((e.account, e.voucher_type, e.voucher_no, e.party), _voucher(e))
    for e in entries:  # update_voucher_balance
        _update_voucher_balance(balances, return_entries, e, in_party_currency)

    data: list[Row] = []
    for row in balances.values():  # build_data
        row.outstanding = flt(row.invoiced - row.paid - row.credit_note, PRECISION)
        row.outstanding_in_account_currency = flt(row.invoiced_in_account_currency - row.paid_in_account_currency
                                                  - row.credit_note_in_account_currency, PRECISION)
        row.invoice_grand_total = row.invoiced
        # no Exchange Rate Revaluation / Exchange Gain Or Loss journal is an "err journal" here:
        # those post against the invoice they revalue, never on their own
        if not (abs(row.outstanding) >= 1.0 / 10**PRECISION
                and abs(row.outstanding_in_account_currency) >= 1.0 / 10**PRECISION):
            if unlisted is not None and abs(row.outstanding) >= 1.0 / 10**PRECISION:
                unlisted.append(row)
            continue
        if _is_invoice(row) and based_on_payment_terms:
            terms = _allocate_outstanding_based_on_payment_terms(erp, row, company_currency, in_party_currency)
            if terms:
                data += [term for term in terms if term.outstanding > 0]
                extra = _allocate_extra_payments_or_credits(row)
                if extra is not None:
                    data.append(extra)
                continue
        data.append(row)

    for row in data:  # append_row
        details = invoice_details.get(row.voucher_no, {})
        if row.due_date:
            details.pop("due_date", None)  # the report drops the invoice's due date for term rows
        row.update({k: v for k, v in details.items() if k != "name"})
        row.currency = row.account_currency if in_party_currency else company_currency
        _set_ageing(row, age_as_on)
    return data


def _update_voucher_balance(balances: dict[tuple, Row], return_entries: dict[str, str | None], e: Row,
                            in_party_currency: bool) -> None:
    # get_voucher_balance: the row of the voucher the entry is against (for a credit note that
    # returns against an invoice, that invoice), else the entry's own voucher
    key = (e.account, e.against_voucher_type, e.against_voucher_no, e.party)
    if e.against_voucher_type in ("Sales Invoice", "Purchase Invoice") and e.against_voucher_no in return_entries:
        if return_against := return_entries[e.against_voucher_no]:
            key = (e.account, e.against_voucher_type, return_against, e.party)
    row = balances.get(key) or balances.get((e.account, e.voucher_type, e.voucher_no, e.party))
    if row is None:
        return
    amount = flt(e.amount_in_account_currency) if in_party_currency else flt(e.amount)
    in_account = flt(e.amount_in_account_currency)
    if flt(e.amount) > 0:
        if e.voucher_type in ("Journal Entry", "Payment Entry") and e.voucher_no != e.against_voucher_no:
            row.paid -= amount
            row.paid_in_account_currency -= in_account
        else:
            row.invoiced += amount
            row.invoiced_in_account_currency += in_account
    elif e.voucher_type in ("Sales Invoice", "Purchase Invoice"):
        if row.voucher_no == e.voucher_no == e.against_voucher_no:
            row.paid -= amount
            row.paid_in_account_currency -= in_account
        else:
            row.credit_note -= amount
            row.credit_note_in_account_currency -= in_account
    else:
        row.paid -= amount
        row.paid_in_account_currency -= in_account


def _allocate_outstanding_based_on_payment_terms(erp: Erp, row: Row, company_currency: str,
                                                 in_party_currency: bool) -> list[Row]:
    invoice = next((si for si in erp["Sales Invoice"] if si.name == row.voucher_no and si.is_return == 0), None)
    if invoice is None:  # credit notes have no payment terms
        return []
    schedule = [ps for ps in erp["Payment Schedule"]
                if ps.parent == invoice.name and ps.parenttype == "Sales Invoice"]
    if not schedule:
        return []
    # "order by ps.paid_amount desc, due_date"
    schedule.sort(key=lambda ps: (-flt(ps.paid_amount), day(ps.due_date) or datetime.date.min))

    original = Row(row)
    terms: list[Row] = []
    # advance allocated during invoicing is not considered in payment terms
    row.paid -= flt(invoice.total_advance)
    for ps in schedule:  # one row with a payment term, or several: a term row each either way
        terms.append(_append_payment_term(row, invoice, ps, Row(original), company_currency, in_party_currency))

    for term in terms:
        if not term.paid:
            _allocate_closing_to_term(row, term, "paid")
        if term.outstanding:
            _allocate_closing_to_term(row, term, "credit_note")
    return sorted(terms, key=lambda term: day(term.due_date) or datetime.date.min)


def _append_payment_term(row: Row, invoice: Row, ps: Row, term: Row, company_currency: str,
                         in_party_currency: bool) -> Row:
    invoiced, paid_amount = flt(ps.base_payment_amount), flt(ps.base_paid_amount)
    party_currency = in_party_currency
    if company_currency == invoice.currency and company_currency == invoice.party_account_currency:
        party_currency = False
    if party_currency and invoice.currency != invoice.party_account_currency:
        party_currency = False
    if party_currency:
        invoiced, paid_amount = flt(ps.payment_amount), flt(ps.paid_amount)
    term.update(due_date=ps.due_date, invoiced=invoiced, invoice_grand_total=row.invoiced,
                payment_term=ps.description or ps.payment_term, paid=paid_amount + flt(ps.discounted_amount),
                credit_note=0.0, outstanding=invoiced - paid_amount - flt(ps.discounted_amount),
                schedule_idx=ps.idx)
    if paid_amount:
        row.paid -= paid_amount + flt(ps.discounted_amount)
    return term


def _allocate_closing_to_term(row: Row, term: Row, key: str) -> None:
    if row[key]:
        if row[key] > term.outstanding:
            term[key] = term.outstanding
            row[key] -= term.outstanding
        else:
            term[key] = row[key]
            row[key] = 0
    term.outstanding -= term[key]


def _allocate_extra_payments_or_credits(row: Row) -> Row | None:
    extra = None
    for key in ("paid", "credit_note"):
        if row[key] > 0:
            if extra is None:
                extra = Row(row)
            extra.invoiced = 0.0
            extra[key] = row[key]
    if extra is not None:
        extra.outstanding = extra.invoiced - extra.paid - extra.credit_note
    return extra


def _set_ageing(row: Row, age_as_on: datetime.date) -> None:
    # ageing based on due date; advances (payments, journals) fall back to their posting date
    entry_date = row.due_date or row.posting_date
    for i in range(1, len(RANGES) + 2):
        row[f"range{i}"] = 0.0
    row.bucket = ageing_bucket(entry_date, age_as_on)
    if row.bucket is not None:
        row.age = (age_as_on - day(entry_date)).days
        if row.bucket > 0:
            row[f"range{row.bucket}"] = row.outstanding
    row.total_due = sum(row[f"range{i}"] for i in range(1, len(RANGES) + 2))


def customers_of(erp: Erp) -> Iterable[str]:
    return [c.name for c in erp["Customer"]]
