"""The SAP Business One connector (SPEC §7): one B1 company database <-> the canonical frames.

``SapB1Connector(url, options)`` reads OCRD (+ OCRG, OCTG), OINV + INV6, ORIN, ORCT + RCT2,
ORDR + RDR1, ORTT and OADM with SQLAlchemy Core (``mssql+pyodbc`` in production; PostgreSQL in
the tests) and writes plans to the outbound interface table ``credit_decisions_out``, which a
B1-side job (DI API / Service Layer) imports. Mapping choices and the import contract:
docs/connectors/sap_b1.md.
"""

from connectors.sap_b1.connector import OPTIONS, SapB1Connector
from connectors.sap_b1.schema import create_outbound, create_schema, load_extract

__all__ = ["OPTIONS", "SapB1Connector", "create_outbound", "create_schema", "load_extract"]
