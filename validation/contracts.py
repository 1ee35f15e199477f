"""The canonical data contracts (SPEC §3) as pandera DataFrameModels.

Every connector produces frames shaped like these; everything downstream consumes only these.
Dates are ``datetime64[ns]`` at midnight, money is float64 in the document currency (rounded to
cents only where the spec says so), nullable integers use pandas' ``Int64``.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from validation.iso import COUNTRIES, CURRENCIES

DOC_TYPES = ["invoice", "credit_note", "payment_on_account", "debit_note"]
#: bounds every amount: a finite number (the text "inf" or "nan" parses as a float) of a sane size
MAX_MONEY = 1e15
#: the limits a person sets (round figures, typed or kept as master data): text in them that
#: looks like a thousands separator (``5.000``) is quarantined as ambiguous (validation.numbers).
#: Document amounts are not among them: an ERP's computed amounts have three decimals (219.445)
LIMIT_COLUMNS = frozenset({"credit_limit", "insured_limit"})
#: document types whose amount is positive (charges); the others are credits, amount < 0
DEBIT_DOC_TYPES = ["invoice", "debit_note"]
CREDIT_DOC_TYPES = ["credit_note", "payment_on_account"]
#: the ISO code lists as anchored alternations (sorted, so the derived GX suites are stable): a
#: regex rather than ``isin`` keeps one expectation per column in the GX suites, and a value that
#: is no code at all ("euro") and an unassigned one ("ZZZ") fail the same check
ISO_CURRENCY = "^(?:" + "|".join(sorted(CURRENCIES)) + ")$"
ISO_COUNTRY = "^(?:" + "|".join(sorted(COUNTRIES)) + ")$"
#: text columns of few distinct values (codes and kinds): a connector may hand them over as
#: categoricals, its other text columns as Arrow-backed strings (connectors.sql.read_frame's
#: ``compact``); the contracts treat either as the strings they hold (validation.numbers.only_strings)
CATEGORY_COLUMNS = frozenset({"company", "currency", "from_currency", "to_currency", "doc_type", "country",
                              "segment"})
#: the columns a dataframe-level check reads: their values are the quarantine row's ``value``
FRAME_CHECK_COLUMNS = {"due_not_before_doc": ["doc_date", "due_date"],
                       "open_within_amount": ["amount", "open_amount"],
                       "amount_sign_for_doc_type": ["doc_type", "amount"]}
#: str_matches checks of these columns get a readable name in the quarantine
ISO_CHECK_NAMES = {"currency": "not_iso_4217", "from_currency": "not_iso_4217",
                   "to_currency": "not_iso_4217", "country": "not_iso_3166"}


class Companies(pa.DataFrameModel):
    """One row per company (legal entity) credit control runs for."""

    company: Series[str] = pa.Field(unique=True, description="Company code as the ERP names it")
    currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Company currency, ISO-4217")

    class Config:
        strict = True
        coerce = True
        name = "companies"


class Customers(pa.DataFrameModel):
    """One row per customer and company, with its ERP credit state now."""

    company: Series[str] = pa.Field(description="Company code")
    customer_id: Series[str] = pa.Field(description="Customer key, unique per company")
    name: Series[str] = pa.Field(description="Customer name")
    country: Series[str] = pa.Field(nullable=True, str_matches=ISO_COUNTRY, description="ISO-3166 alpha-2")
    currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Billing currency")
    credit_limit: Series[float] = pa.Field(
        ge=0, le=MAX_MONEY, nullable=True, description="Credit limit in company currency; null = no limit set"
    )
    payment_terms_days: Series[int] = pa.Field(ge=0, description="Standard payment terms in days")
    customer_since: Series[pa.DateTime] = pa.Field(description="Date the customer was created")
    segment: Series[str] = pa.Field(nullable=True, description="Industry / customer group")
    insured_limit: Series[float] = pa.Field(
        ge=0, le=MAX_MONEY, nullable=True, description="Trade-credit-insurance cover in company currency"
    )
    external_rating: Series[pd.Int64Dtype] = pa.Field(
        ge=1, le=10, nullable=True, description="External rating, 1 best .. 10 worst"
    )
    is_blocked: Series[bool] = pa.Field(description="Customer blocked in the ERP now")
    on_prepayment: Series[bool] = pa.Field(description="Customer on prepayment terms in the ERP now")

    class Config:
        strict = True
        coerce = True
        name = "customers"
        unique = ["company", "customer_id"]


class OpenItems(pa.DataFrameModel):
    """Unpaid receivable documents (or installments), signed."""

    company: Series[str] = pa.Field(description="Company code")
    item_id: Series[str] = pa.Field(description="Document key, unique per company")
    customer_id: Series[str] = pa.Field(description="Customer key")
    doc_type: Series[str] = pa.Field(isin=DOC_TYPES, description="invoice, credit_note, payment_on_account or debit_note")
    doc_date: Series[pa.DateTime] = pa.Field(description="Document date")
    due_date: Series[pa.DateTime] = pa.Field(description="Due date, not before doc_date")
    amount: Series[float] = pa.Field(
        ge=-MAX_MONEY, le=MAX_MONEY, description="Original amount, signed (credits negative)")
    open_amount: Series[float] = pa.Field(
        ge=-MAX_MONEY, le=MAX_MONEY, description="Open amount, same sign as amount, |open| <= |amount|")
    currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Document currency")
    dunning_level: Series[int] = pa.Field(ge=0, description="Dunning level reached, 0 = none")

    class Config:
        strict = True
        coerce = True
        name = "open_items"
        unique = ["company", "item_id"]

    @pa.dataframe_check(name="due_not_before_doc", description="due_date >= doc_date")
    @classmethod
    def _due_after_doc(cls, df: pd.DataFrame) -> Series[bool]:
        return df["due_date"] >= df["doc_date"]

    @pa.dataframe_check(name="open_within_amount", description="|open| <= |amount|, same sign")
    @classmethod
    def _open_within_amount(cls, df: pd.DataFrame) -> Series[bool]:
        same_sign = (df["open_amount"] * df["amount"] >= 0)
        return same_sign & (df["open_amount"].abs() <= df["amount"].abs() + 0.005)

    @pa.dataframe_check(name="amount_sign_for_doc_type",
                        description="invoices and debit notes have amount > 0; credit notes and payments on "
                                    "account amount < 0")
    @classmethod
    def _amount_sign(cls, df: pd.DataFrame) -> Series[bool]:
        # an unknown doc_type fails its own isin check; the sign rule only judges known ones
        debit = df["doc_type"].isin(DEBIT_DOC_TYPES)
        credit = df["doc_type"].isin(CREDIT_DOC_TYPES)
        return (debit & (df["amount"] > 0)) | (credit & (df["amount"] < 0)) | ~(debit | credit)


class OpenOrders(pa.DataFrameModel):
    """Sales orders not fully invoiced, at their uninvoiced value."""

    company: Series[str] = pa.Field(description="Company code")
    order_id: Series[str] = pa.Field(description="Order key, unique per company")
    customer_id: Series[str] = pa.Field(description="Customer key")
    order_date: Series[pa.DateTime] = pa.Field(description="Order date")
    open_amount: Series[float] = pa.Field(ge=0, le=MAX_MONEY, description="Uninvoiced value in document currency")
    currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Document currency")
    on_hold: Series[bool] = pa.Field(description="Order on hold in the ERP now")

    class Config:
        strict = True
        coerce = True
        name = "open_orders"
        unique = ["company", "order_id"]


class OpenDeliveries(pa.DataFrameModel):
    """Goods delivered but not invoiced and not already counted in an open order's amount
    (ERPNext's own customer outstanding counts them); empty for an ERP without such documents."""

    company: Series[str] = pa.Field(description="Company code")
    delivery_id: Series[str] = pa.Field(description="Delivery key, unique per company")
    customer_id: Series[str] = pa.Field(description="Customer key")
    delivery_date: Series[pa.DateTime] = pa.Field(description="Delivery date")
    open_amount: Series[float] = pa.Field(ge=0, le=MAX_MONEY, description="Uninvoiced value in document currency")
    currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Document currency")

    class Config:
        strict = True
        coerce = True
        name = "open_deliveries"
        unique = ["company", "delivery_id"]


class Payments(pa.DataFrameModel):
    """Cleared invoices (payment history)."""

    company: Series[str] = pa.Field(description="Company code")
    item_id: Series[str] = pa.Field(description="Invoice key")
    customer_id: Series[str] = pa.Field(description="Customer key")
    doc_date: Series[pa.DateTime] = pa.Field(description="Invoice date")
    due_date: Series[pa.DateTime] = pa.Field(description="Invoice due date")
    paid_date: Series[pa.DateTime] = pa.Field(description="Posting date of the last payment allocated")
    amount: Series[float] = pa.Field(gt=0, le=MAX_MONEY, description="Invoice amount in document currency")
    currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Document currency")

    class Config:
        strict = True
        coerce = True
        name = "payments"
        unique = ["company", "item_id"]


class FxRates(pa.DataFrameModel):
    """Exchange rates: units of to_currency per 1 unit of from_currency, valid from as_of."""

    from_currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Source currency")
    to_currency: Series[str] = pa.Field(str_matches=ISO_CURRENCY, description="Target currency")
    rate: Series[float] = pa.Field(gt=0, le=MAX_MONEY, description="Units of to_currency per 1 from_currency")
    as_of: Series[pa.DateTime] = pa.Field(description="Date the rate applies from")

    class Config:
        strict = True
        coerce = True
        name = "fx_rates"
        unique = ["from_currency", "to_currency", "as_of"]


#: entity name -> (model, key columns used in quarantine rows)
ENTITIES: dict[str, tuple[type[pa.DataFrameModel], list[str]]] = {
    "companies": (Companies, ["company"]),
    "customers": (Customers, ["company", "customer_id"]),
    "open_items": (OpenItems, ["company", "item_id"]),
    "open_orders": (OpenOrders, ["company", "order_id"]),
    "open_deliveries": (OpenDeliveries, ["company", "delivery_id"]),
    "payments": (Payments, ["company", "item_id"]),
    "fx_rates": (FxRates, ["from_currency", "to_currency", "as_of"]),
}


def columns(entity: str) -> list[str]:
    """The contract's column names for an entity, in contract order."""
    model, _ = ENTITIES[entity]
    return list(model.to_schema().columns)


def empty_frame(entity: str) -> pd.DataFrame:
    """A zero-row frame with the entity's columns and dtypes."""
    model, _ = ENTITIES[entity]
    schema = model.to_schema()
    return pd.DataFrame({name: pd.Series([], dtype=col.dtype.type) for name, col in schema.columns.items()})
