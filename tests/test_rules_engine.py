"""One test per durable_rules trap, showing etl.rules.engine handles it."""

from __future__ import annotations

import copy
import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.rules import engine, evaluate_rules, load_ruleset
from etl.rules.compiler import compile_rules
from etl.rules.engine import RuleEngineError, run_facts
from etl.rules.facts import MARKER, dumps, encode_column, number
from etl.rules.vocabulary import Type

AS_OF = datetime.date(2026, 3, 31)
GT = {"$and": [{"$eq": {MARKER: 1}}, {"$gt": {"a": 5.0}}]}
LT = {"$and": [{"$eq": {MARKER: 1}}, {"$lt": {"a": 100.0}}]}
EX = {"$and": [{"$eq": {MARKER: 1}}, {"$ex": {"a": 1}}]}


def bodies(values: list[float | None]) -> list[str]:
    return ["" if v is None else f',"a":{number(v)}' for v in values]


def unique(tag: str) -> str:
    return f"test-{tag}-{datetime.datetime.now().timestamp()}"


def test_one_state_holds_many_customers_without_message_observed() -> None:
    # durable raises MessageObservedException once ~100k facts sit in one state; we retract each
    n = 30_000
    hits = run_facts(unique("many"), {"gt": GT}, bodies([float(i % 10) for i in range(n)]))
    assert len(hits) == n * 4 // 10  # a in 6..9
    assert hits[0] == (6, "gt") and hits[-1] == (n - 1, "gt")


def test_more_customers_than_durable_sids() -> None:
    # every fact goes to one sid: 1024+ customers never create 1024+ states (MemoryError)
    hits = run_facts(unique("sids"), {"ex": EX}, bodies([1.0] * 3000))
    assert len(hits) == 3000


def test_collect_every_matching_rule_fires() -> None:
    # `post` would give an event to the first matching rule only; facts fire every rule
    conditions = {"gt": GT, "lt": LT, "ex": EX}
    hits = run_facts(unique("collect"), conditions, bodies([50.0, 1.0, None]))
    assert sorted(hits) == [(0, "ex"), (0, "gt"), (0, "lt"), (1, "ex"), (1, "lt")]


def test_unmatched_facts_do_not_abort_the_rest() -> None:
    # assert_facts stops a batch at the first unmatched fact; one fact at a time does not
    hits = run_facts(unique("unmatched"), {"gt": GT}, bodies([None, 1.0, 2.0, 9.0, None, 7.0]))
    assert hits == [(3, "gt"), (5, "gt")]


def test_an_action_exception_surfaces_and_the_ruleset_recovers() -> None:
    # durable swallows exceptions raised in actions; ours abort the evaluation
    name = unique("boom")

    def explode(i: int, key: str) -> None:
        if i == 2:
            raise ZeroDivisionError("boom")

    with pytest.raises(RuleEngineError, match="boom"):
        run_facts(name, {"gt": GT}, bodies([9.0, 9.0, 9.0, 9.0]), action=explode)
    assert name not in engine.registered()  # the dirty ruleset was dropped
    assert run_facts(name, {"gt": GT}, bodies([9.0, 1.0])) == [(0, "gt")]  # rebuilt under the same name


def test_registering_the_same_ruleset_twice_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "rules": [{"id": "r", "when": "exposure > 1", "then": "hold"}]}))
    frame = pd.DataFrame({"company": ["A", "A"], "customer_id": ["1", "2"], "exposure": [2.0, 0.0]})
    first = evaluate_rules(load_ruleset([path]), frame, AS_OF).fired
    second = evaluate_rules(load_ruleset([path]), frame, AS_OF).fired  # same name: no re-registration error
    pd.testing.assert_frame_equal(first, second)
    name = compile_rules(load_ruleset([path]).rules).name
    assert engine.registered().count(name) == 1


def test_the_ruleset_name_follows_the_active_rules(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "rules": [
        {"id": "a", "when": "exposure > 1", "then": "hold"},
        {"id": "b", "when": "exposure > 1", "then": "hold", "effective": {"from": datetime.date(2026, 4, 1)}}]}))
    ruleset = load_ruleset([path])
    march = compile_rules(ruleset.active_rules(AS_OF))
    april = compile_rules(ruleset.active_rules(datetime.date(2026, 4, 1)))
    assert march.name != april.name and len(april.conditions) == 2


def test_the_definition_passed_in_is_not_mutated() -> None:
    # Host.set_rulesets deletes 'run' from the dict it is given; we serialise our own copy
    conditions = {"gt": copy.deepcopy(GT), "lt": copy.deepcopy(LT)}
    before = copy.deepcopy(conditions)
    run_facts(unique("mutate"), conditions, bodies([9.0]))
    assert conditions == before


def test_no_background_threads_are_started() -> None:
    # durable.engine.Host starts dispatch timer threads; we never create a Host
    before = {t.ident for t in threading.enumerate()}
    run_facts(unique("threads"), {"gt": GT}, bodies([9.0]))
    assert {t.ident for t in threading.enumerate()} - before == set()


def test_concurrent_callers_are_serialised(tmp_path: Path) -> None:
    # concurrent use of the engine from threads crashes the process; the engine lock serialises
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "rules": [
        {"id": "r", "when": "exposure > credit_limit * 1.1", "then": "hold"},
        {"id": "s", "when": "credit_limit is null", "then": "review"}]}))
    ruleset = load_ruleset([path])
    frame = pd.DataFrame({"company": "A", "customer_id": [f"{i:05d}" for i in range(3000)],
                          "exposure": [float(i) for i in range(3000)],
                          "credit_limit": [None if i % 7 == 0 else 1000.0 for i in range(3000)]})
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: evaluate_rules(ruleset, frame, AS_OF).fired, range(8)))
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0], other)
    assert len(results[0]) > 0


def test_null_test_does_not_match_the_engine_state_document() -> None:
    # the engine matches rules against its state document too; the fact marker excludes it
    nex = {"$and": [{"$eq": {MARKER: 1}}, {"$nex": {"a": 1}}]}
    assert run_facts(unique("nex"), {"nex": nex}, bodies([None, 1.0, None])) == [(0, "nex"), (2, "nex")]


def test_an_or_matching_twice_fires_once() -> None:
    either = {"$and": [{"$eq": {MARKER: 1}}, {"$or": [{"$gt": {"a": 1.0}}, {"$gt": {"a": 2.0}}]}]}
    assert run_facts(unique("or"), {"or": either}, bodies([3.0])) == [(0, "or")]


def test_numbers_are_written_so_the_engine_parses_them() -> None:
    assert number(1e-05) == "1.0e-05" and number(1e16) == "1.0e+16" and number(5.0) == "5.0"
    assert number(0.30000000000000004) == "0.30000000000000004"
    assert dumps({"x": [1e-05, True, None, "é"]}) == '{"x":[1.0e-05,true,null,"é"]}'
    with pytest.raises(ValueError):
        number(float("inf"))
    tiny = {"$and": [{"$eq": {MARKER: 1}}, {"$gte": {"a": 1e-05}}]}
    assert run_facts(unique("exp"), {"t": tiny}, bodies([1e-05, 9.9e-06, 1e16])) == [(0, "t"), (2, "t")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_vectorised_number_encoding_matches_the_scalar_one(values: list[float]) -> None:
    data = np.array(values, dtype="float64")
    encoded = encode_column("a", Type.NUMBER, data, np.ones(len(values), dtype=bool))
    assert list(encoded) == [f',"a":{number(v)}' for v in values]
    assert all(float(number(v)) == v for v in values)
