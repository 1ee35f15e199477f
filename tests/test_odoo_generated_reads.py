"""The Odoo connector on the generated 17 / 18 tables (issue 14).

* Every column the read statements name exists in the generated schema of the version they
  target (the addon's two hold columns aside).
* Odoo 18's amount to invoice is computed from the order lines as Odoo 18 computes it, and a
  database upgraded from 17 that still has the stale 17 columns (``sale_order.amount_to_invoice``,
  ``account_account.company_id`` / ``code``) reads exactly like a fresh 18 one.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import create_engine, insert, text

from connectors.odoo import OdooConnector, read
from connectors.odoo.fixture import load_extract, with_placeholders
from connectors.odoo.tables import HOLD_COLUMNS, load, tables
from connectors.synthetic import synthetic_extract


@pytest.mark.parametrize("version", [17, 18])
def test_every_column_the_reads_name_is_in_the_generated_schema(version: int) -> None:
    doc = load(version)["tables"]
    named = read.columns_read(tables(version))
    missing = {(table, col) for table, col in named
               if table not in doc or col not in {c["name"] for c in doc[table]["columns"]}}
    assert missing == {("sale_order", "x_credit_hold")} and "x_credit_hold" in HOLD_COLUMNS  # the addon's
    if version == 18:  # 18 computes the amount from the lines, and never names 17's stored column
        assert ("sale_order", "amount_to_invoice") not in named
        assert {"sale_order_line", "sale_order_line_invoice_rel", "product_template", "uom_uom"} <= {
            table for table, _ in named}
    else:
        assert ("sale_order", "amount_to_invoice") in named


def _frames(url: str, version: int, companies: list[str]) -> dict[str, pd.DataFrame]:
    con = OdooConnector(url, {"version": version})
    try:
        return {name: getattr(con, f"read_{name}")(companies)
                for name in ("customers", "open_items", "open_orders", "payments", "fx_rates")}
    finally:
        con.close()


def test_an_18_database_upgraded_from_17_reads_like_a_fresh_18(pg_url: str) -> None:
    """Odoo's upgrade leaves columns whose fields no longer exist: stale values in them change nothing."""
    extract = synthetic_extract(60)
    companies = extract.companies["company"].tolist()
    load_extract(pg_url, extract, 18)
    fresh = _frames(pg_url, 18, companies)
    assert len(fresh["open_orders"]) > 0
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE sale_order ADD COLUMN amount_to_invoice numeric"))
        conn.execute(text("UPDATE sale_order SET amount_to_invoice = amount_total * 7 + 1"))  # stale
        conn.execute(text("ALTER TABLE account_account ADD COLUMN company_id int4, ADD COLUMN code varchar(64)"))
        conn.execute(text("UPDATE account_account SET company_id = 999, code = 'stale'"))
    engine.dispose()
    upgraded = _frames(pg_url, 18, companies)
    for name, frame in fresh.items():
        pd.testing.assert_frame_equal(upgraded[name], frame, check_exact=True, obj=name)
    # and the open orders are the business written, at the amounts the lines give
    got = fresh["open_orders"].set_index(["company", "order_id"])["open_amount"].sort_index()
    want = extract.open_orders.set_index(["company", "order_id"])["open_amount"].sort_index()
    pd.testing.assert_series_equal(got, want.astype(float), check_exact=False, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- 18: amount_to_invoice from the lines


class _Orders:
    """Orders with hand-written lines on a fresh Odoo 18 schema (one company, EUR)."""

    def __init__(self, url: str) -> None:
        load_extract(url, synthetic_extract(20), 18)
        self.engine = create_engine(url)
        self.t = tables(18)
        self.ids: dict[str, int] = {}
        with self.engine.connect() as conn:
            self.company, self.partner = conn.execute(text(
                "SELECT company_id, id FROM res_partner WHERE customer_rank > 0 ORDER BY id LIMIT 1")).one()
            self.currency = conn.execute(text(f"SELECT currency_id FROM res_company WHERE id = {self.company}")).scalar()
            self.name = conn.execute(text(f"SELECT name FROM res_company WHERE id = {self.company}")).scalar()
            self.next = {table: conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
                         for table in ("sale_order", "sale_order_line", "account_move", "account_move_line",
                                       "product_template", "product_product", "uom_uom")}
        self.rows("uom_uom", {"name": {"en_US": "Dozens"}, "category_id": 1, "factor": 1 / 12, "rounding": 1,
                              "uom_type": "bigger"}, key="dozen")
        self.rows("product_template", {"name": {"en_US": "Service"}, "invoice_policy": "delivery"}, key="tmpl")
        self.rows("product_product", {"product_tmpl_id": self.ids["tmpl"]}, key="delivered")

    def rows(self, table: str, row: dict, key: str | None = None) -> int:
        self.next[table] += 1
        row = {"id": self.next[table], **row}
        with self.engine.begin() as conn:
            conn.execute(insert(self.t[table]), with_placeholders(18, table, [row]))
        if key:
            self.ids[key] = row["id"]
        return row["id"]

    def order(self, name: str, lines: list[dict]) -> list[int]:
        oid = self.rows("sale_order", {"name": name, "partner_id": self.partner, "company_id": self.company,
                                       "state": "sale", "date_order": datetime(2026, 11, 1),
                                       "currency_id": self.currency})
        return [self.rows("sale_order_line", {"order_id": oid, "name": "line", "customer_lead": 0, "state": "sale",
                                              "product_id": 1, "product_uom": 1, "discount": 0, **line})
                for line in lines]

    def invoice(self, move_type: str, state: str, lines: list[tuple[int, float, int]]) -> None:
        """A customer invoice / credit note with one product line per (order line, quantity, uom)."""
        mid = self.rows("account_move", {"name": f"INV{self.next['account_move']}", "move_type": move_type,
                                         "state": state, "date": date(2026, 11, 2), "journal_id": 1,
                                         "company_id": self.company, "currency_id": self.currency,
                                         "auto_post": "no"})
        for order_line, qty, uom in lines:
            aml = self.rows("account_move_line", {"move_id": mid, "account_id": 1, "quantity": qty,
                                                  "product_uom_id": uom, "display_type": "product",
                                                  "parent_state": state, "currency_id": self.currency,
                                                  "company_id": self.company, "reconciled": True})
            with self.engine.begin() as conn:
                conn.execute(insert(self.t.sale_order_line_invoice_rel).values(order_line_id=order_line,
                                                                             invoice_line_id=aml))

    def amounts(self) -> dict[str, float]:
        con = OdooConnector(str(self.engine.url.render_as_string(hide_password=False)), {"version": 18})
        try:
            frame = con.read_open_orders([self.name])
        finally:
            con.close()
        return dict(zip(frame["order_id"], frame["open_amount"], strict=True))


def test_odoo18_amount_to_invoice_follows_the_order_lines(pg_url: str) -> None:
    """addons/sale/models/sale_order_line.py ``_compute_amount_to_invoice`` / ``_compute_qty_invoiced_posted``
    (18.0), by hand for each rule."""
    o = _Orders(pg_url)
    unit, dozen, delivered = 1, o.ids["dozen"], o.ids["delivered"]
    # ordered quantities, tax included, the discount applied again on price_total (as Odoo 18 does)
    o.order("T-ORDER", [{"product_uom_qty": 4, "price_unit": 25, "price_total": 121, "discount": 10}])
    # delivered quantities: 3 of 5 delivered -> 3 * 10
    o.order("T-DELIVERY", [{"product_id": delivered, "product_uom_qty": 5, "price_unit": 10, "price_total": 50,
                            "qty_delivered": 3}])
    # a posted invoice of 2, a draft of 1 (does not count), a posted credit note of 1 (counts back)
    [partly] = o.order("T-INVOICED", [{"product_uom_qty": 6, "price_unit": 10, "price_total": 60}])
    o.invoice("out_invoice", "posted", [(partly, 2, unit)])
    o.invoice("out_invoice", "draft", [(partly, 1, unit)])
    o.invoice("out_refund", "posted", [(partly, 1, unit)])
    # invoiced in dozens: 1 dozen = 12 units of the order line's unit
    [bulk] = o.order("T-UOM", [{"product_uom_qty": 30, "price_unit": 1, "price_total": 30}])
    o.invoice("out_invoice", "posted", [(bulk, 1, dozen)])
    # fully invoiced (not an open order), and a section line without quantity next to a real line
    [done] = o.order("T-DONE", [{"product_uom_qty": 2, "price_unit": 5, "price_total": 10}])
    o.invoice("out_invoice", "posted", [(done, 2, unit)])
    o.order("T-SECTION", [{"display_type": "line_section", "product_id": None, "product_uom": None,
                           "product_uom_qty": 0, "price_unit": 0},
                          {"product_uom_qty": 1, "price_unit": 7, "price_total": 7}])
    got = o.amounts()
    assert got["T-ORDER"] == pytest.approx(4 * (121 / 4) * 0.9)
    assert got["T-DELIVERY"] == pytest.approx(3 * 10)
    assert got["T-INVOICED"] == pytest.approx((6 - 2 + 1) * 10)
    assert got["T-UOM"] == pytest.approx(30 - 12)
    assert "T-DONE" not in got
    assert got["T-SECTION"] == pytest.approx(7)
    o.engine.dispose()


@pytest.mark.parametrize("version", [17, 18])
def test_every_read_streams_through_copy(pg_url: str, version: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A column typed as anything but text where the frame wants text (jsonb ``->>`` without a
    return type) sends a read down the cursor path, whose plans can be far slower (issue 15)."""
    import connectors.sql as sql

    extract = synthetic_extract(20)
    load_extract(pg_url, extract, version)
    cursor_reads: list[str] = []
    original = sql.stream

    def recorded(conn, stmt, chunk_size):  # noqa: ANN001
        cursor_reads.append(str(stmt)[:80])
        return original(conn, stmt, chunk_size)

    monkeypatch.setattr(sql, "stream", recorded)
    frames = _frames(pg_url, version, extract.companies["company"].tolist())
    assert all(len(frame) for frame in frames.values())
    assert cursor_reads == []
