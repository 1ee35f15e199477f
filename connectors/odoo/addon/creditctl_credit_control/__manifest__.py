# Odoo reads this file with ast.literal_eval: it must be a bare dict literal.
{  # noqa: B018 (a bare literal is what Odoo's manifest loader expects)
    "name": "creditctl credit control",
    "summary": "Enforce creditctl's credit holds and customer blocks on orders, deliveries and invoices",
    "description": """
Makes Odoo enforce the decisions creditctl writes into the database:

* declares sale.order.x_credit_hold and x_credit_hold_reason as real fields (the columns the
  creditctl connector writes), shown on the sales order form;
* refuses, server-side (forms, imports, the external API, automated actions alike), to confirm a
  held order or an order of a partner whose Sales Warning is "Blocking Message", to validate a
  delivery of a held order, and to create or post a customer invoice of a held order.

Each refusal is a UserError that names creditctl's reason.
""",
    # Odoo prefixes a version without a series ("1.0.0") with the running series:
    # 17.0.1.0.0 on Odoo 17, 18.0.1.0.0 on Odoo 18.
    "version": "1.0.0",
    "category": "Sales/Sales",
    "author": "creditctl",
    "license": "LGPL-3",
    # sale: sale.order, res.partner.sale_warn, account.move.line.sale_line_ids;
    # account: account.move; sale_stock (-> stock): stock.picking.sale_id.
    "depends": ["account", "sale", "sale_stock"],
    "data": [
        "views/sale_order_views.xml",
    ],
    "installable": True,
    "application": False,
    "auto_install": False,
}
