"""Scenario tests for rule files (SPEC §5.5): one customer's ERP data in, expected decision out.

A scenario file (rules/tests/*.yaml) holds defaults and a list of scenarios::

    rules: ../credit_control.yaml      # rule file(s), relative to this file (this is the default)
    as_of: 2026-03-31                  # defaults for every scenario below (each may override)
    company: DE01
    currency: EUR                      # the company currency
    scenarios:
      - name: 95 days overdue blocks
        customer: {credit_limit: 20000, segment: Retail}      # SPEC §3 customer columns
        items: [{days_overdue: 95, amount: 1500}]             # open items
        orders: [{open_amount: 2000}]                         # open orders
        payments: [{paid_days_ago: 30, days_late: 5, amount: 800}]
        fx_rates: [{from_currency: USD, to_currency: EUR, rate: 0.9, as_of: 2026-01-01}]
        expect: {action: block, rule_ids: [overdue-90-block], new_credit_limit: 20000}

Every frame is built in its SPEC §3 shape with defaults (docs/rules.md lists them), the
positions are computed by etl.positions, the rules evaluated and the decision compared.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from etl.rules.lint import RuleLintError, did_you_mean, node_position
from etl.rules.loader import load_ruleset
from etl.rules.ruleset import RuleSet

DEFAULT_RULES = "../credit_control.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerSpec(_Model):
    customer_id: str = "C1"
    name: str = "Scenario customer"
    country: str | None = "DE"
    currency: str | None = None  # default: the company currency
    credit_limit: float | None = 10000.0  # the limit in force in the ERP
    # the limit a person set, when this tool already cut credit_limit (default: credit_limit)
    base_credit_limit: float | None = Field(default=None)
    payment_terms_days: int = 30
    customer_since: datetime.date | None = None
    age_days: int | None = None  # shortcut: customer_since = as_of - age_days (default 1000)
    segment: str | None = None
    insured_limit: float | None = None
    external_rating: int | None = None
    is_blocked: bool = False
    on_prepayment: bool = False


class ItemSpec(_Model):
    item_id: str | None = None
    doc_type: str = "invoice"
    doc_date: datetime.date | None = None  # default: due_date - 30 days
    due_date: datetime.date | None = None
    days_overdue: int | None = None  # shortcut: due_date = as_of - days_overdue (default 0: due today)
    amount: float
    open_amount: float | None = None  # default: amount
    currency: str | None = None
    dunning_level: int = 0


class OrderSpec(_Model):
    order_id: str | None = None
    order_date: datetime.date | None = None  # default: as_of
    open_amount: float
    currency: str | None = None
    on_hold: bool = False


class PaymentSpec(_Model):
    item_id: str | None = None
    doc_date: datetime.date | None = None  # default: due_date - 30 days
    due_date: datetime.date | None = None  # default: paid_date - days_late
    paid_date: datetime.date | None = None
    paid_days_ago: int | None = None  # shortcut: paid_date = as_of - paid_days_ago (default 30)
    days_late: int = 0  # shortcut for due_date when it is not given
    amount: float
    currency: str | None = None


class FxSpec(_Model):
    from_currency: str
    to_currency: str
    rate: float
    as_of: datetime.date


class ExpectSpec(_Model):
    action: str
    rule_ids: list[str] | None = None
    new_credit_limit: float | None = Field(default=None)
    risk_grade: str | None = None
    block: bool | None = None
    hold: bool | None = None
    require_prepayment: bool | None = None
    data_incomplete: bool | None = None


class ScenarioSpec(_Model):
    name: str
    description: str | None = None
    rules: str | list[str] | None = None
    as_of: datetime.date | None = None
    company: str | None = None
    currency: str | None = None
    customer: CustomerSpec = Field(default_factory=CustomerSpec)
    items: list[ItemSpec] = Field(default_factory=list)
    orders: list[OrderSpec] = Field(default_factory=list)
    payments: list[PaymentSpec] = Field(default_factory=list)
    fx_rates: list[FxSpec] = Field(default_factory=list)
    expect: ExpectSpec


class ScenarioFileSpec(_Model):
    rules: str | list[str] = DEFAULT_RULES
    as_of: datetime.date | None = None
    company: str = "DE01"
    currency: str = "EUR"
    scenarios: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    file: str
    passed: bool
    #: '' when passed; else one line per problem, each starting with file:line:column
    message: str
    line: int = 1  # where the scenario starts in its file
    column: int = 1


def build_extract(spec: ScenarioSpec, as_of: datetime.date, company: str, currency: str) -> Any:
    """The scenario's ERP data as an etl.extract.Extract (SPEC §3 frames, contract dtypes)."""
    from etl.extract import Extract  # local: only scenario runs need the extract layer

    c = spec.customer
    since = c.customer_since or (as_of - datetime.timedelta(days=1000 if c.age_days is None else c.age_days))
    customers = pd.DataFrame({
        "company": [company], "customer_id": [c.customer_id], "name": [c.name], "country": [c.country],
        "currency": [c.currency or currency], "credit_limit": [c.credit_limit],
        "payment_terms_days": [c.payment_terms_days], "customer_since": [pd.Timestamp(since)],
        "segment": [c.segment], "insured_limit": [c.insured_limit],
        "external_rating": pd.array([c.external_rating], dtype="Int64"),
        "is_blocked": [c.is_blocked], "on_prepayment": [c.on_prepayment],
    }).astype({"credit_limit": "float64", "insured_limit": "float64", "payment_terms_days": "int64"})

    def day(d: datetime.date) -> pd.Timestamp:
        return pd.Timestamp(d)

    items = []
    for k, it in enumerate(spec.items, start=1):
        due = it.due_date or (as_of - datetime.timedelta(days=it.days_overdue or 0))
        items.append({
            "company": company, "item_id": it.item_id or f"INV-{k}", "customer_id": c.customer_id,
            "doc_type": it.doc_type, "doc_date": day(it.doc_date or min(due, due - datetime.timedelta(days=30))),
            "due_date": day(due), "amount": float(it.amount),
            "open_amount": float(it.amount if it.open_amount is None else it.open_amount),
            "currency": it.currency or currency, "dunning_level": it.dunning_level,
        })
    orders = [{
        "company": company, "order_id": o.order_id or f"SO-{k}", "customer_id": c.customer_id,
        "order_date": day(o.order_date or as_of), "open_amount": float(o.open_amount),
        "currency": o.currency or currency, "on_hold": o.on_hold,
    } for k, o in enumerate(spec.orders, start=1)]
    payments = []
    for k, p in enumerate(spec.payments, start=1):
        paid = p.paid_date or (as_of - datetime.timedelta(days=30 if p.paid_days_ago is None else p.paid_days_ago))
        due = p.due_date or (paid - datetime.timedelta(days=p.days_late))
        payments.append({
            "company": company, "item_id": p.item_id or f"PAID-{k}", "customer_id": c.customer_id,
            "doc_date": day(p.doc_date or due - datetime.timedelta(days=30)), "due_date": day(due),
            "paid_date": day(paid), "amount": float(p.amount), "currency": p.currency or currency,
        })
    fx = [{"from_currency": f.from_currency, "to_currency": f.to_currency, "rate": float(f.rate),
           "as_of": day(f.as_of)} for f in spec.fx_rates]
    empty = Extract.empty()

    def frame(rows: list[dict[str, Any]], like: pd.DataFrame) -> pd.DataFrame:
        if not rows:
            return like
        out = pd.DataFrame(rows, columns=list(like.columns))
        return out.astype({col: like[col].dtype for col in like.columns if str(like[col].dtype) != "object"})

    return Extract(
        companies=pd.DataFrame({"company": [company], "currency": [currency]}),
        customers=customers[list(empty.customers.columns)],
        open_items=frame(items, empty.open_items),
        open_orders=frame(orders, empty.open_orders),
        payments=frame(payments, empty.payments),
        fx_rates=frame(fx, empty.fx_rates),
    )


def _close(a: float | None, b: float | None) -> bool:
    a_null = a is None or (isinstance(a, float) and np.isnan(a))
    b_null = b is None or (isinstance(b, float) and np.isnan(b))
    return a_null == b_null and (a_null or abs(float(a) - float(b)) < 0.005)  # type: ignore[arg-type]


def run_scenario(spec: ScenarioSpec, ruleset: RuleSet, as_of: datetime.date, company: str,
                 currency: str) -> str:
    """'' when the scenario's decision matches its expectation, else what differs."""
    return "; ".join(text for _, text in scenario_problems(spec, ruleset, as_of, company, currency))


def scenario_problems(spec: ScenarioSpec, ruleset: RuleSet, as_of: datetime.date, company: str,
                      currency: str) -> list[tuple[str | None, str]]:
    """What differs from the expectation: (the ``expect`` key it concerns or None, text); empty if none."""
    from etl.decisions import evaluate_decisions  # local: etl.decisions imports etl.rules
    from etl.positions import compute_positions

    extract = build_extract(spec, as_of, company, currency)
    computed = compute_positions(extract, as_of)
    positions = computed.positions
    mine = positions[positions["customer_id"] == spec.customer.customer_id]
    if mine.empty:
        checks = ", ".join(sorted(set(map(str, computed.quarantine.get("check", [])))))
        return [(None, f"the customer got no position (quarantined: {checks or 'no reason given'})")]
    mine = mine.reset_index(drop=True)
    if "base_credit_limit" in spec.customer.model_fields_set:
        mine = mine.assign(base_credit_limit=spec.customer.base_credit_limit)
    row = evaluate_decisions(mine, ruleset, as_of)[2].iloc[0]
    want = spec.expect
    problems: list[tuple[str | None, str]] = []
    if row["action"] != want.action:
        problems.append(("action", f"action: expected {want.action}, got {row['action']}"))
    got_ids = [i for i in str(row["rule_ids"]).split(";") if i]
    if want.rule_ids is not None and got_ids != want.rule_ids:
        problems.append(("rule_ids", f"rule_ids: expected {want.rule_ids}, got {got_ids}"))
    if "new_credit_limit" in want.model_fields_set and not _close(row["new_credit_limit"], want.new_credit_limit):
        problems.append(("new_credit_limit",
                         f"new_credit_limit: expected {want.new_credit_limit}, got {row['new_credit_limit']}"))
    for flag in ("block", "hold", "require_prepayment", "data_incomplete"):
        expected = getattr(want, flag)
        if expected is not None and bool(row[flag]) != expected:
            problems.append((flag, f"{flag}: expected {expected}, got {bool(row[flag])}"))
    if "risk_grade" in want.model_fields_set and row["risk_grade"] != want.risk_grade:
        problems.append(("risk_grade", f"risk_grade: expected {want.risk_grade}, got {row['risk_grade']}"))
    if problems and got_ids:
        key, text = problems[-1]
        problems[-1] = (key, f"{text} (fired: {', '.join(got_ids)})")
    return problems


def _rule_paths(base: Path, rules: str | list[str]) -> tuple[Path, ...]:
    return tuple((base / r).resolve() for r in ([rules] if isinstance(rules, str) else rules))


#: the model of each nested key of a scenario, for did-you-mean hints on unknown keys
_NESTED: dict[str, type[BaseModel]] = {
    "customer": CustomerSpec, "items": ItemSpec, "orders": OrderSpec, "payments": PaymentSpec,
    "fx_rates": FxSpec, "expect": ExpectSpec,
}


class _Located:
    """Positions in one scenario file: every problem becomes 'file:line:column: text'."""

    def __init__(self, display: str, root: yaml.Node | None) -> None:
        self.display, self.root = display, root

    def at(self, loc: tuple[str | int, ...], want_key: bool = False) -> tuple[int, int]:
        return node_position(self.root, loc, want_key) if self.root is not None else (1, 1)

    def line(self, loc: tuple[str | int, ...], text: str, want_key: bool = False) -> str:
        line, column = self.at(loc, want_key)
        return f"{self.display}:{line}:{column}: {text}"

    def pydantic(self, exc: ValidationError, prefix: tuple[str | int, ...], model: type[BaseModel],
                 what: str) -> list[str]:
        """Every validation error, located, in file order (none hidden behind "and N more")."""
        found = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "(top level)"
            if err["type"] == "extra_forbidden":
                context = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), "")
                allowed = list((_NESTED.get(context) or model).model_fields)
                hint = did_you_mean(str(loc[-1]), allowed, f"allowed: {', '.join(allowed)}")
                found.append((self.at(prefix + loc, want_key=True), f"{what}: {where}: unknown key ({hint})"))
            else:
                found.append((self.at(prefix + loc), f"{what}: {where}: {err['msg']}"))
        return [f"{self.display}:{line}:{column}: {text}" for (line, column), text in sorted(found)]


def _lint_lines(exc: RuleLintError) -> str:
    return "\n".join(str(m) for m in exc.messages)


def run_scenario_file(path: str | Path, rulesets: dict[tuple[Path, ...], RuleSet | RuleLintError] | None = None
                      ) -> list[ScenarioResult]:
    """Run every scenario of one file; problems with the file itself become failed results.

    A failed result's message names file:line:column of the scenario, or of the field concerned.
    """
    path = Path(path)
    display = str(path)
    cache = {} if rulesets is None else rulesets
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            root = loader.get_single_node()
            raw = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except OSError as exc:
        return [ScenarioResult("(file)", display, False, f"{display}:1:1: cannot read scenario file: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        return [ScenarioResult("(file)", display, False,
                               f"{display}:{line}:{column}: cannot read scenario file: not valid YAML: {problem}",
                               line, column)]
    where = _Located(display, root)
    try:
        spec = ScenarioFileSpec.model_validate(raw)
    except ValidationError as exc:
        lines = where.pydantic(exc, (), ScenarioFileSpec, "bad scenario file")
        return [ScenarioResult("(file)", display, False, "\n".join(lines))]
    results = []
    for index, raw_scenario in enumerate(spec.scenarios):
        loc: tuple[str | int, ...] = ("scenarios", index)
        line, column = where.at(loc)
        name = str(raw_scenario.get("name", f"scenario {index + 1}")) if isinstance(raw_scenario, dict) else f"#{index + 1}"

        def failed(message: str, name: str = name, line: int = line, column: int = column) -> ScenarioResult:
            return ScenarioResult(name, display, False, message, line, column)

        try:
            scenario = ScenarioSpec.model_validate(raw_scenario)
        except ValidationError as exc:
            results.append(failed("\n".join(where.pydantic(exc, loc, ScenarioSpec, "bad scenario"))))
            continue
        as_of = scenario.as_of or spec.as_of
        if as_of is None:
            results.append(failed(where.line(loc, "no as_of (set it on the file or the scenario)")))
            continue
        rules_loc = (*loc, "rules") if scenario.rules else ("rules",)
        key = _rule_paths(path.parent, scenario.rules or spec.rules)
        if key not in cache:
            try:
                cache[key] = load_ruleset(list(key))
            except RuleLintError as exc:
                cache[key] = exc
        ruleset = cache[key]
        if isinstance(ruleset, RuleLintError):
            results.append(failed(f"{where.line(rules_loc, 'rule files fail lint:')}\n{_lint_lines(ruleset)}"))
            continue
        try:
            problems = scenario_problems(scenario, ruleset, as_of, scenario.company or spec.company,
                                         scenario.currency or spec.currency)
        except Exception as exc:  # noqa: BLE001 - a broken scenario is a failed result, not a crash
            problems = [(None, f"error: {type(exc).__name__}: {exc}")]
        message = "\n".join(where.line((*loc, "expect", field) if field else loc, text) for field, text in problems)
        results.append(ScenarioResult(name, display, not message, message, line, column))
    return results


def scenario_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files given, and the *.yaml files of directories given, in order."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    return out


def run_scenario_files(paths: Sequence[str | Path]) -> list[ScenarioResult]:
    """Run every scenario of these files (or directories of *.yaml files)."""
    cache: dict[tuple[Path, ...], RuleSet | RuleLintError] = {}
    results: list[ScenarioResult] = []
    for path in scenario_files(paths):
        results.extend(run_scenario_file(path, cache))
    return results
