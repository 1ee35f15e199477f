"""A loaded rule set: plain frozen dataclasses (picklable; Dagster passes them between steps)."""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from etl.rules.grammar import Expr, field_names

#: rule actions in the order of SPEC §5.3 (most restrictive first; reduce_limit carries a parameter)
ACTION_NAMES = ("block", "hold", "require_prepayment", "reduce_limit", "review")


@dataclass(frozen=True)
class Guards:
    max_new_blocks_percent: float = 5.0
    max_quarantine_percent: float = 1.0
    max_customer_drop_percent: float = 10.0


@dataclass(frozen=True)
class Effective:
    """Inclusive validity window compared with as_of; an open end is unbounded."""

    start: datetime.date | None = None
    end: datetime.date | None = None

    def covers(self, as_of: datetime.date) -> bool:
        return (self.start is None or self.start <= as_of) and (self.end is None or as_of <= self.end)


class Scope(Mapping[str, tuple[str, ...]]):
    """An immutable, hashable scope mapping: key (company / segment / country) -> allowed values."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self._items = tuple((k, tuple(v)) for k, v in (items or {}).items())

    def __getitem__(self, key: str) -> tuple[str, ...]:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items))

    def __repr__(self) -> str:
        return f"Scope({dict(self._items)!r})"

    def __reduce__(self) -> tuple[type, tuple[dict[str, tuple[str, ...]]]]:
        return (Scope, (dict(self._items),))


@dataclass(frozen=True)
class Rule:
    id: str
    description: str | None
    when: str  # the condition as written
    action: str  # one of ACTION_NAMES
    reduce_by_percent: float | None
    reduce_to: float | None
    reason: str
    #: effective scope (file-level and rule-level together): every key listed must match one value
    scope: Scope
    effective: Effective | None
    enabled: bool
    path: str
    line: int
    condition: Expr = field(compare=False, repr=False)

    def active(self, as_of: datetime.date) -> bool:
        return self.enabled and (self.effective is None or self.effective.covers(as_of))

    def fields_used(self) -> set[str]:
        return field_names(self.condition) | set(self.scope)


@dataclass(frozen=True)
class ScorePoint:
    when: str
    add: float
    condition: Expr = field(compare=False, repr=False)


@dataclass(frozen=True)
class Grade:
    grade: str
    max: float | None  # None only on the last grade


@dataclass(frozen=True)
class Scorecard:
    points: tuple[ScorePoint, ...]
    grades: tuple[Grade, ...]
    path: str
    line: int

    def fields_used(self) -> set[str]:
        return set().union(*(field_names(p.condition) for p in self.points)) if self.points else set()


@dataclass(frozen=True)
class RuleSet:
    name: str
    sha256: str  # over the bytes of every file read (includes too), in reading order
    auto_release: bool
    guards: Guards
    rules: tuple[Rule, ...]  # rule-file order
    scorecard: Scorecard | None
    paths: tuple[str, ...] = ()  # every file read, in reading order

    def fields_used(self) -> set[str]:
        """Every §4 field the rules, their scopes and the scorecard read."""
        used: set[str] = set()
        for rule in self.rules:
            used |= rule.fields_used()
        if self.scorecard is not None:
            used |= self.scorecard.fields_used()
        return used

    def active_rules(self, as_of: datetime.date) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.active(as_of))

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def unknown_scope_companies(self, companies: Sequence[str]) -> list[str]:
        """One warning per rule whose ``scope: company`` names a company not in ``companies``
        (such a rule can never fire for it: usually a typo), located at the rule."""
        known = list(companies)
        warnings = []
        for rule in self.rules:
            for company in rule.scope.get("company", ()):
                if company in known:
                    continue
                guess = difflib.get_close_matches(company, known, n=1, cutoff=0.6)
                hint = f"did you mean {guess[0]!r}?" if guess else f"the config's companies: {', '.join(known)}"
                warnings.append(f"{rule.path}:{rule.line}: rule {rule.id!r}: scope company {company!r} "
                                f"is not one of erp.companies ({hint})")
        return warnings
