"""Apply one company's writeback plan through ERPNext's REST API (SPEC §6.3, §7).

Why the API: ERPNext reads ``is_frozen`` and ``payment_terms`` through its Redis document cache,
which only its own document save invalidates, so a block written by SQL is ignored on a live
site. Through the API ERPNext's own logic runs: validation, cache invalidation, Version history,
``modified_by``, reserved stock on hold / release.

=================  ====================================================================
change             call
=================  ====================================================================
block / unblock    ``frappe.client.set_value`` Customer ``is_frozen`` 1 / 0 (never the
                   string "true": Frappe stores it as 0 with a 200)
set_prepayment     ``set_value`` Customer ``payment_terms`` = the prepayment template
unset_prepayment   ``set_value`` Customer ``payment_terms`` = the terms before (or none)
set_limit          ``set_value`` on the customer's own Customer Credit Limit row for the
                   company, or ``frappe.client.insert`` of a new row (bypass 0). Never a
                   PUT of ``credit_limits``: that replaces the whole table, so other
                   companies' rows and flags would be lost
hold_order         ERPNext's ``update_status(name, "On Hold")``, as its Hold button
release_order      ``update_status(name, "Draft")``, as its Resume button (ERPNext then
                   re-checks the credit limit and may refuse)
every change       a timeline comment ``creditctl: <what>: <reason> (rules: …)`` through
                   ``frappe.desk.form.utils.add_comment``
=================  ====================================================================

Each document is read (GET) right before it is written, and its change is:

* **already there** when the document shows the target value: nothing is sent but a missing
  comment. This makes a rerun, and the completion of an interrupted apply, send nothing twice;
* **a conflict** when a person changed the field since the nightly read (the value is neither
  the plan's ``before`` nor its ``after``), or when the document changed between this GET and
  the save (``modified`` sent as read; ERPNext answers 417 TimestampMismatchError). Nothing is
  overwritten; the change is reported and planned again the next night;
* **refused** when ERPNext's validation says no (417, e.g. a limit below the customer's
  outstanding, a release over the credit limit) or the document is gone (404);
* **applied** otherwise.

A customer's changes run in order on one worker (each save changes ``modified``); different
documents run on ``concurrency`` workers. 401, 403, a server error and a server that stops
answering end the apply: :class:`ApiAbort`, after the workers finish what they were sending.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from connectors.erpnext.api import HOLD, RESUME, ApiError, ErpNextApi
from connectors.plans import parse_limit
from connectors.plans import text as _text

#: the order in which one customer's changes are sent
CUSTOMER_ORDER = ["block", "unblock", "set_prepayment", "unset_prepayment", "set_limit"]
_CENT = Decimal("0.005")
_WHAT = {
    "block": "customer blocked", "unblock": "customer unblocked",
    "set_prepayment": "prepayment required", "unset_prepayment": "prepayment lifted",
    "set_limit": "credit limit cut", "hold_order": "order put on hold", "release_order": "hold released",
}
#: "ERPNext refused to <verb> Customer 'X'"
_VERB = {"block": "block", "unblock": "unblock", "set_prepayment": "set the prepayment terms of",
         "unset_prepayment": "restore the payment terms of"}


@dataclass(frozen=True)
class Outcome:
    """What became of one plan row (its index in the plan)."""

    row: int
    status: str  # applied | already | conflict | refused
    message: str = ""

    @property
    def done(self) -> bool:
        return self.status in ("applied", "already")


class ApiAbort(Exception):
    """The apply cannot go on (credentials, roles, a server error, no answer); one line."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class _Refused(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def comment_text(row: dict, company: str) -> str:
    """The timeline comment of one plan row (HTML-escaped: ERPNext renders comments as HTML).

    It says what changed from what (so a person can undo it, and creditctl can recover its own
    changes from the ERP when its state store is lost), for which company, why, and by which rules.
    """
    change, before, after = row["change"], _text(row["before"]), _text(row["after"])
    what = _WHAT[change] + {
        "set_limit": f" from {before or 'none'} to {after}",
        "set_prepayment": f" (terms were {before or 'none'})",
        "unset_prepayment": f" (terms back to {after or 'none'})",
    }.get(change, "")
    reason, rule_ids = row["reason"], row["rule_ids"]
    text = f"creditctl: {what} ({company}): {_text(reason) or 'no reason given'}"
    if _text(rule_ids):
        text += f" (rules: {rule_ids})"
    return html.escape(text)


@dataclass
class ApiWriter:
    """One company's apply; ``user`` is the API user (comment author)."""

    api: ErpNextApi
    company: str
    prepayment_terms: str
    user: str
    concurrency: int = 4
    key_env: str = "ERPNEXT_API_KEY"
    secret_env: str = "ERPNEXT_API_SECRET"

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._abort: ApiAbort | None = None
        self._lock = threading.Lock()

    # -- driving -----------------------------------------------------------------------------

    def apply(self, plan: pd.DataFrame) -> list[Outcome]:
        """Apply a validated plan (connectors.plans.validate_plan); one Outcome per row sent.

        Raises :class:`ApiAbort` when the apply had to stop; rows not reached are then simply not
        applied (the caller reads the ERP back to learn which were).
        """
        rows = plan.to_dict("records")
        customer_rows: dict[str, list[int]] = {}
        order_rows: list[int] = []
        for i, row in enumerate(rows):
            if row["change"] in CUSTOMER_ORDER:
                customer_rows.setdefault(row["customer_id"], []).append(i)
            else:
                order_rows.append(i)
        # customers first (a block before its orders' holds), each customer's changes in order
        tasks: list[Callable[[], list[Outcome]]] = [
            lambda cid=cid, idx=idx: self._guarded(lambda: self._customer(cid, [
                (i, rows[i]) for i in sorted(idx, key=lambda i: CUSTOMER_ORDER.index(rows[i]["change"]))]))
            for cid, idx in customer_rows.items()
        ]
        tasks += [lambda i=i: self._guarded(lambda: self._order(i, rows[i])) for i in order_rows]
        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency), thread_name_prefix="erpnext-api") as pool:
            for result in pool.map(lambda task: task(), tasks):
                outcomes.extend(result)
        if self._abort is not None:
            raise self._abort
        return sorted(outcomes, key=lambda o: o.row)

    def _guarded(self, work: Callable[[], list[Outcome]]) -> list[Outcome]:
        if self._stop.is_set():
            return []
        try:
            return work()
        except ApiAbort as exc:
            with self._lock:
                self._abort = self._abort or exc
            self._stop.set()
            return []

    # -- errors ------------------------------------------------------------------------------

    def _fail(self, exc: ApiError, doctype: str, name: str, action: str) -> Exception:
        """Turn an ERPNext error on one document into a refusal of that row or an abort."""
        doc = f"{doctype} {name!r}"
        if exc.status == 0:
            return ApiAbort(f"ERPNext at {self.api.base} gave {exc.message} while writing {doc}; what was sent "
                            "before is kept and the next run completes the rest", transient=True)
        if exc.status == 401:
            return ApiAbort(f"ERPNext at {self.api.base} refused the API key (401 {exc.exc_type}): check that "
                            f"{self.key_env} and {self.secret_env} hold the API key and secret of the API user")
        if exc.status == 403:
            role = {"Customer": "Sales User (write on Customer; Sales Manager and Accounts Manager cannot)",
                    "Sales Order": "Sales User (submit on Sales Order)"}.get(doctype, "Sales User")
            return ApiAbort(f"ERPNext user {self.user or '(API user)'} may not {action} {doc} (403 "
                            f"{exc.exc_type or 'PermissionError'}): give it the role {role}; "
                            "`creditctl connector setup erpnext` checks the roles")
        if exc.status == 404:
            return _Refused("refused", f"{doc} not found in ERPNext (404): deleted or renamed since the nightly "
                                       "read; planned again next night")
        if exc.stale:
            return _Refused("conflict", f"{doc} was changed in ERPNext while creditctl wrote it (417 "
                                        "TimestampMismatchError): not overwritten; planned again next night")
        if exc.status == 417:
            return _Refused("refused", f"ERPNext refused to {action} {doc}: {exc.message}")
        return ApiAbort(f"ERPNext failed to {action} {doc} ({exc}); report it to the site's administrator")

    def _get(self, doctype: str, name: str) -> dict:
        try:
            return self.api.get_doc(doctype, name)
        except ApiError as exc:
            raise self._fail(exc, doctype, name, "read") from None

    # -- customers ---------------------------------------------------------------------------

    def _customer(self, cid: str, rows: list[tuple[int, dict]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            doc = self._get("Customer", cid)
        except _Refused as exc:
            return [Outcome(i, exc.status, exc.message) for i, _ in rows]
        for n, (i, row) in enumerate(rows):
            if self._stop.is_set():
                break
            try:
                doc, status = self._customer_change(cid, row, doc)
            except _Refused as exc:
                outcomes.append(Outcome(i, exc.status, exc.message))
                if exc.status == "conflict":  # re-read: the customer's next change starts from what is there
                    try:
                        doc = self._get("Customer", cid)
                    except _Refused as gone:
                        return outcomes + [Outcome(j, gone.status, gone.message) for j, _ in rows[n + 1:]]
                continue
            outcomes.append(Outcome(i, status))
            self._comment("Customer", cid, row, missing_only=status == "already")
        return outcomes

    def _customer_change(self, cid: str, row: dict, doc: dict) -> tuple[dict, str]:
        change = row["change"]
        if change in ("block", "unblock"):
            target = 1 if change == "block" else 0
            if int(doc.get("is_frozen") or 0) == target:
                return doc, "already"
            return self._save(cid, {"is_frozen": target}, doc, change), "applied"
        if change in ("set_prepayment", "unset_prepayment"):
            current = _text(doc.get("payment_terms"))
            target = self.prepayment_terms if change == "set_prepayment" else _text(row["after"])
            if current == target:
                return doc, "already"
            expected = _text(row["before"]) if change == "set_prepayment" else self.prepayment_terms
            if current != expected:
                raise _Refused("conflict", f"Customer {cid!r}: payment terms changed in ERPNext since the nightly "
                                           f"read (now {current or 'none'!r}): not overwritten; planned again "
                                           "next night")
            return self._save(cid, {"payment_terms": target or None}, doc, change), "applied"
        return self._limit(cid, row, doc)

    def _save(self, cid: str, values: dict, doc: dict, change: str) -> dict:
        try:
            return self.api.set_values("Customer", cid, values, modified=str(doc.get("modified") or "") or None)
        except ApiError as exc:
            raise self._fail(exc, "Customer", cid, _VERB[change]) from None

    def _limit(self, cid: str, row: dict, doc: dict) -> tuple[dict, str]:
        target = parse_limit(row["after"])
        own = [r for r in doc.get("credit_limits") or [] if r.get("company") == self.company]
        try:
            if own:
                current = Decimal(str(own[0].get("credit_limit") or 0))
                if abs(current - target) < _CENT:
                    return doc, "already"
                before = _text(row["before"])
                if current and before and abs(current - Decimal(before)) >= _CENT:
                    raise _Refused("conflict", f"Customer {cid!r}: credit limit for {self.company} changed in ERPNext "
                                               f"since the nightly read (now {current}): not overwritten; planned "
                                               "again next night")
                # set_value on the row: only that row changes, the customer is validated and saved
                return self.api.set_values("Customer Credit Limit", str(own[0]["name"]),
                                           {"credit_limit": float(target)}), "applied"
            # a row of its own; no bypass flag, or ERPNext would skip the limit just cut
            return self.api.insert({
                "doctype": "Customer Credit Limit", "parenttype": "Customer", "parent": cid,
                "parentfield": "credit_limits", "company": self.company, "credit_limit": float(target),
                "bypass_credit_limit_check": 0,
            }), "applied"
        except ApiError as exc:
            raise self._fail(exc, "Customer", cid, "cut the credit limit of") from None

    # -- orders ------------------------------------------------------------------------------

    def _order(self, i: int, row: dict) -> list[Outcome]:
        oid, change = row["order_id"], row["change"]
        try:
            doc = self._get("Sales Order", oid)
            if doc.get("company") != self.company or doc.get("customer") != row["customer_id"]:
                raise _Refused("refused", f"Sales Order {oid!r} belongs to {doc.get('customer')!r} of "
                                          f"{doc.get('company')!r}, not to the plan's customer and company")
            status = doc.get("status")
            target = change == "hold_order"
            if (status == "On Hold") == target:
                self._comment("Sales Order", oid, row, missing_only=True)
                return [Outcome(i, "already")]
            if int(doc.get("docstatus") or 0) != 1 or status in ("Closed", "Completed"):
                raise _Refused("refused", f"Sales Order {oid!r} is no longer open ({status}); nothing changed")
            try:
                self.api.update_status(oid, HOLD if target else RESUME)
            except ApiError as exc:
                raise self._fail(exc, "Sales Order", oid, "hold" if target else "release") from None
        except _Refused as exc:
            return [Outcome(i, exc.status, exc.message)]
        self._comment("Sales Order", oid, row, missing_only=False)
        return [Outcome(i, "applied")]

    # -- comments ----------------------------------------------------------------------------

    def _comment(self, doctype: str, name: str, row: dict, *, missing_only: bool) -> None:
        """The change's comment, after the change landed: a comment ERPNext refuses (404 / 417)
        leaves the change applied; 401 / 403 / no answer still end the apply."""
        content = comment_text(row, self.company)
        try:
            if missing_only and any(content in c for c in self.api.comments(doctype, name)):
                return
            self.api.add_comment(doctype, name, content, self.user, "creditctl")
        except ApiError as exc:
            failure = self._fail(exc, doctype, name, "comment on")
            if isinstance(failure, ApiAbort):
                raise failure from None
