"""Property (issue 12): a number formatted as any locale writes it is either read as exactly the
number the plain grammar defines, or quarantined — never silently a different number.

The numbers go through the files connector and the data contract as CSV cells: a credit limit,
a document amount (signed) and a rate. For a limit, being read also means being read as the
number the writer meant (``5.000`` is refused there); amounts and rates follow the grammar alone.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.files import FilesConnector
from tests.conftest import ROOT
from validation.numbers import NUMBER
from validation.quarantine import validate_frame

FIXTURE = ROOT / "tests" / "fixtures" / "evaluate"

# (thousands separator, decimal separator) of real locales: en, de, fr (NBSP and narrow NBSP),
# de-CH, it-CH, pl, es, pt-BR, sv, plain (no grouping) and an apostrophe with a comma
LOCALES = [(",", "."), (".", ","), ("\u00a0", ","), ("\u202f", ","), (" ", ","), ("'", "."), ("'", ","),
           ("\u2019", "."), ("", "."), ("", ","), ("_", "."), (" ", ".")]
AFFIXES = ["", "€", "€ ", "$", "US$", "CHF ", "£", "¥"]
SUFFIXES = ["", " €", "€", " EUR", " USD", " kr", "\u00a0zł"]


@st.composite
def formatted(draw) -> tuple[str, Decimal]:
    """(the text a locale's export writes, the number the writer meant)."""
    places = draw(st.integers(0, 3))
    units = draw(st.integers(-10**10, 10**10))
    value = Decimal(units).scaleb(-places)
    thousands, decimal = draw(st.sampled_from(LOCALES))
    indian = draw(st.booleans()) and thousands == ","
    digits, _, fraction = f"{abs(value):f}".partition(".")
    if draw(st.booleans()):  # grouped, or not (spreadsheets often drop it)
        groups = [digits[-3:]]
        rest = digits[:-3]
        size = 2 if indian else 3
        while rest:
            groups.insert(0, rest[-size:])
            rest = rest[:-size]
        digits = thousands.join(groups)
    text = digits + (decimal + fraction if fraction else "")
    if draw(st.booleans()) and not fraction:
        text += decimal + "0" * draw(st.integers(1, 3))  # fixed decimals: 5000,00
    if value < 0:
        sign = draw(st.sampled_from(["-{}", "({})", "{}-", "\u2212{}", "- {}"]))
        text = sign.format(text)
    elif draw(st.booleans()):
        text = "+" + text
    text = draw(st.sampled_from(AFFIXES)) + text + draw(st.sampled_from(SUFFIXES))
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from(["1e3", "-1.5E-2", "2.5e+2", "0x1F", "1_000", "nan", "-inf", "∞"]))
        value = None  # the grammar alone says what it means
    return text, value


def _grammar_value(text: str) -> float | None:
    stripped = text.strip()
    return float(stripped) if re.fullmatch(NUMBER, stripped) else None


def _folder(tmp_path: Path, amounts: list[str], rates: list[str]) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for entity in ("companies", "open_orders", "payments"):
        (folder / f"{entity}.csv").write_bytes((FIXTURE / f"{entity}.csv").read_bytes())
    customers = pd.read_csv(FIXTURE / "customers.csv", dtype=str, keep_default_na=False)
    extra = pd.concat([customers.iloc[[0]]] * len(amounts), ignore_index=True)
    extra["customer_id"] = [f"X{i}" for i in range(len(amounts))]
    extra["credit_limit"] = amounts
    pd.concat([customers, extra], ignore_index=True).to_csv(folder / "customers.csv", index=False)
    items = pd.DataFrame({"company": "DE01", "item_id": [f"I{i}" for i in range(len(amounts))], "customer_id": "C1",
                          "doc_type": "invoice", "doc_date": "2026-06-01", "due_date": "2026-07-01",
                          "amount": amounts, "open_amount": "0", "currency": "EUR", "dunning_level": "0"})
    # the sign decides the document type, so a correctly read amount passes the sign rule
    items.loc[[a.strip().startswith(("-", "(", "\u2212")) or a.strip().endswith("-") for a in amounts],
              "doc_type"] = "credit_note"
    items.to_csv(folder / "open_items.csv", index=False)
    pd.DataFrame({"from_currency": "USD", "to_currency": "EUR", "rate": rates,
                  "as_of": [f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}" for i in range(len(rates))]}
                 ).to_csv(folder / "fx_rates.csv", index=False)
    return folder


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(formatted(), min_size=1, max_size=25))
def test_a_formatted_number_is_read_as_the_grammar_says_or_quarantined(tmp_path, numbers) -> None:
    texts = [t for t, _ in numbers]
    folder = _folder(tmp_path, texts, texts)
    connector = FilesConnector(folder)

    valid, q = validate_frame("customers", connector.read_customers([]))
    limits = dict(zip(valid["customer_id"], valid["credit_limit"], strict=True))
    for i, (text, meant) in enumerate(numbers):
        key = f"X{i}"
        if key in limits:
            assert limits[key] == _grammar_value(text), (text, limits[key])
            if meant is not None:  # a limit: never another number than the writer meant
                assert limits[key] == float(meant), (text, limits[key], meant)
        else:  # quarantined with the cell as it was written
            assert set(q.loc[q["key"] == f"DE01/{key}", "value"]) == {text}, (text, q)

    valid, q = validate_frame("open_items", connector.read_open_items([]))
    read = dict(zip(valid["item_id"], valid["amount"], strict=True))
    quarantined = set(q["key"].str.split("/").str[1])
    for i, (text, _) in enumerate(numbers):
        key = f"I{i}"
        assert (key in read) != (key in quarantined), (text, q[q["key"] == f"DE01/{key}"])
        if key in read:
            assert read[key] == _grammar_value(text), (text, read[key])
        else:  # quarantined with the cell as it was written
            assert set(q.loc[q["key"] == f"DE01/{key}", "value"]) <= {text, "", f"doc_type=invoice, amount={text}",
                                                                      f"doc_type=credit_note, amount={text}",
                                                                      f"amount={text}, open_amount=0"}, text

    valid, q = validate_frame("fx_rates", connector.read_fx_rates([]))
    as_of = valid["as_of"].dt.strftime("%Y-%m-%d")
    rates = dict(zip(as_of, valid["rate"], strict=True))
    for i, (text, _) in enumerate(numbers):
        day = f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}"
        if day in rates:  # a rate is read exactly as the grammar defines it (5.000 is 5 here)
            assert rates[day] == _grammar_value(text), (text, rates[day])
        else:
            assert _grammar_value(text) is None or _grammar_value(text) <= 0, text
