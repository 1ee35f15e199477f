"""The ERPNext connector (SPEC §7): ERPNext v15 tables <-> the canonical frames.

``ErpNextConnector(url, options)`` reads through SQLAlchemy Core (SQLite for the demo and tests,
MariaDB via ``mysql+pymysql`` / ``mysql+pyodbc``) and applies plans in one transaction per
company. Options (``erp.options``): ``prepayment_terms`` (default ``Prepayment``), ``chunk_size``
(default 50000), ``order_amounts`` (``base`` | ``document``), ``tool_user`` (default ``creditctl``).

Mapping choices where the SPEC leaves room
------------------------------------------
* **Which customers, per company.** ERPNext customers are global. A customer is in a company's
  extract when it has its own ``tabCustomer Credit Limit`` row for the company, a submitted
  invoice, order or delivery note there, or a receivable ``tabPayment Ledger Entry`` there. A
  customer group's limit alone does not make its members active in a company. Disabled
  customers are included (they may still owe money).
* **credit_limit** mirrors ERPNext's ``get_credit_limit`` (``customer.py``): the customer's row
  for the company unless 0, else the customer group's row unless 0 or its
  ``bypass_credit_limit_check`` is set, else ``tabCompany.credit_limit``; 0 everywhere is null
  (no limit).
* **country** is null (ERPNext keeps it on addresses); **segment** is the customer group;
  **customer_since** the creation date; **payment_terms_days** the largest ``credit_days`` of
  the customer's payment-terms template (0 without one).
* **open_items** follow ERPNext's Accounts Receivable report (``accounts_receivable.py``,
  ``ReceivablePayableReport``) in its default mode, the company currency: per
  ``against_voucher`` the sum of ``amount`` (company currency) over non-delinked receivable
  rows of tabPayment Ledger Entry; a document is open when that sum and the sum of
  ``amount_in_account_currency`` are both non-zero (|sum| ≥ 0.005; a foreign invoice settled
  in its own currency whose exchange difference was never booked is not open, as in the
  report). ``amount`` is the document's own ledger amount (an invoice's base grand total),
  ``currency`` the company's default currency (``tabCompany.default_currency``). A Sales
  Invoice is an invoice or, if ``is_return``, a credit note; any other voucher with a balance
  of its own is a payment_on_account (negative) or debit_note (positive, e.g. a Journal Entry).
  Invoices with a payment schedule of several rows give one item per open installment
  (``<invoice>/<idx>``, amount ``base_payment_amount``) as the report's "Based On Payment
  Terms" split allocates them: what was paid by payment term stays on its term, advances
  allocated in the invoice are left out, other payments go to the remaining terms oldest
  first, then credit notes; rounding cents stay on the last term so the installments add up to
  the ledger. ``dunning_level`` counts submitted Dunnings whose ``tabOverdue Payment`` rows
  name the invoice (for an installment: its schedule row, or the invoice without a row).
  (``read.read_open_items(..., in_party_currency=True)`` gives the report's "in party
  currency" figures instead: the receivable account's currency.)
* **payments**: invoices (not returns) that are not open (above) with at least one allocation;
  ``paid_date`` is the latest posting date of the entries allocated to it (payments and credit
  notes alike), ``amount`` the grand total; installment invoices are one history row.
* **open_orders**: submitted, not Closed/Completed, ``per_billed < 100``; by default
  ``base_grand_total × (100 − per_billed) / 100`` in the **company currency** (ERPNext's own credit
  check, SPEC §7); ``order_amounts: document`` uses ``grand_total`` in the order currency.
* **open_deliveries**: unbilled delivery notes not against an order or invoice, as
  ``get_customer_outstanding`` (``customer.py``) counts them, in the company currency.
* **fx_rates**: ``tabCurrency Exchange`` rows valid for selling; several on one day average.
* **apply**: see :mod:`connectors.erpnext.write`. An unknown customer / order, an order of
  another company or customer, or one that is no longer open is an error that rolls back the
  whole company; so does a missing payment-terms template.
"""

from connectors.erpnext.connector import OPTIONS, ErpNextConnector

__all__ = ["OPTIONS", "ErpNextConnector"]
