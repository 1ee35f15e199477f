"""The Odoo connector (SPEC §7): Odoo 17 / 18 on PostgreSQL <-> the canonical frames.

``OdooConnector(url, options)`` reads through SQLAlchemy Core (``postgresql+psycopg``) and applies
plans in one transaction per company; ``connectors.odoo.connector.setup(url)`` adds the custom
sale_order fields ``x_credit_hold`` / ``x_credit_hold_reason`` and ``connectors.odoo.setup`` checks
what the writes need (``creditctl connector setup odoo``). Options: ``version`` (17 | 18, default 18),
``prepayment_term`` (default ``Prepayment``), ``chunk_size`` (default 50000).

Mapping choices are listed in docs/connectors/odoo.md.
"""

from connectors.odoo.connector import OPTIONS, OdooConnector

__all__ = ["OPTIONS", "OdooConnector"]
