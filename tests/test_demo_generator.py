"""The demo ERP generator: deterministic, the intended mix, contract-valid frames."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

from connectors.demo import DEMO_COMPANIES, DemoConnector, generate_demo_erp
from connectors.erpnext import schema as t
from etl.ports import ConnectorError, ErpConnector
from validation.contracts import ENTITIES

AS_OF = date(2026, 3, 31)
COMPANIES = list(DEMO_COMPANIES)
CURRENCY = {"Demo GmbH": "EUR", "Demo Inc": "USD"}


def _tables(path) -> dict[str, list[tuple]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        out = {table.name: [tuple(r) for r in conn.execute(select(table).order_by(*table.c))]
               for table in t.metadata.sorted_tables}
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate_demo_erp(tmp_path_factory.mktemp("demo") / "demo.sqlite", customers=300, as_of=AS_OF, seed=7)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    started = time.perf_counter()
    path = generate_demo_erp(tmp_path_factory.mktemp("demo_full") / "demo.sqlite", as_of=AS_OF)
    return path, time.perf_counter() - started


@pytest.fixture(scope="module")
def full_frames(full):
    connector = DemoConnector(full[0])
    return {entity: getattr(connector, f"read_{entity}")(COMPANIES) for entity in ENTITIES}


def test_same_arguments_give_identical_tables(small, tmp_path):
    again = generate_demo_erp(tmp_path / "again.sqlite", customers=300, as_of=AS_OF, seed=7)
    first, second = _tables(small), _tables(again)
    assert first == second
    # every table has rows but tabVersion (a fresh ERP holds no change history of this tool yet),
    # tabSales Order Item (the demo's orders carry their totals only; no read needs items) and the
    # site's users and settings (tabHas Role, tabSingles: the demo is no ERPNext site)
    empty = {"tabVersion", "tabSales Order Item", "tabHas Role", "tabSingles"}
    assert all(first[name] for name in first if name not in empty), "every table has rows"
    assert not any(first[name] for name in empty)
    other = generate_demo_erp(tmp_path / "other.sqlite", customers=300, as_of=AS_OF, seed=8)
    assert _tables(other)["tabSales Invoice"] != first["tabSales Invoice"]


def test_regenerating_over_an_existing_file_starts_fresh(tmp_path):
    path = tmp_path / "demo.sqlite"
    generate_demo_erp(path, customers=40, as_of=AS_OF)
    generate_demo_erp(path, customers=40, as_of=AS_OF)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.customer)).scalar_one() == 40
    engine.dispose()


def test_every_frame_validates_against_its_contract(small):
    connector = DemoConnector(small)
    assert isinstance(connector, ErpConnector)
    for entity, (model, _) in ENTITIES.items():
        frame = getattr(connector, f"read_{entity}")(COMPANIES)
        assert len(frame), entity
        model.validate(frame)


def test_the_mix_is_present(small):
    engine = create_engine(f"sqlite:///{small}")
    c, si, so, ps, ccl, ple = (t.customer, t.sales_invoice, t.sales_order, t.payment_schedule,
                               t.customer_credit_limit, t.payment_ledger_entry)

    def count(stmt) -> int:
        with engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    customers = count(select(func.count()).select_from(c))
    assert customers == 300
    assert count(select(func.count()).select_from(c).where(c.c.is_frozen == 1)) >= 1
    assert count(select(func.count()).select_from(c).where(c.c.payment_terms == "Prepayment")) >= 1
    assert count(select(func.count()).select_from(so).where(so.c.status == "On Hold")) >= 1
    assert count(select(func.count()).select_from(so).where(so.c.status == "Closed")) >= 1
    assert count(select(func.count()).select_from(so).where(so.c.docstatus == 0)) >= 1
    assert count(select(func.count()).select_from(t.comment)) == \
        count(select(func.count()).select_from(so).where(so.c.status == "On Hold"))
    foreign = (si.c.company == "Demo GmbH") & (si.c.currency != "EUR") | \
        (si.c.company == "Demo Inc") & (si.c.currency != "USD")
    assert count(select(func.count()).select_from(si).where(foreign)) >= 1
    assert count(select(func.count()).select_from(si).where(si.c.is_return == 1)) >= 1
    multi = select(ps.c.parent).group_by(ps.c.parent).having(func.count() > 1).subquery()
    assert count(select(func.count()).select_from(multi)) >= 1
    assert count(select(func.count()).select_from(t.dunning)) >= 1
    assert count(select(func.count()).select_from(ccl).where(ccl.c.parenttype == "Customer Group")) == 5
    assert count(select(func.count()).select_from(ccl).where(ccl.c.parenttype == "Customer",
                                                             ccl.c.credit_limit == 0)) >= 1
    own = select(ccl.c.parent).where(ccl.c.parenttype == "Customer")
    assert count(select(func.count()).select_from(c).where(c.c.name.not_in(own))) >= 1  # group limit only
    assert count(select(func.count()).select_from(ple).where(ple.c.voucher_type == "Payment Entry",
                                                             ple.c.voucher_no == ple.c.against_voucher_no)) >= 1
    assert count(select(func.count()).select_from(t.currency_exchange)) >= 5 * 52
    engine.dispose()

    connector = DemoConnector(small)
    items = connector.read_open_items(COMPANIES)
    customers_frame = connector.read_customers(COMPANIES)
    payments = connector.read_payments(COMPANIES)
    assert set(items["doc_type"]) == {"invoice", "credit_note", "payment_on_account"}
    assert items["item_id"].str.contains("/").any()  # installments
    partial = items[(items["doc_type"] == "invoice") & (items["open_amount"] < items["amount"] - 0.005)]
    assert len(partial) >= 1
    assert (items["dunning_level"] > 0).any()
    assert customers_frame["credit_limit"].isna().any()
    assert set(customers_frame["segment"]) == {"Retail", "Wholesale", "Construction", "Public Sector"}
    new = customers_frame[(pd.Timestamp(AS_OF) - customers_frame["customer_since"]).dt.days < 90]
    assert len(new) >= 1
    assert not new["customer_id"].isin(payments["customer_id"]).any()
    assert payments["paid_date"].min() < pd.Timestamp(AS_OF) - pd.Timedelta(days=365)


def _positions(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A rough credit position (latest fx rates), enough to check the demo's shares."""
    asof = pd.Timestamp(AS_OF)
    fx = frames["fx_rates"].sort_values("as_of").groupby(["from_currency", "to_currency"])["rate"].last()

    def to_company(df: pd.DataFrame, col: str) -> pd.Series:
        cc = df["company"].map(CURRENCY)
        rate = [1.0 if c == k else fx[(c, k)] for c, k in zip(df["currency"], cc, strict=True)]
        return df[col] * np.array(rate)

    keys = ["company", "customer_id"]
    items = frames["open_items"].assign(open_cc=lambda d: to_company(d, "open_amount"))
    orders = frames["open_orders"].assign(open_cc=lambda d: to_company(d, "open_amount"))
    pos = frames["customers"].set_index(keys)[["credit_limit", "customer_since", "is_blocked"]].copy()
    pos["exposure"] = items.groupby(keys)["open_cc"].sum().reindex(pos.index, fill_value=0) + \
        orders.groupby(keys)["open_cc"].sum().reindex(pos.index, fill_value=0)
    overdue90 = items[(items["open_amount"] > 0) & ((asof - items["due_date"]).dt.days > 90)]
    pos["overdue_91_plus"] = overdue90.groupby(keys)["open_cc"].sum().reindex(pos.index, fill_value=0)
    pay = frames["payments"]
    pay = pay[pay["paid_date"] > asof - pd.Timedelta(days=365)]
    late = (pay["paid_date"] - pay["due_date"]).dt.days.clip(lower=0)
    weighted = (late * pay["amount"]).groupby([pay["company"], pay["customer_id"]]).sum()
    pos["avg_days_late"] = (weighted / pay.groupby(keys)["amount"].sum()).reindex(pos.index, fill_value=0)
    return pos


def test_full_size_generates_fast_with_realistic_shares(full, full_frames):
    _, seconds = full
    assert seconds < 20, f"2000 customers took {seconds:.1f}s"
    pos = _positions(full_frames)
    n = len(pos)
    assert 1900 <= n <= 2100
    assert pos.index.get_level_values("company").value_counts().to_dict() == {"Demo GmbH": 1200, "Demo Inc": 800}
    share = lambda mask: mask.sum() / n  # noqa: E731
    # seriously overdue: small, and a default "overdue > 90 -> block" policy blocks well under 5% anew
    severe = pos["overdue_91_plus"] > 0
    assert 0.015 <= share(severe) <= 0.03
    assert share(severe & ~pos["is_blocked"]) < 0.05
    assert 0.005 <= share(pos["is_blocked"]) <= 0.04
    util = pos["exposure"] / pos["credit_limit"]
    assert 0.04 <= share((util >= 1.1) & (util <= 1.5)) <= 0.08
    assert 0.07 <= share(pos["avg_days_late"].between(25, 70)) <= 0.15
    age = (pd.Timestamp(AS_OF) - pos["customer_since"]).dt.days
    assert 0.04 <= share(age < 90) <= 0.08
    healthy = ~severe & (util.fillna(0) <= 1) & (pos["avg_days_late"] < 15)
    assert share(healthy) >= 0.65
    # receivables are stated in the company currency, as ERPNext's Accounts Receivable report;
    # the foreign-currency business shows in the documents, e.g. the paid history
    items = full_frames["open_items"]
    assert (items["currency"] == items["company"].map(CURRENCY)).all()
    paid = full_frames["payments"]
    foreign = paid["currency"] != paid["company"].map(CURRENCY)
    assert set(paid.loc[foreign, "currency"]) >= {"GBP", "CHF", "USD", "EUR", "CAD"}
    assert full_frames["open_orders"]["on_hold"].sum() >= 10


def test_demo_connector_round_trip(small, tmp_path):
    path = tmp_path / "copy.sqlite"
    path.write_bytes(small.read_bytes())
    connector = DemoConnector(path, {"path": str(path), "prepayment_terms": "Prepayment"})
    customers, orders = connector.read_state(["Demo GmbH"])
    target = customers[~customers["is_blocked"]].iloc[0]
    order = orders[(orders["customer_id"] == target["customer_id"]) & ~orders["on_hold"]].head(1)
    plan = pd.DataFrame([
        {"company": "Demo GmbH", "customer_id": target["customer_id"], "change": "block", "order_id": "",
         "before": "false", "after": "true", "rule_ids": "demo-rule", "reason": "demo"},
        *[{"company": "Demo GmbH", "customer_id": target["customer_id"], "change": "hold_order", "order_id": o,
           "before": "false", "after": "true", "rule_ids": "demo-rule", "reason": "demo"}
          for o in order["order_id"]],
    ])
    assert connector.apply("Demo GmbH", plan) == len(plan)
    after_c, after_o = connector.read_state(["Demo GmbH"])
    assert after_c.set_index("customer_id").loc[target["customer_id"], "is_blocked"]
    assert after_o.set_index("order_id").loc[order["order_id"], "on_hold"].all()
    changed = (after_c.set_index("customer_id")["is_blocked"] != customers.set_index("customer_id")["is_blocked"])
    assert changed.sum() == 1


def test_missing_demo_file_names_the_setting(tmp_path):
    with pytest.raises(ConnectorError, match=r"erp\.options\.path"):
        DemoConnector(tmp_path / "nope.sqlite").read_customers(COMPANIES)
    assert not (tmp_path / "nope.sqlite").exists()


def test_as_of_is_required(tmp_path):
    with pytest.raises(TypeError, match="as_of"):
        generate_demo_erp(tmp_path / "x.sqlite", customers=40)
