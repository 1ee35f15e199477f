"""The Odoo connector reads as Odoo computes (issue 14, "Reads as Odoo computes them").

Each test builds a small ledger by direct SQL inserts into the Odoo 17 / 18 tables
(``connectors.odoo.tables.create_schema``, the generated tables) and compares the connector's frame with the exact
frame Odoo's own code implies (the Odoo function is named in each test):

* credit limit: the company default when the partner has no value of its own; 0 = no limit;
* payment terms: end-of-month rules approximated in ``payment_terms_days``; the 18 fallback;
* fx: a company's own rate wins over the company-less one (``res.currency._get_rates``);
* customers with confirmed orders but no posted invoice are read;
* history: only invoices cleared by a payment, ``paid_date`` the last payment's date.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import create_engine, insert, text

from connectors.odoo import OdooConnector
from connectors.odoo.fixture import with_placeholders
from connectors.odoo.tables import create_schema, tables
from validation.contracts import empty_frame

VERSIONS = [17, 18]
EUR_CO, USD_CO = "Acme EUR", "Acme USD"
#: ir_model_fields ids of res.partner.credit_limit / property_payment_term_id
F_LIMIT, F_TERM = 1, 2
SINCE = datetime(2024, 1, 15)


# --------------------------------------------------------------------------- a tiny Odoo ledger


class Ledger:
    """Inserts Odoo rows (one company-dependent storage per version) into a fresh schema."""

    def __init__(self, url: str, version: int) -> None:
        create_schema(url, version)
        self.url, self.version = url, version
        self.t = tables(version, custom_fields=False)
        self.engine = create_engine(url)
        self.ids: dict[str, int] = {}
        self.rows("res_currency", [{"id": 1, "name": "EUR"}, {"id": 2, "name": "USD"}, {"id": 3, "name": "GBP"}])
        self.rows("res_company", [{"id": 1, "name": EUR_CO, "currency_id": 1},
                                  {"id": 2, "name": USD_CO, "currency_id": 2}])
        for c in (1, 2):  # 18: the code is company-dependent and the companies a many2many
            account = {"id": c, "name": {"en_US": "Receivable"}, "account_type": "asset_receivable", "reconcile": True}
            if version == 18:
                self.rows("account_account", [{**account, "code_store": {str(c): "121000"}}])
                self.rows("account_account_res_company_rel", [{"account_account_id": c, "res_company_id": c}])
            else:
                self.rows("account_account", [{**account, "code": "121000", "company_id": c}])
        # what order lines need: a unit and a product invoiced on ordered quantities
        self.rows("uom_uom", [{"id": 1, "name": {"en_US": "Units"}, "factor": 1, "rounding": 0.01,
                               "uom_type": "reference"}])
        self.rows("product_template", [{"id": 1, "name": {"en_US": "Goods"}, "invoice_policy": "order"}])
        self.rows("product_product", [{"id": 1, "product_tmpl_id": 1}])
        self.rows("ir_model_fields", [{"id": F_LIMIT, "model": "res.partner", "name": "credit_limit", "ttype": "float"},
                                      {"id": F_TERM, "model": "res.partner", "name": "property_payment_term_id",
                                       "ttype": "many2one"}])

    def close(self) -> None:
        self.engine.dispose()

    def next_id(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    def rows(self, table: str, data: list[dict]) -> None:
        for row in data:
            self.ids[table] = max(self.ids.get(table, 0), row.get("id", 0))
        with self.engine.begin() as conn:
            conn.execute(insert(self.t.metadata.tables[table]), with_placeholders(self.version, table, data))

    def order(self, oid: int, name: str, pid: int, company: int, state: str, amount: float) -> None:
        """A sale order with one line of ``amount``, nothing invoiced (17 also stores the amount)."""
        self.rows("sale_order", [{"id": oid, "name": name, "partner_id": pid, "company_id": company, "state": state,
                                  "date_order": datetime(2026, 11, 1), "currency_id": company, "amount_total": amount,
                                  "invoice_status": "to invoice",
                                  **({"amount_to_invoice": amount} if self.version == 17 else {})}])
        self.rows("sale_order_line", [{"id": oid, "order_id": oid, "name": "Goods", "product_id": 1,
                                       "product_uom": 1, "product_uom_qty": 1, "price_unit": amount,
                                       "price_total": amount, "customer_lead": 0, "state": state}])

    def sql(self, statement: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement))

    # ---- company-dependent values: 17 ir_property, 18 jsonb per company / ir_default
    def partner(self, pid: int, ref: str, *, rank: int = 1, limits: dict | None = None,
                terms: dict | None = None, company_id: int | None = 1, parent: int | None = None) -> None:
        """``limits`` / ``terms``: {company id: value} of the partner's own values (None = an explicit
        empty value); a company absent from the dict has no value of its own."""
        row = {"id": pid, "name": f"Customer {ref}", "ref": ref, "company_id": company_id, "customer_rank": rank,
               "commercial_partner_id": parent or pid, "parent_id": parent, "create_date": SINCE, "active": True,
               "sale_warn": "no-message"}
        limits, terms = limits or {}, terms or {}
        if self.version == 18:
            row["credit_limit"] = {str(c): v for c, v in limits.items()} or None
            row["property_payment_term_id"] = {str(c): v for c, v in terms.items()} or None
        self.rows("res_partner", [row])
        if self.version == 17:
            for c, v in limits.items():
                self.prop("credit_limit", f"res.partner,{pid}", c, v)
            for c, v in terms.items():
                self.prop("property_payment_term_id", f"res.partner,{pid}", c, v)

    def prop(self, field: str, res_id: str | None, company_id: int | None, value) -> None:
        """Odoo 17: an ir_property row (res_id None = a default)."""
        row = {"id": self.next_id("ir_property"), "name": field, "res_id": res_id, "company_id": company_id}
        if field == "credit_limit":
            row.update(fields_id=F_LIMIT, type="float", value_float=value)
        else:
            row.update(fields_id=F_TERM, type="many2one",
                       value_reference=None if value is None else f"account.payment.term,{value}")
        self.rows("ir_property", [row])

    def default(self, field: str, company_id: int | None, value) -> None:
        """The company default (company_id None: the global one) of a res.partner field."""
        if self.version == 17:
            self.prop(field, None, company_id, value)
        else:
            self.rows("ir_default", [{"id": self.next_id("ir_default"), "company_id": company_id,
                                      "field_id": F_LIMIT if field == "credit_limit" else F_TERM,
                                      "json_value": json.dumps(value)}])

    def term(self, tid: int, name: str, lines: list[dict]) -> None:
        self.rows("account_payment_term", [{"id": tid, "name": {"en_US": name}, "active": True}])
        for line in lines:
            extra = {k: line[k] for k in ("days_next_month",) if k in line}
            row = {"id": self.next_id("account_payment_term_line"), "payment_id": tid, "value": "percent",
                   "value_amount": line.get("pct", 100), "nb_days": line["nb_days"],
                   "delay_type": line.get("delay_type", "days_after")}
            self.rows("account_payment_term_line", [row])
            if extra:
                self.sql(f"UPDATE account_payment_term_line SET days_next_month = "
                         f"{'NULL' if extra['days_next_month'] is None else repr(extra['days_next_month'])} "
                         f"WHERE id = {row['id']}")

    # ---- moves
    def move(self, name: str, move_type: str, pid: int, day: date, amount: float, residual: float, *,
             company: int = 1, currency: int = 1, reconciled: bool = False, **move_cols) -> tuple[int, int]:
        """A posted move with one receivable line of ``amount`` (signed); returns (move id, line id)."""
        mid, lid = self.next_id("account_move"), self.next_id("account_move_line")
        invoice = move_type.startswith("out_")
        self.rows("account_move", [{"id": mid, "name": name, "move_type": move_type, "state": "posted", "date": day,
                                    "invoice_date": day if invoice else None,
                                    "invoice_date_due": day if invoice else None, "partner_id": pid,
                                    "commercial_partner_id": pid, "company_id": company, "currency_id": currency,
                                    "amount_total": abs(amount), "amount_residual": abs(residual),
                                    "amount_total_signed": amount, "amount_residual_signed": residual}])
        self.rows("account_move_line", [{"id": lid, "move_id": mid, "move_name": name, "account_id": company,
                                         "partner_id": pid, "company_id": company, "date": day, "date_maturity": day,
                                         "currency_id": currency, "company_currency_id": currency,
                                         "amount_currency": amount, "amount_residual_currency": residual,
                                         "balance": amount, "debit": max(amount, 0), "credit": max(-amount, 0),
                                         "amount_residual": residual, "reconciled": reconciled,
                                         "parent_state": "posted", "display_type": "payment_term"}])
        for col, value in move_cols.items():  # generated-schema columns added by the test
            self.sql(f"UPDATE account_move SET {col} = {value} WHERE id = {mid}")
        return mid, lid

    def reconcile(self, debit_line: int, credit_line: int, amount: float, day: date) -> None:
        self.rows("account_partial_reconcile", [{"id": self.next_id("account_partial_reconcile"),
                                                 "debit_move_id": debit_line, "credit_move_id": credit_line,
                                                 "amount": amount, "debit_amount_currency": amount,
                                                 "credit_amount_currency": amount, "company_id": 1,
                                                 "max_date": day}])

    def connector(self) -> OdooConnector:
        return OdooConnector(self.url, {"version": self.version, "chunk_size": 3})


@pytest.fixture(params=VERSIONS, ids=lambda v: f"odoo{v}")
def ledger(request: pytest.FixtureRequest, pg_url: str):
    led = Ledger(pg_url, request.param)
    yield led
    led.close()


def _frame(entity: str, rows: list[dict]) -> pd.DataFrame:
    template = empty_frame(entity)
    frame = pd.DataFrame(rows, columns=list(template.columns))
    return frame.astype(template.dtypes.to_dict()).reset_index(drop=True)


def _customer(ref: str, *, company: str = EUR_CO, currency: str = "EUR", limit=None, days: int = 0,
              prepayment: bool = False) -> dict:
    return {"company": company, "customer_id": ref, "name": f"Customer {ref}", "country": None,
            "currency": currency, "credit_limit": limit, "payment_terms_days": days,
            "customer_since": pd.Timestamp(SINCE), "segment": None, "insured_limit": None,
            "external_rating": None, "is_blocked": False, "on_prepayment": prepayment}


def _check(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_exact=True)


# --------------------------------------------------------------------------- 1. credit limits


def test_credit_limit_company_default_and_zero_means_no_limit(ledger: Ledger) -> None:
    """17: ``ir.property._get_multi`` (partner row for the company, else the default row of the
    company, else the global one); 18: ``BaseModel._field_to_sql`` + ``get_company_dependent_fallback``
    (jsonb key, else ``ir_default`` company then global; an explicit null key is no value).
    0 means no limit: ``account.move._build_credit_warning_message`` (``if not partner_id.credit_limit``)."""
    ledger.default("credit_limit", 1, 2000.0)    # company default of Acme EUR
    ledger.default("credit_limit", None, 700.0)  # global default (Acme USD has none of its own)
    ledger.partner(1, "C1", limits={1: 5000.0})  # its own limit
    ledger.partner(2, "C2")                      # the company default
    ledger.partner(3, "C3", limits={1: 0.0})     # its own 0 -> no limit, the default does not apply
    ledger.partner(4, "C4", limits={1: None})    # an explicit empty value -> 0 -> no limit
    ledger.partner(5, "C5", company_id=2)        # a USD-company partner: the global default
    ledger.partner(6, "C6", company_id=2, limits={2: 900.0})
    con = ledger.connector()
    _check(con.read_customers([EUR_CO, USD_CO]), _frame("customers", [
        _customer("C1", limit=5000.0), _customer("C2", limit=2000.0), _customer("C3"), _customer("C4"),
        _customer("C5", company=USD_CO, currency="USD", limit=700.0),
        _customer("C6", company=USD_CO, currency="USD", limit=900.0)]))
    # read_state (what a plan's "before" is built from) gives the same limit in force
    state, _ = con.read_state([EUR_CO])
    assert state.set_index("customer_id")["credit_limit"].to_dict() == pytest.approx(
        {"C1": 5000.0, "C2": 2000.0, "C3": float("nan"), "C4": float("nan")}, nan_ok=True)
    con.close()


def test_odoo18_fallback_is_read_as_the_superuser(pg_url: str) -> None:
    """``get_company_dependent_fallback`` reads ``ir_default`` ``with_user(SUPERUSER_ID)``: a
    default of the superuser (user 1) wins over the company's; another user's never applies."""
    ledger = Ledger(pg_url, 18)
    ledger.default("credit_limit", 1, 2000.0)
    ledger.rows("ir_default", [
        {"id": 10, "company_id": None, "user_id": 1, "field_id": F_LIMIT, "json_value": "3000.0"},
        {"id": 11, "company_id": 1, "user_id": 2, "field_id": F_LIMIT, "json_value": "4000.0"},
        {"id": 12, "company_id": 2, "user_id": 2, "field_id": F_LIMIT, "json_value": "4000.0"}])
    ledger.partner(1, "C1")
    ledger.partner(2, "C2", company_id=2)
    con = ledger.connector()
    limits = con.read_customers([EUR_CO, USD_CO]).set_index("customer_id")["credit_limit"].to_dict()
    assert limits == {"C1": 3000.0, "C2": 3000.0}
    con.close()
    ledger.close()


def test_no_default_and_zero_default_mean_no_limit(ledger: Ledger) -> None:
    ledger.default("credit_limit", 1, 0.0)  # a company default of 0: no limit
    ledger.partner(1, "C1")
    ledger.partner(2, "C2", company_id=2)   # no default at all in Acme USD
    con = ledger.connector()
    _check(con.read_customers([EUR_CO, USD_CO]), _frame("customers", [
        _customer("C1"), _customer("C2", company=USD_CO, currency="USD")]))
    con.close()


def test_payment_term_falls_back_like_the_limit(ledger: Ledger) -> None:
    """The same fallback for ``property_payment_term_id``; an explicit empty value is no term."""
    ledger.term(1, "30 Days", [{"nb_days": 30}])
    ledger.term(2, "45 Days", [{"nb_days": 45}])
    ledger.term(3, "Prepayment", [{"nb_days": 0}])
    ledger.default("property_payment_term_id", 1, 1)
    ledger.default("property_payment_term_id", None, 2)
    ledger.partner(1, "C1")                           # company default: 30
    ledger.partner(2, "C2", terms={1: 3})             # its own: prepayment
    ledger.partner(3, "C3", company_id=2)             # global default: 45
    ledger.partner(4, "C4", terms={1: None})          # explicitly none: 0 days
    con = ledger.connector()
    _check(con.read_customers([EUR_CO, USD_CO]), _frame("customers", [
        _customer("C1", days=30), _customer("C2", prepayment=True), _customer("C4"),
        _customer("C3", company=USD_CO, currency="USD", days=45)]))
    state, _ = con.read_state([EUR_CO, USD_CO])
    assert dict(zip(state["customer_id"], state["payment_terms"], strict=True)) == {
        "C1": "1", "C2": "3", "C3": "2", "C4": ""}
    con.close()


# --------------------------------------------------------------------------- 3. end-of-month terms


def test_end_of_month_terms(ledger: Ledger) -> None:
    """``account.payment.term.line._get_due_date`` per ``delay_type``, approximated in days from the
    invoice date (end of month = +15 on average, as the ERPNext connector); the last line wins."""
    ledger.term(1, "Net 30", [{"nb_days": 30}])
    ledger.term(2, "EOM + 10", [{"nb_days": 10, "delay_type": "days_after_end_of_month"}])
    ledger.term(3, "End of next month", [{"nb_days": 0, "delay_type": "days_after_end_of_next_month"}])
    ledger.term(4, "Half now, half EOM + 30", [{"nb_days": 0, "pct": 50},
                                               {"nb_days": 30, "pct": 50, "delay_type": "days_after_end_of_month"}])
    ledger.term(5, "No lines", [])
    partners = {1: 30, 2: 25, 3: 45, 4: 45, 5: 0}
    if ledger.version == 18:  # days_end_of_month_on_the: nb_days, then day N of the next month
        ledger.term(6, "10th of next month", [{"nb_days": 0, "delay_type": "days_end_of_month_on_the",
                                               "days_next_month": "10"}])
        ledger.term(7, "End of month after 20 days", [{"nb_days": 20, "delay_type": "days_end_of_month_on_the",
                                                       "days_next_month": "0"}])
        ledger.term(8, "Bad day text", [{"nb_days": 0, "delay_type": "days_end_of_month_on_the",
                                         "days_next_month": "x"}])  # Odoo: ValueError -> day 1
        partners.update({6: 25, 7: 35, 8: 16})
    for pid in partners:
        ledger.partner(pid, f"C{pid}", terms={1: pid})
    con = ledger.connector()
    _check(con.read_customers([EUR_CO]), _frame("customers", [_customer(f"C{pid}", days=days)
                                                              for pid, days in partners.items()]))
    con.close()


def test_odoo18_days_end_of_month_on_the_without_the_column_uses_the_default(pg_url: str) -> None:
    ledger = Ledger(pg_url, 18)
    ledger.sql("ALTER TABLE account_payment_term_line DROP COLUMN days_next_month")  # a schema without it
    ledger.term(1, "On the 10th", [{"nb_days": 5, "delay_type": "days_end_of_month_on_the"}])
    ledger.partner(1, "C1", terms={1: 1})
    con = ledger.connector()
    assert con.read_customers([EUR_CO])["payment_terms_days"].tolist() == [5 + 15 + 10]
    con.close()
    ledger.close()


# --------------------------------------------------------------------------- 2. fx


def test_fx_company_rate_wins_over_the_company_less_one(ledger: Ledger) -> None:
    """``res.currency._get_rates``: ``ORDER BY r.company_id, r.name DESC LIMIT 1`` over the rows of
    the company or of no company: the company's latest own row wins, even over a later
    company-less one; company-less rows apply only before the company's first own row."""
    ledger.rows("res_currency_rate", [
        # USD in Acme EUR (company 1): company-less rows, then own rows
        {"id": 1, "name": date(2026, 1, 1), "rate": 1.25, "currency_id": 2, "company_id": None},
        {"id": 2, "name": date(2026, 2, 1), "rate": 1.20, "currency_id": 2, "company_id": None},
        {"id": 3, "name": date(2026, 2, 1), "rate": 1.10, "currency_id": 2, "company_id": 1},  # same day: own wins
        {"id": 4, "name": date(2026, 3, 1), "rate": 2.00, "currency_id": 2, "company_id": None},  # after own: unused
        {"id": 5, "name": date(2026, 4, 1), "rate": 1.00, "currency_id": 2, "company_id": 1},
        # GBP: only company-less rows -> all apply (to EUR and to USD)
        {"id": 6, "name": date(2026, 1, 1), "rate": 0.80, "currency_id": 3, "company_id": None},
        # EUR in Acme USD (company 2): its own row only
        {"id": 7, "name": date(2026, 1, 1), "rate": 0.50, "currency_id": 1, "company_id": 2},
    ])
    con = ledger.connector()
    got = con.read_fx_rates([EUR_CO, USD_CO])
    expected = _frame("fx_rates", [
        {"from_currency": "EUR", "to_currency": "USD", "rate": 1 / 0.5, "as_of": pd.Timestamp("2026-01-01")},
        {"from_currency": "GBP", "to_currency": "EUR", "rate": 1 / 0.8, "as_of": pd.Timestamp("2026-01-01")},
        {"from_currency": "GBP", "to_currency": "USD", "rate": 1 / 0.8, "as_of": pd.Timestamp("2026-01-01")},
        {"from_currency": "USD", "to_currency": "EUR", "rate": 1 / 1.25, "as_of": pd.Timestamp("2026-01-01")},
        {"from_currency": "USD", "to_currency": "EUR", "rate": 1 / 1.10, "as_of": pd.Timestamp("2026-02-01")},
        {"from_currency": "USD", "to_currency": "EUR", "rate": 1 / 1.00, "as_of": pd.Timestamp("2026-04-01")},
    ])
    _check(got, expected)
    con.close()


def test_fx_a_branch_uses_its_root_companys_rates(ledger: Ledger) -> None:
    """``res.currency._get_rates`` runs with ``company.root_id``: a branch (parent_path '1/3/')
    has the rates of its root, not rows dated for the branch itself."""
    ledger.rows("res_company", [{"id": 3, "name": "Acme EUR Branch", "currency_id": 1, "parent_id": 1,
                                 "parent_path": "1/3/"}])
    ledger.sql("UPDATE res_company SET parent_path = id || '/' WHERE id IN (1, 2)")
    ledger.rows("res_currency_rate", [
        {"id": 1, "name": date(2026, 1, 1), "rate": 1.25, "currency_id": 2, "company_id": None},
        {"id": 2, "name": date(2026, 2, 1), "rate": 1.10, "currency_id": 2, "company_id": 1},  # the root's
        {"id": 3, "name": date(2026, 2, 1), "rate": 9.99, "currency_id": 2, "company_id": 3},  # Odoo ignores it
    ])
    con = ledger.connector()
    expected = _frame("fx_rates", [
        {"from_currency": "USD", "to_currency": "EUR", "rate": 1 / 1.25, "as_of": pd.Timestamp("2026-01-01")},
        {"from_currency": "USD", "to_currency": "EUR", "rate": 1 / 1.10, "as_of": pd.Timestamp("2026-02-01")},
    ])
    _check(con.read_fx_rates(["Acme EUR Branch"]), expected)
    _check(con.read_fx_rates([EUR_CO]), expected)
    con.close()


# --------------------------------------------------------------------------- 4. customers by orders


def test_customers_with_orders_but_no_posted_invoice_are_read(ledger: Ledger) -> None:
    """``customer_rank`` rises only when Odoo posts a sale document (``account.move._post`` ->
    ``_increase_rank``), not when an order is confirmed."""
    ledger.partner(1, "C1", limits={1: 100.0})           # customer_rank 1
    ledger.partner(2, "C2", rank=0, limits={1: 200.0})   # a confirmed order only
    ledger.partner(3, "C3", rank=0)                      # a quotation only: not a customer
    ledger.partner(4, "C4", rank=0, company_id=None)     # shared by both companies, an order in USD only
    ledger.partner(5, "C5-contact", rank=0, parent=4)    # ... placed through a contact of C4
    ledger.partner(6, "C6", rank=0)                      # nothing
    orders = [("S1", 2, 1, "sale"), ("S2", 3, 1, "draft"), ("S3", 5, 2, "sale")]
    for i, (n, pid, co, state) in enumerate(orders, 1):
        ledger.order(i, n, pid, co, state, 50)
    con = ledger.connector()
    _check(con.read_customers([EUR_CO, USD_CO]), _frame("customers", [
        _customer("C1", limit=100.0), _customer("C2", limit=200.0),
        _customer("C4", company=USD_CO, currency="USD")]))
    assert set(con.read_open_orders([EUR_CO, USD_CO])["customer_id"]) == {"C2", "C4"}
    con.close()


# --------------------------------------------------------------------------- 5. payment history


def _history_ledger(ledger: Ledger, links: bool) -> None:
    """Invoices cleared in each way Odoo reconciles them. ``links``: the account_move columns of the
    generated schema that mark payments (17 ``payment_id``, 18 ``origin_payment_id``,
    ``statement_line_id``) exist and are set, as in a real Odoo database."""
    pay_col = "origin_payment_id" if ledger.version == 18 else "payment_id"
    if not links:  # a schema without them (the generated one has them)
        ledger.sql(f"ALTER TABLE account_move DROP COLUMN {pay_col}, DROP COLUMN statement_line_id")
    ledger.partner(1, "C1")
    d = date

    def payment(name, day, amount, *, statement=False):
        cols = ({"statement_line_id": 1} if statement else {pay_col: 1}) if links else {}
        return ledger.move(name, "entry", 1, day, -amount, 0, reconciled=True, **cols)[1]

    # paid by one payment
    _, inv = ledger.move("INV/1", "out_invoice", 1, d(2026, 1, 1), 100, 0, reconciled=True)
    ledger.reconcile(inv, payment("PAY/1", d(2026, 2, 1), 100), 100, d(2026, 2, 1))
    # paid by two payments: the last one dates it
    _, inv = ledger.move("INV/2", "out_invoice", 1, d(2026, 1, 5), 200, 0, reconciled=True)
    ledger.reconcile(inv, payment("PAY/2a", d(2026, 2, 1), 120), 120, d(2026, 2, 1))
    ledger.reconcile(inv, payment("PAY/2b", d(2026, 3, 10), 80, statement=True), 80, d(2026, 3, 10))
    # fully reversed by its credit note: not history (Odoo: payment_state 'reversed')
    _, inv = ledger.move("INV/3", "out_invoice", 1, d(2026, 1, 10), 300, 0, reconciled=True)
    _, ref = ledger.move("RINV/3", "out_refund", 1, d(2026, 1, 20), -300, 0, reconciled=True)
    ledger.reconcile(inv, ref, 300, d(2026, 1, 20))
    # paid in part, the rest credited later: history, dated by the payment
    _, inv = ledger.move("INV/4", "out_invoice", 1, d(2026, 1, 15), 400, 0, reconciled=True)
    ledger.reconcile(inv, payment("PAY/4", d(2026, 2, 15), 350), 350, d(2026, 2, 15))
    _, ref = ledger.move("RINV/4", "out_refund", 1, d(2026, 3, 1), -50, 0, reconciled=True)
    ledger.reconcile(inv, ref, 50, d(2026, 3, 1))
    # still open after a partial payment: not history (and an open item)
    _, inv = ledger.move("INV/5", "out_invoice", 1, d(2026, 1, 20), 500, 100)
    ledger.reconcile(inv, payment("PAY/5", d(2026, 2, 20), 400), 400, d(2026, 2, 20))
    # a credit note itself is never history
    ledger.move("RINV/6", "out_refund", 1, d(2026, 1, 25), -60, 0, reconciled=True)
    if links:
        # written off entirely (a misc entry without payment): not history
        _, inv = ledger.move("INV/7", "out_invoice", 1, d(2026, 1, 25), 70, 0, reconciled=True)
        _, wo = ledger.move("MISC/7", "entry", 1, d(2026, 4, 1), -70, 0, reconciled=True)
        ledger.reconcile(inv, wo, 70, d(2026, 4, 1))
        # paid, the small rest written off later: history, dated by the payment
        _, inv = ledger.move("INV/8", "out_invoice", 1, d(2026, 1, 28), 80, 0, reconciled=True)
        ledger.reconcile(inv, payment("PAY/8", d(2026, 2, 28), 79), 79, d(2026, 2, 28))
        _, wo = ledger.move("MISC/8", "entry", 1, d(2026, 4, 2), -1, 0, reconciled=True)
        ledger.reconcile(inv, wo, 1, d(2026, 4, 2))


def _paid(item: str, doc: str, paid: str, amount: float) -> dict:
    return {"company": EUR_CO, "item_id": item, "customer_id": "C1", "doc_date": pd.Timestamp(doc),
            "due_date": pd.Timestamp(doc), "paid_date": pd.Timestamp(paid), "amount": amount, "currency": "EUR"}


@pytest.mark.parametrize("links", [True, False], ids=["payment-columns", "no-payment-columns"])
def test_history_is_invoices_cleared_by_payment(ledger: Ledger, links: bool) -> None:
    """``account.move._compute_payment_state``: counterparts with a payment or a statement line are
    payments; ``out_refund`` counterparts are credit notes / reversals; other entries write-offs.
    SPEC §3: history is invoices whose outstanding reached 0, dated by the last payment."""
    _history_ledger(ledger, links)
    con = ledger.connector()
    expected = [_paid("INV/1", "2026-01-01", "2026-02-01", 100.0), _paid("INV/2", "2026-01-05", "2026-03-10", 200.0),
                _paid("INV/4", "2026-01-15", "2026-02-15", 400.0)]
    if links:
        expected.append(_paid("INV/8", "2026-01-28", "2026-02-28", 80.0))
    _check(con.read_payments([EUR_CO]), _frame("payments", expected))
    assert con.read_open_items([EUR_CO])["item_id"].tolist() == ["INV/5"]
    con.close()
