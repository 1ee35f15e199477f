"""Benchmark: rule evaluation throughput with the default policy. Not a test.

Usage::

    .venv/bin/python bench/rules_bench.py                  # 100k customers
    .venv/bin/python bench/rules_bench.py --customers 1000000 --repeat 1

Builds seeded synthetic credit positions (every SPEC §4 field, realistic mixes: mostly healthy,
some late payers, over-limit, new and severely overdue customers), then times, in one process
and one thread (durable_rules is single-threaded):

- ``evaluate``: etl.rules.evaluate_rules (scorecard, derived columns, facts, durable_rules);
- ``decide``: etl.decisions.decide on its result;
- ``engine_only``: the per-customer assert/actions/retract loop alone, facts pre-encoded;
- ``plain_loop``: baseline, a plain loop over durable's own Python API (``durable.engine``
  Ruleset with Python actions) on the same compiled conditions and facts.

Prints customers/second per stage (the fastest of ``--repeat`` runs) and writes
bench/results/rules.json (``--out``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etl.decisions import decide  # noqa: E402
from etl.rules import engine as rules_engine  # noqa: E402
from etl.rules import evaluate_rules, load_ruleset  # noqa: E402
from etl.rules.compiler import compile_rules  # noqa: E402
from etl.rules.evaluate import fact_bodies_for  # noqa: E402
from etl.rules.scorecard import apply_scorecard  # noqa: E402

AS_OF = datetime.date(2026, 3, 31)


def synthetic_positions(n: int, seed: int = 42) -> pd.DataFrame:
    """Seeded positions shaped like etl.positions output (money in company currency, 2 decimals)."""
    rng = np.random.default_rng(seed)
    profile = rng.choice(["healthy", "late", "over", "new", "severe"], size=n, p=[0.76, 0.1, 0.06, 0.06, 0.02])
    limit = np.round(rng.choice([5000, 10000, 20000, 50000, 100000], size=n) * 1.0, 2)
    limit = np.where(rng.random(n) < 0.05, np.nan, limit)
    util = np.where(profile == "over", rng.uniform(1.1, 1.5, n), rng.uniform(0.0, 0.8, n))
    exposure = np.round(np.where(np.isnan(limit), rng.uniform(0, 30000, n), limit * util), 2)
    orders = np.round(exposure * rng.uniform(0, 0.3, n), 2)
    open_ar = exposure - orders
    severe = profile == "severe"
    o91 = np.round(np.where(severe, open_ar * rng.uniform(0.2, 0.8, n), 0.0), 2)
    o61 = np.round(np.where(profile == "late", open_ar * rng.uniform(0, 0.3, n), 0.0), 2)
    o31 = np.round(open_ar * rng.uniform(0, 0.1, n), 2)
    o1 = np.round(open_ar * rng.uniform(0, 0.2, n), 2)
    overdue = o1 + o31 + o61 + o91
    not_due = np.maximum(open_ar - overdue, 0)
    max_dpd = np.where(severe, rng.integers(91, 220, n), np.where(profile == "late", rng.integers(20, 85, n),
                                                                   rng.integers(0, 25, n)))
    paid = np.where(profile == "new", 0, rng.integers(0, 40, n))
    late = np.where(profile == "late", rng.uniform(25, 60, n), rng.uniform(0, 10, n))
    late = np.where(paid == 0, 0.0, np.round(late, 6))
    insured = np.where(rng.random(n) < 0.2, np.round(limit * 0.8, 2), np.nan)
    sales = np.round(rng.uniform(0, 50000, n), 2)
    return pd.DataFrame({
        "company": rng.choice(["DE01", "US01"], size=n), "customer_id": [f"C{i:07d}" for i in range(n)],
        "currency": "EUR", "country": rng.choice(["DE", "US", "AT", None], size=n),
        "segment": rng.choice(["Retail", "Wholesale", "Construction", "Public Sector", None], size=n),
        "credit_limit": limit, "insured_limit": insured,
        "external_rating": pd.array(np.where(rng.random(n) < 0.3, rng.integers(1, 11, n), 0), dtype="Int64")
        .astype("float64"),
        "payment_terms_days": rng.choice([14, 30, 60], size=n), "is_blocked": severe & (rng.random(n) < 0.5),
        "on_prepayment": rng.random(n) < 0.03,
        "customer_age_days": np.where(profile == "new", rng.integers(1, 180, n), rng.integers(180, 5000, n)),
        "open_ar": open_ar, "unapplied_credits": 0.0, "not_due": not_due, "overdue_1_30": o1,
        "overdue_31_60": o31, "overdue_61_90": o61, "overdue_91_plus": o91, "overdue_amount": overdue,
        "max_days_overdue": max_dpd, "max_dunning_level": np.where(severe, 3, rng.integers(0, 2, n)),
        "open_orders_amount": orders, "exposure": exposure,
        "over_limit_amount": np.maximum(exposure - limit, 0), "utilisation": exposure / limit,
        "uninsured_exposure": np.maximum(exposure - np.nan_to_num(insured), 0),
        "avg_days_late": late, "paid_items_365": paid, "has_payment_history": paid > 0,
        "late_trend": np.round(rng.normal(0, 5, n), 6), "sales_90": sales,
        "dso": np.where(sales > 0, open_ar / np.where(sales > 0, sales, 1) * 90, np.nan),
        "data_incomplete": rng.random(n) < 0.005,
    }).assign(external_rating=lambda f: f["external_rating"].where(f["external_rating"] > 0))


def _best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def plain_loop(conditions: dict, bodies: list[str]) -> int:
    """Baseline: durable's own Python layer (Ruleset + Python actions), one fact at a time."""
    from durable.engine import MessageNotHandledException, Ruleset

    hits: list[tuple[int, str]] = []

    class _Host:  # Ruleset needs a host only for named actions; ours are callables
        pass

    def action(name: str):
        return lambda c: hits.append((c.m.id, name))

    name = f"bench-plain-{time.time_ns()}"
    ruleset = Ruleset(name, _Host(), {k: {"all": [{"m": v}], "run": action(k)} for k, v in conditions.items()})
    for i, body in enumerate(bodies):
        fact = json.loads(f'{{"id":{i},"sid":"0","_fact":1{body}}}')
        try:
            ruleset.do_actions(ruleset.assert_fact(fact), lambda e, s: None)
        except MessageNotHandledException:
            pass
        ruleset.retract_fact(fact)
    return len(hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rules", default=str(ROOT / "rules" / "credit_control.yaml"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rules.json"))
    parser.add_argument("--no-baseline", action="store_true", help="skip the durable.engine plain loop")
    args = parser.parse_args()

    ruleset = load_ruleset([args.rules])
    positions = synthetic_positions(args.customers)
    n = len(positions)
    evaluate_s, result = _best(lambda: evaluate_rules(ruleset, positions, AS_OF), args.repeat)
    decide_s, decisions = _best(lambda: decide(result.positions, result.fired, ruleset), args.repeat)

    compiled = compile_rules(ruleset.active_rules(AS_OF))
    scored = apply_scorecard(ruleset.scorecard, positions)
    bodies = fact_bodies_for(compiled, scored)
    engine_s, hits = _best(lambda: rules_engine.run_facts(compiled.name, compiled.conditions, bodies), args.repeat)
    stages = {
        "evaluate": {"seconds": evaluate_s, "customers_per_s": n / evaluate_s},
        "decide": {"seconds": decide_s, "customers_per_s": n / decide_s},
        "evaluate_and_decide": {"seconds": evaluate_s + decide_s, "customers_per_s": n / (evaluate_s + decide_s)},
        "engine_only": {"seconds": engine_s, "customers_per_s": n / engine_s},
    }
    if not args.no_baseline:
        plain_s, plain_hits = _best(lambda: plain_loop(compiled.conditions, bodies), 1)
        stages["plain_loop"] = {"seconds": plain_s, "customers_per_s": n / plain_s, "hits": plain_hits}
    report = {
        "customers": n, "rules": len(ruleset.rules), "fired": len(result.fired), "engine_hits": len(hits),
        "actions": decisions["action"].value_counts().to_dict(),
        "stages": stages, "python": platform.python_version(), "machine": platform.machine(),
        "measured_at": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    for stage, values in stages.items():
        print(f"{stage:>20}: {values['customers_per_s']:>10,.0f} customers/s  ({values['seconds']:.2f} s)")
    print(f"{'fired rules':>20}: {len(result.fired):,} for {n:,} customers; actions {report['actions']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
