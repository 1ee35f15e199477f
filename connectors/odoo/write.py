"""Apply one company's writeback plan (etl.plan.PLAN_COLUMNS rows) to Odoo 17 / 18.

The caller runs :func:`apply_plan` inside ONE transaction: any error rolls back every row of the
company. Only these tables and columns are written (SPEC §6.3, §7):

=================  ==============================================================================
change             written
=================  ==============================================================================
block              res_partner.sale_warn = 'block', sale_warn_msg = 'creditctl: ' + reason
unblock            res_partner.sale_warn = 'no-message', sale_warn_msg = NULL
hold_order         sale_order.x_credit_hold = true, x_credit_hold_reason = 'creditctl: ' + reason
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

Every change kind is ONE set-based statement over the kind's rows (``unnest`` of array
parameters, so a plan of 100,000 rows is still a handful of statements and bound values), in the
order of :data:`APPLY_ORDER`; within a kind a customer or order named twice gets its last row.
Odoo 17's ir_property writes are an UPDATE of the existing rows then an INSERT of the missing ones.

Customers are matched by the connector's customer_id (``ref``, else the partner id) among the
company's customers; orders by name within the company, state 'sale', and the same customer.
Unknown customers / orders, a missing prepayment term or a missing ``x_credit_hold`` column
(setup not run) raise :class:`etl.ports.ConnectorError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import (
    ARRAY,
    Float,
    Integer,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from connectors.odoo import read
from connectors.odoo.tables import OdooTables
from connectors.plans import PlanError, parse_limit, validate_plan  # generic plan checks
from etl.ports import ConnectorError

__all__ = ["PlanError", "apply_plan", "validate_plan"]

#: how the block messages and hold reasons creditctl writes begin: what marks them as its own
MARK = "creditctl: "
APPLY_ORDER = ["block", "unblock", "set_prepayment", "unset_prepayment", "set_limit", "hold_order", "release_order"]
_ARRAY_TYPES = {"int": ARRAY(Integer), "float": ARRAY(Float), "text": ARRAY(Text)}
_COLUMN_TYPES = {"int": Integer, "float": Float, "text": Text}


def _fail(company: str, what: str, names: Sequence[str]) -> ConnectorError:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:5]) + (" …" if len(names) > 5 else "")
    return ConnectorError(f"apply {company!r}: {what}: {shown}; the company's changes were rolled back")


def _rows(**columns: tuple[str, list]):
    """``unnest(%(a)s::type[], …) AS v(a, …)``: the rows of a change kind as one FROM item.

    ``columns``: name -> (``int`` | ``float`` | ``text``, values); one array parameter per column.
    """
    arrays = [bindparam(f"v_{name}", list(values), type_=_ARRAY_TYPES[kind])
              for name, (kind, values) in columns.items()]
    names = [column(name, _COLUMN_TYPES[kind]) for name, (kind, _) in columns.items()]
    return func.unnest(*arrays).table_valued(*names).render_derived(name="v")


def _company_id(conn: Connection, t: OdooTables, company: str) -> int:
    found = conn.execute(select(t.res_company.c.id).where(t.res_company.c.name == company)).scalar()
    if found is None:
        raise _fail(company, "unknown company in res_company", [company])
    return int(found)


def _partners(conn: Connection, t: OdooTables, company_id: int, keys: Sequence[str]) -> dict[str, int]:
    """customer_id -> partner id among the company's customers (lowest id for a duplicate ref)."""
    p = t.res_partner
    key = read.customer_key(t)
    wanted = bindparam("keys", sorted(set(keys)), type_=ARRAY(Text))
    stmt = (select(key, p.c.id)
            .where(or_(p.c.company_id == company_id, p.c.company_id.is_(None)), p.c.customer_rank > 0,
                   key == any_(wanted)).order_by(p.c.id))
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


def _set_property(conn, t: OdooTables, company_id: int, field: str, pids: list[int], values: list | None) -> None:
    """Set a company-dependent res.partner field for ``pids`` (``values`` None: remove their value)."""
    if not pids:
        return
    if t.version == 18:
        _set_jsonb(conn, t, company_id, field, pids, values)
    else:
        _set_ir_property(conn, t, company_id, field, pids, values)


def _set_jsonb(conn, t: OdooTables, company_id: int, field: str, pids: list[int], values: list | None) -> None:
    """Odoo 18: the company's key of the jsonb column (``jsonb_set``, or ``-`` to remove it)."""
    p = t.res_partner
    col, key = p.c[field], str(company_id)
    current = func.coalesce(col, cast(literal("{}"), JSONB))
    if values is None:
        conn.execute(update(p).where(p.c.id == any_(bindparam("pids", pids, type_=ARRAY(Integer))))
                     .values({field: current.op("-")(key)}))
        return
    kind = "float" if field == "credit_limit" else "int"
    v = _rows(id=("int", pids), value=(kind, values))
    new = func.jsonb_set(current, cast([key], ARRAY(Text)), func.to_jsonb(v.c.value))
    conn.execute(update(p).where(p.c.id == v.c.id).values({field: new}))


def _set_ir_property(conn, t: OdooTables, company_id: int, field: str, pids: list[int], values: list | None) -> None:
    """Odoo 17: the (partner, company) ir_property rows: update, insert the missing, or delete."""
    ip, mf = t.ir_property, t.ir_model_fields
    fields_id = conn.execute(select(mf.c.id).where(mf.c.model == "res.partner", mf.c.name == field)).scalar()
    if fields_id is None:
        raise ConnectorError(f"ir_model_fields has no res.partner.{field}: is this an Odoo 17 database?")
    res_ids = [f"res.partner,{pid}" for pid in pids]

    def matches(res_id):  # the expressions of Odoo's ir_property_unique_index
        return and_(ip.c.fields_id == fields_id, func.coalesce(ip.c.company_id, 0) == company_id,
                    func.coalesce(ip.c.res_id, "") == res_id)

    if values is None:
        conn.execute(delete(ip).where(matches(any_(bindparam("res_ids", res_ids, type_=ARRAY(Text))))))
        return
    if field == "credit_limit":
        v = _rows(res_id=("text", res_ids), value=("float", values))
        value_col, value, kind = "value_float", v.c.value, "float"
    else:
        v = _rows(res_id=("text", res_ids), value=("text", [f"account.payment.term,{x}" for x in values]))
        value_col, value, kind = "value_reference", v.c.value, "many2one"
    conn.execute(update(ip).where(matches(v.c.res_id)).values({value_col: value, "type": kind}))
    missing = (select(literal(field), v.c.res_id, literal(company_id), literal(fields_id), value, literal(kind))
               .where(~exists().where(matches(v.c.res_id))))
    conn.execute(insert(ip).from_select(["name", "res_id", "company_id", "fields_id", value_col, "type"], missing))


def _last(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """The kind's rows, one per ``key`` (the last, as row-by-row writes would have left it)."""
    return rows.drop_duplicates(key, keep="last")


def _orders(conn, t: OdooTables, company: str, company_id: int, change: str, rows: pd.DataFrame) -> None:
    """Hold / release the named confirmed orders of each row's customer (commercial partner)."""
    so, c = t.sale_order, t.res_partner.alias("contact")
    rows = _last(rows, "order_id")
    hold = change == "hold_order"
    v = _rows(name=("text", rows["order_id"].tolist()), pid=("int", rows["pid"].tolist()),
              reason=("text", rows["reason"].tolist() if hold else [None] * len(rows)))
    stmt = (update(so)
            .where(so.c.name == v.c.name, so.c.company_id == company_id, so.c.state == "sale",
                   so.c.partner_id == c.c.id, func.coalesce(c.c.commercial_partner_id, c.c.id) == v.c.pid)
            .values(x_credit_hold=hold, x_credit_hold_reason=v.c.reason)
            .returning(v.c.name))
    done = set(conn.execute(stmt).scalars())
    missed = rows[~rows["order_id"].isin(done)]
    if not missed.empty:
        first = missed.iloc[0]
        raise _fail(company, f"{change}: no confirmed order of customer {first['customer_id']!r}",
                    [first["order_id"]])


def apply_plan(conn: Connection, t: OdooTables, company: str, plan: pd.DataFrame, *,
               prepayment_term: str) -> int:
    """Write a validated plan (see :func:`validate_plan`) on ``conn`` (inside a transaction)."""
    if plan.empty:
        return 0
    company_id = _company_id(conn, t, company)
    keys = plan["customer_id"].astype(str)
    partners = _partners(conn, t, company_id, keys.tolist())
    unknown = sorted(set(keys) - set(partners))
    if unknown:
        raise _fail(company, "unknown customer(s) in res_partner", unknown)
    if plan["change"].isin(["hold_order", "release_order"]).any() and not read.has_custom_fields(conn):
        raise ConnectorError(f"apply {company!r}: sale_order has no x_credit_hold column; run "
                             "`creditctl connector setup odoo` first; the company's changes were rolled back")
    reason = plan["reason"].map(lambda r: "" if r is None or pd.isna(r) else str(r).strip())
    # the marker makes the tool's blocks and holds attributable in Odoo (read_provenance)
    reason = MARK + reason.where(reason != "", "no reason given")
    plan = plan.assign(pid=keys.map(partners).astype(int), reason=reason,
                       after=plan["after"].map(lambda a: "" if a is None or pd.isna(a) else str(a).strip()))
    p = t.res_partner
    for change in APPLY_ORDER:
        rows = plan[plan["change"] == change]
        if rows.empty:
            continue
        if change in ("hold_order", "release_order"):
            _orders(conn, t, company, company_id, change, rows)
            continue
        rows = _last(rows, "pid")
        pids = rows["pid"].tolist()
        if change == "block":
            v = _rows(id=("int", pids), reason=("text", rows["reason"].tolist()))
            conn.execute(update(p).where(p.c.id == v.c.id).values(sale_warn="block", sale_warn_msg=v.c.reason))
        elif change == "unblock":
            conn.execute(update(p).where(p.c.id == any_(bindparam("pids", pids, type_=ARRAY(Integer))))
                         .values(sale_warn="no-message", sale_warn_msg=None))
        elif change == "set_limit":
            limits = [float(parse_limit(a)) for a in rows["after"]]
            _set_property(conn, t, company_id, "credit_limit", pids, limits)
        elif change == "set_prepayment":
            term = _term_id(conn, t, prepayment_term, company)
            _set_property(conn, t, company_id, "property_payment_term_id", pids, [term] * len(pids))
        else:  # unset_prepayment: back to the term in ``after``, or to no partner value
            after = rows["after"]
            bad = after[(after != "") & ~after.str.isdigit()]
            if not bad.empty:
                raise _fail(company, "unset_prepayment: 'after' is not an account.payment.term id", [bad.iloc[0]])
            restore = rows[after != ""]
            _set_property(conn, t, company_id, "property_payment_term_id", restore["pid"].tolist(),
                          restore["after"].astype(int).tolist())
            _set_property(conn, t, company_id, "property_payment_term_id", rows.loc[after == "", "pid"].tolist(),
                          None)
    return len(plan)
