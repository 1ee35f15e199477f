"""creditctl's earlier writes as ERPNext records them (SPEC §6.2), for a state store without history.

Two records, one per write path:

* SQL writes (``write_via: sql``, connectors.erpnext.write) leave a ``tabVersion`` row owned by
  the tool user whose ``data`` carries the plan row under ``creditctl``;
* API writes (connectors.erpnext.api_write) leave, besides ERPNext's own Version and Label rows,
  a timeline comment by the API user (``tool_user``) saying what changed from what, for which
  company, why and by which rules: ``creditctl: credit limit cut from 10000.00 to 7500.00 (Demo
  GmbH): <reason> (rules: …)``. Those comments are parsed back into plan rows.

Both, oldest first, are the provenance (etl.ports.PROVENANCE_COLUMNS). Markers neither explains —
a ``creditctl:`` comment on a sales order without a tool Version and not in the API comments'
form (written by a creditctl that kept no Versions, a Version deleted since, or API comments of
another user than ``tool_user``) — make the provenance incomplete (``marked``), and the run
refuses to apply.

The JSON of each Version is parsed in Python (json.loads per row); this read only runs when the
state store has no audit history for a company, not every night.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import and_, exists, select
from sqlalchemy.engine import Connection

from connectors.erpnext import schema as t
from etl.ports import PROVENANCE_COLUMNS, ErpProvenance

_FIELDS = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids"]


def _plan_row(data: str | None) -> dict | None:
    try:
        row = json.loads(data or "")
    except ValueError:
        return None
    row = row.get("creditctl") if isinstance(row, dict) else None
    return row if isinstance(row, dict) and row.get("change") and row.get("company") else None


#: an API write's comment (connectors.erpnext.api_write.comment_text), after html.unescape
_API_COMMENT = re.compile(
    r"^creditctl: (?P<what>customer blocked|customer unblocked|order put on hold|hold released"
    r"|prepayment required \(terms were (?P<was>.*?)\)|prepayment lifted \(terms back to (?P<back>.*?)\)"
    r"|credit limit cut from (?P<old>\S+) to (?P<new>\S+)) \((?P<company>[^()]*)\): (?P<reason>.*?)"
    r"(?: \(rules: (?P<rules>[^()]*)\))?$", re.S)
_API_CHANGES = {"customer blocked": ("block", "false", "true"), "customer unblocked": ("unblock", "true", "false"),
                "order put on hold": ("hold_order", "false", "true"), "hold released": ("release_order", "true", "false")}


def _none(value: str | None) -> str:
    return "" if value in (None, "none") else value


def api_comment_row(content: str) -> dict | None:
    """The plan row (PROVENANCE_COLUMNS but applied_at, customer_id) an API write's comment records."""
    found = _API_COMMENT.match(html.unescape(content or "").strip())
    if found is None:
        return None
    what = found["what"]
    if what in _API_CHANGES:
        change, before, after = _API_CHANGES[what]
    elif found["was"] is not None:
        change, before, after = "set_prepayment", _none(found["was"]), "prepayment"
    elif found["back"] is not None:
        change, before, after = "unset_prepayment", "prepayment", _none(found["back"])
    else:
        change, before, after = "set_limit", _none(found["old"]), found["new"]
    return {"company": found["company"], "change": change, "before": before, "after": after,
            "rule_ids": found["rules"] or ""}


def read_provenance(conn: Connection, companies: Sequence[str], user: str, chunk_size: int) -> ErpProvenance:
    """The tool user's Versions of ``companies`` (PROVENANCE_COLUMNS, oldest first) and unexplained markers."""
    v = t.version
    stmt = (select(v.c.creation, v.c.name, v.c.data)
            .where(v.c.owner == user, v.c.ref_doctype.in_(["Customer", "Sales Order"]))
            .order_by(v.c.creation, v.c.name))
    rows = []
    for creation, _name, data in conn.execution_options(stream_results=True, yield_per=chunk_size).execute(stmt):
        row = _plan_row(data)  # None: a change a person made logged in as the tool user
        if row is not None and row["company"] in companies:
            rows.append({**{k: str(row.get(k) or "") for k in _FIELDS}, "applied_at": creation})
    c, so = t.comment, t.sales_order
    api_comments = (
        select(c.c.creation, c.c.name, c.c.reference_doctype, c.c.reference_name, c.c.content, so.c.customer)
        .select_from(c.outerjoin(so, and_(c.c.reference_doctype == "Sales Order", so.c.name == c.c.reference_name)))
        .where(c.c.owner == user, c.c.comment_type == "Comment", c.c.content.like("creditctl:%"),
               c.c.reference_doctype.in_(["Customer", "Sales Order"]))
        .order_by(c.c.creation, c.c.name))
    for creation, _name, doctype, docname, content, order_customer in conn.execute(api_comments):
        row = api_comment_row(content)
        if row is None or row["company"] not in companies:
            continue
        is_order = doctype == "Sales Order"
        if is_order != (row["change"] in ("hold_order", "release_order")) or (is_order and order_customer is None):
            continue  # not what creditctl writes on that document
        rows.append({**row, "customer_id": order_customer if is_order else docname,
                     "order_id": docname if is_order else "", "applied_at": creation})
    changes = pd.DataFrame(rows, columns=PROVENANCE_COLUMNS).astype(
        {col: object for col in PROVENANCE_COLUMNS if col != "applied_at"})
    changes = changes.sort_values("applied_at", kind="stable").reset_index(drop=True)

    # a creditctl comment on one of the companies' orders that neither record explains
    has_version = exists().where(and_(v.c.ref_doctype == "Sales Order", v.c.docname == c.c.reference_name,
                                      v.c.owner == user))
    orphans = conn.execute(
        select(c.c.owner, c.c.content).select_from(c.join(so, so.c.name == c.c.reference_name))
        .where(c.c.reference_doctype == "Sales Order", c.c.content.like("creditctl:%"),
               so.c.company.in_(list(companies)), ~has_version)
    )
    marked = any(owner != user or api_comment_row(content) is None for owner, content in orphans)
    return ErpProvenance(changes=changes, marked=marked)
