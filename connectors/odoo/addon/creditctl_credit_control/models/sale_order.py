"""sale.order: the credit hold fields creditctl writes, and the refusals for held orders."""

from odoo import _, fields, models
from odoo.exceptions import UserError

NO_REASON = "no reason recorded"


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # The connector writes these two columns; declaring them lets Odoo's ORM own them.
    x_credit_hold = fields.Boolean(
        string="Credit hold",
        default=False,
        copy=False,
        tracking=True,
        help="Set by creditctl: the order may not be confirmed, delivered or invoiced.",
    )
    x_credit_hold_reason = fields.Text(
        string="Credit hold reason",
        copy=False,
        help="creditctl's reason for the credit hold.",
    )

    def _creditctl_blocking_partner(self):
        """The order's customer or its commercial partner when its Sales Warning blocks, else None."""
        self.ensure_one()
        partner = self.partner_id.sudo()
        for candidate in (partner, partner.commercial_partner_id):
            if candidate.sale_warn == "block":
                return candidate
        return None

    def action_confirm(self):
        for order in self:
            if order.x_credit_hold:
                raise UserError(_(
                    "Order %(order)s is on credit hold and cannot be confirmed: %(reason)s",
                    order=order.name,
                    reason=order.x_credit_hold_reason or NO_REASON,
                ))
            blocked = order._creditctl_blocking_partner()
            if blocked:
                raise UserError(_(
                    "Order %(order)s cannot be confirmed: customer %(partner)s is blocked: %(reason)s",
                    order=order.name,
                    partner=blocked.display_name,
                    reason=blocked.sale_warn_msg or NO_REASON,
                ))
        return super().action_confirm()

    def _create_invoices(self, grouped=False, final=False, date=None):
        for order in self:
            if order.x_credit_hold:
                raise UserError(_(
                    "Order %(order)s is on credit hold and cannot be invoiced: %(reason)s",
                    order=order.name,
                    reason=order.x_credit_hold_reason or NO_REASON,
                ))
        return super()._create_invoices(grouped=grouped, final=final, date=date)
