"""A small client for the ERPNext (Frappe v15) REST API calls creditctl's writes need.

Only what SPEC §6.3 asks of the ERPNext writes, and as ERPNext answers them (measured on a real
15.102 site, see docs/connectors.md):

* token auth (``Authorization: token KEY:SECRET``); a missing header runs as Guest and gets 403,
  not 401;
* success is ``{"data": …}`` on ``/api/resource`` and ``{"message": …}`` on ``/api/method``;
  errors carry ``exc_type`` and ``_server_messages``; a stale ``modified`` is 417
  ``TimestampMismatchError`` (Frappe has no 409);
* retries with exponential backoff on timeouts, lost connections and 502/503/504 only. A 500 from
  Frappe itself (``exc_type`` present) is a deterministic error: retrying it repeats it.

Errors become :class:`ApiError` with the HTTP status, Frappe's exception class and its message
as plain text; the writer (connectors.erpnext.api_write) decides what each means for the plan.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

#: ERPNext's own Sales Order status method (what its Hold / Resume buttons call)
UPDATE_STATUS = "erpnext.selling.doctype.sales_order.sales_order.update_status"
#: the status strings ERPNext's form sends. update_status does not validate its argument: any
#: other string RELEASES the order without the credit check, so only these two are ever sent
HOLD, RESUME = "On Hold", "Draft"

_RETRY_STATUS = {502, 503, 504}
_TAG = re.compile(r"<[^>]+>")


class ApiError(Exception):
    """An ERPNext answer other than success, or no answer at all (``status`` 0)."""

    def __init__(self, status: int, exc_type: str, message: str) -> None:
        super().__init__(f"{status} {exc_type}: {message}" if exc_type else f"{status}: {message}")
        self.status = status
        self.exc_type = exc_type
        self.message = message

    @property
    def stale(self) -> bool:
        """The document changed since it was read (optimistic concurrency)."""
        return self.status == 417 and self.exc_type == "TimestampMismatchError"


class _Transient(Exception):
    """Worth another attempt: no answer, or a gateway error in front of ERPNext."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def plain(text: str) -> str:
    """ERPNext's HTML message as one plain line."""
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def error_message(body: Any) -> tuple[str, str]:
    """(exc_type, message) of a Frappe error body."""
    if not isinstance(body, dict):
        return "", plain(str(body))[:300]
    exc_type = str(body.get("exc_type") or "")
    messages: list[str] = []
    try:
        for item in json.loads(body.get("_server_messages") or "[]"):
            message = json.loads(item).get("message") if isinstance(item, str) else None
            if message:
                messages.append(plain(str(message)))
    except (TypeError, ValueError):
        pass
    if not messages:
        text = str(body.get("exception") or body.get("_error_message") or "")
        messages.append(plain(text.split(": ", 1)[-1] if ": " in text else text))
    return exc_type, "; ".join(m for m in messages if m) or exc_type


@dataclass(frozen=True)
class ApiSettings:
    """Where and as whom to call (erp.options of the erpnext connector)."""

    url: str
    key: str
    secret: str
    timeout_s: float = 30.0
    attempts: int = 3
    backoff_s: float = 1.0


class ErpNextApi:
    """Thread-safe: one ``httpx.Client`` (its connection pool) shared by the writer's workers."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base, timeout=httpx.Timeout(settings.timeout_s),
            headers={"Authorization": f"token {settings.key}:{settings.secret}", "Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    # -- transport -------------------------------------------------------------------------

    def _once(self, method: str, path: str, params: dict | None, body: dict | None) -> Any:
        try:
            response = self._client.request(method, path, params=params, json=body)
        except httpx.TimeoutException:
            raise _Transient(f"no answer within {self.settings.timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None
        if response.status_code in _RETRY_STATUS:
            raise _Transient(f"HTTP {response.status_code} from the server in front of ERPNext")
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        if response.status_code >= 400:
            exc_type, message = error_message(payload)
            raise ApiError(response.status_code, exc_type, message)
        return payload

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> Any:
        s = self.settings
        try:
            for attempt in Retrying(
                retry=retry_if_exception(lambda e: isinstance(e, _Transient)),
                stop=stop_after_attempt(max(1, s.attempts)),
                wait=wait_exponential(multiplier=s.backoff_s, max=30),
                reraise=False,
            ):
                with attempt:
                    return self._once(method, path, params, body)
        except RetryError as exc:
            reason = exc.last_attempt.exception()
            raise ApiError(0, "", f"{getattr(reason, 'reason', reason)} after {s.attempts} attempt(s)") from None
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    # -- the calls -------------------------------------------------------------------------

    def logged_user(self) -> str:
        return str(self.call("GET", "/api/method/frappe.auth.get_logged_user")["message"])

    def get_doc(self, doctype: str, name: str) -> dict:
        return self.call("GET", f"/api/resource/{quote(doctype)}/{quote(name, safe='')}")["data"]

    def exists(self, doctype: str, name: str) -> bool:
        try:
            self.get_doc(doctype, name)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def set_values(self, doctype: str, name: str, values: dict[str, Any], modified: str | None = None) -> dict:
        """``frappe.client.set_value`` with a dict: the document is loaded, changed, validated and
        saved as a whole (Version row, cache invalidation). ``modified`` as read makes the save
        fail with 417 TimestampMismatchError when the document changed since. Returns the whole
        document after the save (for a child row: its parent)."""
        fields = dict(values)
        if modified is not None:
            fields["modified"] = modified
        return self.call("POST", "/api/method/frappe.client.set_value",
                         body={"doctype": doctype, "name": name, "fieldname": fields})["message"]

    def insert(self, doc: dict) -> dict:
        return self.call("POST", "/api/method/frappe.client.insert", body={"doc": doc})["message"]

    def update_status(self, order: str, status: str) -> None:
        if status not in (HOLD, RESUME):  # any other string would release the order unchecked
            raise ValueError(f"update_status: {status!r} is not {HOLD!r} or {RESUME!r}")
        self.call("POST", f"/api/method/{UPDATE_STATUS}", body={"name": order, "status": status})

    def add_comment(self, doctype: str, name: str, content: str, email: str, by: str) -> None:
        """A timeline comment, the way ERPNext's own Hold dialog adds one: needs only read on the
        document (``POST /api/resource/Comment`` needs System Manager)."""
        self.call("POST", "/api/method/frappe.desk.form.utils.add_comment", body={
            "reference_doctype": doctype, "reference_name": name, "content": content,
            "comment_email": email, "comment_by": by,
        })

    def comments(self, doctype: str, name: str) -> list[str]:
        """The contents of the document's timeline comments (as ``get_docinfo`` shows them)."""
        info = self.call("GET", "/api/method/frappe.desk.form.load.get_docinfo",
                         params={"doctype": doctype, "name": name})
        return [str(c.get("content") or "") for c in (info.get("docinfo") or {}).get("comments") or []]
