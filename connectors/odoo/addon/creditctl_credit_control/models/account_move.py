"""account.move: refuse to post a customer invoice of an order on credit hold."""

from odoo import _, models
from odoo.exceptions import UserError

NO_REASON = "no reason recorded"


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        # _post is what action_post, the auto-post cron and the sale flows all go through;
        # credit notes stay possible: they lower the exposure
        for move in self.filtered(lambda m: m.move_type == "out_invoice"):
            orders = move.sudo().invoice_line_ids.sale_line_ids.order_id
            order = orders.filtered("x_credit_hold")[:1]
            if order:
                raise UserError(_(
                    "Invoice %(invoice)s cannot be posted: order %(order)s is on credit hold: %(reason)s",
                    invoice=move.name or move.display_name,
                    order=order.name,
                    reason=order.x_credit_hold_reason or NO_REASON,
                ))
        return super()._post(soft=soft)
