"""Apply one company's writeback plan (etl.plan.PLAN_COLUMNS rows) to ERPNext.

The caller runs :func:`apply_plan` inside ONE transaction: any error rolls back every row of the
company. Only these tables and columns are written (SPEC §6.3, §7):

=================  =========================================  ===================================
change             table                                      columns
=================  =========================================  ===================================
block / unblock    tabCustomer                                is_frozen, modified
set_prepayment     tabCustomer                                payment_terms, modified
unset_prepayment   tabCustomer                                payment_terms, modified
set_limit          tabCustomer Credit Limit (customer's row   credit_limit, modified (update) or a
                   for the company; a group row is never      new row (insert); tabCustomer.modified
                   changed)
hold_order         tabSales Order + tabComment (insert)       status, modified
release_order      tabSales Order + tabComment (insert)       status, modified
=================  =========================================  ===================================

Statements use bound parameters only and run executemany-style, one per change kind. Rows
are checked against the ERP before they are written: an unknown customer or order, an order of
another company or customer, an order that is no longer open (Closed, Completed, cancelled) or
a payment-terms template that does not exist raises :class:`etl.ports.ConnectorError`.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import and_, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Connection

from connectors.erpnext import schema as t
from connectors.plans import ORDER_CHANGES as _ORDER_CHANGES
from connectors.plans import PlanError, parse_limit, validate_plan  # noqa: F401 - part of this module's API
from connectors.plans import blank as _blank
from connectors.plans import text as _text
from etl.plan import CHANGES
from etl.ports import ConnectorError

#: the order in which change kinds are written inside the transaction
APPLY_ORDER = ["block", "unblock", "set_prepayment", "unset_prepayment", "set_limit", "hold_order", "release_order"]
assert sorted(APPLY_ORDER) == sorted(CHANGES)

_IN_CHUNK = 500


def _existing(conn: Connection, column, values: Iterable[str], *where) -> set[str]:
    found: set[str] = set()
    values = sorted(set(values))
    for start in range(0, len(values), _IN_CHUNK):
        part = values[start:start + _IN_CHUNK]
        found.update(conn.execute(select(column).where(column.in_(part), *where)).scalars())
    return found


def _fail(company: str, what: str, names: Sequence[str]) -> ConnectorError:
    shown = ", ".join(repr(n) for n in list(names)[:5]) + (" …" if len(names) > 5 else "")
    return ConnectorError(f"apply {company!r}: {what}: {shown}; the company's changes were rolled back")


def _comment_text(action: str, reason: object, rule_ids: object) -> str:
    text = f"creditctl: {action}: {_text(reason) or 'no reason given'}"
    if not _blank(rule_ids):
        text += f" (rules: {rule_ids})"
    return html.escape(text)


def apply_plan(conn: Connection, company: str, plan: pd.DataFrame, *, prepayment_terms: str,
               user: str = "Administrator", now: datetime | None = None) -> int:
    """Write a validated plan (see :func:`validate_plan`) on ``conn`` (inside a transaction)."""
    if plan.empty:
        return 0
    now = now or datetime.now()
    c = t.customer
    customers = plan["customer_id"].astype(str)
    unknown = sorted(set(customers) - _existing(conn, c.c.name, customers))
    if unknown:
        raise _fail(company, "unknown customer(s) in tabCustomer", unknown)

    by_kind = {kind: plan[plan["change"] == kind] for kind in APPLY_ORDER}

    # -- block / unblock: tabCustomer.is_frozen
    set_frozen = update(c).where(c.c.name == bindparam("b_name")).values(
        is_frozen=bindparam("b_value"), modified=bindparam("b_now"))
    frozen = [{"b_name": r, "b_value": 1, "b_now": now} for r in by_kind["block"]["customer_id"]]
    frozen += [{"b_name": r, "b_value": 0, "b_now": now} for r in by_kind["unblock"]["customer_id"]]
    if frozen:
        conn.execute(set_frozen, frozen)

    # -- prepayment: tabCustomer.payment_terms
    terms = [{"b_name": r, "b_value": prepayment_terms, "b_now": now} for r in by_kind["set_prepayment"]["customer_id"]]
    for cid, after in zip(by_kind["unset_prepayment"]["customer_id"], by_kind["unset_prepayment"]["after"],
                          strict=True):
        terms.append({"b_name": cid, "b_value": None if _blank(after) else str(after), "b_now": now})
    if terms:
        names = {p["b_value"] for p in terms if p["b_value"] is not None}
        ptt = t.payment_terms_template
        missing = sorted(names - _existing(conn, ptt.c.name, names))
        if missing:
            raise _fail(company, "payment terms template(s) not found in tabPayment Terms Template "
                                 "(erp.options.prepayment_terms)", missing)
        conn.execute(update(c).where(c.c.name == bindparam("b_name")).values(
            payment_terms=bindparam("b_value"), modified=bindparam("b_now")), terms)

    # -- set_limit: the customer's own tabCustomer Credit Limit row for the company
    limits = by_kind["set_limit"]
    if not limits.empty:
        _set_limits(conn, company, limits, now)

    # -- orders: tabSales Order.status + a tabComment each
    orders = plan[plan["change"].isin(list(_ORDER_CHANGES))]
    if not orders.empty:
        _apply_orders(conn, company, orders, user, now)
    return len(plan)


def _set_limits(conn: Connection, company: str, limits: pd.DataFrame, now: datetime) -> None:
    ccl, c = t.customer_credit_limit, t.customer
    values = {cid: parse_limit(after) for cid, after in zip(limits["customer_id"], limits["after"], strict=True)}
    own = _existing(conn, ccl.c.parent, values, ccl.c.parenttype == "Customer", ccl.c.company == company)
    updates = [{"b_parent": cid, "b_company": company, "b_limit": v, "b_now": now}
               for cid, v in values.items() if cid in own]
    if updates:
        conn.execute(
            update(ccl)
            .where(ccl.c.parenttype == "Customer", ccl.c.parent == bindparam("b_parent"),
                   ccl.c.company == bindparam("b_company"))
            .values(credit_limit=bindparam("b_limit"), modified=bindparam("b_now")),
            updates,
        )
    new = sorted(cid for cid in values if cid not in own)
    if new:
        # idx continues the customer's credit_limits table; the bypass flag follows the group's row
        next_idx: dict[str, int] = {}
        groups: dict[str, str | None] = {}
        for start in range(0, len(new), _IN_CHUNK):
            part = new[start:start + _IN_CHUNK]
            next_idx.update(conn.execute(
                select(ccl.c.parent, func.max(ccl.c.idx))
                .where(ccl.c.parenttype == "Customer", ccl.c.parent.in_(part))
                .group_by(ccl.c.parent)
            ).all())
            groups.update(conn.execute(select(c.c.name, c.c.customer_group).where(c.c.name.in_(part))).all())
        group_names = sorted({g for g in groups.values() if g})
        bypass = dict(conn.execute(
            select(ccl.c.parent, func.max(ccl.c.bypass_credit_limit_check))
            .where(ccl.c.parenttype == "Customer Group", ccl.c.company == company, ccl.c.parent.in_(group_names))
            .group_by(ccl.c.parent)
        ).all()) if group_names else {}
        conn.execute(insert(ccl), [
            {
                "name": secrets.token_hex(5),
                "creation": now,
                "modified": now,
                "parent": cid,
                "parenttype": "Customer",
                "parentfield": "credit_limits",
                "idx": int(next_idx.get(cid) or 0) + 1,
                "company": company,
                "credit_limit": values[cid],
                "bypass_credit_limit_check": int(bypass.get(groups.get(cid), 0) or 0),
            }
            for cid in new
        ])
    conn.execute(update(c).where(c.c.name == bindparam("b_name")).values(modified=bindparam("b_now")),
                 [{"b_name": cid, "b_now": now} for cid in values])


def _apply_orders(conn: Connection, company: str, orders: pd.DataFrame, user: str, now: datetime) -> None:
    so = t.sales_order
    ids = sorted(set(orders["order_id"].astype(str)))
    found: dict[str, tuple] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        part = ids[start:start + _IN_CHUNK]
        for name, co, cust, docstatus, status in conn.execute(
            select(so.c.name, so.c.company, so.c.customer, so.c.docstatus, so.c.status).where(so.c.name.in_(part))
        ):
            found[name] = (co, cust, docstatus, status)
    unknown = [o for o in ids if o not in found]
    if unknown:
        raise _fail(company, "unknown sales order(s) in tabSales Order", unknown)
    wrong_company = [o for o in ids if found[o][0] != company]
    if wrong_company:
        raise _fail(company, "sales order(s) of another company", wrong_company)
    owner = dict(zip(orders["order_id"].astype(str), orders["customer_id"].astype(str), strict=True))
    wrong_customer = [o for o in ids if found[o][1] != owner[o]]
    if wrong_customer:
        raise _fail(company, "sales order(s) of another customer than the plan row says", wrong_customer)
    not_open = [o for o in ids if found[o][2] != 1 or found[o][3] in ("Closed", "Completed")]
    if not_open:
        raise _fail(company, "sales order(s) no longer open (not submitted, Closed or Completed)", not_open)

    hold = orders[orders["change"] == "hold_order"]
    release = orders[orders["change"] == "release_order"]
    if not hold.empty:
        conn.execute(update(so).where(so.c.name == bindparam("b_name")).values(
            status="On Hold", modified=bindparam("b_now")),
            [{"b_name": o, "b_now": now} for o in hold["order_id"].astype(str)])
    if not release.empty:
        # what ERPNext's "Resume" does: status from per_delivered / per_billed
        delivered, billed = func.coalesce(so.c.per_delivered, 0) >= 100, func.coalesce(so.c.per_billed, 0) >= 100
        resumed = case(
            (and_(delivered, billed), "Completed"),
            (delivered, "To Bill"),
            (billed, "To Deliver"),
            else_="To Deliver and Bill",
        )
        conn.execute(update(so).where(so.c.name == bindparam("b_name")).values(
            status=resumed, modified=bindparam("b_now")),
            [{"b_name": o, "b_now": now} for o in release["order_id"].astype(str)])
    comments = []
    for change, order_id, reason, rule_ids in zip(orders["change"], orders["order_id"].astype(str),
                                                  orders["reason"], orders["rule_ids"], strict=True):
        action = "order put on hold" if change == "hold_order" else "hold released"
        comments.append({
            "name": secrets.token_hex(5),
            "creation": now,
            "modified": now,
            "owner": user,
            "comment_type": "Comment",
            "reference_doctype": "Sales Order",
            "reference_name": order_id,
            "content": _comment_text(action, reason, rule_ids),
        })
    conn.execute(insert(t.comment), comments)
