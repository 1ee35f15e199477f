"""The one place that talks to durable_rules (2.0.28, unmaintained). Everything else is pure.

We drive the C engine (``durable_rules_engine``, shipped in the durable_rules wheel) directly,
with the same call sequence ``durable.engine.Ruleset`` uses — create_ruleset, assert_fact,
start_action_for_state / complete_and_start_action, retract_fact — because its Python layer
has traps we must not step into:

* ``durable.engine.Host()`` starts timer threads that dispatch concurrently, and concurrent use
  of the engine from threads crashes the process: we never create a Host, and every engine call
  runs under one process-wide lock (callers from several threads are serialised, not crashed).
* Exceptions raised in a Python action are swallowed (``Promise.run`` stores them in the state):
  our actions run in our own loop, and a failing action aborts the evaluation with
  RuleEngineError, after abandoning the action and dropping the (now dirty) ruleset.
* ``post`` hands an event to the first matching rule only, and ``assert_facts`` stops a batch
  at the first fact no rule matches: we assert one fact per customer, and "no rule matched"
  (MessageNotHandled, code 1) is simply a customer without fired rules. Every rule whose
  condition holds yields an action (COLLECT).
* One state holding ~100k facts raises MessageObserved, and more than 1024 states (sids) raise
  MemoryError: all facts go to one sid, and each is retracted right after its actions ran, so
  the state never holds more than one fact.
* A ruleset name can be registered once per process, and ``Host.set_rulesets`` mutates the dict
  it is given: sessions are cached by name (the name is the definition's hash) and built from
  our own JSON text, never from the caller's dict.
* Its JSON reader rejects ``1e-05`` and reads integers as int64: facts.py writes numbers it reads
  back exactly. An ``$or`` that matches twice fires twice: hits are de-duplicated here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import durable_rules_engine as _dre

from etl.rules.facts import MARKER, dumps

_SID = "0"
_NOT_HANDLED, _OBSERVED, _DEFERRED = 1, 2, 3

#: serialises every call into the engine (it is not thread-safe)
_LOCK = threading.Lock()
_SESSIONS: dict[str, DurableSession] = {}


class RuleEngineError(RuntimeError):
    """The rule engine failed; the evaluation produced no result."""


Action = Callable[[int, str], None]


class DurableSession:
    """One durable_rules ruleset, fed one fact per customer. Use through ``run_facts``."""

    def __init__(self, name: str, conditions: Mapping[str, Mapping[str, Any]]) -> None:
        if not conditions:
            raise ValueError("a durable ruleset needs at least one rule")
        self.name = name
        self.definition = dumps({key: {"all": [{"m": cond}]} for key, cond in conditions.items()})
        self.keys = frozenset(conditions)
        self._handle = _dre.create_ruleset(name, self.definition)
        self.broken = False

    def run(self, bodies: Sequence[str], action: Action) -> None:
        """Assert fact i (``{"id": i, ...body}``), call ``action(i, rule_key)`` per match, retract."""
        handle = self._handle
        for i, body in enumerate(bodies):
            fact = f'{{"id":{i},"sid":"{_SID}","{MARKER}":1{body}}}'
            try:
                code, state = _dre.assert_fact(handle, fact)
            except Exception as exc:  # the C layer raises its own error type
                self.broken = True
                raise RuleEngineError(f"rule engine rejected customer #{i}: {exc}") from exc
            try:
                if code == _OBSERVED:
                    self.broken = True
                    raise RuleEngineError(f"rule engine saw customer #{i} twice (fact id {i} already in its state)")
                if code == 0:
                    self._actions(i, state, action)
            finally:
                if not self.broken:
                    _dre.retract_fact(handle, fact)

    def _actions(self, i: int, state: int, action: Action) -> None:
        handle = self._handle
        started = _dre.start_action_for_state(handle, state)  # (state json, message) or None
        message = None if started is None else started[1]
        while message is not None:
            try:
                for key, match in json.loads(message).items():
                    fact_id = match.get("m", {}).get("id") if isinstance(match, dict) else None
                    if key not in self.keys or fact_id != i:
                        raise RuleEngineError(f"rule engine fired {key!r} for fact {fact_id!r} while evaluating #{i}")
                    action(i, key)
            except BaseException as exc:
                self.broken = True
                _dre.abandon_action(handle, state)
                if isinstance(exc, RuleEngineError) or not isinstance(exc, Exception):
                    raise
                raise RuleEngineError(f"rule action failed for customer #{i}: {exc!r}") from exc
            message = _dre.complete_and_start_action(handle, state)  # next action, or None

    def close(self) -> None:
        _dre.delete_ruleset(self._handle)


def run_facts(name: str, conditions: Mapping[str, Mapping[str, Any]], bodies: Sequence[str],
              action: Action | None = None) -> list[tuple[int, str]]:
    """Evaluate every fact body against the ruleset ``name``; returns the (fact index, rule key)
    hits in assertion order, each at most once. ``action`` is called per raw hit (tests use it).

    The ruleset is registered on first use and reused while its name is the same; a session
    that failed mid-run is dropped and rebuilt on the next call.
    """
    hits: list[tuple[int, str]] = []
    seen: set[tuple[int, str]] = set()

    def record(i: int, key: str) -> None:
        if action is not None:
            action(i, key)
        if (i, key) not in seen:
            seen.add((i, key))
            hits.append((i, key))

    with _LOCK:
        session = _SESSIONS.get(name)
        if session is None:
            session = DurableSession(name, conditions)
            _SESSIONS[name] = session
        elif session.keys != frozenset(conditions):
            raise RuleEngineError(f"ruleset name {name} reused for a different definition")
        try:
            session.run(bodies, record)
        finally:
            if session.broken:
                del _SESSIONS[name]
                session.close()
    return hits


def registered() -> list[str]:
    """Names of the rulesets registered in this process (for tests and diagnostics)."""
    with _LOCK:
        return list(_SESSIONS)
