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
every change       tabVersion (insert)                        one row per change, owner = the tool user
=================  =========================================  ===================================

Every change is attributable in the ERP as ERPNext itself records a document change: a
``tabVersion`` row (ref_doctype, docname, ``data`` with the changed fields' old and new values in
ERPNext's ``changed`` / ``row_changed`` / ``added`` shape, owner = the tool's ERP user,
``erp.options.tool_user``), plus a ``creditctl`` key in ``data`` with the plan row (company,
change, before, after, rule ids, reason), from which :func:`connectors.erpnext.read.read_provenance`
recovers this tool's provenance when the state store has none (SPEC §6.2).

Statements use bound parameters only and run executemany-style, one per change kind. Rows
are checked against the ERP before they are written: an unknown customer or order, an order of
another company or customer, an order that is no longer open (Closed, Completed, cancelled) or
a payment-terms template that does not exist raises :class:`etl.ports.ConnectorError`.
"""

from __future__ import annotations

import html
import json
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


def existing_templates(conn: Connection, names: Iterable[str]) -> set[str]:
    """Which of ``names`` are Payment Terms Templates."""
    return _existing(conn, t.payment_terms_template.c.name, names)


def _fail(company: str, what: str, names: Sequence[str]) -> ConnectorError:
    shown = ", ".join(repr(n) for n in list(names)[:5]) + (" …" if len(names) > 5 else "")
    return ConnectorError(f"apply {company!r}: {what}: {shown}; the company's changes were rolled back")


def _comment_text(action: str, reason: object, rule_ids: object) -> str:
    text = f"creditctl: {action}: {_text(reason) or 'no reason given'}"
    if not _blank(rule_ids):
        text += f" (rules: {rule_ids})"
    return html.escape(text)


DEFAULT_TOOL_USER = "creditctl"


def version_data(plan_row: dict, changed: list | None = None, *, row_changed: list | None = None,
                 added: list | None = None) -> str:
    """tabVersion.data of one change: ERPNext's shape plus the plan row under ``creditctl``."""
    return json.dumps({
        "changed": changed or [], "added": added or [], "removed": [], "row_changed": row_changed or [],
        "data_import": None, "updater_reference": None,
        "creditctl": {k: _text(plan_row.get(k)) for k in ("company", "customer_id", "change", "order_id", "before",
                                                          "after", "rule_ids", "reason")},
    }, default=str)


def _version(ref_doctype: str, docname: str, data: str, user: str, now: datetime) -> dict:
    return {"name": secrets.token_hex(5), "creation": now, "modified": now, "modified_by": user, "owner": user,
            "docstatus": 0, "idx": 0, "ref_doctype": ref_doctype, "docname": docname, "data": data}


def _num(value: object) -> float | None:
    return None if _blank(value) else float(parse_limit(value))


def apply_plan(conn: Connection, company: str, plan: pd.DataFrame, *, prepayment_terms: str,
               user: str = DEFAULT_TOOL_USER, now: datetime | None = None) -> int:
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

    versions = []
    for kind, field, value in (("block", "is_frozen", (0, 1)), ("unblock", "is_frozen", (1, 0))):
        for row in by_kind[kind].to_dict("records"):
            versions.append(_version("Customer", row["customer_id"], version_data(row, [[field, *value]]), user, now))
    for row in by_kind["set_prepayment"].to_dict("records"):
        versions.append(_version("Customer", row["customer_id"], version_data(
            row, [["payment_terms", row["before"] or None, prepayment_terms]]), user, now))
    for row in by_kind["unset_prepayment"].to_dict("records"):
        versions.append(_version("Customer", row["customer_id"], version_data(
            row, [["payment_terms", prepayment_terms, row["after"] or None]]), user, now))

    # -- set_limit: the customer's own tabCustomer Credit Limit row for the company
    limits = by_kind["set_limit"]
    if not limits.empty:
        rows = _set_limits(conn, company, limits, now)
        for row in limits.to_dict("records"):
            name, idx, inserted = rows[row["customer_id"]]
            old, new = _num(row["before"]), _num(row["after"])
            if inserted:
                data = version_data(row, added=[["credit_limits", {"name": name, "idx": idx, "company": company,
                                                                   "credit_limit": new}]])
            else:
                data = version_data(row, row_changed=[["credit_limits", idx, name, [["credit_limit", old, new]]]])
            versions.append(_version("Customer", row["customer_id"], data, user, now))

    # -- orders: tabSales Order.status + a tabComment each
    orders = plan[plan["change"].isin(list(_ORDER_CHANGES))]
    if not orders.empty:
        statuses = _apply_orders(conn, company, orders, user, now)
        for row in orders.to_dict("records"):
            old, new = statuses[row["order_id"]]
            versions.append(_version("Sales Order", row["order_id"], version_data(row, [["status", old, new]]), user, now))
    conn.execute(insert(t.version), versions)
    return len(plan)


def _set_limits(conn: Connection, company: str, limits: pd.DataFrame,
                now: datetime) -> dict[str, tuple[str, int, bool]]:
    """Write the limits; returns per customer its row's (name, idx, inserted)."""
    ccl, c = t.customer_credit_limit, t.customer
    values = {cid: parse_limit(after) for cid, after in zip(limits["customer_id"], limits["after"], strict=True)}
    rows: dict[str, tuple[str, int, bool]] = {}
    names = sorted(values)
    for start in range(0, len(names), _IN_CHUNK):
        for parent, name, idx in conn.execute(
            select(ccl.c.parent, ccl.c.name, ccl.c.idx)
            .where(ccl.c.parenttype == "Customer", ccl.c.company == company, ccl.c.parent.in_(names[start:start + _IN_CHUNK]))
        ):
            rows[parent] = (name, int(idx or 0), False)
    own = set(rows)
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
        # idx continues the customer's credit_limits table. No bypass flag: ERPNext skips a row
        # with bypass_credit_limit_check, so a copied group flag would switch off the very limit cut
        next_idx: dict[str, int] = {}
        for start in range(0, len(new), _IN_CHUNK):
            next_idx.update(conn.execute(
                select(ccl.c.parent, func.max(ccl.c.idx))
                .where(ccl.c.parenttype == "Customer", ccl.c.parent.in_(new[start:start + _IN_CHUNK]))
                .group_by(ccl.c.parent)
            ).all())
        inserted = [
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
                "bypass_credit_limit_check": 0,
            }
            for cid in new
        ]
        conn.execute(insert(ccl), inserted)
        rows.update({r["parent"]: (r["name"], r["idx"], True) for r in inserted})
    conn.execute(update(c).where(c.c.name == bindparam("b_name")).values(modified=bindparam("b_now")),
                 [{"b_name": cid, "b_now": now} for cid in values])
    return rows


def _apply_orders(conn: Connection, company: str, orders: pd.DataFrame, user: str,
                  now: datetime) -> dict[str, tuple[str | None, str | None]]:
    """Hold / release the orders; returns per order its (status before, status after)."""
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
    after: dict[str, str | None] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        after.update(conn.execute(select(so.c.name, so.c.status).where(so.c.name.in_(ids[start:start + _IN_CHUNK]))).all())
    return {o: (found[o][3], after.get(o)) for o in ids}
