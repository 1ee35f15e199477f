"""SapB1Connector: etl.ports.ErpConnector over one SAP Business One company database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from connectors.plans import validate_plan
from connectors.sap_b1 import read
from connectors.sap_b1 import schema as t
from connectors.sql import SqlConnector, read_frame
from etl.plan import SUBJECT
from etl.ports import PROVENANCE_COLUMNS, ConnectorError, ErpProvenance
from validation.contracts import empty_frame

DEFAULT_PREPAYMENT_TERMS = "Prepayment"
CONNECT_TIMEOUT = 8

#: options the connector understands (erp.options in the run config)
OPTIONS = {
    "company": "company code to report (default OADM.CompnyName)",
    "prepayment_terms": "OCTG.PymntGroup meaning 'on prepayment' (default Prepayment)",
    "chunk_size": "rows fetched per round trip when streaming reads (default 50000)",
}

STATE_CUSTOMER_COLUMNS = ["company", "customer_id", "is_blocked", "on_prepayment", "credit_limit", "payment_terms"]
STATE_ORDER_COLUMNS = ["company", "order_id", "customer_id", "on_hold"]
_IN_CHUNK = 500


class SapB1Connector(SqlConnector):
    """Read canonical frames from a B1 company database; write plans to ``credit_decisions_out``.

    ``url``: SQLAlchemy URL (``mssql+pyodbc://…`` in production). Connection problems raise
    :class:`etl.ports.ConnectorError` naming ``erp.url_env``, never showing the password.
    """

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self._init_sql(url, opts, set(OPTIONS))
        self.company_option = str(opts["company"]) if opts.get("company") else None
        self.prepayment_terms = str(opts.get("prepayment_terms") or DEFAULT_PREPAYMENT_TERMS)

    # ------------------------------------------------------------------ company

    def _company(self, conn: Connection) -> tuple[str, str, bool]:
        """(company code, local currency, direct quotation) from OADM."""
        row = conn.execute(read.company_stmt()).first()
        if row is None:
            raise ConnectorError(f"cannot read OADM ({self.setting}): no company row; is this a B1 company database?")
        name, currency, direct = row
        return self.company_option or str(name), str(currency), str(direct or "Y").upper() != "N"

    def _frame(self, conn: Connection, stmt: Select, entity: str, sort: Sequence[str], extra=None) -> pd.DataFrame:
        template = empty_frame(entity)
        if extra:
            template = template.assign(**{k: pd.Series([], dtype=v) for k, v in extra.items()})
        return read_frame(conn, stmt, template, self.chunk_size, sort=sort)

    # ------------------------------------------------------------------ reads

    def read_companies(self, companies: Sequence[str]) -> pd.DataFrame:
        with self._connection("read OADM") as conn:
            code, currency, _ = self._company(conn)
        if code not in companies:
            return empty_frame("companies")
        return pd.DataFrame({"company": [code], "currency": [currency]}).astype(empty_frame("companies").dtypes)

    def _customers_raw(self, conn: Connection, companies: Sequence[str]) -> pd.DataFrame:
        code, main, _ = self._company(conn)
        if code not in companies:
            return empty_frame("customers").assign(payment_terms=pd.Series([], dtype=object))
        frame = self._frame(conn, read.customers_stmt(code, main, self.prepayment_terms), "customers",
                            ["company", "customer_id"], extra={"payment_terms": object})
        return _overlay_customers(frame, self._pending(conn, code))

    def read_customers(self, companies: Sequence[str]) -> pd.DataFrame:
        with self._connection("read customers (OCRD)") as conn:
            return self._customers_raw(conn, companies).drop(columns="payment_terms")

    def read_open_items(self, companies: Sequence[str]) -> pd.DataFrame:
        with self._connection("read open items (OINV/INV6, ORIN, ORCT)") as conn:
            code, main, _ = self._company(conn)
            if code not in companies:
                return empty_frame("open_items")
            parts = [self._frame(conn, stmt(code, main), "open_items", [])
                     for stmt in (read.invoice_items_stmt, read.credit_memo_items_stmt, read.on_account_items_stmt)]
        return pd.concat(parts, ignore_index=True).sort_values(["company", "item_id"], kind="stable") \
            .reset_index(drop=True)

    def _orders(self, conn: Connection, companies: Sequence[str]) -> pd.DataFrame:
        code, main, _ = self._company(conn)
        if code not in companies:
            return empty_frame("open_orders")
        frame = self._frame(conn, read.open_orders_stmt(code, main), "open_orders", ["company", "order_id"])
        return _overlay_orders(frame, self._pending(conn, code))

    def read_open_orders(self, companies: Sequence[str]) -> pd.DataFrame:
        with self._connection("read open orders (ORDR/RDR1)") as conn:
            return self._orders(conn, companies)

    def read_open_deliveries(self, companies: Sequence[str]) -> pd.DataFrame:
        """None yet: deliveries (ODLN) not based on an order are not read (docs/connectors/sap_b1.md)."""
        return empty_frame("open_deliveries")

    def read_payments(self, companies: Sequence[str]) -> pd.DataFrame:
        with self._connection("read payment history (OINV, ORCT/RCT2)") as conn:
            code, main, _ = self._company(conn)
            if code not in companies:
                return empty_frame("payments")
            return self._frame(conn, read.payments_stmt(code, main), "payments", ["company", "item_id"])

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame:
        """ORTT rates into the company currency (see read.fx_stmt for the quotation)."""
        with self._connection("read ORTT") as conn:
            code, main, direct = self._company(conn)
            if code not in companies:
                return empty_frame("fx_rates")
            return self._frame(conn, read.fx_stmt(main, direct), "fx_rates", ["from_currency", "to_currency", "as_of"])

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """B1 state with the pending (processed_at NULL) outbound rows laid over it."""
        with self._connection("read the ERP state") as conn:
            customers = self._customers_raw(conn, companies)
            orders = self._orders(conn, companies)
        return (customers[STATE_CUSTOMER_COLUMNS].reset_index(drop=True),
                orders[STATE_ORDER_COLUMNS].reset_index(drop=True))

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """Every plan row this tool wrote into credit_decisions_out, oldest first: its full provenance."""
        out = t.credit_decisions_out
        stmt = (select(out.c.company, out.c.customer_id, out.c.change, out.c.order_id, out.c.before, out.c.after,
                       out.c.rule_ids, out.c.created_at.label("applied_at"))
                .where(out.c.company.in_(list(map(str, companies)))).order_by(out.c.id))
        with self._connection("read credit_decisions_out") as conn:
            rows = conn.execute(stmt).all() if companies else []
        changes = pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)
        return ErpProvenance(changes=changes.fillna({"order_id": "", "before": "", "after": ""}), marked=False)

    def _pending(self, conn: Connection, company: str) -> pd.DataFrame:
        rows = conn.execute(read.pending_stmt(company)).all()
        return pd.DataFrame(rows, columns=["id", "customer_id", "change", "order_id", "after"])

    # ------------------------------------------------------------------ write

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        """Insert one company's plan rows into credit_decisions_out in ONE transaction.

        Rows are checked first against B1 (customer exists, order open and the customer's,
        terms exist); set_prepayment's ``after`` becomes the prepayment terms' GroupNum.
        """
        plan = validate_plan(company, changes)
        if plan.empty:
            return 0
        with self._connection(f"write the plan for {company!r} to credit_decisions_out", begin=True) as conn:
            code, _, _ = self._company(conn)
            if code != company:
                raise ConnectorError(f"apply {company!r}: this B1 database is company {code!r} "
                                     f"(erp.options.company); nothing was written")
            return _insert_plan(conn, company, plan, self.prepayment_terms)


# ---------------------------------------------------------------------- overlay


def _latest(pending: pd.DataFrame, kinds: Sequence[str], keys: Sequence[str]) -> pd.DataFrame:
    p = pending[pending["change"].isin(list(kinds))]
    return p.sort_values("id").drop_duplicates(list(keys), keep="last")


def _overlay_customers(frame: pd.DataFrame, pending: pd.DataFrame) -> pd.DataFrame:
    if pending.empty or frame.empty:
        return frame
    out = frame.set_index("customer_id")
    subjects = {s: [c for c, v in SUBJECT.items() if v == s] for s in ("block", "prepayment", "limit")}
    for row in _latest(pending, subjects["block"], ["customer_id"]).itertuples():
        if row.customer_id in out.index:
            out.loc[row.customer_id, "is_blocked"] = row.change == "block"
    for row in _latest(pending, subjects["prepayment"], ["customer_id"]).itertuples():
        if row.customer_id in out.index:
            out.loc[row.customer_id, "on_prepayment"] = row.change == "set_prepayment"
            out.loc[row.customer_id, "payment_terms"] = row.after
    for row in _latest(pending, subjects["limit"], ["customer_id"]).itertuples():
        if row.customer_id in out.index:
            out.loc[row.customer_id, "credit_limit"] = float(row.after)
    return out.reset_index()[frame.columns]


def _overlay_orders(frame: pd.DataFrame, pending: pd.DataFrame) -> pd.DataFrame:
    if pending.empty or frame.empty:
        return frame
    latest = _latest(pending, ["hold_order", "release_order"], ["order_id"])
    hold = dict(zip(latest["order_id"].astype(str), latest["change"].eq("hold_order"), strict=True))
    on_hold = frame["order_id"].map(hold)
    return frame.assign(on_hold=np.where(on_hold.notna(), on_hold.eq(True), frame["on_hold"]).astype(bool))


# ---------------------------------------------------------------------- apply


def _fail(company: str, what: str, names: Sequence[str]) -> ConnectorError:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:5]) + (" …" if len(names) > 5 else "")
    return ConnectorError(f"apply {company!r}: {what}: {shown}; the company's changes were rolled back")


def _in_chunks(conn: Connection, columns, key, values: Sequence, *where) -> list:
    values = sorted(set(values))
    out: list = []
    for start in range(0, len(values), _IN_CHUNK):
        out += conn.execute(select(*columns).where(key.in_(values[start:start + _IN_CHUNK]), *where)).all()
    return out


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return None
    return str(value)


def _insert_plan(conn: Connection, company: str, plan: pd.DataFrame, prepayment_terms: str) -> int:
    c, o, p, out = t.OCRD, t.ORDR, t.OCTG, t.credit_decisions_out
    now = datetime.now(UTC).replace(tzinfo=None)
    plan = plan.copy()
    customers = plan["customer_id"].astype(str)
    found = {r[0] for r in _in_chunks(conn, [c.c.CardCode], c.c.CardCode, customers, c.c.CardType == "C")}
    unknown = sorted(set(customers) - found)
    if unknown:
        raise _fail(company, "unknown customer(s) in OCRD", unknown)

    pre = plan["change"] == "set_prepayment"
    if pre.any():
        nums = conn.execute(select(p.c.GroupNum).where(p.c.PymntGroup == prepayment_terms)).scalars().all()
        if not nums:
            raise _fail(company, "payment terms not found in OCTG.PymntGroup (erp.options.prepayment_terms)",
                        [prepayment_terms])
        plan.loc[pre, "after"] = str(min(nums))
    unpre = plan["change"] == "unset_prepayment"
    if unpre.any():
        restore = plan.loc[unpre, "after"].map(_text)
        bad = [v for v in restore if v is None or not v.lstrip("-").isdigit()]
        if bad:
            raise _fail(company, "unset_prepayment needs the OCTG.GroupNum to restore", [str(b) for b in bad])
        known = {str(r[0]) for r in _in_chunks(conn, [p.c.GroupNum], p.c.GroupNum, [int(v) for v in restore])}
        missing = sorted(set(restore) - known)
        if missing:
            raise _fail(company, "payment terms (GroupNum) not found in OCTG", missing)

    def row(r) -> dict:
        return {"b_company": company, "b_customer": str(r.customer_id), "b_change": str(r.change),
                "b_order": _text(r.order_id), "b_before": _text(r.before), "b_after": _text(r.after),
                "b_rules": _text(r.rule_ids), "b_reason": _text(r.reason), "b_now": now}

    stmt = insert(out).values(company=bindparam("b_company"), customer_id=bindparam("b_customer"),
                              change=bindparam("b_change"), order_id=bindparam("b_order"),
                              before=bindparam("b_before"), after=bindparam("b_after"),
                              rule_ids=bindparam("b_rules"), reason=bindparam("b_reason"),
                              created_at=bindparam("b_now"))
    is_order = plan["change"].isin(["hold_order", "release_order"])
    customer_rows = [row(r) for r in plan[~is_order].itertuples()]
    if customer_rows:
        conn.execute(stmt, customer_rows)

    orders = plan[is_order]
    if not orders.empty:
        ids = orders["order_id"].astype(str)
        bad = sorted(i for i in set(ids) if not i.isdigit())
        if bad:
            raise _fail(company, "order_id is not an ORDR.DocEntry", bad)
        state = {str(r[0]): r[1:] for r in _in_chunks(
            conn, [o.c.DocEntry, o.c.CardCode, o.c.DocStatus, o.c.CANCELED], o.c.DocEntry, [int(i) for i in ids])}
        unknown = sorted(set(ids) - set(state))
        if unknown:
            raise _fail(company, "unknown sales order(s) in ORDR", unknown)
        owner = dict(zip(ids, orders["customer_id"].astype(str), strict=True))
        wrong = sorted(i for i in set(ids) if state[i][0] != owner[i])
        if wrong:
            raise _fail(company, "sales order(s) of another customer than the plan row says", wrong)
        closed = sorted(i for i in set(ids) if state[i][1] != "O" or state[i][2] != "N")
        if closed:
            raise _fail(company, "sales order(s) no longer open (closed or cancelled)", closed)
        conn.execute(stmt, [row(r) for r in orders.itertuples()])
    return len(plan)


def apply_statements() -> dict[str, Any]:
    """The write and apply-check statements (for the mssql compile test)."""
    c, o, p, out = t.OCRD, t.ORDR, t.OCTG, t.credit_decisions_out
    return {
        "insert_out": insert(out).values(company=bindparam("b_company"), customer_id=bindparam("b_customer"),
                                         change=bindparam("b_change"), order_id=bindparam("b_order"),
                                         before=bindparam("b_before"), after=bindparam("b_after"),
                                         rule_ids=bindparam("b_rules"), reason=bindparam("b_reason"),
                                         created_at=bindparam("b_now")),
        "customers": select(c.c.CardCode).where(c.c.CardCode.in_(["C1"]), c.c.CardType == "C"),
        "terms": select(p.c.GroupNum).where(p.c.PymntGroup == "Prepayment"),
        "orders": select(o.c.DocEntry, o.c.CardCode, o.c.DocStatus, o.c.CANCELED).where(o.c.DocEntry.in_([1])),
    }
