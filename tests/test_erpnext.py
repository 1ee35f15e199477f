"""ErpNextConnector against a small hand-built ERPNext database: exact frames, writes.

Every test runs on SQLite (as the demo) and on the machine's MariaDB through pymysql and pyodbc.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import create_engine, insert, select

from connectors.erpnext import ErpNextConnector, read
from connectors.erpnext import schema as t
from connectors.erpnext.write import PlanError
from etl.plan import PLAN_COLUMNS
from etl.ports import ConnectorError, ErpConnector
from validation.contracts import ENTITIES

DE = "DE01"
QUOTED = 'O\'Brien "Trading"'
QCUST = "Mc'Q \"Ltd\""


def d(s: str) -> date:
    return date.fromisoformat(s)


def _ple(name, posting, company, party, vtype, vno, avtype, avno, amount, in_acc=None, cur="EUR",
         due=None, delinked=0):
    return {
        "name": name, "posting_date": d(posting), "company": company, "account_type": "Receivable",
        "party_type": "Customer", "party": party, "voucher_type": vtype, "voucher_no": vno,
        "against_voucher_type": avtype, "against_voucher_no": avno, "amount": amount,
        "amount_in_account_currency": amount if in_acc is None else in_acc, "account_currency": cur,
        "due_date": d(due) if due else None, "delinked": delinked,
    }


def _sinv(name, customer, posting, due, total, *, company=DE, currency="EUR", base=None, is_return=0,
          return_against=None, docstatus=1):
    return {
        "name": name, "customer": customer, "company": company, "posting_date": d(posting),
        "due_date": d(due), "currency": currency, "conversion_rate": (base or total) / total,
        "grand_total": total, "base_grand_total": base if base is not None else total,
        "outstanding_amount": 0, "is_return": is_return, "return_against": return_against,
        "docstatus": docstatus, "status": "Submitted",
    }


def _so(name, customer, total, per_billed, status, *, company=DE, currency="EUR", base=None,
        per_delivered=0.0, docstatus=1, when="2025-06-01"):
    return {
        "name": name, "customer": customer, "company": company, "transaction_date": d(when),
        "delivery_date": d("2025-07-01"), "currency": currency, "grand_total": total,
        "base_grand_total": base if base is not None else total, "per_billed": per_billed,
        "per_delivered": per_delivered, "status": status, "docstatus": docstatus,
        "modified": datetime(2025, 6, 1, 9, 0),
    }


def _limit(name, parent, company, limit, parenttype="Customer", bypass=0, idx=1):
    return {
        "name": name, "parent": parent, "parenttype": parenttype, "parentfield": "credit_limits",
        "idx": idx, "company": company, "credit_limit": limit, "bypass_credit_limit_check": bypass,
        "creation": datetime(2024, 1, 1), "modified": datetime(2024, 1, 1),
    }


def _cust(name, customer_name, group, terms, *, frozen=0, currency=None, created="2023-05-04 10:11:12"):
    return {
        "name": name, "customer_name": customer_name, "customer_group": group, "territory": "Germany",
        "default_currency": currency, "payment_terms": terms, "is_frozen": frozen, "disabled": 0,
        "creation": datetime.fromisoformat(created), "modified": datetime.fromisoformat(created),
    }


def _ptd(name, parent, idx, *, days=0, months=0, based_on="Day(s) after invoice date"):
    return {"name": name, "parent": parent, "parenttype": "Payment Terms Template", "parentfield": "terms",
            "idx": idx, "credit_days": days, "credit_months": months, "due_date_based_on": based_on}


def _dn(name, customer, *, status="To Bill", docstatus=1):
    return {"name": name, "customer": customer, "company": DE, "posting_date": d("2025-05-20"), "currency": "EUR",
            "status": status, "docstatus": docstatus, "net_total": 1000, "base_net_total": 1000,
            "grand_total": 1190, "base_grand_total": 1190}


def _dni(name, parent, *, against_sales_order=None, against_sales_invoice=None):
    return {"name": name, "parent": parent, "parenttype": "Delivery Note", "parentfield": "items", "idx": 1,
            "amount": 1000, "base_amount": 1000, "against_sales_order": against_sales_order,
            "against_sales_invoice": against_sales_invoice}


def build_erp(url: str) -> None:
    """The hand-built ERPNext: see each row's comment for what it exercises."""
    engine = create_engine(url)
    t.create_all(engine)
    rows = {
        t.company: [
            {"name": DE, "default_currency": "EUR", "country": "Germany", "credit_limit": 0,
             "payment_terms": "2 months EOM"},  # the terms of a customer without any of its own or its group's
            {"name": QUOTED, "default_currency": "GBP", "country": "United Kingdom", "credit_limit": 0,
             "payment_terms": None},
        ],
        t.customer_group: [{"name": "Retail", "payment_terms": "EOM 30"}, {"name": "Wholesale", "payment_terms": None},
                           {"name": "Export", "payment_terms": None}],
        t.payment_terms_template: [{"name": "Net 30"}, {"name": "Prepayment"}, {"name": "Split 30/60"},
                                   {"name": "EOM 30"}, {"name": "2 months EOM"}],
        t.payment_terms_template_detail: [
            _ptd("ptd1", "Net 30", 1, days=30),
            _ptd("ptd2", "Prepayment", 1),
            _ptd("ptd3", "Split 30/60", 1, days=30),
            _ptd("ptd4", "Split 30/60", 2, days=60),
            # ERPNext's due dates counted from the end of the invoice month: + 15 days on average
            _ptd("ptd5", "EOM 30", 1, days=30, based_on="Day(s) after the end of the invoice month"),
            _ptd("ptd6", "2 months EOM", 1, months=2, based_on="Month(s) after the end of the invoice month"),
        ],
        t.customer: [
            _cust("C1", "Alpha GmbH", "Retail", "Net 30"),
            _cust("C2", "Beta Bau", "Retail", "Split 30/60", created="2024-02-29 23:59:59"),
            _cust("C3", "Gamma", "Wholesale", "Prepayment", frozen=1),
            _cust("C4", "Delta", "Retail", None, currency="USD"),
            _cust("C5", "Echo (no activity)", "Retail", "Net 30"),
            _cust(QCUST, "Quote's \"Customer\"", "Retail", "Net 30"),
            _cust("C6", "Foxtrot", "Export", None),    # no terms of its own nor of its group: the company's
        ],
        t.customer_credit_limit: [
            _limit("l1", "C1", DE, 10000),                        # own row
            _limit("l3", "C3", DE, 0),                            # 0 -> group row (ERPNext)
            _limit("l4", "C4", DE, 0),                            # 0 -> group row bypassed -> company's
            _limit("g1", "Retail", DE, 5000, parenttype="Customer Group", bypass=1),
            _limit("g2", "Wholesale", DE, 7000, parenttype="Customer Group"),
            _limit("q1", QCUST, QUOTED, 1000),
            _limit("l6", "C6", DE, 2000),
        ],
        t.sales_invoice: [
            _sinv("SINV-1", "C1", "2025-01-10", "2025-02-09", 1000),          # cleared in two parts
            _sinv("SINV-2", "C1", "2025-03-01", "2025-03-31", 500),           # partial payment
            _sinv("SINV-3", "C2", "2025-03-02", "2025-06-01", 900),           # 3 installments
            _sinv("SINV-4", "C2", "2025-04-01", "2025-04-01", -150, is_return=1),  # standalone credit note
            _sinv("SINV-5", "C4", "2025-04-05", "2025-05-05", 200, currency="USD", base=180),
            _sinv("SINV-6", "C4", "2025-05-01", "2025-05-01", -50, currency="USD", base=-45, is_return=1,
                  return_against="SINV-5"),
            _sinv("SINV-7", "C1", "2025-05-01", "2025-05-31", 70, docstatus=2),  # cancelled
            _sinv("Q-1", QCUST, "2025-05-02", "2025-06-01", 300, company=QUOTED, currency="GBP"),
        ],
        t.payment_schedule: [
            {"name": "ps1", "parent": "SINV-3", "parenttype": "Sales Invoice", "parentfield": "payment_schedule",
             "idx": 1, "due_date": d("2025-04-01"), "payment_amount": 300, "outstanding": 300, "paid_amount": 0,
             "base_payment_amount": 300},
            {"name": "ps2", "parent": "SINV-3", "parenttype": "Sales Invoice", "parentfield": "payment_schedule",
             "idx": 2, "due_date": d("2025-05-01"), "payment_amount": 300, "outstanding": 300, "paid_amount": 0,
             "base_payment_amount": 300},
            {"name": "ps3", "parent": "SINV-3", "parenttype": "Sales Invoice", "parentfield": "payment_schedule",
             "idx": 3, "due_date": d("2025-06-01"), "payment_amount": 300, "outstanding": 300, "paid_amount": 0,
             "base_payment_amount": 300},
            {"name": "ps4", "parent": "SINV-2", "parenttype": "Sales Invoice", "parentfield": "payment_schedule",
             "idx": 1, "due_date": d("2025-03-31"), "payment_amount": 500, "outstanding": 500, "paid_amount": 0,
             "base_payment_amount": 500},
        ],
        t.payment_ledger_entry: [
            _ple("p1", "2025-01-10", DE, "C1", "Sales Invoice", "SINV-1", "Sales Invoice", "SINV-1", 1000,
                 due="2025-02-09"),
            _ple("p2", "2025-02-01", DE, "C1", "Payment Entry", "PE-1", "Sales Invoice", "SINV-1", -400),
            _ple("p3", "2025-02-20", DE, "C1", "Payment Entry", "PE-2", "Sales Invoice", "SINV-1", -600),
            _ple("p4", "2025-03-01", DE, "C1", "Sales Invoice", "SINV-2", "Sales Invoice", "SINV-2", 500,
                 due="2025-03-31"),
            _ple("p5", "2025-03-15", DE, "C1", "Payment Entry", "PE-3", "Sales Invoice", "SINV-2", -200),
            # a cancelled payment: ERPNext delinks its entries (Payment Ledger Entry has no is_cancelled)
            _ple("p6", "2025-03-16", DE, "C1", "Payment Entry", "PE-X", "Sales Invoice", "SINV-2", -300,
                 delinked=1),
            _ple("p7", "2025-03-02", DE, "C2", "Sales Invoice", "SINV-3", "Sales Invoice", "SINV-3", 900,
                 due="2025-06-01"),
            _ple("p8", "2025-04-03", DE, "C2", "Payment Entry", "PE-4", "Sales Invoice", "SINV-3", -400),
            _ple("p9", "2025-04-01", DE, "C2", "Sales Invoice", "SINV-4", "Sales Invoice", "SINV-4", -150),
            _ple("p10", "2025-04-05", DE, "C4", "Sales Invoice", "SINV-5", "Sales Invoice", "SINV-5", 180,
                 in_acc=200, cur="USD", due="2025-05-05"),
            _ple("p11", "2025-05-01", DE, "C4", "Sales Invoice", "SINV-6", "Sales Invoice", "SINV-5", -45,
                 in_acc=-50, cur="USD"),
            _ple("p12", "2025-05-10", DE, "C4", "Payment Entry", "PE-5", "Sales Invoice", "SINV-5", -135,
                 in_acc=-150, cur="USD"),
            # unallocated payment of C3 (against itself)
            _ple("p13", "2025-05-20", DE, "C3", "Payment Entry", "PE-9", "Payment Entry", "PE-9", -250),
            _ple("q1", "2025-05-02", QUOTED, QCUST, "Sales Invoice", "Q-1", "Sales Invoice", "Q-1", 300,
                 cur="GBP", due="2025-06-01"),
        ],
        t.sales_order: [
            _so("SO-1", "C1", 1000, 40, "To Deliver and Bill"),                   # open 600
            _so("SO-2", "C1", 500, 0, "Closed"),                                   # Closed: out
            _so("SO-3", "C3", 2000, 0, "To Deliver and Bill"),                     # open 2000
            _so("SO-4", "C2", 800, 50, "On Hold", per_delivered=100),              # held by a person
            _so("SO-5", "C2", 300, 100, "To Deliver"),                             # fully billed: out
            _so("SO-6", "C4", 300, 0, "Draft", docstatus=0),                       # draft: out
            _so("SO-7", "C4", 100, 0, "To Deliver and Bill", currency="USD", base=90),
            _so("SO-8", "C1", 100, 100, "Completed", per_delivered=100),          # out
            _so("Q-SO'1", QCUST, 400, 25, "To Deliver and Bill", company=QUOTED),  # open 300
        ],
        t.dunning: [
            {"name": "DUN-1", "customer": "C2", "company": DE, "posting_date": d("2025-05-10"), "docstatus": 1,
             "dunning_type": "First Notice"},
            {"name": "DUN-2", "customer": "C2", "company": DE, "posting_date": d("2025-05-20"), "docstatus": 0,
             "dunning_type": "Second Notice"},
            {"name": "DUN-3", "customer": "C1", "company": DE, "posting_date": d("2025-04-10"), "docstatus": 1,
             "dunning_type": "First Notice"},
            {"name": "DUN-4", "customer": "C1", "company": DE, "posting_date": d("2025-04-20"), "docstatus": 1,
             "dunning_type": "Second Notice"},
        ],
        t.overdue_payment: [
            {"name": "op1", "parent": "DUN-1", "parenttype": "Dunning", "parentfield": "overdue_payments",
             "idx": 1, "sales_invoice": "SINV-3", "payment_schedule": "ps2"},
            {"name": "op2", "parent": "DUN-2", "parenttype": "Dunning", "parentfield": "overdue_payments",
             "idx": 1, "sales_invoice": "SINV-3", "payment_schedule": "ps3"},
            {"name": "op3", "parent": "DUN-3", "parenttype": "Dunning", "parentfield": "overdue_payments",
             "idx": 1, "sales_invoice": "SINV-2", "payment_schedule": "ps4"},
            {"name": "op4", "parent": "DUN-4", "parenttype": "Dunning", "parentfield": "overdue_payments",
             "idx": 1, "sales_invoice": "SINV-2", "payment_schedule": "ps4"},
        ],
        # delivery notes, as ERPNext's get_customer_outstanding counts them
        t.delivery_note: [
            _dn("DN-1", "C1"),                         # 1000 net, 400 of it invoiced: 600 / 1000 x 1190 open
            _dn("DN-2", "C1"),                         # its item is against an order: the order counts it
            _dn("DN-3", "C2", status="Closed"),        # closed: never counted
            _dn("DN-4", "C2", docstatus=0),            # a draft
            _dn("DN-5", "C2"),                         # fully invoiced
            _dn("DN-6", "C4"),                         # item against an invoice
        ],
        t.delivery_note_item: [
            _dni("dni1", "DN-1"), _dni("dni2", "DN-2", against_sales_order="SO-1"), _dni("dni3", "DN-3"),
            _dni("dni4", "DN-4"), _dni("dni5", "DN-5"), _dni("dni6", "DN-6", against_sales_invoice="SINV-5"),
        ],
        t.sales_invoice_item: [
            {"name": "sii1", "parent": "SINV-X1", "parenttype": "Sales Invoice", "parentfield": "items", "idx": 1,
             "dn_detail": "dni1", "amount": 400, "docstatus": 1},
            {"name": "sii2", "parent": "SINV-X2", "parenttype": "Sales Invoice", "parentfield": "items", "idx": 1,
             "dn_detail": "dni1", "amount": 300, "docstatus": 2},  # cancelled: bills nothing
            {"name": "sii3", "parent": "SINV-X3", "parenttype": "Sales Invoice", "parentfield": "items", "idx": 1,
             "dn_detail": "dni5", "amount": 1000, "docstatus": 1},
        ],
        t.currency_exchange: [
            {"name": "2025-01-01-USD-EUR", "date": d("2025-01-01"), "from_currency": "USD", "to_currency": "EUR",
             "exchange_rate": 0.9, "for_buying": 1, "for_selling": 1},
            {"name": "2025-06-01-USD-EUR", "date": d("2025-06-01"), "from_currency": "USD", "to_currency": "EUR",
             "exchange_rate": 0.92, "for_buying": 1, "for_selling": 1},
            {"name": "2025-06-01-USD-EUR-Buying", "date": d("2025-06-01"), "from_currency": "USD",
             "to_currency": "EUR", "exchange_rate": 0.5, "for_buying": 1, "for_selling": 0},
        ],
    }
    with engine.begin() as conn:
        for table, data in rows.items():
            conn.execute(insert(table), data)
    engine.dispose()


@pytest.fixture(scope="module")
def erp_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("erpnext") / "template.sqlite"
    build_erp(f"sqlite:///{path}")
    return path


#: the same tests on SQLite (the demo), and on the machine's MariaDB through both drivers users use
BACKENDS = {
    "sqlite": None,
    "mariadb-pymysql": "mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4",
    "mariadb-pyodbc": "mysql+pyodbc://root@127.0.0.1:3306/{db}?driver=MariaDB+Unicode&charset=utf8mb4",
}


@pytest.fixture(params=list(BACKENDS))
def erp(request, erp_template, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "erpnext.sqlite"
        shutil.copyfile(erp_template, path)
        url = f"sqlite:///{path}"
    else:
        url = BACKENDS[request.param].format(db=request.getfixturevalue("mariadb_database"))
        build_erp(url)
    # these tests are about the SQL write path (the demo's, and write_via: sql); the API writes
    # are tested against the API stand-in (tests/test_erpnext_api.py)
    connector = ErpNextConnector(url, {"write_via": "sql"})
    yield connector, url
    connector.close()


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


def frame(entity: str, rows: list[dict]) -> pd.DataFrame:
    model, _ = ENTITIES[entity]
    return model.validate(pd.DataFrame(rows, columns=list(model.to_schema().columns)))


def test_implements_the_port(erp):
    connector, _ = erp
    assert isinstance(connector, ErpConnector)


def test_companies_and_fx(erp):
    connector, _ = erp
    pd.testing.assert_frame_equal(
        connector.read_companies([DE, QUOTED, "nope"]),
        frame("companies", [{"company": DE, "currency": "EUR"}, {"company": QUOTED, "currency": "GBP"}]),
    )
    pd.testing.assert_frame_equal(
        connector.read_fx_rates([DE]),
        frame("fx_rates", [
            {"from_currency": "USD", "to_currency": "EUR", "rate": 0.9, "as_of": ts("2025-01-01")},
            {"from_currency": "USD", "to_currency": "EUR", "rate": 0.92, "as_of": ts("2025-06-01")},
        ]),
    )


def test_customers(erp):
    connector, _ = erp
    got = connector.read_customers([DE])
    common = {"company": DE, "country": None, "insured_limit": float("nan"), "external_rating": pd.NA}
    expected = frame("customers", [
        {**common, "customer_id": "C1", "name": "Alpha GmbH", "currency": "EUR", "credit_limit": 10000.0,
         "payment_terms_days": 30, "customer_since": ts("2023-05-04"), "segment": "Retail",
         "is_blocked": False, "on_prepayment": False},
        # no own row; the group's row has bypass_credit_limit_check, which ERPNext's get_credit_limit
        # skips, and the company's limit is 0: no limit. Max credit_days of the template
        {**common, "customer_id": "C2", "name": "Beta Bau", "currency": "EUR", "credit_limit": None,
         "payment_terms_days": 60, "customer_since": ts("2024-02-29"), "segment": "Retail",
         "is_blocked": False, "on_prepayment": False},
        # own row 0 falls back to the group's (as ERPNext's get_credit_limit); frozen; on prepayment
        {**common, "customer_id": "C3", "name": "Gamma", "currency": "EUR", "credit_limit": 7000.0,
         "payment_terms_days": 0, "customer_since": ts("2023-05-04"), "segment": "Wholesale",
         "is_blocked": True, "on_prepayment": True},
        # own row 0, the group's row bypassed, the company's 0: no limit; billing currency USD;
        # no terms of its own: its group's, 30 days after the end of the invoice month
        {**common, "customer_id": "C4", "name": "Delta", "currency": "USD", "credit_limit": None,
         "payment_terms_days": 45, "customer_since": ts("2023-05-04"), "segment": "Retail",
         "is_blocked": False, "on_prepayment": False},
        # neither it nor its group has terms: the company's, 2 months after the end of the invoice month
        {**common, "customer_id": "C6", "name": "Foxtrot", "currency": "EUR", "credit_limit": 2000.0,
         "payment_terms_days": 75, "customer_since": ts("2023-05-04"), "segment": "Export",
         "is_blocked": False, "on_prepayment": False},
    ])
    pd.testing.assert_frame_equal(got, expected)


def test_open_items(erp):
    connector, _ = erp
    got = connector.read_open_items([DE])
    expected = frame("open_items", [
        # partial payment; the delinked/cancelled payment does not count; two dunnings
        {"company": DE, "item_id": "PE-9", "customer_id": "C3", "doc_type": "payment_on_account",
         "doc_date": ts("2025-05-20"), "due_date": ts("2025-05-20"), "amount": -250.0, "open_amount": -250.0,
         "currency": "EUR", "dunning_level": 0},
        {"company": DE, "item_id": "SINV-2", "customer_id": "C1", "doc_type": "invoice",
         "doc_date": ts("2025-03-01"), "due_date": ts("2025-03-31"), "amount": 500.0, "open_amount": 300.0,
         "currency": "EUR", "dunning_level": 2},
        # installments: 400 paid -> first installment cleared, second 200 open, third 300 open
        {"company": DE, "item_id": "SINV-3/2", "customer_id": "C2", "doc_type": "invoice",
         "doc_date": ts("2025-03-02"), "due_date": ts("2025-05-01"), "amount": 300.0, "open_amount": 200.0,
         "currency": "EUR", "dunning_level": 1},
        {"company": DE, "item_id": "SINV-3/3", "customer_id": "C2", "doc_type": "invoice",
         "doc_date": ts("2025-03-02"), "due_date": ts("2025-06-01"), "amount": 300.0, "open_amount": 300.0,
         "currency": "EUR", "dunning_level": 0},
        {"company": DE, "item_id": "SINV-4", "customer_id": "C2", "doc_type": "credit_note",
         "doc_date": ts("2025-04-01"), "due_date": ts("2025-04-01"), "amount": -150.0, "open_amount": -150.0,
         "currency": "EUR", "dunning_level": 0},
    ])
    pd.testing.assert_frame_equal(got, expected)


def test_payments_history(erp):
    connector, _ = erp
    got = connector.read_payments([DE])
    expected = frame("payments", [
        {"company": DE, "item_id": "SINV-1", "customer_id": "C1", "doc_date": ts("2025-01-10"),
         "due_date": ts("2025-02-09"), "paid_date": ts("2025-02-20"), "amount": 1000.0, "currency": "EUR"},
        # cleared by a credit note and a payment: paid_date is the last allocation; document currency
        {"company": DE, "item_id": "SINV-5", "customer_id": "C4", "doc_date": ts("2025-04-05"),
         "due_date": ts("2025-05-05"), "paid_date": ts("2025-05-10"), "amount": 200.0, "currency": "USD"},
    ])
    pd.testing.assert_frame_equal(got, expected)


def test_open_orders_base_and_document_amounts(erp):
    connector, url = erp
    got = connector.read_open_orders([DE])
    expected = frame("open_orders", [
        {"company": DE, "order_id": "SO-1", "customer_id": "C1", "order_date": ts("2025-06-01"),
         "open_amount": 600.0, "currency": "EUR", "on_hold": False},
        {"company": DE, "order_id": "SO-3", "customer_id": "C3", "order_date": ts("2025-06-01"),
         "open_amount": 2000.0, "currency": "EUR", "on_hold": False},
        {"company": DE, "order_id": "SO-4", "customer_id": "C2", "order_date": ts("2025-06-01"),
         "open_amount": 400.0, "currency": "EUR", "on_hold": True},
        {"company": DE, "order_id": "SO-7", "customer_id": "C4", "order_date": ts("2025-06-01"),
         "open_amount": 90.0, "currency": "EUR", "on_hold": False},
    ])
    pd.testing.assert_frame_equal(got, expected)
    doc = ErpNextConnector(url, {"order_amounts": "document"}).read_open_orders([DE])
    assert doc.set_index("order_id").loc["SO-7", ["open_amount", "currency"]].tolist() == [100.0, "USD"]


def test_every_frame_validates(erp):
    connector, _ = erp
    companies = [DE, QUOTED]
    for entity, (model, _) in ENTITIES.items():
        read = getattr(connector, f"read_{entity}")
        model.validate(read(companies))


def test_empty_company_list_and_unknown_company(erp):
    connector, _ = erp
    assert connector.read_customers([]).empty
    for entity in ("customers", "open_items", "open_orders", "payments"):
        got = getattr(connector, f"read_{entity}")(["no such company"])
        assert got.empty
        assert list(got.columns) == list(ENTITIES[entity][0].to_schema().columns)


def plan(rows: list[dict]) -> pd.DataFrame:
    base = {"order_id": "", "before": "", "after": "", "rule_ids": "r1", "reason": "because"}
    return pd.DataFrame([{**base, **r} for r in rows], columns=PLAN_COLUMNS)


def _state(connector, companies=(DE,)):
    customers, orders = connector.read_state(list(companies))
    return customers.set_index("customer_id"), orders.set_index("order_id")


def test_read_state(erp):
    connector, _ = erp
    customers, orders = connector.read_state([DE])
    assert list(customers.columns) == ["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit",
                                       "payment_terms"]
    assert list(orders.columns) == ["company", "order_id", "customer_id", "on_hold"]
    assert customers.set_index("customer_id").loc["C3", "payment_terms"] == "Prepayment"
    assert orders["order_id"].tolist() == ["SO-1", "SO-3", "SO-4", "SO-7"]


def test_apply_every_change_kind(erp):
    connector, url = erp
    before_c, before_o = _state(connector)
    changes = plan([
        {"company": DE, "customer_id": "C1", "change": "block", "before": "false", "after": "true",
         "rule_ids": "overdue-90-block", "reason": "Invoices more than 90 days overdue"},
        {"company": DE, "customer_id": "C1", "change": "set_prepayment", "before": "Net 30", "after": "prepayment"},
        {"company": DE, "customer_id": "C1", "change": "set_limit", "before": "10000.00", "after": "8000.00"},
        {"company": DE, "customer_id": "C1", "change": "hold_order", "order_id": "SO-1", "before": "false",
         "after": "true", "rule_ids": "overdue-90-block;over-limit", "reason": "Invoices > 90 days <overdue>"},
        {"company": DE, "customer_id": "C2", "change": "set_limit", "before": "", "after": "4000.00"},
        {"company": DE, "customer_id": "C2", "change": "release_order", "order_id": "SO-4", "before": "true",
         "after": "false", "reason": "no rule asks for it any more (auto_release)"},
        {"company": DE, "customer_id": "C3", "change": "unblock", "before": "true", "after": "false"},
        {"company": DE, "customer_id": "C3", "change": "unset_prepayment", "before": "prepayment",
         "after": "Net 30"},
        {"company": DE, "customer_id": "C4", "change": "unset_prepayment", "before": "prepayment", "after": ""},
    ])
    assert connector.apply(DE, changes) == len(changes)
    after_c, after_o = _state(connector)

    expected_c = before_c.copy()
    expected_c.loc["C1", ["is_blocked", "on_prepayment", "credit_limit", "payment_terms"]] = \
        [True, True, 8000.0, "Prepayment"]
    expected_c.loc["C2", "credit_limit"] = 4000.0
    expected_c.loc["C3", ["is_blocked", "on_prepayment", "payment_terms"]] = [False, False, "Net 30"]
    expected_c.loc["C4", "payment_terms"] = None
    pd.testing.assert_frame_equal(after_c, expected_c)
    expected_o = before_o.copy()
    expected_o.loc["SO-1", "on_hold"] = True
    expected_o.loc["SO-4", "on_hold"] = False
    pd.testing.assert_frame_equal(after_o, expected_o)

    engine = create_engine(url)
    with engine.connect() as conn:
        ccl = t.customer_credit_limit
        limits = {(r.parent, r.parenttype): r for r in conn.execute(select(ccl))}
        # the group row is untouched; C2 got a customer row of its own, without the group's bypass
        # flag (ERPNext would skip a row with it: the cut would not be enforced)
        assert limits[("Retail", "Customer Group")].credit_limit == 5000
        assert limits[("Retail", "Customer Group")].modified == datetime(2024, 1, 1)
        new = limits[("C2", "Customer")]
        assert (new.company, new.credit_limit, new.parentfield, new.idx, new.bypass_credit_limit_check) == \
            (DE, 4000, "credit_limits", 1, 0)
        so = t.sales_order
        status = dict(conn.execute(select(so.c.name, so.c.status)).all())
        assert status["SO-1"] == "On Hold"
        assert status["SO-4"] == "To Bill"  # per_delivered 100, per_billed 50: what ERPNext's Resume sets
        modified = dict(conn.execute(select(so.c.name, so.c.modified)).all())
        assert modified["SO-1"] > datetime(2025, 6, 1, 9, 0)
        assert modified["SO-3"] == datetime(2025, 6, 1, 9, 0)
        comments = conn.execute(select(t.comment).order_by(t.comment.c.reference_name)).all()
        assert [(c.reference_doctype, c.reference_name, c.comment_type, c.owner) for c in comments] == [
            ("Sales Order", "SO-1", "Comment", "creditctl"),  # the tool's ERP user (erp.options.tool_user)
            ("Sales Order", "SO-4", "Comment", "creditctl"),
        ]
        assert comments[0].content == ("creditctl: order put on hold: Invoices &gt; 90 days &lt;overdue&gt; "
                                       "(rules: overdue-90-block;over-limit)")
        assert comments[1].content.startswith("creditctl: hold released: no rule asks for it any more")
        c = t.customer
        cmod = dict(conn.execute(select(c.c.name, c.c.modified)).all())
        assert cmod["C1"] > datetime(2024, 1, 1) and cmod["C5"] == datetime(2023, 5, 4, 10, 11, 12)
    engine.dispose()

    # a rerun of the same writes changes nothing visible
    assert connector.apply(DE, changes) == len(changes)
    again_c, again_o = _state(connector)
    pd.testing.assert_frame_equal(again_c, expected_c)
    pd.testing.assert_frame_equal(again_o, expected_o)


def test_failing_row_rolls_back_the_company(erp):
    connector, url = erp
    before = _state(connector)
    changes = plan([
        {"company": DE, "customer_id": "C1", "change": "block"},
        {"company": DE, "customer_id": "C2", "change": "set_limit", "after": "100.00"},
        {"company": DE, "customer_id": "C1", "change": "hold_order", "order_id": "SO-1"},
        {"company": DE, "customer_id": "C1", "change": "hold_order", "order_id": "SO-404"},
    ])
    with pytest.raises(ConnectorError, match="SO-404.*rolled back"):
        connector.apply(DE, changes)
    after = _state(connector)
    pd.testing.assert_frame_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[1], before[1])
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(t.comment)).all() == []
        assert len(conn.execute(select(t.customer_credit_limit)).all()) == 7
    engine.dispose()


@pytest.mark.parametrize("row, message", [
    ({"company": DE, "customer_id": "C1", "change": "explode"}, "unknown change kind"),
    ({"company": QUOTED, "customer_id": QCUST, "change": "block"}, "other companies"),
    ({"company": DE, "customer_id": "C1", "change": "set_limit", "after": "lots"}, "not a decimal"),
    ({"company": DE, "customer_id": "C1", "change": "hold_order", "order_id": ""}, "no order_id"),
])
def test_malformed_plan_raises_before_writing(erp, row, message):
    connector, _ = erp
    before = _state(connector)
    changes = plan([{"company": DE, "customer_id": "C1", "change": "block"}, row])
    with pytest.raises(PlanError, match=message):
        connector.apply(DE, changes)
    pd.testing.assert_frame_equal(_state(connector)[0], before[0])


@pytest.mark.parametrize("row, message", [
    ({"company": DE, "customer_id": "NOPE", "change": "block"}, "unknown customer"),
    ({"company": DE, "customer_id": "C1", "change": "hold_order", "order_id": "SO-2"}, "no longer open"),
    ({"company": DE, "customer_id": "C2", "change": "hold_order", "order_id": "SO-1"}, "another customer"),
    ({"company": DE, "customer_id": "C1", "change": "hold_order", "order_id": "Q-SO'1"}, "another company"),
    ({"company": DE, "customer_id": "C1", "change": "unset_prepayment", "after": "Net 99"}, "template"),
])
def test_erp_mismatch_raises_and_rolls_back(erp, row, message):
    connector, _ = erp
    before = _state(connector)
    changes = plan([{"company": DE, "customer_id": "C1", "change": "block"}, row])
    with pytest.raises(ConnectorError, match=message):
        connector.apply(DE, changes)
    pd.testing.assert_frame_equal(_state(connector)[0], before[0])


def test_missing_prepayment_template_is_named(erp):
    _, url = erp
    connector = ErpNextConnector(url, {"prepayment_terms": "Vorkasse", "write_via": "sql"})
    changes = plan([{"company": DE, "customer_id": "C1", "change": "set_prepayment"}])
    with pytest.raises(ConnectorError, match="erp.options.prepayment_terms"):
        connector.apply(DE, changes)


def test_quoted_company_and_customer_names(erp):
    connector, url = erp
    customers = connector.read_customers([QUOTED])
    assert customers[["company", "customer_id", "name", "currency", "credit_limit"]].values.tolist() == [
        [QUOTED, QCUST, "Quote's \"Customer\"", "GBP", 1000.0]]
    items = connector.read_open_items([QUOTED])
    assert items[["company", "item_id", "customer_id", "open_amount"]].values.tolist() == [
        [QUOTED, "Q-1", QCUST, 300.0]]
    orders = connector.read_open_orders([QUOTED])
    assert orders[["order_id", "open_amount", "currency"]].values.tolist() == [["Q-SO'1", 300.0, "GBP"]]
    changes = plan([
        {"company": QUOTED, "customer_id": QCUST, "change": "block", "reason": "it's \"late\"; DROP TABLE x"},
        {"company": QUOTED, "customer_id": QCUST, "change": "set_limit", "after": "500.00"},
        {"company": QUOTED, "customer_id": QCUST, "change": "hold_order", "order_id": "Q-SO'1",
         "reason": "it's \"late\"; DROP TABLE x"},
    ])
    assert connector.apply(QUOTED, changes) == 3
    state_c, state_o = connector.read_state([QUOTED])
    assert state_c[["customer_id", "is_blocked", "credit_limit"]].values.tolist() == [[QCUST, True, 500.0]]
    assert state_o[["order_id", "on_hold"]].values.tolist() == [["Q-SO'1", True]]
    # the other company saw nothing
    assert not connector.read_state([DE])[0].set_index("customer_id").loc["C1", "is_blocked"]


def test_connection_failure_names_the_setting_and_hides_the_password():
    connector = ErpNextConnector("mysql+pymysql://creditctl:s3cr3t-pw@127.0.0.1:1/erp")
    with pytest.raises(ConnectorError) as info:
        connector.read_companies([DE])
    message = str(info.value)
    assert "erp.url_env" in message and "cannot connect" in message
    assert "s3cr3t-pw" not in message and "\n" not in message


def test_pyodbc_url_port_is_the_port_connected_to():
    """SQLAlchemy writes ``Server=host,port``, which the MariaDB ODBC driver ignores (it would
    silently connect to 3306); the connector passes the port as the driver's PORT keyword."""
    closed = ErpNextConnector("mysql+pyodbc://root@127.0.0.1:1/test?driver=MariaDB+Unicode&charset=utf8mb4")
    with pytest.raises(ConnectorError, match="cannot connect.*(2002|Can't connect)"):
        closed.read_companies([DE])
    open_ = ErpNextConnector("mysql+pyodbc://root@127.0.0.1:3306/test?driver=MariaDB+Unicode&charset=utf8mb4")
    with pytest.raises(ConnectorError, match="tabCompany"):  # connected: the test database has no ERPNext
        open_.read_companies([DE])
    open_.close()


def test_bad_url_and_options():
    with pytest.raises(ConnectorError, match="erp.url_env.*not a valid") as info:
        ErpNextConnector("not a url :// pw=hunter2").read_companies([DE])
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConnectorError, match="unknown option"):
        ErpNextConnector("sqlite://", {"prepayment_term": "x"})
    with pytest.raises(ConnectorError, match="order_amounts"):
        ErpNextConnector("sqlite://", {"order_amounts": "gross"})


def test_small_chunks_give_the_same_frames(erp):
    connector, url = erp
    small = ErpNextConnector(url, {"chunk_size": 1})
    for entity in ("customers", "open_items", "open_orders", "payments", "fx_rates"):
        pd.testing.assert_frame_equal(getattr(small, f"read_{entity}")([DE]),
                                      getattr(connector, f"read_{entity}")([DE]))


def _indexes_used(url: str, stmt) -> list[tuple[str, str | None]]:
    """(table, index the database's plan reads it through, None for a scan) per plan step."""
    engine = create_engine(url)
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            steps = [(m.group(2), m.group(3)) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
                     if (m := re.match(r"(SCAN|SEARCH) (tab[\w ]+?)(?: USING (?:COVERING )?INDEX (\w+).*)?$", r[3]))]
        else:
            steps = [(r["table"], r["key"]) for r in conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")).mappings()]
    engine.dispose()
    return steps


def test_customers_probe_documents_by_customer_not_by_company(erp):
    """Which customers a company has is decided by index probes on the customer / party
    columns (ERPNext indexes them): reading a company's invoices, orders and ledger entries
    through the company index (or a scan) costs as much as the company's whole history."""
    _, url = erp
    steps = _indexes_used(url, read.customers_stmt([DE]))
    # ERPNext's own index names (MariaDB); on SQLite, whose index names are global, <doctype>__<name>
    sqlite = url.startswith("sqlite")
    probes = {"tabSales Invoice": "sales_invoice__customer" if sqlite else "customer",
              "tabSales Order": "sales_order__customer" if sqlite else "customer",
              "tabPayment Ledger Entry": "payment_ledger_entry__party" if sqlite else "party"}
    used = {(table, index) for table, index in steps if table in probes}
    assert used == set(probes.items()), steps


def test_pyodbc_gives_the_same_frames_as_pymysql(mariadb_database):
    pymysql_url = BACKENDS["mariadb-pymysql"].format(db=mariadb_database)
    build_erp(pymysql_url)
    readers = [ErpNextConnector(pymysql_url), ErpNextConnector(BACKENDS["mariadb-pyodbc"].format(db=mariadb_database))]
    try:
        for entity in ("companies", "customers", "open_items", "open_orders", "payments", "fx_rates"):
            by_pymysql, by_pyodbc = (getattr(c, f"read_{entity}")([DE]) for c in readers)
            assert len(by_pymysql) > 0, entity
            pd.testing.assert_frame_equal(by_pymysql, by_pyodbc)
        state_pymysql, state_pyodbc = (c.read_state([DE]) for c in readers)
        pd.testing.assert_frame_equal(state_pymysql[0], state_pyodbc[0])
        pd.testing.assert_frame_equal(state_pymysql[1], state_pyodbc[1])
    finally:
        for c in readers:
            c.close()


def test_open_deliveries_as_erpnexts_customer_outstanding(erp):
    connector, _ = erp
    got = connector.read_open_deliveries([DE])
    expected = frame("open_deliveries", [
        {"company": DE, "delivery_id": "DN-1", "customer_id": "C1", "delivery_date": ts("2025-05-20"),
         "open_amount": 714.0, "currency": "EUR"},
    ])
    pd.testing.assert_frame_equal(got, expected)
    assert connector.read_open_deliveries([QUOTED]).empty
