"""A stand-in for ERPNext's REST API, built from the exchanges recorded on a real ERPNext 15.102
site (tests/fixtures/erpnext_api, see its README.md): same paths, status codes and bodies,
including the error bodies, for the calls a credit-control tool makes.

It is a real HTTP server (werkzeug, on 127.0.0.1, a thread per request) that stores into the
generated ERPNext v15 tables (connectors.erpnext.schema) on whatever database the test gives it,
so a nightly round trip reads by SQL, writes by API and verifies by SQL for real. What ERPNext
does on a save is done here too: ``modified`` (site-local, naive) and ``modified_by``, a
tabVersion row in ERPNext's shape for Customer saves, Label comments on status changes, the
credit-limit validations. The traps the recordings show are reproduced, so tests can prove the
client never falls into them: a PUT of ``credit_limits`` replaces the whole child table,
``update_status`` releases an order for any status string but "On Hold" / "Closed" (and only
"Draft" re-checks the credit limit), ``"true"`` as a check is stored as 0, ``bulk_update`` is
not one transaction, a stale ``modified`` is a 417 TimestampMismatchError.

Like the site's development server it closes the connection after each answer, so a stopped
stand-in refuses new connections at once (a dead server). Knobs for failure tests: ``latency_s``,
``die_after_writes``, ``fail_5xx`` and ``before_write`` (a person's edit between two calls).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.erpnext import schema as t

RECORDINGS = Path(__file__).parent / "fixtures" / "erpnext_api"
UPDATE_STATUS = "erpnext.selling.doctype.sales_order.sales_order.update_status"


@dataclass(frozen=True)
class ApiUser:
    email: str
    roles: list[str]
    full_name: str = ""


SALES_USER = ApiUser("creditctl@example.com", ["Sales User"], "creditctl")

#: the role matrix measured on the site (permissions.json)
READ_CUSTOMER = {"Sales User", "Sales Manager", "Sales Master Manager", "Accounts Manager", "Accounts User"}
WRITE_CUSTOMER = {"Sales User", "Sales Master Manager"}
READ_ORDER = {"Sales User", "Sales Manager", "Maintenance User"}
SUBMIT_ORDER = READ_ORDER
COMMENT_RESOURCE = {"System Manager", "Website Manager"}
STANDARD_FIELDS = {"name", "owner", "creation", "modified", "modified_by", "docstatus", "idx", "doctype"}
CUSTOMER_FIELDS = {"is_frozen", "payment_terms", "customer_group", "customer_name", "disabled", "default_currency"}
CHECK_FIELDS = {"is_frozen", "disabled"}
LIMIT_FIELDS = ("company", "credit_limit", "bypass_credit_limit_check")
#: what GET /api/resource/<doctype> and frappe.client.get_value read, and the read permission they need
LISTED = {"Customer": (t.customer, READ_CUSTOMER), "Sales Order": (t.sales_order, READ_ORDER),
          "Comment": (t.comment, COMMENT_RESOURCE)}
#: the filter operators the stand-in's lists understand (Frappe's get_list has more)
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda c, v: c == v, "!=": lambda c, v: c != v, "<": lambda c, v: c < v, ">": lambda c, v: c > v,
    "<=": lambda c, v: c <= v, ">=": lambda c, v: c >= v, "in": lambda c, v: c.in_(_as_list(v)),
    "not in": lambda c, v: c.not_in(_as_list(v)), "like": lambda c, v: c.like(v),
}


# --------------------------------------------------------------------------- Frappe's error bodies


def _traceback(last_line: str) -> str:
    return json.dumps([f"Traceback (most recent call last):\n  [stack frames removed]\n{last_line}"])


def _messages(*messages: dict) -> str:
    return json.dumps([json.dumps(m) for m in messages])


def _message(text: str, title: str = "Message", **extra: Any) -> dict:
    return {"message": text, "title": title, "indicator": "red", "raise_exception": 1,
            "__frappe_exc_id": secrets.token_hex(28), **extra}


class FrappeError(Exception):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def authentication_error() -> FrappeError:
    return FrappeError(401, {"exception": "frappe.exceptions.AuthenticationError", "exc_type": "AuthenticationError",
                             "exc": _traceback("frappe.exceptions.AuthenticationError")})


def no_permission(user: str, doctype: str, *, on_document: bool = False, with_exception: bool = False) -> FrappeError:
    text = (f"User <strong>{user}</strong> does not have doctype access via role permission for document "
            f"<strong>{doctype}</strong>")
    if on_document:  # a GET of one document: the document-level sentence too, no _error_message
        text += f"<br>User <strong>{user}</strong> does not have access to this document"
        return FrappeError(403, {"exception": "frappe.exceptions.PermissionError", "exc_type": "PermissionError",
                                 "exc": _traceback("frappe.exceptions.PermissionError"),
                                 "_server_messages": _messages({"message": text, "title": "Message"})})
    body: dict[str, Any] = {"exc_type": "PermissionError",
                            "_server_messages": _messages({"message": text, "title": "Message"}),
                            "_error_message": f"No permission for {doctype}"}
    if with_exception:
        body = {"exception": "frappe.exceptions.PermissionError", "exc_type": "PermissionError",
                "exc": _traceback("frappe.exceptions.PermissionError"), **body}
    return FrappeError(403, body)


def not_whitelisted(method: str) -> FrappeError:
    text = (f"<details><summary>You are not permitted to access this resource. Login to access</summary>Function "
            f"<strong>{method}</strong> is not whitelisted.</details>")
    return FrappeError(403, {"exception": f"frappe.exceptions.PermissionError: {text}", "exc_type": "PermissionError",
                             "exc": _traceback(f"frappe.exceptions.PermissionError: {text}"),
                             "_server_messages": _messages(_message(text, "Method Not Allowed"))})


def not_found(doctype: str, name: str) -> FrappeError:
    return FrappeError(404, {"exc_type": "DoesNotExistError",
                             "_server_messages": _messages(_message(f"{doctype} {name} not found"))})


def validation(text: str, exc_type: str = "ValidationError", *, erpnext: bool = False, module: str = "frappe",
               title: str = "Message", **extra: Any) -> FrappeError:
    line = f"{module}.exceptions.{exc_type}: {text}"
    body: dict[str, Any] = {"exception": line, "exc_type": exc_type}
    if erpnext:
        body["_exc_source"] = "erpnext (app)"
    body.update({"exc": _traceback(line), "_server_messages": _messages(_message(text, title, **extra))})
    return FrappeError(417, body)


def server_error(exc_type: str, text: str) -> FrappeError:
    return FrappeError(500, {"exception": f"{exc_type}: {text}", "exc_type": exc_type,
                             "exc": _traceback(f"{exc_type}: {text}")})


def stale(stored: str, now: str) -> FrappeError:
    return validation(f"Error: Document has been modified after you have opened it ({stored}, {now}). Please "
                      "refresh to get the latest document.", "TimestampMismatchError")


# --------------------------------------------------------------------------- values as Frappe shows them


def shown(value: Any) -> Any:
    """A column value as Frappe's JSON shows it."""
    if isinstance(value, datetime):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def cint(value: Any) -> int:
    """Frappe's cint: numbers and JSON booleans as int, a string only when it is a number ("true" is 0)."""
    if isinstance(value, bool | int | float):
        return int(value)
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return 0


def _row(row) -> dict:  # noqa: ANN001 - a Row
    return {c: shown(v) for c, v in row._mapping.items() if not c.startswith("_")}


def no_nulls(doc: dict) -> dict:
    """A document as /api/resource answers it: Frappe's JSON handler writes documents with
    ``as_dict(no_nulls=True)``, child rows included (customer-read.json get_customer has no
    ``salutation``; put_clear_terms answers without ``payment_terms``, put_single_row_name_and_limit_only
    with a row without ``company``). /api/method answers (set_value, add_comment) keep the nulls."""
    return {k: [no_nulls(r) if isinstance(r, dict) else r for r in v] if isinstance(v, list) else v
            for k, v in doc.items() if v is not None}


def _when(value: Any) -> datetime | None:
    """A timestamp as a document carries it (a string, as read) for the database."""
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def _versioned(value: Any) -> Any:
    """A value as a Version row's ``changed`` shows it: an empty value is ""."""
    return "" if value is None else value


def _as_list(value: Any) -> list:
    return [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)


def _json_arg(value: Any, default: Any) -> Any:
    """A query parameter Frappe reads as JSON when it is JSON (fields, filters, fieldname)."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _filters(filters: Any) -> list[tuple[str, str, Any]]:
    """Frappe's filter forms: {field: value}, {field: [op, value]}, [[doctype, field, op, value]], [[field, op, value]]."""
    if isinstance(filters, dict):
        return [(f, str(v[0]).lower(), v[1]) if isinstance(v, list | tuple) else (f, "=", v)
                for f, v in filters.items()]
    if not isinstance(filters, list) or not all(isinstance(i, list) and len(i) >= 3 for i in filters):
        raise server_error("NotImplementedError", f"the stand-in does not understand the filters {filters!r}")
    return [(str(i[-3]), str(i[-2]).lower(), i[-1]) for i in filters]


# --------------------------------------------------------------------------- the stand-in


@dataclass
class ErpNextStandIn:
    engine: Engine
    users: dict[str, ApiUser] | None = None
    latency_s: float = 0.0
    die_after_writes: int | None = None
    before_write: Callable[[str, str], None] | None = None
    fail_5xx: int = 0
    tz: str = "Europe/Berlin"
    requests: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.users = self.users if self.users is not None else {"KEY:SECRET": SALES_USER}
        self._lock = threading.Lock()
        self._writes = 0
        self._server = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- server ---------------------------------------------------------------------------------

    def start(self) -> ErpNextStandIn:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.shutdown()
            server.server_close()

    def __enter__(self) -> ErpNextStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wsgi(self, environ, start_response):  # noqa: ANN001, ANN202 - WSGI
        request = Request(environ)
        if self.latency_s:
            time.sleep(self.latency_s)
        with self._lock:
            if self.fail_5xx > 0:
                self.fail_5xx -= 1
                response = Response("<html><body><h1>502 Bad Gateway</h1></body></html>", 502, mimetype="text/html")
                status, body = 502, None
            else:
                status, body = self._handle(request)
                response = Response(json.dumps(body, default=str), status, mimetype="application/json")
            self.requests.append({"method": request.method, "path": unquote(request.path),
                                  "body": request.get_json(silent=True), "status": status})
            wrote = request.method in ("POST", "PUT") and status == 200
            if wrote:
                self._writes += 1
            dying = self.die_after_writes is not None and self._writes >= self.die_after_writes and wrote
        response.headers["Connection"] = "close"  # as the site's dev server: no keep-alive
        if dying:  # answer this one, then stop listening: the next call finds no server
            threading.Thread(target=self.stop, daemon=True).start()
        return response(environ, start_response)

    # -- dispatch -------------------------------------------------------------------------------

    def _handle(self, request: Request) -> tuple[int, Any]:
        path = unquote(request.path)
        try:
            user = self._auth(request)
            body = request.get_json(silent=True) or {}
            self._touch(request.method, path, body)
            with self.engine.begin() as conn:
                return 200, self._route(conn, request.method, path, body, dict(request.args), user)
        except FrappeError as exc:
            return exc.status, exc.body

    def _auth(self, request: Request) -> ApiUser | None:
        header = request.headers.get("Authorization")
        if not header:
            return None  # Guest
        kind, _, credentials = header.partition(" ")
        if kind.lower() == "basic":
            try:
                credentials = base64.b64decode(credentials).decode()
            except ValueError:
                raise authentication_error() from None
        elif kind.lower() != "token":
            raise authentication_error()
        if ":" not in credentials or credentials not in self.users:
            raise authentication_error()
        return self.users[credentials]

    def _route(self, conn: Connection, method: str, path: str, body: dict, args: dict, user: ApiUser | None) -> Any:
        if path == "/api/method/frappe.auth.get_logged_user":
            if user is None:
                raise not_whitelisted("frappe.auth.get_logged_user")
            return {"message": user.email}
        email = user.email if user else "Guest"
        roles = set(user.roles) if user else set()
        if path.startswith("/api/resource/"):
            doctype, _, name = path[len("/api/resource/"):].partition("/")
            if method == "GET" and not name and doctype in LISTED:
                # a list (customer-read.json list_customers_fields, comments.json list_comments_*);
                # a GET of Comment used to create a comment here
                return {"data": self._list(conn, doctype, args, roles, email)}
            if doctype == "Comment":
                if not roles & COMMENT_RESOURCE:
                    raise no_permission(email, "Comment", with_exception=method == "GET")
                if method == "POST" and not name:
                    return {"data": no_nulls(self._resource_comment(conn, body, email))}
                raise server_error("NotImplementedError", f"the stand-in does not serve {method} {path}")
            if method == "GET" and doctype in ("Customer", "Sales Order") and name:
                allowed = READ_CUSTOMER if doctype == "Customer" else READ_ORDER
                if not roles & allowed:
                    raise no_permission(email, doctype, on_document=True)
                doc = self._customer(conn, name) if doctype == "Customer" else self._order(conn, name)
                return {"data": no_nulls(doc)}
            if method == "PUT" and doctype == "Customer" and name:
                self._may_write_customer(roles, email)
                self._exists(conn, "Customer", name)
                return {"data": no_nulls(self._save_customer(conn, name, body, email))}
            if method == "PUT" and doctype == "Customer Credit Limit" and name:
                self._may_write_customer(roles, email)
                return {"data": no_nulls(self._put_limit_row(conn, name, body, email))}
            raise server_error("NotImplementedError", f"the stand-in does not serve {method} {path}")
        method_name = path[len("/api/method/"):]
        if method_name == "frappe.client.get_value":  # customer-read.json get_value_is_frozen
            found = self._get_value(conn, {**args, **body}, roles, email)
            return {} if found is None else {"message": found}
        if method_name == "frappe.client.set_value":
            return {"message": self._set_value(conn, body, roles, email)}
        if method_name == "frappe.client.insert":
            return {"message": self._insert(conn, body, roles, email)}
        if method_name == "frappe.client.delete":
            self._delete(conn, body, roles, email)
            return {}
        if method_name == UPDATE_STATUS:
            if not roles & SUBMIT_ORDER:
                raise no_permission(email, "Sales Order")
            params = body if method != "GET" else args
            if "status" not in params:
                raise server_error("TypeError", "update_status() missing 1 required positional argument: 'status'")
            if method == "GET":
                return {}  # Frappe commits only on POST / PUT / DELETE: nothing persists
            self._exists(conn, "Sales Order", params.get("name"))
            self._update_status(conn, params["name"], str(params["status"]), email)
            return {}
        if method_name == "frappe.desk.form.utils.add_comment":
            return {"message": self._add_comment(conn, body, roles, email)}
        if method_name == "frappe.desk.form.load.get_docinfo":
            doctype, name = args.get("doctype"), args.get("name")
            allowed = READ_CUSTOMER if doctype == "Customer" else READ_ORDER
            if not roles & allowed:
                raise no_permission(email, doctype)
            self._exists(conn, doctype, name)
            return {"docinfo": {"comments": self._comments(conn, doctype, name)}}
        if method_name == "frappe.client.bulk_update":
            return self._bulk_update(conn, body, roles, email)
        raise server_error("NotImplementedError", f"the stand-in does not serve {method} {path}")

    def _touch(self, method: str, path: str, body: dict) -> None:
        """Call ``before_write`` with the document a write request names, before its transaction
        starts (inside it, MariaDB's repeatable read would hide the edit the hook makes)."""
        if self.before_write is None or method not in ("POST", "PUT"):
            return
        if path.startswith("/api/resource/"):
            doctype, _, name = path[len("/api/resource/"):].partition("/")
        elif path.endswith(UPDATE_STATUS):
            doctype, name = "Sales Order", body.get("name")
        elif path.endswith("frappe.client.insert"):
            doc = body.get("doc") if isinstance(body.get("doc"), dict) else {}
            doctype, name = str(doc.get("parenttype") or ""), doc.get("parent")
        else:
            doctype, name = body.get("doctype") or body.get("reference_doctype"), \
                body.get("name") or body.get("reference_name")
        if doctype and name:
            self.before_write(str(doctype), str(name))

    # -- reads ----------------------------------------------------------------------------------

    def _exists(self, conn: Connection, doctype: str, name: Any) -> None:
        table = {"Customer": t.customer, "Sales Order": t.sales_order}.get(doctype)
        if table is None or conn.execute(select(table.c.name).where(table.c.name == str(name))).first() is None:
            raise not_found(doctype, name)

    def _customer(self, conn: Connection, name: str) -> dict:
        row = conn.execute(select(t.customer).where(t.customer.c.name == name)).first()
        if row is None:
            raise not_found("Customer", name)
        doc = {**_row(row), "doctype": "Customer", "companies": []}
        doc["credit_limits"] = [{**_row(r), "doctype": "Customer Credit Limit"}
                                for r in self._limit_rows(conn, name)]
        # the Customer's other child tables, empty on the site (customer-read.json get_customer)
        doc.update(sales_team=[], portal_users=[], accounts=[])
        return doc

    def _limit_rows(self, conn: Connection, customer: str) -> list:
        ccl = t.customer_credit_limit
        return list(conn.execute(select(ccl).where(ccl.c.parenttype == "Customer", ccl.c.parent == customer)
                                 .order_by(ccl.c.idx)))

    def _order(self, conn: Connection, name: str) -> dict:
        row = conn.execute(select(t.sales_order).where(t.sales_order.c.name == name)).first()
        if row is None:
            raise not_found("Sales Order", name)
        return {**_row(row), "doctype": "Sales Order"}

    def _column(self, table, doctype: str, field_: str):  # noqa: ANN001, ANN202 - a Table, a Column
        if field_ not in table.c or field_.startswith("_"):
            raise server_error("NotImplementedError", f"the stand-in does not know the field {doctype}.{field_}")
        return table.c[field_]

    def _select(self, conn: Connection, doctype: str, fields: list[str], filters: Any, order_by: str,
                limit: int, start: int = 0) -> list[dict]:
        table = LISTED[doctype][0]
        query = select(*[self._column(table, doctype, f) for f in fields])
        for field_, op, value in _filters(filters):
            if op not in OPERATORS:
                raise server_error("NotImplementedError", f"the stand-in does not know the operator {op!r}")
            query = query.where(OPERATORS[op](self._column(table, doctype, field_), value))
        key, _, direction = order_by.strip().partition(" ")
        column = self._column(table, doctype, key.strip("`").split("`.`")[-1])
        query = query.order_by(column.desc() if direction.strip().lower() == "desc" else column.asc())
        if limit:
            query = query.limit(limit)
        if start:
            query = query.offset(start)
        return [{f: shown(v) for f, v in zip(fields, row, strict=True)} for row in conn.execute(query)]

    def _list(self, conn: Connection, doctype: str, args: dict, roles: set[str], email: str) -> list[dict]:
        """GET /api/resource/<doctype>: fields, filters (JSON), order_by, limit_page_length, limit_start,
        as frappe.client.get_list (default: ``name`` only, ``modified desc``, 20 rows). A list keeps its nulls."""
        if not roles & LISTED[doctype][1]:  # comments.json list_comments_403_sales_user
            raise no_permission(email, doctype, with_exception=True)
        fields = _json_arg(args.get("fields"), ["name"])
        fields = [fields] if isinstance(fields, str) else list(fields)
        return self._select(conn, doctype, fields, _json_arg(args.get("filters"), []),
                            str(args.get("order_by") or "modified desc"),
                            int(args.get("limit_page_length") or args.get("limit") or 20),
                            int(args.get("limit_start") or 0))

    def _get_value(self, conn: Connection, params: dict, roles: set[str], email: str) -> dict | None:
        """frappe.client.get_value: the first match's fields as a dict (None when nothing matches)."""
        doctype = str(params.get("doctype") or "")
        if doctype not in LISTED:
            raise server_error("NotImplementedError", f"the stand-in does not serve get_value on {doctype}")
        if not roles & LISTED[doctype][1]:  # not recorded: as frappe.throw(..., PermissionError) answers
            error = validation(f"No permission for {doctype}", "PermissionError")
            error.status = 403
            raise error
        filters = _json_arg(params.get("filters"), {})
        if isinstance(filters, str):  # a name
            filters = {"name": filters}
        fields = _json_arg(params.get("fieldname"), "name")
        fields = [fields] if isinstance(fields, str) else list(fields)
        rows = self._select(conn, doctype, fields, filters, "modified desc", 1)
        return rows[0] if rows else None

    def _now(self) -> datetime:
        return datetime.now(ZoneInfo(self.tz)).replace(tzinfo=None)

    # -- Customer saves -------------------------------------------------------------------------

    def _may_write_customer(self, roles: set[str], email: str) -> None:
        if not roles & WRITE_CUSTOMER:
            raise no_permission(email, "Customer")

    def _save_customer(self, conn: Connection, name: str, values: dict, email: str,
                       limits: list[dict] | None = None) -> dict:
        """Load, change, validate and save a Customer as Frappe's Document.save does."""
        doc = self._customer(conn, name)
        if "modified" in values and str(values["modified"]) != doc["modified"]:
            raise stale(doc["modified"], str(self._now()))
        sent = {k: v for k, v in values.items() if k in CUSTOMER_FIELDS}
        changes = dict(sent)
        for key in CHECK_FIELDS & changes.keys():
            changes[key] = cint(changes[key])
        if changes.get("payment_terms"):
            ptt = t.payment_terms_template
            if conn.execute(select(ptt.c.name).where(ptt.c.name == changes["payment_terms"])).first() is None:
                raise validation(f"Could not find Default Payment Terms Template: {changes['payment_terms']}",
                                 "LinkValidationError")
        old_rows = doc["credit_limits"]
        new_rows = limits if limits is not None else (
            [dict(r) for r in values["credit_limits"]] if "credit_limits" in values else None)
        if new_rows is not None:
            self._validate_limits(conn, name, old_rows, new_rows)
        now = self._now()
        # the Version row shows the values as set on the document, before the database casts them:
        # "yes" for a Check stored as 0 (customer-freeze.json put_invalid_check_value), "" for a cleared
        # field (set_value_unfreeze_value_0, customer-payment-terms.json put_clear_terms)
        changed = [[k, _versioned(doc.get(k)), _versioned(v)] for k, v in sent.items()
                   if _versioned(doc.get(k)) != _versioned(v)]
        conn.execute(update(t.customer).where(t.customer.c.name == name).values(
            **changes, modified=now, modified_by=email))
        added, removed, row_changed = [], [], []
        if new_rows is not None:
            parent = conn.execute(select(t.customer.c.owner, t.customer.c.creation)
                                  .where(t.customer.c.name == name)).first()
            added, removed, row_changed = self._write_limits(conn, name, old_rows, new_rows, email, now, parent)
        ccl = t.customer_credit_limit  # the save stamps every child row, as Frappe's does
        conn.execute(update(ccl).where(ccl.c.parenttype == "Customer", ccl.c.parent == name)
                     .values(modified=now, modified_by=email))
        if changed or added or removed or row_changed:
            conn.execute(insert(t.version).values(
                name=secrets.token_hex(5), creation=now, modified=now, owner=email, modified_by=email,
                docstatus=0, idx=0, ref_doctype="Customer", docname=name,
                data=json.dumps({"changed": changed, "added": added, "removed": removed, "row_changed": row_changed,
                                 "data_import": None, "updater_reference": None}, default=str)))
        saved = self._customer(conn, name)
        new_names = {row["name"] for _, row in added}
        for row in saved["credit_limits"]:  # rows added by this save are answered with __unsaved
            if row["name"] in new_names:  # (customer-credit-limits.json put_first_own_row, insert_child_row_append)
                row["__unsaved"] = 1
        return saved

    def _validate_limits(self, conn: Connection, customer: str, old_rows: list[dict], new_rows: list[dict]) -> None:
        companies = {c for (c,) in conn.execute(select(t.company.c.name))}
        seen: set[str] = set()
        for idx, row in enumerate(new_rows, start=1):
            company = row.get("company") or ""
            if company and company not in companies:
                raise validation(f"Could not find Row #{idx}: Company: {company}", "LinkValidationError")
            if company in seen:
                raise validation(f"Credit limit is already defined for the Company {company}", erpnext=True)
            seen.add(company)
        before = {r["name"]: float(r.get("credit_limit") or 0) for r in old_rows}
        for row in new_rows:
            limit = float(row.get("credit_limit") or 0)
            if row.get("name") in before and before[row["name"]] == limit:
                continue  # ERPNext checks changed limits only
            outstanding = self._outstanding(conn, customer, row.get("company") or "",
                                            bool(cint(row.get("bypass_credit_limit_check"))))
            if 0 < limit < outstanding:
                raise validation("New credit limit is less than current outstanding amount for the customer. "
                                 f"Credit limit has to be atleast {outstanding}", erpnext=True)

    def _write_limits(self, conn: Connection, customer: str, old_rows: list[dict], new_rows: list[dict],
                      email: str, now: datetime, parent: Any = None) -> tuple[list, list, list]:
        """Replace the customer's credit_limits with ``new_rows`` (Frappe's child-table semantics).
        A row without ``creation`` takes its parent's (customer-credit-limits.json
        put_full_list_add_other_company_row: the new row's creation is the Customer's 2022-11-11 09:00:00);
        a row rewritten without ``owner`` takes its parent's owner (put_single_row_name_and_limit_only:
        Administrator), a new one the API user's."""
        created = parent.creation if parent is not None else None
        ccl = t.customer_credit_limit
        old = {r["name"]: r for r in old_rows}
        kept = {r.get("name") for r in new_rows if r.get("name") in old}
        added, removed, row_changed = [], [], []
        for name in [r["name"] for r in old_rows if r["name"] not in kept]:  # in the table's order, as the
            conn.execute(delete(ccl).where(ccl.c.name == name))  # Version shows them (put_single_row_no_name)
            removed.append(["credit_limits", old[name]])
        for idx, row in enumerate(new_rows, start=1):
            # a field not sent is empty: a row rewritten from a partial dict loses its company / flag
            values = {"company": row.get("company") or None, "credit_limit": float(row.get("credit_limit") or 0),
                      "bypass_credit_limit_check": cint(row.get("bypass_credit_limit_check")), "idx": idx}
            if row.get("name") in old:
                previous = old[row["name"]]
                # diffs of the values as sent: a flag left out shows as 0 -> null although 0 is stored
                # (customer-credit-limits.json put_single_row_name_and_limit_only); rows counted from 0
                diffs = [[f, previous.get(f), row.get(f)] for f in LIMIT_FIELDS if previous.get(f) != row.get(f)]
                stamps = {"owner": row.get("owner") or (parent.owner if parent is not None else None),
                          "creation": _when(row.get("creation")) or created}
                conn.execute(update(ccl).where(ccl.c.name == row["name"]).values(
                    **values, **{k: v for k, v in stamps.items() if v is not None}))
                if diffs:
                    row_changed.append(["credit_limits", idx - 1, row["name"], diffs])
            else:
                name = secrets.token_hex(5)
                conn.execute(insert(ccl).values(name=name, creation=created or now, owner=email, docstatus=0,
                                                parent=customer, parenttype="Customer", parentfield="credit_limits",
                                                **values))
                added.append(["credit_limits", {"name": name, **values}])
        return added, removed, row_changed

    def _outstanding(self, conn: Connection, customer: str, company: str, ignore_orders: bool) -> float:
        """ERPNext's get_customer_outstanding, simplified: ledger balance + unbilled open orders."""
        ple, so = t.payment_ledger_entry, t.sales_order
        total = float(conn.execute(select(func.coalesce(func.sum(ple.c.amount), 0)).where(
            ple.c.party_type == "Customer", ple.c.party == customer, ple.c.company == company,
            ple.c.delinked == 0)).scalar() or 0)
        if not ignore_orders:
            total += float(conn.execute(select(func.coalesce(func.sum(
                so.c.base_grand_total * (100 - so.c.per_billed) / 100), 0)).where(
                so.c.customer == customer, so.c.company == company, so.c.docstatus == 1,
                so.c.status.not_in(["Closed", "Completed"]), so.c.per_billed < 100)).scalar() or 0)
        return round(total, 2)

    def _credit_limit(self, conn: Connection, customer: str, company: str) -> float:
        """ERPNext's get_credit_limit: the customer's row, else its group's (unless bypassed), else the company's."""
        ccl = t.customer_credit_limit
        own = conn.execute(select(ccl.c.credit_limit).where(
            ccl.c.parenttype == "Customer", ccl.c.parent == customer, ccl.c.company == company)).scalar()
        if own:
            return float(own)
        group = conn.execute(select(t.customer.c.customer_group).where(t.customer.c.name == customer)).scalar()
        grow = conn.execute(select(ccl.c.credit_limit).where(
            ccl.c.parenttype == "Customer Group", ccl.c.parent == group, ccl.c.company == company,
            ccl.c.bypass_credit_limit_check == 0)).scalar()
        if grow:
            return float(grow)
        return float(conn.execute(select(t.company.c.credit_limit).where(t.company.c.name == company)).scalar() or 0)

    def _set_value(self, conn: Connection, body: dict, roles: set[str], email: str) -> dict:
        doctype, name, fieldname = body.get("doctype"), body.get("name"), body.get("fieldname")
        if isinstance(fieldname, str) and fieldname in STANDARD_FIELDS:  # checked first, as frappe.client.set_value
            raise validation("Cannot edit standard fields")
        value = body.get("value")
        if value:
            values = {fieldname: value}
        elif isinstance(fieldname, dict):
            values = dict(fieldname)
        else:  # a falsy value is "no value": the field is set to "" (customer-freeze.json set_value_unfreeze_value_0)
            parsed = _json_arg(fieldname, None)
            values = parsed if isinstance(parsed, dict) else {fieldname: ""}
        if doctype == "Customer":
            self._may_write_customer(roles, email)
            self._exists(conn, "Customer", name)
            return self._save_customer(conn, name, values, email)
        if doctype == "Customer Credit Limit":
            ccl = t.customer_credit_limit
            row = conn.execute(select(ccl).where(ccl.c.name == str(name))).first()
            if row is None:
                raise server_error("AttributeError", "'NoneType' object has no attribute 'parenttype'")
            self._may_write_customer(roles, email)
            rows = [dict(r) for r in self._customer(conn, row.parent)["credit_limits"]]
            for r in rows:
                if r["name"] == name:
                    r.update({k: v for k, v in values.items() if k in LIMIT_FIELDS})
            return self._save_customer(conn, row.parent, {}, email, limits=rows)
        raise server_error("NotImplementedError", f"the stand-in does not serve set_value on {doctype}")

    def _insert(self, conn: Connection, body: dict, roles: set[str], email: str) -> dict:
        doc = body.get("doc") or {}
        if isinstance(doc, str):
            doc = json.loads(doc)
        if doc.get("doctype") != "Customer Credit Limit" or doc.get("parenttype") != "Customer":
            raise server_error("NotImplementedError", "the stand-in inserts Customer Credit Limit rows only")
        self._may_write_customer(roles, email)
        self._exists(conn, "Customer", doc.get("parent"))
        rows = [dict(r) for r in self._customer(conn, doc["parent"])["credit_limits"]]
        rows.append({k: doc.get(k) for k in LIMIT_FIELDS})
        return self._save_customer(conn, doc["parent"], {}, email, limits=rows)

    def _delete(self, conn: Connection, body: dict, roles: set[str], email: str) -> None:
        ccl = t.customer_credit_limit
        row = conn.execute(select(ccl).where(ccl.c.name == str(body.get("name")))).first()
        if body.get("doctype") != "Customer Credit Limit" or row is None:
            raise not_found(str(body.get("doctype")), str(body.get("name")))
        self._may_write_customer(roles, email)
        rows = [dict(r) for r in self._customer(conn, row.parent)["credit_limits"] if r["name"] != row.name]
        self._save_customer(conn, row.parent, {}, email, limits=rows)

    def _put_limit_row(self, conn: Connection, name: str, body: dict, email: str) -> dict:
        """PUT of the child row itself: written without the parent's validation and Version (a trap)."""
        ccl = t.customer_credit_limit
        if conn.execute(select(ccl.c.name).where(ccl.c.name == name)).first() is None:
            raise not_found("Customer Credit Limit", name)
        values = {k: v for k, v in body.items() if k in LIMIT_FIELDS}
        conn.execute(update(ccl).where(ccl.c.name == name).values(**values, modified=self._now(), modified_by=email))
        row = conn.execute(select(ccl).where(ccl.c.name == name)).first()
        # then the parent is saved unchanged: its modified / modified_by (and its rows') move on, no
        # validation, no Version (customer-credit-limits.json put_child_resource: the Customer's modified
        # is later than the row's in the answer)
        now = self._now()
        conn.execute(update(t.customer).where(t.customer.c.name == row.parent).values(modified=now, modified_by=email))
        conn.execute(update(ccl).where(ccl.c.parenttype == "Customer", ccl.c.parent == row.parent)
                     .values(modified=now, modified_by=email))
        return {**_row(row), "doctype": "Customer Credit Limit"}

    # -- Sales Orders ---------------------------------------------------------------------------

    def _update_status(self, conn: Connection, name: str, status: str, email: str) -> None:
        so = t.sales_order
        order = conn.execute(select(so).where(so.c.name == name)).first()
        if status in ("On Hold", "Closed"):
            new = status
        else:  # any other string, valid or not, resumes the order; only "Draft" re-checks the limit
            if status == "Draft":
                limit = self._credit_limit(conn, order.customer, order.company)
                outstanding = self._outstanding(conn, order.customer, order.company, False)
                if limit > 0 and outstanding > limit:
                    text = (f"Credit limit has been crossed for customer {order.customer} ({outstanding}/{limit})"
                            f"<br><br>Please contact any of the following users to extend the credit limits for "
                            f"{order.customer}: <br><br><ul><li>Credit Admin (credit@acme.example)</li></ul>")
                    raise validation(text, erpnext=True, title="Credit Limit Crossed", primary_action={
                        "label": "Send Email", "server_action": "erpnext.selling.doctype.customer.customer.send_emails",
                        "hide_on_success": True, "args": {
                            "customer": order.customer, "customer_outstanding": outstanding, "credit_limit": limit,
                            "credit_controller_users_list": ["credit@acme.example"]}})
            delivered, billed = float(order.per_delivered or 0) >= 100, float(order.per_billed or 0) >= 100
            new = ("Completed" if delivered and billed else "To Bill" if delivered
                   else "To Deliver" if billed else "To Deliver and Bill")
        now = self._now()
        conn.execute(update(so).where(so.c.name == name).values(status=new, modified=now, modified_by=email))
        if new != order.status:  # a second hold only bumps modified: no Label (sales-order-status.json
            # hold_again_when_on_hold; nor did the permission probes' "Draft" on an open order, comments.json)
            self._store_comment(conn, "Label", "Sales Order", name, new, email, now)

    # -- comments -------------------------------------------------------------------------------

    def _store_comment(self, conn: Connection, kind: str, doctype: str, name: str, content: str, email: str,
                       now: datetime, by: str | None = None, comment_email: str | None = None) -> dict:
        row = {"name": secrets.token_hex(5), "owner": email, "creation": now, "modified": now, "modified_by": email,
               "docstatus": 0, "idx": 0, "comment_type": kind, "comment_email": comment_email or email,
               "comment_by": by,
               "published": 0, "seen": 0, "reference_doctype": doctype, "reference_name": name, "content": content}
        conn.execute(insert(t.comment).values(**row))
        return {**{k: shown(v) for k, v in row.items()}, "doctype": "Comment"}

    def _add_comment(self, conn: Connection, body: dict, roles: set[str], email: str) -> dict:
        names = ["reference_doctype", "reference_name", "content", "comment_email", "comment_by"]
        missing = [n for n in names if n not in body]
        if missing:
            listed = " and ".join(f"'{n}'" for n in missing) if len(missing) <= 2 else \
                ", ".join(f"'{n}'" for n in missing[:-1]) + f", and '{missing[-1]}'"
            raise server_error("TypeError", f"add_comment() missing {len(missing)} required positional "
                                            f"argument{'s' if len(missing) > 1 else ''}: {listed}")
        doctype, name = body["reference_doctype"], body["reference_name"]
        allowed = READ_CUSTOMER if doctype == "Customer" else READ_ORDER
        if not roles & allowed:
            raise no_permission(email, doctype)
        self._exists(conn, doctype, name)
        return self._store_comment(conn, "Comment", doctype, name, str(body["content"]), email, self._now(),
                                   body["comment_by"])

    def _resource_comment(self, conn: Connection, body: dict, email: str) -> dict:
        kinds = ["Comment", "Like", "Info", "Label", "Workflow", "Created", "Submitted", "Cancelled", "Updated",
                 "Deleted", "Assigned", "Assignment Completed", "Attachment", "Attachment Removed", "Shared",
                 "Unshared", "Bot", "Relinked", "Edit"]
        kind = body.get("comment_type") or "Comment"
        if kind not in kinds:
            raise validation(f' Comment Type cannot be "{kind}". It should be one of '
                             + ", ".join(f'"{k}"' for k in kinds))
        doctype, name = body.get("reference_doctype"), body.get("reference_name")
        try:
            self._exists(conn, doctype, name)
        except FrappeError:
            raise validation(f"Could not find Reference Name: {name}", "LinkValidationError") from None
        # comment_email and comment_by as sent; comment_email defaults to the session user
        # (comments.json resource_comment_system_manager_customer / resource_comment_system_manager)
        return self._store_comment(conn, kind, doctype, name, str(body.get("content") or ""), email, self._now(),
                                   body.get("comment_by"), body.get("comment_email"))

    def _comments(self, conn: Connection, doctype: str, name: str) -> list[dict]:
        c = t.comment
        rows = conn.execute(select(c.c.name, c.c.creation, c.c.content, c.c.owner, c.c.comment_type).where(
            c.c.reference_doctype == doctype, c.c.reference_name == name, c.c.comment_type == "Comment")
            .order_by(c.c.creation.desc())).all()
        return [{"name": r.name, "creation": shown(r.creation), "content": f"<p>{r.content}</p>\n", "owner": r.owner,
                 "comment_type": r.comment_type, "published": 0} for r in rows]

    # -- batches --------------------------------------------------------------------------------

    def _bulk_update(self, conn: Connection, body: dict, roles: set[str], email: str) -> dict:
        """Each doc saved on its own, errors caught: NOT one transaction (the recorded trap)."""
        docs = body.get("docs")
        if not isinstance(docs, str):
            raise server_error("TypeError", f"the JSON object must be str, bytes or bytearray, not "
                                            f"{type(docs).__name__ if docs is not None else 'NoneType'}")
        failed, messages, error_message = [], [], None
        for doc in json.loads(docs):
            values = {k: v for k, v in doc.items() if k not in ("doctype", "docname")}
            try:
                with conn.begin_nested():  # this doc's save only; the others stay
                    if doc.get("doctype") != "Customer":
                        raise not_found(str(doc.get("doctype")), str(doc.get("docname")))
                    self._may_write_customer(roles, email)
                    self._exists(conn, "Customer", doc.get("docname"))
                    self._save_customer(conn, doc["docname"], values, email)
            except FrappeError as exc:
                body_ = exc.body
                shown_ = [json.loads(m) for m in json.loads(body_.get("_server_messages") or "[]")]
                message = shown_[0]["message"] if shown_ else body_.get("exception", "")
                if body_.get("exc_type") == "PermissionError":
                    # raised bare after its message, which is passed on as it was (no indicator), with
                    # _error_message (batch.json bulk_update_permission_denied_in_body)
                    line = "frappe.exceptions.PermissionError"
                    error_message = body_.get("_error_message", error_message)
                else:
                    line = body_.get("exception") or f"frappe.exceptions.{body_.get('exc_type')}: {message}"
                failed.append({"doc": doc, "exc": f"Traceback (most recent call last):\n  [stack frames removed]\n{line}"})
                messages.extend(shown_ or [_message(message)])
        answer: dict[str, Any] = {"message": {"failed_docs": failed}}
        if messages:
            answer["_server_messages"] = _messages(*messages)
        if error_message:
            answer["_error_message"] = error_message
        return answer
