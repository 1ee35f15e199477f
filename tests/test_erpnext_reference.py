"""The ERPNext connector against ERPNext's own figures (tests/erpnext_reference.py) on generated
ledgers written straight into the ERPNext tables, on SQLite and on the machine's MariaDB.

Each ledger (a seeded ``random.Random``) is booked the way ERPNext v15 books documents — which
rows a submit, a payment, a return, a cancellation or an amendment leaves in the tables:

* Sales Invoices with their Payment Ledger Entry (``amount`` in company currency,
  ``amount_in_account_currency`` in the party account's), a payment schedule of one row or of
  several (installments), in the company currency or a foreign one (then a foreign receivable
  account; a payment at another rate brings an Exchange Gain Or Loss journal that settles the
  difference in company currency only — or, as in ledgers from before ERPNext booked those,
  leaves it in the ledger: settled in the account currency, not in the company's);
* payments in full, in part, in two parts, by payment term (the schedule row's paid amounts,
  as a Payment Entry with ``payment_term`` records them, not necessarily oldest first), partly
  unallocated (the rest against the payment itself), unallocated payments on account and
  advances allocated in the invoice (``total_advance``, the schedule net of it);
* credit notes against an invoice (against the invoice's balance, or against themselves when
  they exceed it: ERPNext then sets ``update_outstanding_for_self``) and standalone ones, some
  partly refunded; debit notes by Journal Entry;
* cancelled invoices (``docstatus`` 2; their entries and the reversal entries delinked, or with
  the immutable ledger both left linked), payments allocated to them unlinked into payments on
  account, some amended (``amended_from``) with the payment reconciled to the amendment;
* Sales Orders in every status ERPNext's status updater gives (per_billed / per_delivered
  consistent with it), partly billed, in foreign currency;
* Delivery Notes unbilled, partly billed by submitted and cancelled invoice items, against an
  order, against an invoice, returns, closed, draft, cancelled, in foreign currency; some
  customers have nothing else in a company;
* customer and customer-group credit limits per company, 0 or not, with and without
  ``bypass_credit_limit_check``, and the companies' own limits; three companies in three
  currencies; customers in several companies.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import create_engine, insert

from connectors.erpnext import ErpNextConnector
from connectors.erpnext import schema as t
from tests import erpnext_reference as ref

START = date(2025, 1, 1)
#: ageing "as on" this day; every document is dated within a year of START
AGE_AS_ON = date(2025, 10, 15)
#: the report covers every entry
REPORT_DATE = date(2099, 12, 31)
COMPANIES = (("Nordwind GmbH", "EUR", "NW"), ("O'Hare & Söhne Ltd", "GBP", "OH"), ('Westbay "Inc"', "USD", "WB"))
GROUPS = ("Retail", "Wholesale", "Export")
#: company-currency units per foreign unit, around which each document's rate is drawn
BASE_RATE = {("USD", "EUR"): 0.92, ("GBP", "EUR"): 1.17, ("EUR", "GBP"): 0.86, ("USD", "GBP"): 0.79,
             ("EUR", "USD"): 1.09, ("GBP", "USD"): 1.27}
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4"
#: money agrees to the cent
CENT = 0.005 + 1e-9


def cents(x: float) -> float:
    return round(x + 0.0, 2)


@dataclass
class Party:
    """A customer in a company: its billing currency, receivable account and rates."""

    customer: str
    company: str
    company_currency: str
    currency: str
    abbr: str

    @property
    def foreign(self) -> bool:
        return self.currency != self.company_currency

    @property
    def account(self) -> str:
        return f"Debtors {self.currency} - {self.abbr}" if self.foreign else f"Debtors - {self.abbr}"


@dataclass
class Invoice:
    party: Party
    row: dict
    rate: float
    open_acc: float
    open_base: float
    schedule: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.row["name"]


class Ledger:
    """One generated ERPNext database (see the module docstring)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.counter: Counter[str] = Counter()
        self.immutable = self.rng.random() < 0.3  # Accounts Settings' immutable ledger
        self.invoices: list[Invoice] = []
        self.orders: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.build()

    # ---------------------------------------------------------------- helpers

    def next(self, prefix: str) -> str:
        self.counter[prefix] += 1
        return f"{prefix}-{self.counter[prefix]:05d}"

    def day(self, lo: int = 0, hi: int = 300, after: date = START) -> date:
        return after + timedelta(days=self.rng.randint(lo, hi))

    def money(self, lo: float = 40, hi: float = 4000) -> float:
        return cents(self.rng.uniform(lo, hi))

    def rate(self, party: Party) -> float:
        if not party.foreign:
            return 1.0
        return round(BASE_RATE[(party.currency, party.company_currency)] * self.rng.uniform(0.95, 1.05), 4)

    def ple(self, party: Party, posting: date, vtype: str, vno: str, avtype: str, avno: str, amount: float,
            in_account: float, due: date | None = None) -> dict:
        row = {"name": self.next("PLE"), "creation": datetime.combine(posting, datetime.min.time()),
               "posting_date": posting, "company": party.company, "account_type": "Receivable",
               "account": party.account, "party_type": "Customer", "party": party.customer, "due_date": due,
               "voucher_type": vtype, "voucher_no": vno, "against_voucher_type": avtype, "against_voucher_no": avno,
               "amount": cents(amount), "account_currency": party.currency,
               "amount_in_account_currency": cents(in_account), "delinked": 0}
        self.rows["Payment Ledger Entry"].append(row)
        return row

    def sales_invoice(self, party: Party, name: str, posting: date, due: date, rate: float, total: float,
                      base: float, **extra) -> dict:
        row = {"name": name, "customer": party.customer, "company": party.company, "posting_date": posting,
               "due_date": due, "currency": party.currency, "conversion_rate": rate, "grand_total": total,
               "base_grand_total": base, "outstanding_amount": 0.0, "is_return": 0, "return_against": None,
               "update_outstanding_for_self": 0, "amended_from": None, "docstatus": 1, "status": "Unpaid",
               "debit_to": party.account, "party_account_currency": party.currency, "total_advance": 0.0,
               "po_no": None}
        row.update(extra)
        self.rows["Sales Invoice"].append(row)
        return row

    # ---------------------------------------------------------------- masters

    def build(self) -> None:
        rng = self.rng
        for name, currency, _ in COMPANIES:
            self.rows["Company"].append({"name": name, "default_currency": currency, "country": None,
                                         "credit_limit": rng.choice([0.0, 0.0, 20000.0, 50000.0])})
        self.rows["Customer Group"] += [{"name": g} for g in ("All Customer Groups", *GROUPS)]
        for group in GROUPS:
            for company, _, _ in COMPANIES:
                kind = rng.choice(["none", "limit", "bypass", "zero"])
                if kind != "none":
                    amount = 0.0 if kind == "zero" else rng.choice([8000.0, 30000.0])
                    self.limit(group, "Customer Group", company, amount, bypass=int(kind == "bypass"))
        names = [f"CUST-{i:03d}" for i in range(1, 23)] + ["Mc'Q \"Ltd\"", "Ünal & Co"]
        for i, customer in enumerate(names):
            billing = rng.choice([None, None, None, "USD", "GBP", "EUR"])
            self.rows["Customer"].append({
                "name": customer, "customer_name": customer.title(), "customer_group": rng.choice(GROUPS),
                "default_currency": billing, "payment_terms": None, "is_frozen": 0, "disabled": 0,
                "creation": datetime(2024, 1, 1) + timedelta(days=i), "modified": datetime(2024, 1, 1)})
            for company, company_currency, abbr in rng.sample(COMPANIES, rng.choice([1, 1, 2, 3])):
                party = Party(customer, company, company_currency, billing or company_currency, abbr)
                self.business(party)

    def limit(self, parent: str, parenttype: str, company: str, amount: float, bypass: int = 0) -> None:
        siblings = sum(1 for r in self.rows["Customer Credit Limit"] if r["parent"] == parent)
        self.rows["Customer Credit Limit"].append({
            "name": self.next("CCL"), "parent": parent, "parenttype": parenttype, "parentfield": "credit_limits",
            "idx": siblings + 1, "company": company, "credit_limit": amount, "bypass_credit_limit_check": bypass,
            "creation": datetime(2024, 1, 1), "modified": datetime(2024, 1, 1)})

    # ---------------------------------------------------------------- one customer in one company

    def business(self, party: Party) -> None:
        rng = self.rng
        profile = rng.choices(["full", "deliveries only", "orders only", "limit only"], [80, 8, 6, 6])[0]
        if profile in ("full", "limit only") and rng.random() < 0.75:
            kind = rng.choice(["limit", "limit", "zero", "bypass"])
            self.limit(party.customer, "Customer", party.company,
                       0.0 if kind == "zero" else rng.choice([1000.0, 5000.0, 12000.0]), bypass=int(kind == "bypass"))
        if profile == "full":
            for _ in range(rng.randint(0, 5)):
                self.invoice_with_fate(party)
            if rng.random() < 0.3:
                self.standalone_credit_note(party)
            if rng.random() < 0.3:
                self.payment_on_account(party)
            if rng.random() < 0.15:
                self.debit_note(party)
        if profile in ("full", "orders only"):
            for _ in range(rng.randint(0, 3) if profile == "full" else 2):
                self.sales_order(party)
        if profile in ("full", "deliveries only"):
            for _ in range(rng.randint(0, 2) if profile == "full" else 2):
                self.delivery_note(party)

    # ---------------------------------------------------------------- invoices and their fates

    def invoice(self, party: Party, *, terms: int = 1, advance: float = 0.0, posting: date | None = None,
                total: float | None = None, name: str | None = None, amended_from: str | None = None) -> Invoice:
        rng = self.rng
        posting = posting or self.day()
        rate = self.rate(party)
        total = total or self.money()
        base = cents(total * rate)
        name = name or self.next("ACC-SINV")
        if terms == 1:
            dues = [posting + timedelta(days=rng.choice([0, 14, 30, 45, 60]))]
        else:
            dues = [posting + timedelta(days=30 * (i + 1)) for i in range(terms)]
        # ERPNext's set_payment_schedule: the schedule covers the grand total less the advances
        net, net_base = cents(total - advance), cents(base - advance)
        amounts = [cents(net / terms)] * (terms - 1)
        amounts.append(cents(net - sum(amounts)))
        bases = [cents(a * rate) for a in amounts[:-1]]
        bases.append(cents(net_base - sum(bases)))
        row = self.sales_invoice(party, name, posting, max(dues), rate, total, base, amended_from=amended_from,
                                 total_advance=advance)
        inv = Invoice(party, row, rate, total, base)
        for i, (due, amount, amount_base) in enumerate(zip(dues, amounts, bases, strict=True)):
            ps = {"name": self.next("PS"), "parent": name, "parenttype": "Sales Invoice",
                  "parentfield": "payment_schedule", "idx": i + 1, "payment_term": f"Term {i + 1}",
                  "description": None, "due_date": due, "invoice_portion": round(100 * amount / total, 6),
                  "payment_amount": amount, "outstanding": amount, "paid_amount": 0.0, "discounted_amount": 0.0,
                  "base_payment_amount": amount_base, "base_outstanding": amount_base, "base_paid_amount": 0.0}
            inv.schedule.append(ps)
            self.rows["Payment Schedule"].append(ps)
        self.ple(party, posting, "Sales Invoice", name, "Sales Invoice", name, base,
                 total if party.foreign else base, due=max(dues))
        if advance:  # an advance received before, allocated in the invoice (company currency only)
            pe = self.next("ACC-PAY")
            self.ple(party, posting, "Payment Entry", pe, "Sales Invoice", name, -advance, -advance)
            inv.open_acc, inv.open_base = cents(total - advance), cents(base - advance)
        self.invoices.append(inv)
        return inv

    def pay(self, inv: Invoice, amount: float, when: date, term: dict | None = None, unallocated: float = 0.0,
            gain_loss: bool = True) -> str:
        """A Payment Entry allocating ``amount`` (account currency) to ``inv``; with an Exchange Gain
        Or Loss journal when its rate differs from the invoice's (ERPNext books one on reconciling;
        ``gain_loss=False``: a ledger from before it did, the difference left in the ledger)."""
        party = inv.party
        pe = self.next("ACC-PAY")
        rate = self.rate(party)
        paid_base = cents(amount * rate)
        clears = abs(amount - inv.open_acc) < 0.005
        portion = inv.open_base if clears else cents(amount * inv.rate)
        self.ple(party, when, "Payment Entry", pe, "Sales Invoice", inv.name, -paid_base, -amount)
        if party.foreign and cents(paid_base - portion) and gain_loss:
            self.ple(party, when, "Journal Entry", self.next("ACC-JV"), "Sales Invoice", inv.name,
                     cents(paid_base - portion), 0.0)
        inv.open_acc, inv.open_base = cents(inv.open_acc - amount), cents(inv.open_base - portion)
        if unallocated:
            self.ple(party, when, "Payment Entry", pe, "Payment Entry", pe, -cents(unallocated * rate), -unallocated)
        if term is not None:  # a reference with payment_term: update_payment_schedule
            term["paid_amount"] = cents(term["paid_amount"] + amount)
            term["base_paid_amount"] = cents(term["base_paid_amount"] + amount * inv.rate)
            term["outstanding"] = cents(term["outstanding"] - amount)
            term["base_outstanding"] = cents(term["base_outstanding"] - amount * inv.rate)
        return pe

    def credit_note(self, inv: Invoice, amount: float, when: date) -> str:
        """A return against ``inv``: it reduces the invoice, unless it exceeds what is outstanding
        (ERPNext's validate_against_voucher_outstanding then sets update_outstanding_for_self)."""
        party = inv.party
        own = amount > inv.open_acc + 0.005
        clears = not own and abs(amount - inv.open_acc) < 0.005
        base = inv.open_base if clears else cents(amount * inv.rate)
        name = self.next("ACC-SINV")
        self.sales_invoice(party, name, when, when, inv.rate, -amount, -base, is_return=1, return_against=inv.name,
                           update_outstanding_for_self=int(own), status="Return")
        self.ple(party, when, "Sales Invoice", name, "Sales Invoice", name if own else inv.name, -base,
                 -amount if party.foreign else -base, due=when)
        if not own:
            inv.open_acc, inv.open_base = cents(inv.open_acc - amount), cents(inv.open_base - base)
        return name

    def cancel(self, inv: Invoice, when: date) -> None:
        """on_cancel: payments allocated to the invoice are unlinked (their entries now against
        themselves), then the invoice's entries are reversed and delinked with their reversals
        (with the immutable ledger, neither is delinked)."""
        entries = self.rows["Payment Ledger Entry"]
        for e in entries:
            if e["against_voucher_no"] == inv.name and e["delinked"] == 0 and e["voucher_no"] != inv.name:
                e["against_voucher_type"], e["against_voucher_no"] = e["voucher_type"], e["voucher_no"]
        for e in [e for e in entries if e["voucher_no"] == inv.name and e["delinked"] == 0]:
            reversal = self.ple(inv.party, when if self.immutable else e["posting_date"], e["voucher_type"],
                                e["voucher_no"], e["against_voucher_type"], e["against_voucher_no"], -e["amount"],
                                -e["amount_in_account_currency"], due=e["due_date"])
            if not self.immutable:
                e["delinked"] = reversal["delinked"] = 1
        inv.row.update(docstatus=2, status="Cancelled")
        inv.open_acc = inv.open_base = 0.0

    def invoice_with_fate(self, party: Party) -> None:
        rng = self.rng
        fates = ["open", "part", "paid", "paid twice", "credit", "credit in full", "credit after payment",
                 "cancel", "installments", "installments by term", "installments credited"]
        if not party.foreign:
            fates += ["cancel paid", "advance", "part unallocated"]
        else:
            fates += ["paid, exchange difference not booked"]
        fate = rng.choice(fates)
        terms = rng.choice([2, 3]) if fate.startswith("installments") else (1 if rng.random() < 0.8 else 2)
        total = self.money()
        advance = cents(total * rng.uniform(0.1, 0.5)) if fate == "advance" else 0.0
        inv = self.invoice(party, terms=terms, advance=advance, total=total)
        later = lambda: self.day(1, 120, after=inv.row["posting_date"])  # noqa: E731
        if fate == "part":
            self.pay(inv, cents(inv.open_acc * rng.uniform(0.2, 0.8)), later())
        elif fate == "paid":
            self.pay(inv, inv.open_acc, later())
        elif fate == "paid, exchange difference not booked":
            self.pay(inv, inv.open_acc, later(), gain_loss=False)
        elif fate == "paid twice":
            self.pay(inv, cents(inv.open_acc * 0.4), later())
            self.pay(inv, inv.open_acc, later())
        elif fate == "part unallocated":
            self.pay(inv, cents(inv.open_acc * 0.5), later(), unallocated=self.money(10, 500))
        elif fate == "credit":
            self.credit_note(inv, cents(inv.open_acc * rng.uniform(0.1, 0.6)), later())
        elif fate == "credit in full":
            self.credit_note(inv, inv.open_acc, later())
        elif fate == "credit after payment":
            self.pay(inv, inv.open_acc, later())
            self.credit_note(inv, cents(total * 0.3), later())  # more than outstanding: against itself
        elif fate in ("cancel", "cancel paid"):
            if fate == "cancel paid":
                self.pay(inv, cents(inv.open_acc * rng.uniform(0.3, 1.0)), later())
            self.cancel(inv, later())
            if rng.random() < 0.6:  # amended
                amended = self.invoice(party, posting=inv.row["posting_date"], total=total,
                                       name=f"{inv.name}-1", amended_from=inv.name)
                for e in self.rows["Payment Ledger Entry"]:  # reconcile the unlinked payment to it
                    if (e["voucher_type"] == "Payment Entry" and e["against_voucher_no"] == e["voucher_no"]
                            and e["party"] == party.customer and e["company"] == party.company
                            and -e["amount"] <= amended.open_acc and rng.random() < 0.7):
                        e["against_voucher_type"], e["against_voucher_no"] = "Sales Invoice", amended.name
                        amended.open_acc = amended.open_base = cents(amended.open_acc + e["amount"])
        elif fate == "installments":
            self.pay(inv, cents(inv.schedule[0]["payment_amount"] * rng.uniform(0.5, 1.6)), later())
        elif fate == "installments by term":
            term = rng.choice(inv.schedule[1:])  # not the oldest: the report keeps it there
            self.pay(inv, cents(term["payment_amount"] * rng.choice([0.5, 1.0])), later(), term=term)
            if rng.random() < 0.5:
                self.pay(inv, cents(inv.schedule[0]["payment_amount"] * 0.5), later())
            if rng.random() < 0.5:  # credit notes may go to a term paid by term, payments not
                self.credit_note(inv, cents(inv.open_acc * rng.uniform(0.2, 0.9)), later())
        elif fate == "installments credited":
            self.pay(inv, cents(inv.schedule[0]["payment_amount"] * 0.7), later())
            self.credit_note(inv, cents(inv.open_acc * 0.3), later())

    def standalone_credit_note(self, party: Party) -> None:
        when, rate, amount = self.day(), self.rate(party), self.money(20, 800)
        name = self.next("ACC-SINV")
        self.sales_invoice(party, name, when, when, rate, -amount, -cents(amount * rate), is_return=1, status="Return")
        self.ple(party, when, "Sales Invoice", name, "Sales Invoice", name, -cents(amount * rate),
                 -amount if party.foreign else -cents(amount * rate), due=when)
        if not party.foreign and self.rng.random() < 0.5:  # partly refunded
            self.ple(party, self.day(1, 60, after=when), "Payment Entry", self.next("ACC-PAY"), "Sales Invoice",
                     name, cents(amount * 0.4), cents(amount * 0.4))

    def payment_on_account(self, party: Party) -> None:
        amount, rate, pe = self.money(20, 1500), self.rate(party), self.next("ACC-PAY")
        self.ple(party, self.day(), "Payment Entry", pe, "Payment Entry", pe, -cents(amount * rate), -amount)

    def debit_note(self, party: Party) -> None:
        amount, rate, je = self.money(10, 300), self.rate(party), self.next("ACC-JV")
        self.ple(party, self.day(), "Journal Entry", je, "Journal Entry", je, cents(amount * rate), amount)

    # ---------------------------------------------------------------- orders and deliveries

    def sales_order(self, party: Party) -> None:
        rng = self.rng
        partly = lambda: rng.choice([0.0, 0.0, 25.0, 40.5, 99.5])  # noqa: E731
        status, docstatus, delivered, billed = rng.choice([
            ("Draft", 0, 0.0, 0.0), ("Cancelled", 2, 0.0, 0.0),
            ("To Deliver and Bill", 1, rng.choice([0.0, 50.0]), partly()),
            ("To Deliver and Bill", 1, 0.0, partly()),
            ("To Bill", 1, 100.0, partly()), ("To Deliver", 1, 30.0, 100.0), ("Completed", 1, 100.0, 100.0),
            ("Closed", 1, rng.choice([0.0, 100.0]), partly()), ("On Hold", 1, rng.choice([0.0, 100.0]), partly()),
        ])
        rate, total = self.rate(party), self.money()
        name = self.next("SAL-ORD")
        when = self.day()
        self.rows["Sales Order"].append({
            "name": name, "customer": party.customer, "company": party.company, "transaction_date": when,
            "delivery_date": when + timedelta(days=20), "currency": party.currency, "conversion_rate": rate,
            "grand_total": total, "base_grand_total": cents(total * rate), "per_billed": billed,
            "per_delivered": delivered, "status": status, "docstatus": docstatus,
            "modified": datetime.combine(when, datetime.min.time())})
        if docstatus == 1:
            self.orders[(party.customer, party.company)].append(name)

    def delivery_note(self, party: Party) -> None:
        rng = self.rng
        kind = rng.choice(["unbilled", "unbilled", "partly billed", "against order", "mixed", "against invoice",
                           "return", "closed", "draft", "cancelled"])
        rate, when, name = self.rate(party), self.day(), self.next("MAT-DN")
        sign = -1 if kind == "return" else 1
        amounts = [sign * self.money(50, 900) for _ in range(rng.randint(1, 3))]
        base_net = cents(sum(cents(a * rate) for a in amounts))
        orders = self.orders.get((party.customer, party.company), [])
        invoices = [i for i in self.invoices if i.party == party]
        status = {"closed": "Closed", "return": "Return"}.get(kind, "To Bill")
        self.rows["Delivery Note"].append({
            "name": name, "customer": party.customer, "company": party.company, "posting_date": when,
            "currency": party.currency, "conversion_rate": rate, "docstatus": {"draft": 0, "cancelled": 2}.get(kind, 1),
            "status": status, "is_return": int(kind == "return"), "net_total": cents(sum(amounts)),
            "base_net_total": base_net, "grand_total": cents(sum(amounts) * 1.19),
            "base_grand_total": cents(base_net * 1.19),
            "per_billed": 0.0})
        for i, amount in enumerate(amounts):
            item = self.next("DNI")
            against_order = bool(orders) and (kind == "against order" or (kind == "mixed" and i == 0))
            against_invoice = kind == "against invoice" and invoices
            self.rows["Delivery Note Item"].append({
                "name": item, "parent": name, "parenttype": "Delivery Note", "parentfield": "items", "idx": i + 1,
                "amount": amount, "base_amount": cents(amount * rate),
                "against_sales_order": rng.choice(orders) if against_order else None,
                "against_sales_invoice": rng.choice(invoices).name if against_invoice else None})
            if kind == "partly billed" and invoices:  # billed by items of this customer's invoices
                for _ in range(rng.randint(1, 2)):
                    bill = rng.choice(invoices)
                    self.rows["Sales Invoice Item"].append({
                        "name": self.next("SII"), "parent": bill.name, "parenttype": "Sales Invoice",
                        "parentfield": "items", "idx": 1, "dn_detail": item, "delivery_note": name,
                        "amount": cents(amount * rng.choice([0.3, 0.6, 1.0])), "docstatus": bill.row["docstatus"]})

    # ---------------------------------------------------------------- writing

    def write(self, url: str) -> None:
        engine = create_engine(url)
        try:
            t.create_all(engine)
            with engine.begin() as conn:
                for doctype, rows in self.rows.items():
                    if rows:
                        conn.execute(insert(t.tables[doctype]), rows)
        finally:
            engine.dispose()


# --------------------------------------------------------------------------- the comparison


def _item_keys(ar_rows: list[ref.Row], schedule_rows: Counter) -> dict[str, ref.Row]:
    """The report's rows by the connector's item_id: ``<invoice>/<idx>`` for a term of an
    invoice with several schedule rows, the voucher otherwise."""
    keyed: dict[str, ref.Row] = {}
    for row in ar_rows:
        split = row.schedule_idx is not None and schedule_rows[row.voucher_no] > 1
        key = f"{row.voucher_no}/{row.schedule_idx}" if split else row.voucher_no
        assert key not in keyed, key
        keyed[key] = row
    return keyed


def _doc_type(row: ref.Row, erp: ref.Erp) -> str:
    if row.voucher_type == "Sales Invoice":
        return "credit_note" if erp.value("Sales Invoice", row.voucher_no, "is_return") else "invoice"
    return "payment_on_account" if row.outstanding < 0 else "debit_note"


def assert_agrees_with_erpnext(url: str) -> dict[str, int]:
    """Per company: the connector's frames against tests/erpnext_reference.py; returns counts of
    what was compared (so a test can check the ledger exercised something)."""
    erp = ref.Erp.load(url)
    schedule_rows = Counter(ps.parent for ps in erp["Payment Schedule"] if ps.parenttype == "Sales Invoice")
    seen: Counter[str] = Counter()
    connector = ErpNextConnector(url, {"chunk_size": 37})
    try:
        for company in (c.name for c in erp["Company"]):
            currency = erp.value("Company", company, "default_currency")
            customers = connector.read_customers([company]).set_index("customer_id")
            items = connector.read_open_items([company])
            orders = connector.read_open_orders([company])
            deliveries = connector.read_open_deliveries([company])
            for frame in (items, orders, deliveries):
                assert set(frame["company"]) <= {company}
                assert set(frame["currency"]) <= {currency}, "receivables, orders, deliveries in company currency"
                missing = set(frame["customer_id"]) - set(customers.index)
                assert not missing, f"{company}: documents of customers not in the customers frame: {missing}"

            # outstanding and credit limit per customer, as ERPNext's credit check sees them
            documents = [frame[["customer_id", "open_amount"]] for frame in (items, orders, deliveries)]
            exposure = pd.concat(documents).groupby("customer_id")["open_amount"].sum()
            # balances the report does not list (settled in the account currency, an exchange
            # difference left in company currency) are in ERPNext's ledger balance but not receivables
            unlisted: list[ref.Row] = []
            ref.accounts_receivable(erp, company, REPORT_DATE, AGE_AS_ON, unlisted=unlisted)
            for customer in ref.customers_of(erp):
                expected = ref.get_customer_outstanding(erp, customer, company)
                hidden = sum(row.outstanding for row in unlisted if row.party == customer)
                seen["unlisted exchange differences"] += abs(hidden) >= CENT
                expected -= hidden
                got = float(exposure.get(customer, 0.0))
                if customer not in customers.index:
                    assert abs(expected) < CENT, f"{company} / {customer}: outstanding {expected} but no customer row"
                    continue
                assert abs(got - expected) < CENT, f"{company} / {customer}: outstanding {got} != ERPNext's {expected}"
                limit = ref.get_credit_limit(erp, customer, company)
                got_limit = customers.loc[customer, "credit_limit"]
                if limit == 0:
                    assert pd.isna(got_limit), f"{company} / {customer}: limit {got_limit}, ERPNext has none"
                else:
                    assert got_limit == pytest.approx(limit, abs=CENT), f"{company} / {customer}: limit"
                seen["customers"] += 1
                seen["with outstanding"] += abs(expected) >= CENT

            # every open document: its outstanding, amount and ageing as the Accounts Receivable report,
            # installments as its "Based On Payment Terms" split
            report = _item_keys(ref.accounts_receivable(erp, company, REPORT_DATE, AGE_AS_ON,
                                                        based_on_payment_terms=True), schedule_rows)
            got_items = items.set_index("item_id")
            assert set(got_items.index) == set(report), (
                f"{company}: only the connector {sorted(set(got_items.index) - set(report))}, "
                f"only the report {sorted(set(report) - set(got_items.index))}")
            for item_id, row in report.items():
                item = got_items.loc[item_id]
                what = f"{company} / {item_id}"
                split = "/" in item_id
                # the report's split can lose a rounding cent (a term whose base_paid_amount, rounded
                # per payment, passes its base_payment_amount); the connector keeps it on the last
                # open term, so its installments add up to the ledger (checked below)
                assert item["open_amount"] == pytest.approx(row.outstanding, abs=CENT + 0.01 * split), what
                assert item["customer_id"] == row.party, what
                assert item["doc_type"] == _doc_type(row, erp), what
                if item["doc_type"] == "invoice":
                    assert item["amount"] == pytest.approx(row.invoiced if split else row.invoice_grand_total,
                                                           abs=CENT), what
                    seen["installments" if split else "invoices"] += 1
                else:
                    seen[item["doc_type"]] += 1
                bucket = ref.ageing_bucket(item["due_date"], AGE_AS_ON)
                assert bucket == row.bucket, \
                    f"{what}: ageing {ref.AGEING_BUCKETS[bucket]}, the report's {ref.AGEING_BUCKETS[row.bucket]}"
                seen[f"bucket {ref.AGEING_BUCKETS[bucket]}"] += 1
            # per document (installments added up), the report without the split: the ledger's outstanding
            whole = {row.voucher_no: row for row in ref.accounts_receivable(erp, company, REPORT_DATE, AGE_AS_ON)}
            by_document = items.groupby(items["item_id"].str.replace(r"/\d+$", "", regex=True))["open_amount"].sum()
            assert set(by_document.index) == set(whole), company
            for voucher, row in whole.items():
                assert by_document[voucher] == pytest.approx(row.outstanding, abs=CENT), f"{company} / {voucher}"
            seen["orders"] += len(orders)
            seen["deliveries"] += len(deliveries)
            connector.read_payments([company])  # history reads on the same ledger
    finally:
        connector.close()
    return dict(seen)


#: enough ledgers that every kind of document and ageing bucket turns up (checked below)
SQLITE_SEEDS = (1, 2, 3, 4, 5, 6)
MARIADB_SEEDS = (101, 102)


def _assert_exercised(seen: dict[str, int]) -> None:
    for what in ("invoices", "installments", "credit_note", "payment_on_account", "debit_note", "orders",
                 "deliveries", "with outstanding", "unlisted exchange differences",
                 *(f"bucket {b}" for b in ref.AGEING_BUCKETS)):
        assert seen.get(what, 0) > 0, f"the ledgers never exercised {what}: {seen}"


def test_connector_agrees_with_erpnext_on_sqlite(tmp_path):
    seen: Counter[str] = Counter()
    for seed in SQLITE_SEEDS:
        url = f"sqlite:///{tmp_path / f'ledger{seed}.sqlite'}"
        Ledger(seed).write(url)
        seen.update(assert_agrees_with_erpnext(url))
    _assert_exercised(seen)


@pytest.mark.parametrize("seed", MARIADB_SEEDS)
def test_connector_agrees_with_erpnext_on_mariadb(seed, mariadb_database):
    url = MARIADB.format(db=mariadb_database)
    Ledger(seed).write(url)
    assert_agrees_with_erpnext(url)


def test_the_generator_books_what_it_claims():
    """The ledgers hold the cases the module docstring lists (so the comparison covers them)."""
    rows: dict[str, list[dict]] = defaultdict(list)
    immutable = False
    for seed in SQLITE_SEEDS:
        ledger = Ledger(seed)
        immutable |= ledger.immutable
        for doctype, part in ledger.rows.items():
            rows[doctype] += part
    si, ple, so, dn = rows["Sales Invoice"], rows["Payment Ledger Entry"], rows["Sales Order"], rows["Delivery Note"]
    assert any(r["docstatus"] == 2 for r in si) and any(r["amended_from"] for r in si)
    assert any(r["delinked"] == 1 for r in ple) and any(r["delinked"] == 0 and r["amount"] < 0
                                                       and r["voucher_no"] == r["against_voucher_no"]
                                                       and r["voucher_type"] == "Payment Entry" for r in ple)
    assert any(r["is_return"] and r["return_against"] and not r["update_outstanding_for_self"] for r in si)
    assert any(r["is_return"] and r["update_outstanding_for_self"] for r in si)
    assert any(r["is_return"] and not r["return_against"] for r in si)
    assert any(r["total_advance"] for r in si)
    assert any(r["base_paid_amount"] for r in rows["Payment Schedule"])
    assert any(r["voucher_type"] == "Journal Entry" and r["amount_in_account_currency"] == 0 for r in ple)
    assert any(r["currency"] != c for r in si for n, c, _ in COMPANIES if r["company"] == n)
    assert {r["status"] for r in so} >= {"Draft", "Cancelled", "To Deliver and Bill", "To Bill", "To Deliver",
                                         "Completed", "Closed", "On Hold"}
    assert {r["status"] for r in dn} >= {"To Bill", "Closed", "Return"} and {r["docstatus"] for r in dn} == {0, 1, 2}
    assert any(r["docstatus"] == 2 for r in rows["Sales Invoice Item"])
    limits = rows["Customer Credit Limit"]
    assert any(r["parenttype"] == "Customer Group" and r["bypass_credit_limit_check"] for r in limits)
    assert any(r["parenttype"] == "Customer" and r["bypass_credit_limit_check"] for r in limits)
    assert any(r["credit_limit"] == 0 for r in limits) and any(r["credit_limit"] for r in rows["Company"])
    assert immutable
