"""The files connector's inputs cannot corrupt a run (issue 12, section 4).

Numbers are read in one grammar, and whatever is not in it (or is ambiguous in a money column)
is quarantined with the cell's own text; every quarantine ``value`` is the raw text as read; a
file that cannot be used as a whole is one line naming the file.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from connectors.files import FilesConnector
from etl.pipeline import evaluate
from etl.ports import ConnectorError
from etl.rules import load_ruleset
from tests.cli_helpers import run_cli
from tests.conftest import ROOT
from validation.contracts import ENTITIES, columns
from validation.quarantine import validate_frame

FIXTURE = ROOT / "tests" / "fixtures" / "evaluate"
AS_OF = dt.date(2026, 6, 30)
RULES = load_ruleset([FIXTURE / "rules.yaml"])


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(FIXTURE, folder)
    return folder


def _set_cell(folder: Path, entity: str, row: int, column: str, text: str) -> None:
    """Write ``text`` verbatim into one cell (quoted as CSV needs it: a comma stays in the cell)."""
    path = folder / f"{entity}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, column] = text
    frame.to_csv(path, index=False)


def _quarantine(folder: Path, entity: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return validate_frame(entity, getattr(FilesConnector(folder), f"read_{entity}")([]))


# --------------------------------------------------------------------------- the reported case


def test_a_german_thousands_separator_in_a_credit_limit_is_quarantined_not_read_as_5(tmp_path) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "customers", 0, "credit_limit", "5.000")  # C1: limit 10000, exposure 1000
    result = evaluate(FilesConnector(folder).read_extract(), RULES, AS_OF)
    q = result.quarantine
    row = q[q["entity"] == "customers"]
    assert row[["key", "check", "value"]].to_dict("records") == [
        {"key": "DE01/C1", "check": "credit_limit:ambiguous_number", "value": "5.000"}]
    # read as 5.00 the customer was held; now it gets no decision at all (its ERP state is left)
    assert "C1" not in set(result.decisions["customer_id"])


def test_the_reported_case_through_evaluate_fails_instead_of_holding(tmp_path, capsys, monkeypatch) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "customers", 0, "credit_limit", "5.000")
    out = tmp_path / "out" / "decisions.csv"
    result = run_cli(capsys, monkeypatch, "evaluate", "--data", str(folder), "--rules", str(folder / "rules.yaml"),
                     "--as-of", "2026-06-30", "--out", str(out))
    assert result.code == 1, result.err  # the quarantine guard: 1 of 8 customers is above 1 %
    quarantine = pd.read_csv(out.parent / "quarantine.csv", dtype=str, keep_default_na=False)
    assert quarantine.loc[quarantine["key"] == "DE01/C1", "value"].tolist() == ["5.000"]


# --------------------------------------------------------------------------- the grammar

# text that is no number in the grammar, or is ambiguous in a money column
NOT_NUMBERS = {
    "5.000": "ambiguous_number", "12.500": "ambiguous_number", "-100.250": "ambiguous_number",
    "1.234.567": "not_a_number", "5,000": "not_a_number", "5.000,00": "not_a_number",
    "1 234,56": "not_a_number", "1\u202f234": "not_a_number", "1\u00a0234": "not_a_number",
    "1'234.56": "not_a_number", "€5": "not_a_number", "5 EUR": "not_a_number", "$5": "not_a_number",
    "(100)": "not_a_number", "100-": "not_a_number", "1_000": "not_a_number", "0x10": "not_a_number",
    "nan": "not_a_number", "NaN": "not_a_number", "inf": "not_a_number", "-Infinity": "not_a_number",
    ".5": "not_a_number", "5.": "not_a_number", "1e": "not_a_number", "1e3.5": "not_a_number",
    "--5": "not_a_number", "٥": "not_a_number", "12,5x": "not_a_number", "ten": "not_a_number",
}


@pytest.mark.parametrize("text", sorted(NOT_NUMBERS))
def test_text_outside_the_grammar_is_quarantined_with_its_raw_text(tmp_path, text: str) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "customers", 0, "credit_limit", text)
    valid, q = _quarantine(folder, "customers")
    assert q[["key", "check", "value"]].to_dict("records") == [
        {"key": "DE01/C1", "check": f"credit_limit:{NOT_NUMBERS[text]}", "value": text}]
    assert "C1" not in set(valid["customer_id"])


def test_an_empty_required_number_is_a_null_with_an_empty_value(tmp_path) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "open_items", 0, "amount", "")
    _, q = _quarantine(folder, "open_items")
    assert q[["key", "check", "value"]].to_dict("records") == [
        {"key": "DE01/INV-1", "check": "amount:null", "value": ""}]


# the text, and the number the grammar makes of it (amounts of an invoice: positive; a
# document amount may have three decimals, as a partly invoiced order's has)
NUMBERS = {"1000": 1000.0, "5000.5": 5000.5, "1e3": 1000.0, "1.5E2": 150.0, "+7": 7.0, " 250 ": 250.0,
           "0.500": 0.5, "5000.000": 5000.0, "12.34": 12.34, "1234.567": 1234.567, "0012": 12.0,
           "5.0": 5.0, "5.0000": 5.0, "2.5e-1": 0.25, "219.445": 219.445}


@pytest.mark.parametrize(("text", "limit"), [("5000", 5000.0), ("5000.00", 5000.0), ("12.5000", 12.5),
                                             ("1234.567", 1234.567), ("0.500", 0.5), ("1e4", 10000.0)])
def test_limits_in_the_grammar_are_read_exactly(tmp_path, text: str, limit: float) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "customers", 0, "credit_limit", text)
    _set_cell(folder, "customers", 0, "insured_limit", text)
    valid, q = _quarantine(folder, "customers")
    assert q.empty, q
    assert valid.loc[valid["customer_id"] == "C1", ["credit_limit", "insured_limit"]].values.tolist() == [[limit] * 2]


def test_an_ambiguous_insured_limit_is_quarantined_too(tmp_path) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "customers", 0, "insured_limit", "250.000")
    _, q = _quarantine(folder, "customers")
    assert q[["check", "value"]].to_dict("records") == [{"check": "insured_limit:ambiguous_number", "value": "250.000"}]


@pytest.mark.parametrize("text", sorted(NUMBERS))
def test_numbers_in_the_grammar_are_read_exactly(tmp_path, text: str) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "open_items", 0, "amount", text)
    _set_cell(folder, "open_items", 0, "open_amount", text)
    valid, q = _quarantine(folder, "open_items")
    assert q.empty, q
    assert valid.loc[valid["item_id"] == "INV-1", ["amount", "open_amount"]].values.tolist() == [[NUMBERS[text]] * 2]


def test_signed_numbers_and_exponents(tmp_path) -> None:
    folder = _copy(tmp_path)
    for text in ("-12", "-1.5E-2"):
        _set_cell(folder, "open_items", 6, "amount", text)  # CN-8, a credit note: amount < 0
        _set_cell(folder, "open_items", 6, "open_amount", text)
        valid, q = _quarantine(folder, "open_items")
        assert q.empty, q
        assert valid.loc[valid["item_id"] == "CN-8", "amount"].tolist() == [float(text)]


def test_an_fx_rate_is_no_money_column_and_may_have_three_decimals(tmp_path) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "fx_rates", 0, "rate", "1.085")
    valid, q = _quarantine(folder, "fx_rates")
    assert q.empty and valid["rate"].tolist()[0] == 1.085
    _set_cell(folder, "fx_rates", 0, "rate", "1,085")
    _, q = _quarantine(folder, "fx_rates")
    assert q[["check", "value"]].to_dict("records") == [{"check": "rate:not_a_number", "value": "1,085"}]


def _numeric_columns() -> list[tuple[str, str]]:
    out = []
    for entity, (model, _) in ENTITIES.items():
        for name, column in model.to_schema().columns.items():
            if str(column.dtype) in ("float64", "int64", "Int64"):
                out.append((entity, name))
    return out


@pytest.mark.parametrize(("entity", "column"), _numeric_columns(), ids=lambda v: str(v))
def test_every_numeric_column_takes_the_grammar(tmp_path, entity: str, column: str) -> None:
    folder = _copy(tmp_path)
    if entity == "open_deliveries":  # optional: the fixture has none
        (folder / "open_deliveries.csv").write_text(
            "company,delivery_id,customer_id,delivery_date,open_amount,currency\nDE01,DN-1,C1,2026-06-20,100,EUR\n")
    _set_cell(folder, entity, 0, column, "1,000")
    _, q = _quarantine(folder, entity)
    integer = str(ENTITIES[entity][0].to_schema().columns[column].dtype) != "float64"
    assert q[["check", "value"]].to_dict("records") == [
        {"check": f"{column}:{'not_an_integer' if integer else 'not_a_number'}", "value": "1,000"}]


@pytest.mark.parametrize("text", ["7.0", "7.5", "1e1", "30 days", "99999999999999999999"])
def test_an_integer_column_takes_digits_only(tmp_path, text: str) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "customers", 0, "payment_terms_days", text)
    _, q = _quarantine(folder, "customers")
    assert q[["check", "value"]].to_dict("records") == [{"check": "payment_terms_days:not_an_integer", "value": text}]


# --------------------------------------------------------------------------- raw text in `value`

# (entity, row, column, text written, expected check): one per column type
RAW = [
    ("open_orders", 0, "on_hold", "yes", "on_hold:not_a_boolean"),
    ("customers", 0, "is_blocked", "1", "is_blocked:not_a_boolean"),
    ("customers", 0, "on_prepayment", "", "on_prepayment:not_a_boolean"),
    ("open_items", 0, "doc_date", "28.05.2026", "doc_date:not_a_date"),
    ("customers", 0, "customer_since", "2026-02-30", "customer_since:not_a_date"),
    ("customers", 0, "payment_terms_days", "-5", "payment_terms_days:greater_than_or_equal_to(0)"),
    ("customers", 0, "external_rating", "11", "external_rating:less_than_or_equal_to(10)"),
    ("open_items", 0, "dunning_level", "1.5", "dunning_level:not_an_integer"),
    ("customers", 0, "credit_limit", "-1", "credit_limit:greater_than_or_equal_to(0)"),
    ("payments", 0, "amount", "-5", "amount:greater_than(0)"),
    ("fx_rates", 0, "rate", "0", "rate:greater_than(0)"),
    ("open_items", 0, "currency", "eur", "currency:not_iso_4217"),
    ("customers", 0, "currency", "Euro", "currency:not_iso_4217"),
    ("customers", 0, "country", "Germany", "country:not_iso_3166"),
    ("open_items", 0, "doc_type", "INVOICE", "doc_type:not_allowed"),
    ("customers", 0, "payment_terms_days", "", "payment_terms_days:null"),
]


@pytest.mark.parametrize(("entity", "row", "column", "text", "check"), RAW, ids=[f"{r[2]}={r[3]!r}" for r in RAW])
def test_the_quarantine_value_is_the_cell_as_read(tmp_path, entity, row, column, text, check) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, entity, row, column, text)
    _, q = _quarantine(folder, entity)
    assert q[["check", "value"]].to_dict("records") == [{"check": check, "value": text}]
    assert "nan" not in set(q["value"]) and "None" not in set(q["value"])


def test_a_rule_across_columns_shows_the_cells_as_read(tmp_path) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "open_items", 0, "open_amount", "1500")  # amount 1000
    _, q = _quarantine(folder, "open_items")
    assert q[["check", "value"]].to_dict("records") == [
        {"check": "open_within_amount", "value": "amount=1000, open_amount=1500"}]


# --------------------------------------------------------------------------- Parquet


def test_parquet_typed_columns_pass_and_text_columns_take_the_grammar(tmp_path) -> None:
    folder = _copy(tmp_path)
    typed = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str}, keep_default_na=False,
                        na_values=[""])
    typed["is_blocked"] = typed["is_blocked"].astype(bool)
    typed["on_prepayment"] = typed["on_prepayment"].astype(bool)
    typed.to_parquet(folder / "customers.parquet")
    valid, q = _quarantine(folder, "customers")
    assert q.empty and valid["credit_limit"].tolist()[0] == 10000.0
    text = pd.read_csv(folder / "customers.csv", dtype=str, keep_default_na=False, na_values=[""])
    text.loc[0, "credit_limit"] = "5.000"
    text.loc[1, "credit_limit"] = "1e4"
    text.loc[2, "is_blocked"] = "yes"
    text.to_parquet(folder / "customers.parquet")
    valid, q = _quarantine(folder, "customers")
    assert q[["key", "check", "value"]].to_dict("records") == [
        {"key": "DE01/C1", "check": "credit_limit:ambiguous_number", "value": "5.000"},
        {"key": "DE01/C3", "check": "is_blocked:not_a_boolean", "value": "yes"}]
    assert valid.loc[valid["customer_id"] == "C2", "credit_limit"].tolist() == [10000.0]
    assert valid["is_blocked"].dtype == bool


# --------------------------------------------------------------------------- whole files


def _header_only(folder: Path, entity: str) -> None:
    path = folder / f"{entity}.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")


def _drop_column(folder: Path, entity: str, column: str) -> None:
    path = folder / f"{entity}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns=[column]).to_csv(path, index=False)


BROKEN = {
    "empty file": (lambda f: (f / "payments.csv").write_text(""), "payments.csv",
                   "the file is empty; it needs a header row (company,item_id,customer_id,doc_date,due_date,"
                   "paid_date,amount,currency)"),
    "blank lines only": (lambda f: (f / "open_orders.csv").write_text("\n\n"), "open_orders.csv", "the file is empty"),
    "header only customers": (lambda f: _header_only(f, "customers"), "customers.csv",
                              "no rows, only the header: there is nothing to evaluate without at least one customer"),
    "header only companies": (lambda f: _header_only(f, "companies"), "companies.csv", "at least one company"),
    "missing column": (lambda f: _drop_column(f, "customers", "credit_limit"), "customers.csv",
                       "missing column(s) credit_limit (the customers columns are company,customer_id,"),
    "semicolons": (lambda f: (f / "companies.csv").write_text("company;currency\nDE01;EUR\n"), "companies.csv",
                   "the header is one column 'company;currency': separate the columns with commas"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_an_unusable_file_is_one_line_naming_it(tmp_path, case: str) -> None:
    folder = _copy(tmp_path)
    breaks, name, says = BROKEN[case]
    breaks(folder)
    with pytest.raises(ConnectorError) as info:
        FilesConnector(folder).read_extract()
    message = str(info.value)
    assert message.startswith(f"{folder / name}: ") and says in message, message
    assert "\n" not in message


@pytest.mark.parametrize("entity", ["open_items", "open_orders", "payments", "fx_rates"])
def test_a_header_only_file_of_documents_is_no_rows(tmp_path, entity: str) -> None:
    """No open orders (or payments, or rates) is a state of the ledger, not a broken file."""
    folder = _copy(tmp_path)
    _header_only(folder, entity)
    extract = FilesConnector(folder).read_extract()
    assert getattr(extract, entity).empty and list(getattr(extract, entity).columns) == columns(entity)
    result = evaluate(extract, RULES, AS_OF)
    assert len(result.decisions) == 8


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path) -> None:
    folder = _copy(tmp_path)
    path = folder / "companies.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as spreadsheets save "CSV UTF-8"
    assert FilesConnector(folder).read_companies([])["company"].tolist() == ["DE01"]


@pytest.mark.parametrize("case", ["empty file", "header only customers", "missing column"])
def test_evaluate_names_the_unusable_file(tmp_path, capsys, monkeypatch, case: str) -> None:
    folder = _copy(tmp_path)
    breaks, name, says = BROKEN[case]
    breaks(folder)
    result = run_cli(capsys, monkeypatch, "evaluate", "--data", str(folder), "--rules", str(folder / "rules.yaml"),
                     "--as-of", "2026-06-30", "--out", str(tmp_path / "out" / "decisions.csv"))
    assert result.code == 1
    assert result.err.strip() == f"error: {folder / name}: " + result.err.strip().split(f"{name}: ", 1)[1]
    assert says in result.err and len(result.err.strip().splitlines()) == 1
    assert "EmptyDataError" not in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("case", ["empty file", "header only customers", "missing column"])
def test_run_with_a_files_config_names_the_unusable_file(tmp_path, capsys, monkeypatch, case: str) -> None:
    folder = _copy(tmp_path)
    breaks, name, says = BROKEN[case]
    breaks(folder)
    monkeypatch.setenv("CREDITCTL_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CREDITCTL_STATE_URL", raising=False)
    config = tmp_path / "creditctl.yaml"
    config.write_text(f"erp: {{kind: files, companies: [DE01], options: {{path: {folder}}}}}\n"
                      f"rules: [{folder / 'rules.yaml'}]\nwriteback: dry-run\n")
    result = run_cli(capsys, monkeypatch, "run", "--config", str(config), "--as-of", "2026-06-30")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"{folder / name}: " in lines[0] and says in lines[0], result.err
    assert "EmptyDataError" not in result.err and "Traceback" not in result.err


def test_columns_in_any_order_and_booleans_in_any_case(tmp_path) -> None:
    folder = _copy(tmp_path)
    path = folder / "customers.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "is_blocked"], frame.loc[1, "on_prepayment"] = " TRUE", "False"
    frame[list(reversed(frame.columns))].to_csv(path, index=False)
    valid, q = _quarantine(folder, "customers")
    assert q.empty and len(valid) == 8
    assert valid.set_index("customer_id").loc[["C1", "C2"], ["is_blocked", "on_prepayment"]].values.tolist() == [
        [True, False], [False, False]]


# --------------------------------------------------------------------------- writeback: apply


def _files_config(tmp_path: Path, folder: Path, writeback: str) -> Path:
    config = tmp_path / "creditctl.yaml"
    config.write_text(f"erp: {{kind: files, companies: [DE01], options: {{path: {folder}}}}}\n"
                      f"rules: [{folder / 'rules.yaml'}]\nwriteback: {writeback}\n")
    return config


@pytest.mark.parametrize(("writeback", "args", "setting"), [
    ("apply", (), "writeback: apply"),
    ("dry-run", ("--mode", "apply"), "--mode apply"),
    ("apply", ("--approve",), "writeback: apply"),
])
def test_an_apply_on_a_files_config_is_refused_before_anything_is_read(
        tmp_path, capsys, monkeypatch, writeback: str, args: tuple[str, ...], setting: str) -> None:
    folder = _copy(tmp_path)
    state = tmp_path / "state"
    monkeypatch.setenv("CREDITCTL_DATA_DIR", str(state))
    config = _files_config(tmp_path, folder, writeback)
    read: list[str] = []
    original = FilesConnector._read
    monkeypatch.setattr(FilesConnector, "_read", lambda self, entity: read.append(entity) or original(self, entity))
    result = run_cli(capsys, monkeypatch, "run", "--config", str(config), "--as-of", "2026-06-30", *args)
    assert result.code == 2, result.out + result.err
    assert result.err.strip() == (f"error: {config}: {setting}: the files connector cannot write to an ERP; "
                                  "use dry-run or off")
    assert read == [] and not (state / "runs").exists() and not (state / "state.sqlite").exists()


def test_a_dagster_apply_of_a_files_config_fails_on_the_connector_not_on_the_approval(tmp_path) -> None:
    from tests.writeback_helpers import Demo

    config = _files_config(tmp_path, _copy(tmp_path), "apply")
    result = Demo(config).materialize(as_of=AS_OF)
    assert not result.success
    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "blast_radius"]
    assert not check.passed
    assert check.metadata["message"].value == (f"{config}: writeback apply: the files connector cannot write to "
                                               "an ERP; use dry-run or off")
    assert not result.asset_materializations_for_node("erp_writeback")


def test_open_deliveries_csv_is_optional_and_counts_in_exposure(tmp_path: Path) -> None:
    folder = tmp_path / "erp"
    shutil.copytree(Path(__file__).parent / "fixtures" / "evaluate", folder)
    as_of = dt.date(2026, 6, 30)
    ruleset = load_ruleset([folder / "rules.yaml"])
    without = FilesConnector(folder).read_extract()
    assert without.open_deliveries.empty  # no file: no deliveries
    (folder / "open_deliveries.csv").write_text(
        "company,delivery_id,customer_id,delivery_date,open_amount,currency\n"
        "DE01,DN-1,C1,2026-06-20,1234.5,EUR\n"
        "DE01,DN-2,C1,2026-06-21,-5,EUR\n")  # a negative uninvoiced value breaks the contract
    extract = FilesConnector(folder).read_extract()
    assert extract.open_deliveries["delivery_id"].tolist() == ["DN-1", "DN-2"]
    before = evaluate(without, ruleset, as_of).positions.set_index("customer_id")
    after = evaluate(extract, ruleset, as_of)
    positions = after.positions.set_index("customer_id")
    assert positions.at["C1", "open_deliveries_amount"] == 1234.5
    assert positions.at["C1", "exposure"] == pytest.approx(before.at["C1", "exposure"] + 1234.5)
    bad = after.quarantine[after.quarantine["entity"] == "open_deliveries"]
    assert bad["key"].tolist() == ["DE01/DN-2"] and positions.at["C1", "data_incomplete"]
