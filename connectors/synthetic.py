"""Realistic canonical data for any ERP's test fixture or benchmark.

The demo generator's business logic (healthy customers, late payers, over-limit, new customers,
seriously overdue, credit notes, partial payments, installments, foreign currency, blocks and
holds by a person) is reused by generating the demo ERP into a temporary file and reading it
back as SPEC §3 frames. Each ERP's fixture then writes those frames into its own tables, so
every connector is tested against the same business and the same expected positions.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from connectors.demo import DEMO_COMPANIES, DemoConnector, generate_demo_erp
from connectors.erpnext.read import read_open_items
from etl.extract import Extract


def synthetic_extract(customers: int = 500, as_of: date = date(2026, 11, 28), seed: int = 7) -> Extract:
    """The demo ERP's business as canonical frames (deterministic for the same arguments).

    Companies are ``DEMO_COMPANIES`` (EUR and USD). Frames satisfy their contracts. It has no
    open deliveries: only ERPNext has such documents, and every ERP's fixture loads this business
    (the ERPNext tests and the demo cover deliveries).

    Open items are in their documents' own currency (the Accounts Receivable report's "in party
    currency"), so every ERP's fixture holds foreign-currency documents; ERPNext itself states
    receivables in the company currency (connectors.erpnext.fixture.company_currency_extract gives
    the frames it reads back).
    """
    with tempfile.TemporaryDirectory(prefix="creditctl-synthetic-") as folder:
        path = Path(folder) / "demo.sqlite"
        generate_demo_erp(path, customers=customers, as_of=as_of, seed=seed)
        connector = DemoConnector(path)
        try:
            companies = list(DEMO_COMPANIES)
            frames = {e: getattr(connector, f"read_{e}")(companies) for e in Extract.entities()
                      if e not in ("open_deliveries", "open_items")}
            with connector._connection("read open items") as conn:
                frames["open_items"] = read_open_items(conn, companies, connector.chunk_size, in_party_currency=True)
            return Extract(**frames)
        finally:
            connector.close()
