"""``creditctl connector setup odoo``: add the hold columns if missing, then check, in one report,
what the connector's writes need to be enforced by Odoo (SPEC §6.3).

* hold fields: ``sale_order.x_credit_hold`` / ``x_credit_hold_reason`` exist, added here (SQL,
  as the database owner) when missing; the addon declares the same fields once installed;
* the addon ``creditctl_credit_control`` is installed (``ir_module_module.state = 'installed'``;
  'to install' / 'to upgrade' are not yet: Odoo runs the Python only after the server applies
  them). Without it the holds and blocks are inert and ``apply`` refuses;
* the configured prepayment term exists in ``account_payment_term`` (matched by its en_US name,
  as the connector's reads and writes match it);
* the configured user reads every table the connector reads.

Nothing but the two columns is changed: each failed check says what to do.
"""

from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.engine import make_url

from connectors.odoo import read
from connectors.odoo.connector import WHY_INERT, OdooConnector, add_hold_fields
from connectors.odoo.tables import ADDON, tables
from connectors.setup_checks import Check, rows_or_none, unreadable
from etl.ports import ConnectorError

INSTALL = "docs/connectors/odoo.md#installing-the-addon"


def _hold_fields(connector: OdooConnector) -> tuple[Check, bool]:
    """The hold-fields check and whether sale_order has both columns afterwards."""
    try:
        added = add_hold_fields(connector)
    except ConnectorError as exc:
        if "cannot connect" in str(exc):  # nothing else can be checked: one line, exit 1
            raise
        return Check("hold fields", False, f"sale_order lacks x_credit_hold / x_credit_hold_reason and they could "
                                           f"not be added ({exc}): run this once with the database owner's URL in "
                                           f"{connector.setting}"), False
    return Check("hold fields", True, f"added {', '.join(added)} to sale_order" if added
                 else "sale_order already has the credit-hold fields"), True


def _addon(connector: OdooConnector) -> Check:
    rows = rows_or_none(connector, "read ir_module_module", select(connector.tables.ir_module_module.c.state).where(
        connector.tables.ir_module_module.c.name == ADDON))
    if rows is None:
        return Check("addon", False, f"cannot read ir_module_module to see whether {ADDON} is installed: grant "
                                     "SELECT on it (docs/connectors.md)")
    state = rows[0][0] if rows else None
    if state == "installed":
        return Check("addon", True, f"{ADDON} is installed: Odoo refuses held orders and blocked customers")
    if state in ("to install", "to upgrade"):  # marked in Apps, but the server has not run it yet
        flag = "-i" if state == "to install" else "-u"
        todo = (f"{ADDON} is marked {state!r} but not yet {'installed' if state == 'to install' else 'upgraded'}: "
                f"finish it (Apps → Apply Scheduled Upgrades, or `odoo -d <database> {flag} {ADDON} "
                f"--stop-after-init`), see {INSTALL}")
    elif state is None:
        todo = (f"{ADDON} is not in ir_module_module: copy connectors/odoo/addon/{ADDON} onto the Odoo addons "
                f"path, update the apps list and install it ({INSTALL})")
    else:
        todo = f"{ADDON} is {state!r}: install it ({INSTALL})"
    if not connector.require_addon:  # the config accepted inert holds explicitly: say so, do not fail
        return Check("addon", True, f"{todo}; erp.options.require_addon is false, so apply writes holds and blocks "
                                    "that Odoo does not enforce (only limits and payment terms are)")
    return Check("addon", False, f"{todo}; until then apply refuses: {WHY_INERT}")


def _prepayment_term(connector: OdooConnector) -> Check:
    term = connector.tables.account_payment_term
    name = connector.prepayment_term
    # the connector matches the term by name->>'en_US', active or not (connectors.odoo.write._term_id)
    rows = rows_or_none(connector, "read account_payment_term", select(term.c.id, term.c.active).where(
        term.c.name.op("->>")(read.LANG) == name).order_by(term.c.active.desc(), term.c.id).limit(1))
    if rows is None:
        return Check("prepayment term", False, "cannot read account_payment_term: grant SELECT on it "
                                               "(docs/connectors.md)")
    if not rows:
        return Check("prepayment term", False, f"account_payment_term {name!r} ({read.LANG} name) does not exist: "
                                               "create it in Odoo (Accounting → Configuration → Payment Terms, one "
                                               "line: 100 % after 0 days) or set erp.options.prepayment_term to the "
                                               "name of the term that means prepayment")
    term_id, active = rows[0]
    return Check("prepayment term", True, f"account_payment_term {name!r} exists (id {term_id}"
                                          + (")" if active is not False else ", archived)"))


def _readable(connector: OdooConnector, has_hold_fields: bool) -> Check:
    # the tables the read statements name (17 reads company defaults from ir_property, not
    # ir_default); without the hold columns sale_order is read without them, as the reads do
    t = tables(connector.version, custom_fields=has_hold_fields)
    read_tables: list[Table] = [t[name] for name in [*read.tables_read(t), "ir_module_module"]]
    missing = unreadable(connector, read_tables)
    user = make_url(connector._url).username or "the configured user"
    if missing:
        return Check("read user", False, f"{user} cannot read {', '.join(missing)}: grant SELECT on them "
                                         "(docs/connectors.md, odoo)")
    return Check("read user", True, f"{user} reads every table the connector reads ({len(read_tables)})")


def check_setup(connector: OdooConnector) -> list[Check]:
    """Add the hold columns when missing, then the checks, in report order (see the module doc)."""
    hold, has_hold_fields = _hold_fields(connector)
    return [hold, _addon(connector), _prepayment_term(connector), _readable(connector, has_hold_fields)]


__all__ = ["Check", "check_setup"]
