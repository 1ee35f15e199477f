from . import account_move, sale_order, stock_picking

__all__ = ["account_move", "sale_order", "stock_picking"]
