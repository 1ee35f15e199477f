"""Rule classes (etl/rules/classes.py): customers the compiled conditions cannot tell apart fire
the same rules, so durable_rules decides one representative per class.

Checked against durable_rules itself fed every customer's own fact, on random rule files and
customers (the differential test's strategies: ties, boundaries, nulls, -0.0, 1e-05, 1e16),
and at scale with the default policy; and the guard that refuses a wrong grouping.
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from etl.rules import engine, evaluate_rules, load_ruleset
from etl.rules import evaluate as evaluate_module
from etl.rules.classes import class_of, questions, representatives
from etl.rules.compiler import compile_rules
from etl.rules.evaluate import fact_bodies_for, fact_columns
from etl.rules.scorecard import apply_scorecard
from tests.test_rules_differential import EXAMPLES, _frame, case

AS_OF = datetime.date(2026, 3, 31)
POLICY = Path(__file__).resolve().parents[1] / "rules" / "credit_control.yaml"


def _ruleset(doc: dict):  # noqa: ANN202
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return load_ruleset([path])


def _every_fact(compiled, frame: pd.DataFrame) -> np.ndarray:  # noqa: ANN001
    """rows x compiled rules: what durable_rules fires for each customer's own fact."""
    fired = np.zeros((len(frame), len(compiled.conditions)), dtype=bool)
    keys = list(compiled.conditions)
    for i, key in engine.run_facts(compiled.name, compiled.conditions, fact_bodies_for(compiled, frame)):
        fired[i, keys.index(key)] = True
    return fired


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=case())
def test_customers_of_one_class_fire_the_same_rules(generated: tuple[dict, list[dict]]) -> None:
    doc, rows = generated
    ruleset = _ruleset(doc)
    compiled = compile_rules(ruleset.active_rules(AS_OF))
    if not compiled.conditions:
        return
    # every customer twice more, so classes hold several customers
    frame = apply_scorecard(ruleset.scorecard, _frame(rows + rows + rows))
    classes = class_of(fact_columns(compiled, frame), questions(compiled.conditions), len(frame))
    fired = _every_fact(compiled, frame)
    firsts = representatives(classes)
    assert (classes[firsts] == np.arange(len(firsts))).all()
    assert (fired == fired[firsts][classes]).all(), "a class holds customers that fire differently"


def _positions(n: int, seed: int = 5) -> pd.DataFrame:
    """Positions for the default policy: every field it reads, money and days in realistic mixes."""
    rng = np.random.default_rng(seed)
    limit = np.where(rng.random(n) < 0.05, np.nan, rng.choice([5000.0, 10000.0, 20000.0, 50000.0], n))
    exposure = np.round(np.where(np.isnan(limit), rng.uniform(0, 30000, n), limit * rng.uniform(0, 1.4, n)), 2)
    days = rng.integers(0, 200, n).astype(float)
    late = np.round(rng.normal(5, 15, n), 1)
    frame = pd.DataFrame({
        "company": rng.choice(["DE01", "US01"], n).astype(object),
        "customer_id": [f"C{i:07d}" for i in range(n)],
        "credit_limit": limit, "base_credit_limit": limit, "exposure": exposure,
        "open_ar": exposure, "open_orders": 0.0,
        "overdue_amount": np.round(exposure * (days > 0) * rng.uniform(0, 0.5, n), 2),
        "overdue_91_plus": np.round(np.where(days > 90, exposure * 0.3, 0.0), 2),
        "max_days_overdue": days, "avg_days_late": np.where(rng.random(n) < 0.1, np.nan, late),
        "late_trend": np.round(rng.normal(0, 5, n), 1), "paid_items_365": rng.integers(0, 30, n).astype(float),
        "has_payment_history": rng.random(n) < 0.94, "customer_age_days": rng.integers(10, 4000, n).astype(float),
        "max_dunning_level": rng.integers(0, 4, n).astype(float),
        "external_rating": np.where(rng.random(n) < 0.5, np.nan, rng.integers(1, 10, n).astype(float)),
        "insured_limit": np.where(rng.random(n) < 0.7, np.nan, 10000.0),
        "segment": rng.choice(np.array(["Construction", "Retail", None], dtype=object), n),
        "country": rng.choice(["DE", "US"], n).astype(object),
    })
    frame["utilisation"] = frame["exposure"] / frame["credit_limit"]
    frame["over_limit_amount"] = np.fmax(frame["exposure"] - frame["credit_limit"], 0.0)
    frame["uninsured_exposure"] = np.where(frame["insured_limit"].notna(),
                                           np.fmax(frame["exposure"] - frame["insured_limit"].fillna(0), 0.0), np.nan)
    return frame


def test_the_default_policy_sends_few_facts_and_fires_as_every_fact_would(monkeypatch: pytest.MonkeyPatch) -> None:
    ruleset = load_ruleset([POLICY])
    positions = _positions(20_000)
    sent: list[int] = []
    run_facts = engine.run_facts

    def counting(name, conditions, bodies, action=None):  # noqa: ANN001, ANN202
        sent.append(len(bodies))
        return run_facts(name, conditions, bodies, action)

    monkeypatch.setattr(engine, "run_facts", counting)
    result = evaluate_rules(ruleset, positions, AS_OF)
    monkeypatch.setattr(engine, "run_facts", run_facts)

    assert 0 < sum(sent) < 0.2 * len(positions)  # representatives and the check sample only
    compiled = compile_rules(ruleset.active_rules(AS_OF))
    fired = _every_fact(compiled, result.positions)
    ids = np.array([ruleset.active_rules(AS_OF)[compiled.rule_index[k]].id for k in compiled.conditions], dtype=object)
    rows, cols = np.nonzero(fired)
    expected = pd.DataFrame({"company": result.positions["company"].to_numpy()[rows],
                             "customer_id": result.positions["customer_id"].to_numpy()[rows], "rule_id": ids[cols]})
    order = {rule.id: k for k, rule in enumerate(ruleset.rules)}
    expected = (expected.assign(_o=expected["rule_id"].map(order))
                .sort_values(["company", "customer_id", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True))
    assert len(expected) > 1000
    pd.testing.assert_frame_equal(result.fired, expected)
    assert (result.positions.iloc[result.fired_rows]["customer_id"].to_numpy() == result.fired["customer_id"].to_numpy()).all()


def test_a_wrong_grouping_is_refused_not_decided(monkeypatch: pytest.MonkeyPatch) -> None:
    # a bug that lumps different customers together must stop the evaluation, whatever it is
    monkeypatch.setattr(evaluate_module, "class_of", lambda columns, asked, n: np.zeros(n, dtype=np.int64))
    with pytest.raises(engine.RuleEngineError, match="classes.py"):
        evaluate_rules(load_ruleset([POLICY]), _positions(2_000), AS_OF)
