"""stock.picking: refuse to validate a delivery of an order on credit hold."""

from odoo import _, models
from odoo.exceptions import UserError

NO_REASON = "no reason recorded"


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def button_validate(self):
        for picking in self:
            # returns (incoming) of a held order stay possible: they lower the exposure
            if picking.picking_type_code != "outgoing" or picking.state == "done":
                continue
            order = picking.sudo().sale_id
            if order and order.x_credit_hold:
                raise UserError(_(
                    "Delivery %(picking)s cannot be validated: order %(order)s is on credit hold: %(reason)s",
                    picking=picking.name,
                    order=order.name,
                    reason=order.x_credit_hold_reason or NO_REASON,
                ))
        return super().button_validate()
