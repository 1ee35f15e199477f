"""account.move: refuse to post a customer invoice of a blocked customer or of an order on credit hold."""

from odoo import _, models
from odoo.exceptions import UserError

NO_REASON = "no reason recorded"


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        # _post is what action_post, the auto-post cron and the sale flows all go through;
        # credit notes stay possible: they lower the exposure
        for move in self.filtered(lambda m: m.move_type == "out_invoice"):
            partner = move.sudo().partner_id
            for candidate in (partner, partner.commercial_partner_id):
                if candidate.sale_warn == "block":  # SPEC: a blocked customer's new invoice is refused
                    raise UserError(_(
                        "Invoice %(invoice)s cannot be posted: customer %(partner)s is blocked: %(reason)s",
                        invoice=move.name or move.display_name,
                        partner=candidate.display_name,
                        reason=candidate.sale_warn_msg or NO_REASON,
                    ))
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
