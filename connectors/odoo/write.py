"""Apply one company's writeback plan (etl.plan.PLAN_COLUMNS rows) to Odoo 17 / 18.

The caller runs :func:`apply_plan` inside ONE transaction: any error rolls back every row of the
company. Only these tables and columns are written (SPEC §6.3, §7):

=================  ==============================================================================
change             written
=================  ==============================================================================
block              res_partner.sale_warn = 'block', sale_warn_msg = reason
unblock            res_partner.sale_warn = 'no-message', sale_warn_msg = NULL
hold_order         sale_order.x_credit_hold = true, x_credit_hold_reason = reason
release_order      sale_order.x_credit_hold = false, x_credit_hold_reason = NULL
set_limit          17: ir_property 'credit_limit' row of (partner, company): value_float (update or
                   insert); 18: res_partner.credit_limit jsonb key of the company id
set_prepayment     17: ir_property 'property_payment_term_id' row of (partner, company):
                   value_reference 'account.payment.term,<id>'; 18: res_partner.property_payment_term_id
                   jsonb key of the company id
unset_prepayment   as set_prepayment with the term id in ``after`` (the state's payment_terms); an
                   empty ``after`` removes the partner's value (17: deletes its ir_property row so the
                   company default applies; 18: removes the company key)
=================  ==============================================================================

Customers are matched by the connector's customer_id (``ref``, else the partner id) among the
company's customers; orders by name within the company, state 'sale', and the same customer.
Unknown customers / orders, a missing prepayment term or a missing ``x_credit_hold`` column
(setup not run) raise :class:`etl.ports.ConnectorError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import ARRAY, Text, and_, cast, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from connectors.odoo import read
from connectors.odoo.schema import OdooTables
from connectors.plans import PlanError, parse_limit, validate_plan  # generic plan checks
from etl.ports import ConnectorError

__all__ = ["PlanError", "apply_plan", "validate_plan"]

APPLY_ORDER = ["block", "unblock", "set_prepayment", "unset_prepayment", "set_limit", "hold_order", "release_order"]


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def _fail(company: str, what: str, names: Sequence[str]) -> ConnectorError:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:5]) + (" …" if len(names) > 5 else "")
    return ConnectorError(f"apply {company!r}: {what}: {shown}; the company's changes were rolled back")


def _company_id(conn: Connection, t: OdooTables, company: str) -> int:
    found = conn.execute(select(t.res_company.c.id).where(t.res_company.c.name == company)).scalar()
    if found is None:
        raise _fail(company, "unknown company in res_company", [company])
    return int(found)


def _partners(conn: Connection, t: OdooTables, company_id: int, keys: Sequence[str]) -> dict[str, int]:
    p = t.res_partner
    key = read.customer_key(t)
    stmt = (select(key, p.c.id)
            .where(or_(p.c.company_id == company_id, p.c.company_id.is_(None)), p.c.customer_rank > 0,
                   key.in_(sorted(set(keys)))).order_by(p.c.id))
    found: dict[str, int] = {}
    for k, pid in conn.execute(stmt):
        found.setdefault(k, pid)
    return found


def _term_id(conn: Connection, t: OdooTables, name: str, company: str) -> int:
    term = t.account_payment_term
    found = conn.execute(select(term.c.id).where(term.c.name.op("->>")(read.LANG) == name)
                         .order_by(term.c.active.desc(), term.c.id).limit(1)).scalar()
    if found is None:
        raise _fail(company, "payment term not found in account_payment_term", [name])
    return int(found)


def _set_property(conn, t: OdooTables, company_id: int, pid: int, field: str, value) -> None:
    """Set a company-dependent res.partner field (``value`` None removes the partner's value)."""
    p = t.res_partner
    if t.version == 18:
        col = p.c[field]
        key = str(company_id)
        if value is None:
            new = func.coalesce(col, cast(literal("{}"), JSONB)).op("-")(key)
        else:
            new = func.jsonb_set(func.coalesce(col, cast(literal("{}"), JSONB)), cast([key], ARRAY(Text)),
                                 func.to_jsonb(literal(value)))
        conn.execute(update(p).where(p.c.id == pid).values({field: new}))
        return
    ip, mf = t.ir_property, t.ir_model_fields
    fields_id = conn.execute(select(mf.c.id).where(mf.c.model == "res.partner", mf.c.name == field)).scalar()
    if fields_id is None:
        raise ConnectorError(f"ir_model_fields has no res.partner.{field}: is this an Odoo 17 database?")
    res_id = f"res.partner,{pid}"
    # the expressions of Odoo's ir_property_unique_index
    where = and_(ip.c.fields_id == fields_id, func.coalesce(ip.c.company_id, 0) == company_id,
                 func.coalesce(ip.c.res_id, "") == res_id)
    if value is None:
        conn.execute(delete(ip).where(where))
        return
    if field == "credit_limit":
        values = {"value_float": value, "type": "float"}
    else:
        values = {"value_reference": f"account.payment.term,{value}", "type": "many2one"}
    if conn.execute(update(ip).where(where).values(values)).rowcount:
        return
    conn.execute(insert(ip).values(name=field, res_id=res_id, company_id=company_id, fields_id=fields_id,
                                   **values))


def apply_plan(conn: Connection, t: OdooTables, company: str, plan: pd.DataFrame, *,
               prepayment_term: str) -> int:
    """Write a validated plan (see :func:`validate_plan`) on ``conn`` (inside a transaction)."""
    if plan.empty:
        return 0
    company_id = _company_id(conn, t, company)
    keys = plan["customer_id"].astype(str).tolist()
    partners = _partners(conn, t, company_id, keys)
    unknown = sorted(set(keys) - set(partners))
    if unknown:
        raise _fail(company, "unknown customer(s) in res_partner", unknown)
    p, so = t.res_partner, t.sale_order
    is_order = plan["change"].isin(["hold_order", "release_order"])
    if is_order.any() and not read.has_custom_fields(conn):
        raise ConnectorError(f"apply {company!r}: sale_order has no x_credit_hold column; run "
                             "`creditctl connector setup odoo` first; the company's changes were rolled back")
    prepay_id = None
    applied = 0
    order = {c: i for i, c in enumerate(APPLY_ORDER)}
    plan = plan.assign(_o=plan["change"].map(order)).sort_values("_o", kind="stable")
    for row in plan.itertuples(index=False):
        pid = partners[str(row.customer_id)]
        reason = _text(row.reason) or None
        if row.change == "block":
            conn.execute(update(p).where(p.c.id == pid).values(sale_warn="block", sale_warn_msg=reason))
        elif row.change == "unblock":
            conn.execute(update(p).where(p.c.id == pid).values(sale_warn="no-message", sale_warn_msg=None))
        elif row.change == "set_limit":
            _set_property(conn, t, company_id, pid, "credit_limit", float(parse_limit(row.after)))
        elif row.change == "set_prepayment":
            if prepay_id is None:
                prepay_id = _term_id(conn, t, prepayment_term, company)
            _set_property(conn, t, company_id, pid, "property_payment_term_id", prepay_id)
        elif row.change == "unset_prepayment":
            after = _text(row.after)
            if after and not after.isdigit():
                raise _fail(company, "unset_prepayment: 'after' is not an account.payment.term id", [after])
            _set_property(conn, t, company_id, pid, "property_payment_term_id", int(after) if after else None)
        else:
            hold = row.change == "hold_order"
            done = conn.execute(update(so).where(
                so.c.name == str(row.order_id), so.c.company_id == company_id,
                so.c.partner_id.in_(select(p.c.id).where(func.coalesce(p.c.commercial_partner_id, p.c.id) == pid)),
                so.c.state == "sale").values(x_credit_hold=hold, x_credit_hold_reason=reason if hold else None))
            if done.rowcount == 0:
                raise _fail(company, f"{row.change}: no confirmed order of customer {row.customer_id!r}",
                            [str(row.order_id)])
        applied += 1
    return applied

