"""Benchmark: the Odoo connector's reads against a raw ``COPY (same query) TO STDOUT``.

Not a test. Usage::

    .venv/bin/python bench/odoo_extract_bench.py                        # 250k customers, 5M lines
    .venv/bin/python bench/odoo_extract_bench.py --customers 10000 --lines 200000 --keep

It creates a fresh PostgreSQL database (``--db``, default creditctl_bench_odoo on the server of
``--admin-url``), creates the Odoo 18 tables as Odoo's own field definitions make them
(``connectors.odoo.tables.create_schema(url, 18)``: every NOT NULL column, Odoo's indexes and
``_sql_constraints``; the indexes are dropped while filling and created again after) and fills
them in SQL (``INSERT … SELECT`` over ``generate_series``, values from a hash of the row number,
so the data are deterministic) with the demo's business shape, row by row as
connectors/odoo/fixture.py writes its small databases:

- two companies (EUR, USD) with their own partners, a receivable and an income account each
  (18: ``code_store`` and ``account_account_res_company_rel``), a sales, a bank and a
  miscellaneous journal each, payment terms, weekly rates, the ``ir_default`` term of each
  company and creditctl's addon recorded as installed;
- customers with profiles (healthy, late, severe, new, prepayment, over limit), foreign-currency
  customers, 18's company-dependent jsonb ``credit_limit`` / ``property_payment_term_id``, and
  contacts rolling up to their commercial partner that some documents name;
- ``--lines`` receivable ``account_move_line`` rows in all (about 80 % of them open items):
  invoices with full or partial residuals, credit notes, payments on account (account_payment
  rows, ``origin_payment_id`` set), debit notes (miscellaneous entries), installments (3
  receivable lines), paid history (invoice + counterpart reconciled by an
  ``account_partial_reconcile``: a bank payment with its account_payment row and
  ``origin_payment_id`` for 95 %, a credit note for 5 %, which is not payment history), and the
  invoices of partly invoiced sale orders (a receivable line and a product line);
- one sale order per customer on average (confirmed, draft, cancelled; some on credit hold, some
  naming a contact) with 1–3 order lines over four products (goods and services, invoiced on
  ordered or on delivered quantities, in units, dozens or hours; some discounted; 19 % / 7 % tax
  in price_total) and delivered quantities; every 10th order is confirmed and its first line
  partly invoiced: the invoice's product line (in units where the order line is in dozens, so
  the unit conversion runs) is linked through ``sale_order_line_invoice_rel``, so Odoo 18's
  computed amount to invoice subtracts the posted invoiced quantity.

Tables are UNLOGGED while filling (no WAL; the reads do not care) and VACUUM ANALYZEd after.

Then, for each read (open_items, customers, payments, open_orders; all companies), in that order:

- ``connector_s``: ``OdooConnector.read_<entity>(companies)`` in a fresh subprocess (wall time;
  the engine is connected and the modules imported by a read_companies before), with ``peak_rss_mb`` (the subprocess's VmHWM after the read),
  ``rss_before_mb`` (after imports, before the read) and the frame's ``frame_mb`` (deep);
- ``copy_s``: ``COPY (<the same SQL, same bound values>) TO STDOUT`` through psycopg in a fresh
  subprocess, every byte received and discarded (the SQL comes from
  ``connectors.sql.bound_sql``: SQLAlchemy's compiled statement, built with the same optional
  columns as the read, bound client-side by psycopg);
- ``ratio`` = connector_s / copy_s (goal: ≤ 2).

One untimed COPY of each query runs first so both sides see a warm cache. ``--repeat N`` (default
2) keeps the fastest of N runs of each side: the machine is shared, the fastest is the least
disturbed; ``--timeout S`` (default 900) stops a run after S seconds and records it as timed out
(its session is cancelled; no more runs of that side). Writes bench/results/odoo_extract.json
(``--out``) and prints a table; drops the database unless ``--keep``. The full-size run takes
about 10 minutes on 2 cores (fill about 2.5 minutes, of which 1 minute for Odoo's indexes).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AS_OF = datetime.date(2026, 11, 28)
COMPANIES = ["Demo GmbH", "Demo Inc"]
READS = ["open_items", "customers", "payments", "open_orders"]
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: the tables filled with many rows (UNLOGGED while filling)
BIG_TABLES = ("res_partner", "account_move", "account_move_line", "account_partial_reconcile", "account_payment",
              "sale_order", "sale_order_line", "sale_order_line_invoice_rel")


# ---------------------------------------------------------------------------- filling (SQL)

# Ids. Journals of company c: 3c-2 sales (INV), 3c-1 bank (BNK1), 3c miscellaneous (MISC).
# Accounts: c receivable, 2+c income. Partners: customers 1..{customers}, contacts after them,
# the companies' own partners {company_partner}+c. Moves: singles, installments, history
# invoices, history counterparts, order invoices, in that order; lines likewise (order invoices:
# receivable lines, then product lines). An account_payment has the id of its move.

#: reference data: currencies, companies, accounts, journals, countries, industries, terms,
#: fields, defaults, products, units, rates
_MASTERS = """
INSERT INTO res_currency (id, name, symbol, active, rounding, decimal_places, position) VALUES
  (1,'EUR','€',true,0.01,2,'after'),(2,'USD','$',true,0.01,2,'before'),(3,'GBP','£',true,0.01,2,'before'),
  (4,'CHF','CHF',true,0.01,2,'after'),(5,'CAD','$',true,0.01,2,'before');
INSERT INTO res_partner (id, name, type, is_company, commercial_partner_id, active, customer_rank, autopost_bills,
                         create_date) VALUES
  ({company_partner} + 1,'Demo GmbH','contact',true,{company_partner} + 1,true,0,'ask',TIMESTAMP '2020-01-01'),
  ({company_partner} + 2,'Demo Inc','contact',true,{company_partner} + 2,true,0,'ask',TIMESTAMP '2020-01-01');
INSERT INTO res_company (id, name, active, currency_id, partner_id, layout_background, fiscalyear_last_day,
                         fiscalyear_last_month, account_opening_date, account_price_include,
                         account_use_credit_limit) VALUES
  (1,'Demo GmbH',true,1,{company_partner} + 1,'Blank',31,'12',DATE '2020-01-01','tax_excluded',true),
  (2,'Demo Inc',true,2,{company_partner} + 2,'Blank',31,'12',DATE '2020-01-01','tax_excluded',true);
INSERT INTO account_account (id, name, code_store, account_type, reconcile) VALUES
  (1,'{"en_US":"Account Receivable"}','{"1":"121000"}','asset_receivable',true),
  (2,'{"en_US":"Account Receivable"}','{"2":"121000"}','asset_receivable',true),
  (3,'{"en_US":"Product Sales"}','{"1":"400000"}','income',false),
  (4,'{"en_US":"Product Sales"}','{"2":"400000"}','income',false);
INSERT INTO account_account_res_company_rel (account_account_id, res_company_id) VALUES (1,1),(2,2),(3,1),(4,2);
INSERT INTO account_journal (id, name, code, type, invoice_reference_type, invoice_reference_model, company_id,
                             active, sequence) VALUES
  (1,'{"en_US":"Customer Invoices"}','INV','sale','invoice','odoo',1,true,5),
  (2,'{"en_US":"Bank"}','BNK1','bank','invoice','odoo',1,true,10),
  (3,'{"en_US":"Miscellaneous Operations"}','MISC','general','invoice','odoo',1,true,9),
  (4,'{"en_US":"Customer Invoices"}','INV','sale','invoice','odoo',2,true,5),
  (5,'{"en_US":"Bank"}','BNK1','bank','invoice','odoo',2,true,10),
  (6,'{"en_US":"Miscellaneous Operations"}','MISC','general','invoice','odoo',2,true,9);
INSERT INTO res_country (id, name, code) VALUES (1,'{"en_US":"Germany"}','DE'),(2,'{"en_US":"United States"}','US'),
  (3,'{"en_US":"United Kingdom"}','GB'),(4,'{"en_US":"Switzerland"}','CH'),(5,'{"en_US":"Canada"}','CA');
INSERT INTO res_partner_industry (id, name, full_name, active) VALUES
  (1,'{"en_US":"Retail"}','{"en_US":"Retail"}',true),(2,'{"en_US":"Wholesale"}','{"en_US":"Wholesale"}',true),
  (3,'{"en_US":"Construction"}','{"en_US":"Construction"}',true),
  (4,'{"en_US":"Public Sector"}','{"en_US":"Public Sector"}',true);
INSERT INTO account_payment_term (id, name, active, sequence) VALUES (1,'{"en_US":"Immediate Payment"}',true,10),
  (2,'{"en_US":"14 Days"}',true,10),(3,'{"en_US":"30 Days"}',true,10),(4,'{"en_US":"60 Days"}',true,10),
  (5,'{"en_US":"Prepayment"}',true,10),(6,'{"en_US":"30/60/90 Days"}',true,10);
INSERT INTO account_payment_term_line (id, payment_id, value, value_amount, nb_days, delay_type) VALUES
  (1,1,'percent',100,0,'days_after'),(2,2,'percent',100,14,'days_after'),(3,3,'percent',100,30,'days_after'),
  (4,4,'percent',100,60,'days_after'),(5,5,'percent',100,0,'days_after'),(6,6,'percent',33.33,30,'days_after'),
  (7,6,'percent',33.33,60,'days_after'),(8,6,'percent',33.34,90,'days_after');
INSERT INTO ir_model_fields (id, model, name, ttype, model_id, field_description, state) VALUES
  (1,'res.partner','credit_limit','float',1,'{"en_US":"Credit Limit"}','base'),
  (2,'res.partner','property_payment_term_id','many2one',1,'{"en_US":"Customer Payment Terms"}','base');
-- the companies' default term (partners without their own value fall back to it)
INSERT INTO ir_default (id, field_id, company_id, json_value) VALUES (1,2,1,'3'),(2,2,2,'3');
INSERT INTO ir_module_module (id, name, state) VALUES (1,'creditctl_credit_control','installed');
-- units: Units and Dozens (category 1), Hours (category 2); Odoo's factor = units of it per reference unit
INSERT INTO uom_uom (id, name, category_id, factor, rounding, active, uom_type) VALUES
  (1,'{"en_US":"Units"}',1,1,0.01,true,'reference'),(2,'{"en_US":"Dozens"}',1,1.0 / 12,0.01,true,'bigger'),
  (3,'{"en_US":"Hours"}',2,1,0.01,true,'reference');
-- goods and services, invoiced on ordered (order) or on delivered (delivery) quantities
INSERT INTO product_template (id, name, type, service_tracking, categ_id, uom_id, uom_po_id, sale_line_warn,
                              invoice_policy, service_type, sale_ok, purchase_ok, active, list_price) VALUES
  (1,'{"en_US":"Goods"}','consu','no',1,1,1,'no-message','order',NULL,true,true,true,100),
  (2,'{"en_US":"Materials"}','consu','no',1,1,1,'no-message','delivery',NULL,true,true,true,40),
  (3,'{"en_US":"Consulting"}','service','no',1,3,3,'no-message','order','manual',true,false,true,120),
  (4,'{"en_US":"Installation"}','service','no',1,3,3,'no-message','delivery','manual',true,false,true,90);
INSERT INTO product_product (id, product_tmpl_id, active) VALUES (1,1,true),(2,2,true),(3,3,true),(4,4,true);
-- weekly rates, 66 weeks; Odoo's rate = units of the currency per 1 company currency
INSERT INTO res_currency_rate (name, rate, currency_id, company_id)
SELECT DATE '{as_of}' - 7 * w, round((1.0 / b.base * (1 + 0.02 * sin(w / 4.0)))::numeric, 6), b.cur, b.co
FROM generate_series(0, 66) w
CROSS JOIN (VALUES (3, 1, 1.17), (4, 1, 1.05), (2, 1, 0.92), (1, 2, 1.09), (5, 2, 0.73)) AS b(cur, co, base);
"""

#: u(i, salt): a deterministic uniform in (0, 1) per row number and salt; n(i, salt): a normal
_FUNCTIONS = """
CREATE FUNCTION bench_u(i bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT ((hashint8(i * 131 + salt) & 2147483647)::float8 + 0.5) / 2147483648.0 $$;
CREATE FUNCTION bench_n(i bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT sqrt(-2 * ln(bench_u(i, salt))) * cos(2 * pi() * bench_u(i, salt + 1)) $$;
"""

#: per customer: company, currency, rate to the company currency, profile, term, typical invoice
_PARTNERS = """
CREATE UNLOGGED TABLE bench_partner AS
WITH base AS (
  SELECT i AS pid, CASE WHEN bench_u(i, 1) < 0.4 THEN 2 ELSE 1 END AS co,
         CASE WHEN bench_u(i, 3) < 0.10 THEN 'late' WHEN bench_u(i, 3) < 0.125 THEN 'severe'
              WHEN bench_u(i, 3) < 0.155 THEN 'prepayment' WHEN bench_u(i, 3) < 0.215 THEN 'over_limit'
              WHEN bench_u(i, 3) < 0.275 THEN 'new' ELSE 'healthy' END AS profile,
         bench_u(i, 4) AS uf, bench_u(i, 5) AS upick, bench_u(i, 6) AS uterm
  FROM generate_series(1, {customers}) i
), cur AS (
  SELECT *, CASE
      WHEN profile IN ('new', 'prepayment', 'over_limit') THEN co
      WHEN co = 1 AND uf < 0.10 THEN CASE WHEN upick < 0.4 THEN 3 WHEN upick < 0.7 THEN 4 ELSE 2 END
      WHEN co = 2 AND uf < 0.06 THEN CASE WHEN upick < 0.6 THEN 1 ELSE 5 END
      ELSE co END AS cur,
    CASE WHEN profile = 'prepayment' THEN 5 WHEN uterm < 0.27 THEN 2 WHEN uterm < 0.77 THEN 3
         WHEN uterm < 0.92 THEN 4 WHEN uterm < 0.97 THEN 6 ELSE 1 END AS term_id
  FROM base
)
SELECT pid, co, cur, profile, term_id,
       CASE term_id WHEN 2 THEN 14 WHEN 3 THEN 30 WHEN 4 THEN 60 WHEN 6 THEN 30 ELSE 0 END AS term_days,
       CASE cur WHEN 3 THEN 1.17 WHEN 4 THEN 1.05 WHEN 2 THEN (CASE co WHEN 1 THEN 0.92 ELSE 1 END)
                WHEN 1 THEN (CASE co WHEN 2 THEN 1.09 ELSE 1 END) WHEN 5 THEN 0.73 ELSE 1 END AS rate,
       exp(ln(1500) + 0.8 * bench_n(pid, 7)) AS size,
       CASE profile WHEN 'healthy' THEN 12 WHEN 'late' THEN 75 WHEN 'severe' THEN 230 WHEN 'over_limit' THEN 25
                    WHEN 'new' THEN 0 ELSE 0 END AS late_days
FROM cur;
ALTER TABLE bench_partner ADD PRIMARY KEY (pid);

INSERT INTO res_partner (id, name, ref, type, is_company, company_id, commercial_partner_id, parent_id, customer_rank,
                         country_id, industry_id, create_date, write_date, active, sale_warn, sale_warn_msg,
                         credit_limit, property_payment_term_id, autopost_bills, lang)
SELECT pid,
       (ARRAY['Müller','Schmidt','Weber','Wagner','Smith','Johnson','Brown','O''Neill','Martin','Clark'])[1 + (pid % 10)]
         || ' ' || (ARRAY['Bau','Handel','Technik','Logistik','Trading','Services','Supply'])[1 + (pid / 10) % 7]
         || ' ' || CASE co WHEN 1 THEN 'GmbH' ELSE 'Inc' END,
       'CUST-' || lpad(pid::text, 7, '0'), 'contact', true, co, pid, NULL, 1,
       CASE cur WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 3 WHEN 4 THEN 4 ELSE 5 END,
       1 + floor(bench_u(pid, 8) * 4)::int,
       TIMESTAMP '{as_of}' - make_interval(days => CASE profile WHEN 'new' THEN 5 + (pid % 80)
                                                    ELSE 470 + floor(bench_u(pid, 9) * 2100)::int END),
       TIMESTAMP '{as_of}', true,
       CASE WHEN bench_u(pid, 10) < 0.015 THEN 'block' ELSE 'no-message' END,
       CASE WHEN bench_u(pid, 10) < 0.015 THEN 'blocked by a person' END,
       CASE WHEN bench_u(pid, 11) < 0.12 THEN NULL
            ELSE jsonb_build_object(co::text, round((size * CASE profile WHEN 'over_limit' THEN 1.5 ELSE 8 END)
                                                    / 500) * 500 + 500) END,
       CASE WHEN bench_u(pid, 12) < 0.05 AND profile <> 'prepayment' THEN NULL
            ELSE jsonb_build_object(co::text, term_id) END,
       'ask', 'en_US'
FROM bench_partner;
-- contacts: every 10th customer has a buyer contact (customer_rank 0) that some documents name
INSERT INTO res_partner (id, name, ref, type, is_company, company_id, commercial_partner_id, parent_id, customer_rank,
                         active, sale_warn, create_date, autopost_bills, lang)
SELECT {customers} + pid / 10, 'Buyer ' || pid, NULL, 'contact', false, co, pid, pid, 0, true, 'no-message',
       TIMESTAMP '{as_of}', 'ask', 'en_US'
FROM bench_partner WHERE pid % 10 = 0;
"""

#: the columns every receivable line sets (the single-line documents, installments, history, order invoices)
_LINE_COLUMNS = """account_move_line (id, move_id, move_name, journal_id, account_id, partner_id, company_id,
                               date, invoice_date, date_maturity, currency_id, company_currency_id, amount_currency,
                               amount_residual_currency, balance, debit, credit, amount_residual, reconciled,
                               parent_state, display_type, name)"""
#: the columns every move sets
_MOVE_COLUMNS = """account_move (id, name, move_type, state, date, journal_id, auto_post, invoice_date,
                            invoice_date_due, partner_id, commercial_partner_id, company_id, currency_id,
                            amount_untaxed, amount_tax, amount_total, amount_residual, amount_untaxed_signed,
                            amount_total_signed, amount_total_in_currency_signed, amount_residual_signed,
                            payment_state, origin_payment_id, invoice_payment_term_id, invoice_origin,
                            posted_before, create_date)"""

#: single-line documents: invoices, credit notes, payments on account (with their account_payment),
#: debit notes (miscellaneous entries); ids 1..singles
_SINGLES = """
WITH d AS (
  SELECT s.id, bp.*, CASE WHEN bp.pid % 10 = 0 AND bench_u(s.id, 13) < 0.3 THEN {customers} + bp.pid / 10
                          ELSE bp.pid END AS partner_id,
         CASE WHEN bench_u(s.id, 14) < 0.88 THEN 'inv' WHEN bench_u(s.id, 14) < 0.94 THEN 'ref'
              WHEN bench_u(s.id, 14) < 0.98 THEN 'poa' ELSE 'dn' END AS kind,
         floor(bench_u(s.id, 15) * (bp.term_days + bp.late_days + 5))::int AS age,
         bench_u(s.id, 16) AS ures, bench_n(s.id, 17) AS nz, bench_u(s.id, 19) < 0.005 AS draft
  FROM generate_series(1, {singles}) s(id)
  JOIN bench_partner bp ON bp.pid = 1 + floor(bench_u(s.id, 12) * {customers})::int
), v AS (
  SELECT d.*, DATE '{as_of}' - age AS doc_date,
         round((size * exp(0.5 * nz) / rate * CASE kind WHEN 'inv' THEN 1 WHEN 'ref' THEN -0.3 WHEN 'poa' THEN -0.5
                                                         ELSE 0.1 END)::numeric, 2) AS amount,
         CASE WHEN kind = 'inv' AND ures >= 0.9 THEN 0.25 WHEN kind = 'inv' AND ures >= 0.75 THEN 0.5 ELSE 1 END
           AS frac,
         3 * co - CASE kind WHEN 'poa' THEN 1 WHEN 'dn' THEN 0 ELSE 2 END AS journal_id
  FROM d
), w AS (
  SELECT v.*, round(amount * frac, 2) AS residual, doc_date + term_days AS due,
         CASE kind WHEN 'inv' THEN 'INV' WHEN 'ref' THEN 'RINV' WHEN 'poa' THEN 'PBNK1' ELSE 'MISC' END
           || '/' || extract(year FROM doc_date) || '/' || lpad(id::text, 8, '0') AS name,
         CASE WHEN draft THEN 'draft' ELSE 'posted' END AS state
  FROM v
), m AS (
  INSERT INTO {move_columns}
  SELECT id, name, CASE kind WHEN 'inv' THEN 'out_invoice' WHEN 'ref' THEN 'out_refund' ELSE 'entry' END,
         state, doc_date, journal_id, 'no', CASE WHEN kind IN ('inv', 'ref') THEN doc_date END, due, partner_id, pid,
         co, cur, abs(amount), 0, abs(amount), abs(residual), round(amount * rate, 2), round(amount * rate, 2),
         amount, round(residual * rate, 2),
         CASE WHEN kind NOT IN ('inv', 'ref') THEN NULL WHEN frac = 1 THEN 'not_paid' ELSE 'partial' END,
         CASE WHEN kind = 'poa' THEN id END, CASE WHEN kind IN ('inv', 'ref') THEN term_id END, NULL, NOT draft,
         doc_date::timestamp
  FROM w
), p AS (
  INSERT INTO account_payment (id, name, date, move_id, journal_id, company_id, state, is_reconciled, is_matched,
                               amount, payment_type, partner_type, currency_id, partner_id,
                               amount_company_currency_signed, create_date)
  SELECT id, name, doc_date, id, journal_id, co, CASE WHEN draft THEN 'draft' ELSE 'in_process' END, false, false,
         -amount, 'inbound', 'customer', cur, pid, -round(amount * rate, 2), doc_date::timestamp
  FROM w WHERE kind = 'poa'
)
INSERT INTO {line_columns}
SELECT id, id, name, journal_id, co, partner_id, co, doc_date, CASE WHEN kind IN ('inv', 'ref') THEN doc_date END,
       due, cur, co, amount, residual, round(amount * rate, 2), greatest(round(amount * rate, 2), 0),
       greatest(-round(amount * rate, 2), 0), round(residual * rate, 2), false, state, 'payment_term',
       CASE kind WHEN 'poa' THEN 'Customer Payment' ELSE name END
FROM w;
"""

#: invoices in 3 installments (due +30/+60/+90); the first one is paid in 40 % of them
_INSTALLMENTS = """
WITH d AS (
  SELECT {singles} + k AS id, k, bp.*, DATE '{as_of}' - floor(bench_u(k, 21) * 150)::int AS doc_date,
         round((3 * bp.size * exp(0.4 * bench_n(k, 22)) / bp.rate / 3)::numeric, 2) AS part,
         bench_u(k, 24) < 0.4 AS first_paid
  FROM generate_series(1, {installments}) k
  JOIN bench_partner bp ON bp.pid = 1 + floor(bench_u(k, 20) * {customers})::int
), w AS (
  SELECT d.*, 'INV/' || extract(year FROM doc_date) || '/' || lpad(id::text, 8, '0') AS name,
         CASE WHEN first_paid THEN 2 ELSE 3 END * part AS residual FROM d
), m AS (
  INSERT INTO {move_columns}
  SELECT id, name, 'out_invoice', 'posted', doc_date, 3 * co - 2, 'no', doc_date, doc_date + 90, pid, pid, co, cur,
         3 * part, 0, 3 * part, residual, round(3 * part * rate, 2), round(3 * part * rate, 2), 3 * part,
         round(residual * rate, 2), CASE WHEN first_paid THEN 'partial' ELSE 'not_paid' END, NULL, 6, NULL, true,
         doc_date::timestamp
  FROM w
)
INSERT INTO {line_columns}
SELECT {singles} + 3 * (k - 1) + j, id, name, 3 * co - 2, co, pid, co, doc_date, doc_date, doc_date + 30 * j, cur,
       co, part, CASE WHEN j = 1 AND first_paid THEN 0 ELSE part END, round(part * rate, 2), round(part * rate, 2),
       0, CASE WHEN j = 1 AND first_paid THEN 0 ELSE round(part * rate, 2) END, j = 1 AND first_paid, 'posted',
       'payment_term', 'installment ' || j
FROM w CROSS JOIN generate_series(1, 3) j;
"""

#: paid history: invoice + counterpart, both receivable lines reconciled by one partial; the
#: counterpart is a bank payment (account_payment, origin_payment_id) or, 5 %, a credit note
_HISTORY = """
WITH d AS (
  SELECT k, bp.*, DATE '{as_of}' - 30 - floor(bench_u(k, 31) * 425)::int AS doc_date,
         round((bp.size * exp(0.5 * bench_n(k, 32)) / bp.rate)::numeric, 2) AS amount,
         round(CASE WHEN bp.profile IN ('late', 'severe') THEN 30 + 10 * bench_n(k, 34)
                    WHEN bp.profile = 'prepayment' THEN -bp.term_days ELSE 1 + 4 * bench_n(k, 34) END)::int AS late,
         bench_u(k, 35) < 0.05 AS refund
  FROM generate_series(1, {history}) k
  JOIN bench_partner bp ON bp.pid = 1 + floor(bench_u(k, 30) * {customers})::int
), w AS (
  SELECT d.*, {base} + k AS inv_id, {base} + {history} + k AS pay_id, {line_base} + k AS inv_line,
         {line_base} + {history} + k AS pay_line, doc_date + term_days AS due,
         least(greatest(doc_date + term_days + late, doc_date), DATE '{as_of}' - 1) AS paid,
         'INV/' || extract(year FROM doc_date) || '/' || lpad(({base} + k)::text, 8, '0') AS name
  FROM d
), w2 AS (
  SELECT w.*, CASE WHEN refund THEN 'RINV/' ELSE 'PBNK1/' END || extract(year FROM paid) || '/'
                || lpad(pay_id::text, 8, '0') AS pay_name,
         3 * co - CASE WHEN refund THEN 2 ELSE 1 END AS pay_journal
  FROM w
), m AS (
  INSERT INTO {move_columns}
  SELECT inv_id, name, 'out_invoice', 'posted', doc_date, 3 * co - 2, 'no', doc_date, due, pid, pid, co, cur,
         amount, 0, amount, 0, round(amount * rate, 2), round(amount * rate, 2), amount, 0, 'paid', NULL, term_id,
         NULL, true, doc_date::timestamp FROM w2
  UNION ALL
  SELECT pay_id, pay_name, CASE WHEN refund THEN 'out_refund' ELSE 'entry' END, 'posted', paid, pay_journal, 'no',
         CASE WHEN refund THEN paid END, paid, pid, pid, co, cur, amount, 0, amount, 0, -round(amount * rate, 2),
         -round(amount * rate, 2), -amount, 0, CASE WHEN refund THEN 'paid' END,
         CASE WHEN NOT refund THEN pay_id END, NULL, NULL, true, paid::timestamp FROM w2
), py AS (
  INSERT INTO account_payment (id, name, date, move_id, journal_id, company_id, state, is_reconciled, is_matched,
                               amount, payment_type, partner_type, currency_id, partner_id,
                               amount_company_currency_signed, create_date)
  SELECT pay_id, pay_name, paid, pay_id, pay_journal, co, 'paid', true, true, amount, 'inbound', 'customer', cur, pid,
         round(amount * rate, 2), paid::timestamp
  FROM w2 WHERE NOT refund
), p AS (
  INSERT INTO account_partial_reconcile (id, debit_move_id, credit_move_id, debit_currency_id, credit_currency_id,
                                         amount, debit_amount_currency, credit_amount_currency, company_id, max_date)
  SELECT k, inv_line, pay_line, cur, cur, round(amount * rate, 2), amount, amount, co, paid FROM w2
)
INSERT INTO {line_columns}
SELECT inv_line, inv_id, name, 3 * co - 2, co, pid, co, doc_date, doc_date, due, cur, co, amount, 0,
       round(amount * rate, 2), round(amount * rate, 2), 0, 0, true, 'posted', 'payment_term', name FROM w2
UNION ALL
SELECT pay_line, pay_id, pay_name, pay_journal, co, pid, co, paid, CASE WHEN refund THEN paid END, paid, cur, co,
       -amount, 0, -round(amount * rate, 2), 0, round(amount * rate, 2), 0, true, 'posted', 'payment_term',
       pay_name FROM w2;
"""

#: one sale order per customer on average (confirmed, draft, cancelled) with 1-3 lines; every
#: 10th order is confirmed and gets its first line partly invoiced (_ORDER_INVOICES)
_ORDERS = """
WITH o AS (
  SELECT o AS id, bp.pid, bp.co, bp.cur, bp.rate, bp.size,
         CASE WHEN bp.pid % 10 = 0 AND bench_u(o, 46) < 0.3 THEN {customers} + bp.pid / 10 ELSE bp.pid END
           AS partner_id,
         CASE WHEN o % 10 = 0 OR bench_u(o, 41) < 0.85 THEN 'sale' WHEN bench_u(o, 41) < 0.95 THEN 'draft'
              ELSE 'cancel' END AS state,
         TIMESTAMP '{as_of}' - make_interval(days => floor(bench_u(o, 42) * 60)::int, hours => o % 24) AS date_order,
         1 + floor(bench_u(o, 43) * 3)::int AS nlines, CASE bp.co WHEN 1 THEN 0.19 ELSE 0.07 END AS tax,
         bench_u(o, 45) < 0.01 AS held
  FROM generate_series(1, {customers}) o
  JOIN bench_partner bp ON bp.pid = 1 + floor(bench_u(o, 40) * {customers})::int
), l0 AS (
  SELECT o.*, 3 * (o.id - 1) + j AS line_id, j, bench_u(3 * (o.id - 1) + j, 50) AS up,
         bench_u(3 * (o.id - 1) + j, 51) AS uuom, (1 + floor(bench_u(3 * (o.id - 1) + j, 52) * 20))::numeric AS qty,
         bench_u(3 * (o.id - 1) + j, 53) AS udel, bench_u(3 * (o.id - 1) + j, 54) AS udel2,
         CASE WHEN bench_u(3 * (o.id - 1) + j, 55) < 0.1 THEN 10 ELSE 0 END AS discount
  FROM o CROSS JOIN generate_series(1, 3) j WHERE j <= o.nlines
), l1 AS (
  SELECT l0.*, CASE WHEN up < 0.45 THEN 1 WHEN up < 0.75 THEN 2 WHEN up < 0.9 THEN 3 ELSE 4 END AS product_id,
         greatest(round((size * 2 / rate / nlines / qty)::numeric, 2), 0.01) AS price_unit,
         CASE WHEN j = 1 AND id % 10 = 0 THEN ceil(qty / 2) ELSE 0 END AS qty_inv
  FROM l0
), l AS (
  SELECT l1.*, CASE WHEN product_id IN (3, 4) THEN 3 WHEN product_id = 1 AND uuom < 0.2 THEN 2 ELSE 1 END AS uom,
         product_id IN (2, 4) AS by_delivery,
         CASE WHEN state <> 'sale' THEN 0
              ELSE greatest(CASE WHEN udel < 0.4 THEN qty ELSE floor(qty * udel2::numeric) END, qty_inv) END AS delivered,
         round(qty * price_unit * (1 - discount / 100.0), 2) AS subtotal
  FROM l1
), lt AS (
  SELECT l.*, round(subtotal * tax, 2) AS price_tax, subtotal + round(subtotal * tax, 2) AS total,
         CASE WHEN by_delivery THEN delivered ELSE qty END - qty_inv AS to_invoice
  FROM l
), ins AS (
  INSERT INTO sale_order_line (id, order_id, sequence, company_id, currency_id, order_partner_id, state, display_type,
                               is_downpayment, is_expense, product_id, product_uom, name, product_uom_qty, price_unit,
                               technical_price_unit, discount, price_subtotal, price_tax, price_total,
                               price_reduce_taxexcl, price_reduce_taxinc, customer_lead, qty_delivered_method,
                               qty_delivered, qty_invoiced, qty_to_invoice, invoice_status, untaxed_amount_invoiced,
                               untaxed_amount_to_invoice, create_date)
  SELECT line_id, id, 10 * j, co, cur, partner_id, state, NULL, false, false, product_id, uom,
         (ARRAY['Goods','Materials','Consulting','Installation'])[product_id], qty, price_unit, price_unit, discount,
         subtotal, price_tax, total, round(subtotal / qty, 2), round(total / qty, 2), 0, 'manual', delivered, qty_inv,
         CASE WHEN state = 'sale' THEN to_invoice ELSE 0 END,
         CASE WHEN state = 'sale' AND to_invoice > 0 THEN 'to invoice' WHEN state = 'sale' THEN 'invoiced'
              ELSE 'no' END,
         round(qty_inv * price_unit * (1 - discount / 100.0), 2),
         CASE WHEN state = 'sale' THEN round(to_invoice * price_unit * (1 - discount / 100.0), 2) ELSE 0 END,
         date_order
  FROM lt
)
INSERT INTO sale_order (id, name, partner_id, partner_invoice_id, partner_shipping_id, company_id, state, locked,
                        date_order, create_date, currency_id, currency_rate, payment_term_id, amount_untaxed,
                        amount_tax, amount_total, invoice_status, require_signature, require_payment,
                        x_credit_hold, x_credit_hold_reason)
SELECT o.id, 'S' || lpad(o.id::text, 8, '0'), o.partner_id, o.pid, o.partner_id, o.co, o.state, false,
       o.date_order, o.date_order, o.cur, 1 / o.rate, NULL, s.untaxed, s.tax, s.total,
       CASE WHEN o.state <> 'sale' THEN 'no' WHEN s.to_invoice > 0 THEN 'to invoice' ELSE 'invoiced' END, false, false,
       o.held, CASE WHEN o.held THEN 'held by a person' END
FROM o JOIN (SELECT id, sum(subtotal) AS untaxed, sum(price_tax) AS tax, sum(total) AS total,
                    sum(to_invoice) AS to_invoice FROM lt GROUP BY id) s ON s.id = o.id;
"""

#: the invoices of the partly invoiced order lines (every 10th order, first line: half its
#: quantity, rounded up): a receivable line and a product line (in units where the order line is
#: in dozens), linked to the order line through sale_order_line_invoice_rel
_ORDER_INVOICES = """
WITH l AS (
  SELECT sol.id AS sol_id, sol.order_id / 10 AS k, so.name AS order_name, so.partner_invoice_id AS pid, so.company_id AS co,
         sol.currency_id AS cur, sol.product_id, sol.product_uom, sol.qty_invoiced, sol.price_unit, sol.discount,
         least(so.date_order::date + 1 + floor(bench_u(sol.id, 60) * 5)::int, DATE '{as_of}') AS doc_date,
         bp.rate, bp.term_days, bp.term_id, CASE so.company_id WHEN 1 THEN 0.19 ELSE 0.07 END AS tax
  FROM sale_order_line sol JOIN sale_order so ON so.id = sol.order_id JOIN bench_partner bp ON bp.pid = so.partner_invoice_id
  WHERE sol.qty_invoiced > 0
), w AS (
  SELECT l.*, {order_move_base} + k AS move_id, {order_line_base} + k AS rec_line,
         {order_line_base} + {order_invoices} + k AS prod_line,
         'INV/' || extract(year FROM doc_date) || '/' || lpad(({order_move_base} + k)::text, 8, '0') AS name,
         round(qty_invoiced * price_unit * (1 - discount / 100.0), 2) AS subtotal,
         CASE WHEN product_uom = 2 THEN qty_invoiced * 12 ELSE qty_invoiced END AS inv_qty,
         CASE WHEN product_uom = 2 THEN 1 ELSE product_uom END AS inv_uom,
         CASE WHEN product_uom = 2 THEN round(price_unit / 12, 4) ELSE price_unit END AS inv_price
  FROM l
), t AS (
  SELECT w.*, round(subtotal * tax, 2) AS amount_tax, subtotal + round(subtotal * tax, 2) AS total,
         doc_date + term_days AS due FROM w
), m AS (
  INSERT INTO {move_columns}
  SELECT move_id, name, 'out_invoice', 'posted', doc_date, 3 * co - 2, 'no', doc_date, due, pid, pid, co, cur,
         subtotal, amount_tax, total, total, round(subtotal * rate, 2), round(total * rate, 2), total,
         round(total * rate, 2), 'not_paid', NULL, term_id, order_name, true, doc_date::timestamp
  FROM t
), r AS (
  INSERT INTO sale_order_line_invoice_rel (invoice_line_id, order_line_id) SELECT prod_line, sol_id FROM t
), pl AS (
  INSERT INTO account_move_line (id, move_id, move_name, journal_id, account_id, partner_id, company_id, date,
                                 invoice_date, currency_id, company_currency_id, amount_currency,
                                 amount_residual_currency, balance, debit, credit, amount_residual, reconciled,
                                 parent_state, display_type, name, product_id, product_uom_id, quantity, price_unit,
                                 discount, price_subtotal, price_total, sequence)
  SELECT prod_line, move_id, name, 3 * co - 2, 2 + co, pid, co, doc_date, doc_date, cur, co, -subtotal, 0,
         -round(subtotal * rate, 2), 0, round(subtotal * rate, 2), 0, false, 'posted', 'product',
         (ARRAY['Goods','Materials','Consulting','Installation'])[product_id], product_id, inv_uom, inv_qty, inv_price,
         discount, subtotal, total, 10
  FROM t
)
INSERT INTO {line_columns}
SELECT rec_line, move_id, name, 3 * co - 2, co, pid, co, doc_date, doc_date, due, cur, co, total, total,
       round(total * rate, 2), round(total * rate, 2), 0, round(total * rate, 2), false, 'posted', 'payment_term',
       name
FROM t;
"""


def counts(lines: int, customers: int) -> dict[str, int]:
    """Documents per kind so that singles + 3 * installments + 2 * history + order_invoices == lines
    (receivable lines); every 10th of the ``customers`` orders is partly invoiced."""
    history, installments, order_invoices = lines // 10, lines // 50, customers // 10
    n = {"history": history, "installments": installments, "order_invoices": order_invoices,
         "singles": lines - 2 * history - 3 * installments - order_invoices}
    base = n["singles"] + installments
    line_base = n["singles"] + 3 * installments
    return {**n, "base": base, "line_base": line_base, "order_move_base": base + 2 * history,
            "order_line_base": line_base + 2 * history}


def _droppable_indexes(conn) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of the big tables that back no constraint."""
    return conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1",
        (list(BIG_TABLES),)).fetchall()


def fill(url: str, customers: int, lines: int) -> dict[str, float]:
    """Create the Odoo 18 tables in the (empty) database at ``url`` and fill them; seconds per step."""
    import psycopg

    from connectors.odoo.tables import SETUP_DDL, create_schema, tables

    create_schema(url, 18)
    n = counts(lines, customers)
    fmt = {"as_of": AS_OF.isoformat(), "customers": customers, "company_partner": customers + customers // 10, **n,
           "move_columns": _MOVE_COLUMNS, "line_columns": _LINE_COLUMNS}
    steps: dict[str, float] = {}
    with psycopg.connect(_libpq(url), autocommit=True) as conn:

        def run(name: str, sql: str) -> None:
            start = time.perf_counter()
            conn.execute(_format(sql, fmt))
            steps[name] = round(time.perf_counter() - start, 2)
            print(f"  fill {name:<14} {steps[name]:7.1f} s", file=sys.stderr, flush=True)

        for ddl in SETUP_DDL:
            conn.execute(ddl)
        # Odoo's indexes (create_schema made them) are built once after the fill: faster than row by row
        indexes = _droppable_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table in BIG_TABLES:
            conn.execute(f"ALTER TABLE {table} SET UNLOGGED")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        run("masters", _FUNCTIONS + _MASTERS)
        run("partners", _PARTNERS)
        run("singles", _SINGLES)
        run("installments", _INSTALLMENTS)
        run("history", _HISTORY)
        run("orders", _ORDERS)
        run("order_invoices", _ORDER_INVOICES)
        start = time.perf_counter()
        for _, ddl in indexes:
            conn.execute(ddl)
        steps["indexes"] = round(time.perf_counter() - start, 2)
        for table in tables(18).metadata.sorted_tables:  # ids were given: serials continue after them
            if "id" in table.c:  # many2many relation tables have no serial
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                             f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)")
        conn.execute("DROP TABLE bench_partner")
        conn.execute("DROP FUNCTION bench_n(bigint, int)")
        conn.execute("DROP FUNCTION bench_u(bigint, int)")
        start = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")  # hint bits and statistics, as a live database has them
        steps["vacuum_analyze"] = round(time.perf_counter() - start, 2)
        print(f"  fill indexes ({len(indexes)}) + vacuum {steps['indexes'] + steps['vacuum_analyze']:7.1f} s",
              file=sys.stderr)
    return steps


def _format(sql: str, values: dict) -> str:
    """``{name}`` placeholders only (the SQL's own braces are JSON literals, left alone)."""
    for key, value in values.items():
        sql = sql.replace("{" + key + "}", str(value))
    return sql


def _libpq(url: str) -> str:
    """The libpq connection string of a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts = {"host": u.host, "port": u.port, "user": u.username, "password": u.password, "dbname": u.database}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def table_counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(_libpq(url)) as conn:
        return {n: conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in BIG_TABLES}


# ---------------------------------------------------------------------------- measuring (subprocesses)


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _statement(conn, entity: str):
    """The connector's statement for ``entity`` (all companies), as its read_* builds it."""
    from connectors.odoo import read
    from connectors.odoo.tables import tables

    t = tables(18)
    if entity == "open_items":
        return read.open_items_stmt(t, COMPANIES)
    if entity == "customers":  # with the optional columns read_customers_raw / read_payments look up
        days_next_month = bool(read.existing_columns(conn, t.account_payment_term_line.name, ["days_next_month"]))
        return read.customers_stmt(t, COMPANIES, "Prepayment", days_next_month=days_next_month)
    if entity == "payments":
        return read.payments_stmt(t, COMPANIES,
                                  read.existing_columns(conn, t.account_move.name, read.payment_link_columns(t)))
    return read.open_orders_stmt(t, COMPANIES, read.has_custom_fields(conn))


def measure_connector(url: str, entity: str) -> dict:
    """One connector read in this (fresh) process: wall time and memory."""
    import gc

    from connectors.odoo import OdooConnector

    con = OdooConnector(url, {"version": 18})
    con.read_companies(COMPANIES)  # connect and import once, as a nightly run has; not part of the read
    gc.collect()
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    frame = getattr(con, f"read_{entity}")(COMPANIES)
    seconds = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    con.close()
    return {"rows": len(frame), "seconds": round(seconds, 3), "rss_before_mb": before, "peak_rss_mb": peak,
            "extra_mb": round(peak - before, 1),
            "frame_mb": round(frame.memory_usage(deep=True).sum() / 2**20, 1)}


def measure_copy(url: str, entity: str) -> dict:
    """``COPY (<the connector's SQL>) TO STDOUT`` through psycopg, bytes received and dropped."""
    from sqlalchemy import create_engine

    from connectors.sql import bound_sql

    engine = create_engine(url)
    with engine.connect() as conn:
        sql = bound_sql(conn, _statement(conn, entity))
        start = time.perf_counter()
        raw = conn.connection.driver_connection
        size = rows = 0
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
            for block in copy:
                size += len(block)
                rows += 1
        seconds = time.perf_counter() - start
    engine.dispose()
    return {"rows": rows, "seconds": round(seconds, 3), "mb": round(size / 2**20, 1)}


#: application_name of the measuring subprocesses' sessions (a timed-out one is cancelled by it)
CHILD_APP = "odoo_extract_bench_child"


def _child(kind: str, url: str, entity: str, timeout: float | None = None) -> dict:
    """One measurement in a fresh subprocess; ``{"timed_out": True}`` after ``timeout`` seconds
    (the subprocess is killed and its server session cancelled)."""
    env = {**os.environ, "PGAPPNAME": CHILD_APP}
    try:
        out = subprocess.run([sys.executable, __file__, "--_measure", kind, "--_url", url, "--_entity", entity],
                             capture_output=True, text=True, check=False, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        import psycopg

        with psycopg.connect(_libpq(url), autocommit=True) as conn:  # the killed read's query keeps running
            conn.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                         "AND datname = current_database()", (CHILD_APP,))
        return {"timed_out": True}
    if out.returncode != 0:
        raise SystemExit(f"{kind} {entity} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout)


def _best(kind: str, url: str, entity: str, repeat: int, timeout: float | None) -> dict:
    """The fastest of ``repeat`` runs; after a timed-out run no more runs (``seconds`` None)."""
    runs = []
    for _ in range(repeat):
        runs.append(_child(kind, url, entity, timeout))
        if runs[-1].get("timed_out"):
            break
    done = [r for r in runs if not r.get("timed_out")]
    best = min(done, key=lambda r: r["seconds"]) if done else {"rows": None, "seconds": None}
    return {**best, "runs_s": [r.get("seconds", f"> {timeout:g}") for r in runs]}


# ---------------------------------------------------------------------------- driver


def _machine() -> dict:
    import numpy
    import pandas
    import psycopg
    import pyarrow
    import sqlalchemy

    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    return {"cpus": os.cpu_count(), "cpu": cpu, "mem_gb": round(mem_kb / 2**20, 1), "python": platform.python_version(),
            "pandas": pandas.__version__, "numpy": numpy.__version__, "pyarrow": pyarrow.__version__,
            "psycopg": psycopg.__version__, "sqlalchemy": sqlalchemy.__version__}


def _server(url: str) -> dict:
    import psycopg

    with psycopg.connect(_libpq(url)) as conn:
        return {k: conn.execute(f"SHOW {k}").fetchone()[0]
                for k in ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather")}


def _admin(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(sql)


def _row(entity: str, r: dict) -> str:
    """One line of the printed table (a timed-out side shows as ``timeout``)."""
    def num(value, width, fmt):
        return f"{'timeout' if value is None else format(value, fmt):>{width}}"

    return (f"{entity:<12} {num(r['rows'], 10, ',')} {num(r['connector_s'], 12, '.2f')} "
            f"{num(r['copy_s'], 8, '.2f')} {num(r['ratio'], 6, '.2f')} {num(r['peak_rss_mb'], 8, '.1f')}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=250_000)
    ap.add_argument("--lines", type=int, default=5_000_000, help="receivable account_move_line rows")
    ap.add_argument("--admin-url", default=os.environ.get("CREDITCTL_BENCH_PG_URL", DEFAULT_ADMIN_URL),
                    help="SQLAlchemy URL of a database on the server, as a user that may CREATE DATABASE")
    ap.add_argument("--db", default="creditctl_bench_odoo", help="database to (re)create and fill")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each side; the fastest counts (default 2)")
    ap.add_argument("--timeout", type=float, default=900,
                    help="seconds after which one measured run is stopped and recorded as timed out (default 900)")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards (and reuse it with --reuse)")
    ap.add_argument("--reuse", action="store_true", help="measure an already filled --db (from --keep)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "odoo_extract.json")
    ap.add_argument("--_measure", choices=["connector", "copy"], help=argparse.SUPPRESS)
    ap.add_argument("--_url", help=argparse.SUPPRESS)
    ap.add_argument("--_entity", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._measure:
        fn = measure_connector if args._measure == "connector" else measure_copy
        print(json.dumps(fn(args._url, args._entity)))
        return 0
    if args.customers < 10 or args.lines < 100 or counts(args.lines, args.customers)["singles"] < 1:
        ap.error("--customers must be >= 10, --lines >= 100 and more than about customers / 10 + lines / 3")

    from sqlalchemy.engine import make_url

    url = make_url(args.admin_url).set(database=args.db).render_as_string(hide_password=False)
    total_start = time.perf_counter()
    fill_steps: dict[str, float] = {}
    if not args.reuse:
        print(f"filling {args.db}: {args.customers:,} customers, {args.lines:,} receivable lines", file=sys.stderr)
        _admin(args.admin_url, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        _admin(args.admin_url, f'CREATE DATABASE "{args.db}"')
        fill_steps = fill(url, args.customers, args.lines)
    try:
        rows = table_counts(url)
        results = {}
        for entity in READS:
            _child("copy", url, entity)  # warm-up: both sides then read from a warm cache
            connector = _best("connector", url, entity, args.repeat, args.timeout)
            copy = _best("copy", url, entity, args.repeat, args.timeout)
            if None not in (connector["rows"], copy["rows"]) and connector["rows"] != copy["rows"]:
                raise SystemExit(f"{entity}: connector read {connector['rows']} rows, COPY {copy['rows']}")
            ratio = (round(connector["seconds"] / copy["seconds"], 2)
                     if None not in (connector["seconds"], copy["seconds"]) else None)
            results[entity] = {"rows": copy["rows"] if connector["rows"] is None else connector["rows"],
                               "connector_s": connector["seconds"], "copy_s": copy["seconds"], "ratio": ratio,
                               "peak_rss_mb": connector.get("peak_rss_mb"), "extra_mb": connector.get("extra_mb"),
                               "rss_before_mb": connector.get("rss_before_mb"),
                               "frame_mb": connector.get("frame_mb"), "copy_mb": copy.get("mb"),
                               "connector_runs_s": connector["runs_s"], "copy_runs_s": copy["runs_s"]}
            print("  " + _row(entity, results[entity]), file=sys.stderr, flush=True)
        server = _server(url)
    finally:
        if not args.keep:
            _admin(args.admin_url, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    report = {
        "benchmark": "odoo_extract",
        "customers": args.customers, "receivable_lines": args.lines, "odoo_version": 18, "companies": COMPANIES,
        "table_rows": rows, "fill_s": fill_steps, "reads": results,
        "measures": "connector_s: OdooConnector.read_<entity>(all companies) wall time in a fresh process; copy_s: "
                    "COPY (same SQL, same bound values) TO STDOUT via psycopg, bytes dropped; ratio = "
                    "connector_s / copy_s; peak_rss_mb: VmHWM of the connector's process (interpreter and "
                    "imports included), extra_mb = peak - RSS before the read; frame_mb: the frame (deep)",
        "machine": _machine(), "server": server,
        "command": "python bench/odoo_extract_bench.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "total_s": round(time.perf_counter() - total_start, 1),
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)
    print(f"\n{args.customers:,} customers, {args.lines:,} receivable lines, {os.cpu_count()} cores "
          f"(total {report['total_s']:.0f} s)")
    print(f"{'read':<12} {'rows':>10} {'connector s':>12} {'COPY s':>8} {'ratio':>6} {'peak MB':>8}")
    for entity, r in results.items():
        print(_row(entity, r))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
