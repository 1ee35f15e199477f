"""The part of the SAP Business One (SQL Server) schema creditctl reads, as SQLAlchemy Core tables,
plus the outbound interface table it writes (``credit_decisions_out``).

Names and types follow B1's SQL Server DDL (SDK "Database Tables Reference"): text ``nvarchar(n)``,
money ``numeric(19,6)``, dates ``datetime``, Y/N flags ``char(1)``, keys ``int`` / ``smallint``.
Only the columns this connector uses are declared. ``Unicode`` renders ``NVARCHAR`` on
``mssql`` and ``VARCHAR`` on PostgreSQL (the test server); money columns hand back floats.

One B1 database is one company: ``OADM`` holds its name and local currency (``MainCurncy``).

:func:`create_schema` and :func:`load_extract` build a B1-shaped test database from canonical
frames; they are never run against a real B1 database (only :func:`create_outbound` is, once,
by the B1 administrator — or use the DDL in docs/connectors/sap_b1.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sqlalchemy import (
    CHAR,
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Unicode,
    UnicodeText,
    create_engine,
    insert,
)

from etl.extract import Extract

metadata = MetaData()
outbound_metadata = MetaData()


def _money() -> Numeric:
    """B1 amounts: numeric(19,6)."""
    return Numeric(19, 6, asdecimal=False)


def _yn(name: str, default: str = "N") -> Column:
    return Column(name, CHAR(1), server_default=default)


OADM = Table(
    "OADM", metadata,
    Column("CompnyName", Unicode(100), primary_key=True),
    Column("MainCurncy", Unicode(3)),
    _yn("DirectRate", "Y"),  # 'Y': ORTT.Rate = local per 1 foreign (direct quotation)
)

OCRG = Table(
    "OCRG", metadata,
    Column("GroupCode", SmallInteger, primary_key=True, autoincrement=False),
    Column("GroupName", Unicode(20)),
    _yn("GroupType", "C"),
)

OCTG = Table(
    "OCTG", metadata,
    Column("GroupNum", SmallInteger, primary_key=True, autoincrement=False),
    Column("PymntGroup", Unicode(100)),
    Column("ExtraMonth", SmallInteger, server_default="0"),
    Column("ExtraDays", SmallInteger, server_default="0"),
)

OCRD = Table(
    "OCRD", metadata,
    Column("CardCode", Unicode(15), primary_key=True),
    Column("CardName", Unicode(100)),
    _yn("CardType", "C"),
    Column("GroupCode", SmallInteger),
    Column("Currency", Unicode(3)),
    Column("CreditLine", _money(), server_default="0"),
    Column("Country", Unicode(3)),
    Column("CreateDate", DateTime),
    _yn("frozenFor", "N"),
    Column("FrozenComm", Unicode(30)),
    Column("GroupNum", SmallInteger),
)


def _document(name: str, *extra: Column) -> Table:
    """OINV / ORIN / ORDR headers share B1's marketing-document shape."""
    return Table(
        name, metadata,
        Column("DocEntry", Integer, primary_key=True, autoincrement=False),
        Column("DocNum", Integer),
        Column("CardCode", Unicode(15), index=True),
        Column("DocDate", DateTime),
        Column("DocDueDate", DateTime),
        Column("DocCur", Unicode(3)),
        Column("DocTotal", _money(), server_default="0"),
        Column("DocTotalFC", _money(), server_default="0"),
        Column("PaidToDate", _money(), server_default="0"),
        Column("PaidFC", _money(), server_default="0"),
        _yn("CANCELED", "N"),  # N, Y (cancelled), C (the cancellation document)
        _yn("DocStatus", "O"),  # O open, C closed
        *extra,
    )


OINV = _document("OINV")
ORIN = _document("ORIN")
ORDR = _document("ORDR", _yn("Confirmed", "Y"))

INV6 = Table(
    "INV6", metadata,
    Column("DocEntry", Integer, primary_key=True, autoincrement=False),
    Column("InstlmntID", Integer, primary_key=True, autoincrement=False),
    Column("DueDate", DateTime),
    Column("InsTotal", _money(), server_default="0"),
    Column("InsTotalFC", _money(), server_default="0"),
    Column("PaidToDate", _money(), server_default="0"),
    Column("PaidFC", _money(), server_default="0"),
    _yn("Status", "O"),
    Column("DunnLevel", Integer, server_default="0"),
)

RDR1 = Table(
    "RDR1", metadata,
    Column("DocEntry", Integer, primary_key=True, autoincrement=False),
    Column("LineNum", Integer, primary_key=True, autoincrement=False),
    _yn("LineStatus", "O"),
    Column("LineTotal", _money(), server_default="0"),
    Column("TotalFrgn", _money(), server_default="0"),
    Column("OpenSum", _money(), server_default="0"),
    Column("OpenSumFC", _money(), server_default="0"),
)

ORCT = Table(
    "ORCT", metadata,
    Column("DocEntry", Integer, primary_key=True, autoincrement=False),
    Column("DocNum", Integer),
    _yn("DocType", "C"),  # C customer, S supplier, A account
    Column("CardCode", Unicode(15), index=True),
    Column("DocDate", DateTime),
    Column("DocCurr", Unicode(3)),
    Column("DocTotal", _money(), server_default="0"),
    Column("DocTotalFC", _money(), server_default="0"),
    Column("NoDocSum", _money(), server_default="0"),  # amount on account (not allocated), LC
    Column("NoDocSumFC", _money(), server_default="0"),
    Column("OpenBal", _money(), server_default="0"),  # on-account amount still open, LC
    Column("OpenBalFc", _money(), server_default="0"),
    _yn("Canceled", "N"),
)

RCT2 = Table(
    "RCT2", metadata,
    Column("DocNum", Integer, primary_key=True, autoincrement=False),  # = ORCT.DocEntry
    Column("InvoiceId", Integer, primary_key=True, autoincrement=False),
    Column("DocEntry", Integer, index=True),  # the allocated document
    Column("InvType", Unicode(20)),  # '13' A/R invoice, '14' credit memo, ...
    Column("SumApplied", _money(), server_default="0"),
    Column("AppliedFC", _money(), server_default="0"),
)

ORTT = Table(
    "ORTT", metadata,
    Column("RateDate", DateTime, primary_key=True),
    Column("Currency", Unicode(3), primary_key=True),
    Column("Rate", _money()),
)

#: the outbound interface table (SPEC §7): creditctl INSERTs, the B1-side import job processes
credit_decisions_out = Table(
    "credit_decisions_out", outbound_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("company", Unicode(100), nullable=False),
    Column("customer_id", Unicode(15), nullable=False),
    Column("change", Unicode(20), nullable=False),
    Column("order_id", Unicode(20)),
    Column("before", Unicode(254)),
    Column("after", Unicode(254)),
    Column("rule_ids", UnicodeText),
    Column("reason", UnicodeText),
    Column("created_at", DateTime, nullable=False),
    Column("processed_at", DateTime),
)


def create_outbound(url: str) -> None:
    """Create ``credit_decisions_out`` if missing (the only DDL meant for a real B1 database)."""
    engine = create_engine(url)
    try:
        outbound_metadata.create_all(engine)
    finally:
        engine.dispose()


def create_schema(url: str) -> None:
    """Create the B1 tables (test DDL) and the outbound table."""
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
        outbound_metadata.create_all(engine)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- test loader


def _ts(values: pd.Series) -> list:
    return [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in values]


def _amounts(doc: np.ndarray, currency: pd.Series, main: str, rate: Mapping[str, float]) -> dict[str, np.ndarray]:
    """(local, foreign) amounts of document-currency values: FC is 0 for local documents."""
    local = currency.eq(main).to_numpy()
    factor = currency.map(lambda c: 1.0 if c == main else rate.get(c, 1.0)).to_numpy(dtype=float)
    return {"lc": np.where(local, doc, np.round(doc * factor, 6)), "fc": np.where(local, 0.0, doc)}


def load_extract(url: str, extract: Extract, company: str) -> dict[str, dict[str, str]]:
    """Write one company's canonical frames as B1 rows; returns the key mapping.

    Returns ``{"items": {canonical item_id: B1 item_id}, "payments": {...}, "orders": {canonical
    order_id: DocEntry}}`` so tests can compare frames. Choices (test data only): paid installments
    absent from the canonical frame get the amount of the invoice's first open installment; local
    amounts of foreign documents use the mean ORTT rate of the currency; every cleared invoice has
    one incoming payment dated ``paid_date``; an order is one open row.
    """
    co = extract.companies[extract.companies["company"] == company]
    if co.empty:
        raise ValueError(f"company {company!r} is not in the extract")
    main = str(co["currency"].iloc[0])
    cust = extract.customers[extract.customers["company"] == company].reset_index(drop=True)
    items = extract.open_items[extract.open_items["company"] == company].reset_index(drop=True)
    orders = extract.open_orders[extract.open_orders["company"] == company].reset_index(drop=True)
    paid = extract.payments[extract.payments["company"] == company].reset_index(drop=True)
    fx = extract.fx_rates[extract.fx_rates["to_currency"] == main]
    rate = fx.groupby("from_currency")["rate"].mean().to_dict()
    keys: dict[str, dict[str, str]] = {"items": {}, "payments": {}, "orders": {}}
    rows: dict[Table, list[dict]] = {tb: [] for tb in metadata.sorted_tables}

    rows[OADM].append({"CompnyName": company, "MainCurncy": main, "DirectRate": "Y"})
    groups = {name: 100 + i for i, name in enumerate(sorted(cust["segment"].dropna().unique()))}
    rows[OCRG] += [{"GroupCode": code, "GroupName": name, "GroupType": "C"} for name, code in groups.items()]
    terms_key = list(zip(cust["on_prepayment"].astype(bool), cust["payment_terms_days"].astype(int), strict=True))
    terms = {k: i + 1 for i, k in enumerate(sorted(set(terms_key)))}
    for (pre, days), num in terms.items():
        rows[OCTG].append({"GroupNum": num, "PymntGroup": "Prepayment" if pre else f"Net {days}",
                           "ExtraMonth": 0, "ExtraDays": days})
    for i, r in cust.iterrows():
        rows[OCRD].append({
            "CardCode": r["customer_id"], "CardName": r["name"], "CardType": "C",
            "GroupCode": groups.get(r["segment"]), "Currency": r["currency"],
            "CreditLine": 0.0 if pd.isna(r["credit_limit"]) else float(r["credit_limit"]),
            "Country": None if pd.isna(r["country"]) else r["country"],
            "CreateDate": pd.Timestamp(r["customer_since"]).to_pydatetime(),
            "frozenFor": "Y" if r["is_blocked"] else "N", "GroupNum": terms[terms_key[i]],
        })

    # open invoices (one per base id; installments "<id>/<n>")
    inv = items[items["doc_type"] == "invoice"].copy()
    inv["base"] = inv["item_id"].str.split("/").str[0]
    inv["inst"] = inv["item_id"].str.split("/").str[1].fillna("1").astype(int)
    entry = 0
    for _base, part in inv.groupby("base", sort=True):
        entry += 1
        part = part.sort_values("inst")
        cur = str(part["currency"].iloc[0])
        first_amount = float(part["amount"].iloc[0])
        present = dict(zip(part["inst"], part.itertuples(), strict=True))
        total = paid_total = 0.0
        for n in range(1, int(part["inst"].max()) + 1):
            r = present.get(n)
            ins = float(r.amount) if r else first_amount
            done = ins - float(r.open_amount) if r else ins
            a = _amounts(np.array([ins, done]), pd.Series([cur, cur]), main, rate)
            rows[INV6].append({
                "DocEntry": entry, "InstlmntID": n,
                "DueDate": pd.Timestamp(r.due_date if r else part["due_date"].min()).to_pydatetime(),
                "InsTotal": a["lc"][0], "InsTotalFC": a["fc"][0], "PaidToDate": a["lc"][1], "PaidFC": a["fc"][1],
                "Status": "O" if r else "C", "DunnLevel": int(r.dunning_level) if r else 0,
            })
            total, paid_total = total + ins, paid_total + done
            if r:
                keys["items"][r.item_id] = str(entry) if len(part) == 1 and n == 1 and "/" not in r.item_id \
                    else f"{entry}/{n}"
        a = _amounts(np.array([total, paid_total]), pd.Series([cur, cur]), main, rate)
        rows[OINV].append({
            "DocEntry": entry, "DocNum": entry, "CardCode": part["customer_id"].iloc[0],
            "DocDate": pd.Timestamp(part["doc_date"].iloc[0]).to_pydatetime(),
            "DocDueDate": pd.Timestamp(part["due_date"].max()).to_pydatetime(), "DocCur": cur,
            "DocTotal": a["lc"][0], "DocTotalFC": a["fc"][0], "PaidToDate": a["lc"][1], "PaidFC": a["fc"][1],
            "CANCELED": "N", "DocStatus": "O",
        })

    # cleared invoices, each paid by one incoming payment
    rct = 0
    for r in paid.sort_values("item_id").itertuples():
        entry += 1
        rct += 1
        a = _amounts(np.array([float(r.amount)]), pd.Series([r.currency]), main, rate)
        lc, fc = float(a["lc"][0]), float(a["fc"][0])
        rows[OINV].append({
            "DocEntry": entry, "DocNum": entry, "CardCode": r.customer_id,
            "DocDate": pd.Timestamp(r.doc_date).to_pydatetime(), "DocDueDate": pd.Timestamp(r.due_date).to_pydatetime(),
            "DocCur": r.currency, "DocTotal": lc, "DocTotalFC": fc, "PaidToDate": lc, "PaidFC": fc,
            "CANCELED": "N", "DocStatus": "C",
        })
        rows[INV6].append({"DocEntry": entry, "InstlmntID": 1, "DueDate": pd.Timestamp(r.due_date).to_pydatetime(),
                           "InsTotal": lc, "InsTotalFC": fc, "PaidToDate": lc, "PaidFC": fc, "Status": "C",
                           "DunnLevel": 0})
        rows[ORCT].append({"DocEntry": rct, "DocNum": rct, "DocType": "C", "CardCode": r.customer_id,
                           "DocDate": pd.Timestamp(r.paid_date).to_pydatetime(), "DocCurr": r.currency,
                           "DocTotal": lc, "DocTotalFC": fc, "NoDocSum": 0.0, "NoDocSumFC": 0.0,
                           "OpenBal": 0.0, "OpenBalFc": 0.0, "Canceled": "N"})
        rows[RCT2].append({"DocNum": rct, "InvoiceId": 0, "DocEntry": entry, "InvType": "13",
                           "SumApplied": lc, "AppliedFC": fc})
        keys["payments"][r.item_id] = str(entry)

    # open credit memos
    for n, r in enumerate(items[items["doc_type"] == "credit_note"].sort_values("item_id").itertuples(), start=1):
        a = _amounts(np.array([-float(r.amount), -float(r.amount) + float(r.open_amount)]), pd.Series([r.currency] * 2),
                     main, rate)
        rows[ORIN].append({
            "DocEntry": n, "DocNum": n, "CardCode": r.customer_id, "DocDate": pd.Timestamp(r.doc_date).to_pydatetime(),
            "DocDueDate": pd.Timestamp(r.due_date).to_pydatetime(), "DocCur": r.currency,
            "DocTotal": a["lc"][0], "DocTotalFC": a["fc"][0], "PaidToDate": a["lc"][1], "PaidFC": a["fc"][1],
            "CANCELED": "N", "DocStatus": "O",
        })
        keys["items"][r.item_id] = f"CN-{n}"

    # payments on account
    for r in items[items["doc_type"] == "payment_on_account"].sort_values("item_id").itertuples():
        rct += 1
        a = _amounts(np.array([-float(r.amount), -float(r.open_amount)]), pd.Series([r.currency] * 2), main, rate)
        rows[ORCT].append({
            "DocEntry": rct, "DocNum": rct, "DocType": "C", "CardCode": r.customer_id,
            "DocDate": pd.Timestamp(r.doc_date).to_pydatetime(), "DocCurr": r.currency,
            "DocTotal": a["lc"][0], "DocTotalFC": a["fc"][0], "NoDocSum": a["lc"][0], "NoDocSumFC": a["fc"][0],
            "OpenBal": a["lc"][1], "OpenBalFc": a["fc"][1], "Canceled": "N",
        })
        keys["items"][r.item_id] = f"RC-{rct}"

    for n, r in enumerate(orders.sort_values("order_id").itertuples(), start=1):
        a = _amounts(np.array([float(r.open_amount)]), pd.Series([r.currency]), main, rate)
        lc, fc = float(a["lc"][0]), float(a["fc"][0])
        rows[ORDR].append({
            "DocEntry": n, "DocNum": n, "CardCode": r.customer_id, "DocDate": pd.Timestamp(r.order_date).to_pydatetime(),
            "DocDueDate": pd.Timestamp(r.order_date).to_pydatetime(), "DocCur": r.currency,
            "DocTotal": lc, "DocTotalFC": fc, "CANCELED": "N", "DocStatus": "O",
            "Confirmed": "N" if r.on_hold else "Y",
        })
        rows[RDR1].append({"DocEntry": n, "LineNum": 0, "LineStatus": "O", "LineTotal": lc, "TotalFrgn": fc,
                           "OpenSum": lc, "OpenSumFC": fc})
        keys["orders"][r.order_id] = str(n)

    rows[ORTT] += [{"RateDate": pd.Timestamp(r.as_of).to_pydatetime(), "Currency": r.from_currency,
                    "Rate": float(r.rate)} for r in fx.itertuples()]

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in metadata.sorted_tables:
                # executemany takes its columns from the first row: every row names the same ones
                assert all(r.keys() == rows[table][0].keys() for r in rows[table]), table.name
                if rows[table]:
                    conn.execute(insert(table), rows[table])
    finally:
        engine.dispose()
    return keys
