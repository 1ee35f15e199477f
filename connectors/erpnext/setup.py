"""``creditctl connector setup erpnext``: check, in one report, what the ERPNext writes need.

Nothing is changed in ERPNext: each check says what is wrong and what to do.

* the API user: the token is accepted (``frappe.auth.get_logged_user``);
* its roles (``tabHas Role``): *Sales User* (write on Customer, submit on Sales Order). Measured
  on a real site: Sales Manager, Accounts Manager and System Manager cannot write Customers;
  Sales Master Manager can, but cannot hold orders;
* the configured prepayment template exists (``tabPayment Terms Template``);
* Accounts Settings' "Role Allowed to Set Frozen Accounts and Edit Frozen Entries"
  (``frozen_accounts_modifier``, in ``tabSingles``) names a role someone has: ERPNext refuses
  every document of a frozen customer, payments included, to users without that role, so
  without it a block also stops the customer paying its debts;
* the read user reads every table the connector reads;
* ``erp.options.tool_user`` is the API user, so that the change history ERPNext records of the
  API user's saves (tabVersion) is recognised as creditctl's.
"""

from __future__ import annotations

from sqlalchemy import func, select

from connectors.erpnext import schema as t
from connectors.erpnext.api import ApiError
from connectors.erpnext.connector import ErpNextConnector
from connectors.setup_checks import Check, rows_or_none, unreadable
from etl.ports import ConnectorError

#: roles that may write Customers, and roles that may submit (hold / release) Sales Orders
CUSTOMER_WRITE = ("Sales User", "Sales Master Manager")
ORDER_SUBMIT = ("Sales User", "Sales Manager", "Maintenance User")
#: the tables the read user must be able to read
READ_TABLES = (t.company, t.currency_exchange, t.customer, t.customer_group, t.customer_credit_limit,
               t.payment_terms_template, t.payment_terms_template_detail, t.sales_invoice, t.sales_invoice_item,
               t.payment_schedule, t.payment_ledger_entry, t.dunning, t.overdue_payment, t.sales_order,
               t.delivery_note, t.delivery_note_item, t.version, t.comment, t.has_role, t.singles)


def check_setup(connector: ErpNextConnector) -> list[Check]:
    checks: list[Check] = []
    user = None
    try:
        api = connector.api()
    except ConnectorError as exc:
        checks.append(Check("API user", False, str(exc)))
    else:
        try:
            user = api.logged_user()
            checks.append(Check("API user", True, f"{api.base} accepts the token of {user}"))
        except ApiError as exc:
            o = connector.api_options
            checks.append(Check("API user", False, f"{api.base} refused the token ({exc}): put the API user's key "
                                                   f"and secret into {o['api_key_env']} and {o['api_secret_env']}"))
        finally:
            api.close()

    if user is not None:
        roles = {r for (r,) in rows_or_none(connector, "read tabHas Role", select(t.has_role.c.role).where(
            t.has_role.c.parenttype == "User", t.has_role.c.parent == user)) or []}
        missing = [what for what, allowed in (("write on Customer", CUSTOMER_WRITE),
                                              ("submit on Sales Order", ORDER_SUBMIT)) if not roles & set(allowed)]
        checks.append(Check("API user's roles", not missing,
                            f"{user} has {', '.join(sorted(roles)) or 'no roles'}" + (
                                f"; it lacks {' and '.join(missing)}: give it the role Sales User (Sales Manager, "
                                "Accounts Manager and System Manager cannot write Customers)" if missing else "")))
        tool_user = connector.tool_user
        checks.append(Check("tool_user", tool_user == user,
                            f"erp.options.tool_user is {tool_user}" + ("" if tool_user == user else
                            f": set it to {user}, the API user, so the change history ERPNext keeps of its saves "
                            "is recognised as creditctl's")))

    template = connector.prepayment_terms
    found = rows_or_none(connector, "read tabPayment Terms Template", select(t.payment_terms_template.c.name).where(
        t.payment_terms_template.c.name == template))
    checks.append(Check("prepayment template", bool(found), f"Payment Terms Template {template!r} " + (
        "exists" if found else "does not exist: create it in ERPNext (one term, 100 %, 0 credit days) or set "
                               "erp.options.prepayment_terms to the template that means prepayment")))

    s = t.singles
    rows = rows_or_none(connector, "read Accounts Settings (tabSingles)", select(s.c.value).where(
        s.c.doctype == "Accounts Settings", s.c.field == "frozen_accounts_modifier"))
    role = next((v for (v,) in rows or [] if v), None)
    if role is None:
        checks.append(Check("frozen entries role", False,
                            "Accounts Settings has no \"Role Allowed to Set Frozen Accounts and Edit Frozen Entries\": "
                            "a blocked (frozen) customer's payments are refused too; set it to a role of the "
                            "accounts team"))
    else:
        counted = rows_or_none(connector, "read tabHas Role", select(func.count()).select_from(t.has_role).where(
            t.has_role.c.parenttype == "User", t.has_role.c.role == role))
        holders = counted[0][0] if counted else 0
        checks.append(Check("frozen entries role", holders > 0,
                            f"users with the role {role!r} ({holders}) can book payments of frozen customers" if holders
                            else f"no user has the role {role!r} that Accounts Settings allows to edit frozen "
                                 "entries: give it to the accounts team, or a block stops payments too"))

    missing = unreadable(connector, READ_TABLES)
    checks.append(Check("read user", not missing, "reads every table the connector reads" if not missing
                        else f"cannot read {', '.join(missing)}: grant SELECT on them (docs/connectors.md)"))
    return checks
