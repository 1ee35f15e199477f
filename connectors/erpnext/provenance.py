"""creditctl's earlier writes as ERPNext records them (SPEC §6.2), for a state store without history.

Every change creditctl applies leaves a ``tabVersion`` row owned by its ERP user whose ``data``
carries the plan row under ``creditctl`` (connectors.erpnext.write). Those rows, oldest first,
are the provenance (etl.ports.PROVENANCE_COLUMNS). Markers that the Versions do not explain —
a ``creditctl:`` comment on a sales order without a tool Version (written by a creditctl that
kept no Versions, or a Version deleted since) — make the provenance incomplete (``marked``), and the run refuses to apply.

The JSON of each Version is parsed in Python (json.loads per row); this read only runs when the
state store has no audit history for a company, not every night.
"""

from __future__ import annotations

import json
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
    changes = pd.DataFrame(rows, columns=PROVENANCE_COLUMNS).astype(
        {c: object for c in PROVENANCE_COLUMNS if c != "applied_at"})

    c, so = t.comment, t.sales_order
    has_version = exists().where(and_(v.c.ref_doctype == "Sales Order", v.c.docname == c.c.reference_name,
                                      v.c.owner == user))
    orphan = conn.execute(
        select(c.c.name).select_from(c.join(so, so.c.name == c.c.reference_name))
        .where(c.c.reference_doctype == "Sales Order", c.c.content.like("creditctl:%"),
               so.c.company.in_(list(companies)), ~has_version)
        .limit(1)
    ).first()
    return ErpProvenance(changes=changes, marked=orphan is not None)
