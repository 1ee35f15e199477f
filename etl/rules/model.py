"""Pydantic models of one rule file (SPEC §5.1); unknown keys are errors.

These check the file's shape only. Conditions (`when`) and actions (`then`) get their own
checks in lint.py, with messages phrased for the person editing the file.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

RULE_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GuardsModel(_Model):
    max_new_blocks_percent: float | None = Field(default=None, ge=0, le=100)
    max_quarantine_percent: float | None = Field(default=None, ge=0, le=100)
    max_customer_drop_percent: float | None = Field(default=None, ge=0, le=100)


def _scope_values(value: Any) -> Any:
    """Accept a single value or a list; codes like 1000 become '1000'; YAML's NO/off are errors."""
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            raise PydanticCustomError(
                "scope_bool", "scope value {value} was read by YAML as a boolean, not as text",
                {"value": repr(item), "hint": "quote it, e.g. country: ['NO'] (YAML reads NO, no, off, on, yes as booleans)"},
            )
        if isinstance(item, int):
            item = str(item)
        if not isinstance(item, str) or not item:
            raise PydanticCustomError(
                "scope_value", "scope values are non-empty strings, got {value}",
                {"value": repr(item), "hint": "list codes as strings, e.g. company: [DE01]"},
            )
        out.append(item)
    return tuple(out)


class ScopeModel(_Model):
    company: tuple[str, ...] | None = None
    segment: tuple[str, ...] | None = None
    country: tuple[str, ...] | None = None

    @field_validator("company", "segment", "country", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        return _scope_values(value)

    def as_dict(self) -> dict[str, tuple[str, ...]]:
        return {k: v for k, v in (("company", self.company), ("segment", self.segment),
                                  ("country", self.country)) if v is not None}


class EffectiveModel(_Model):
    from_: datetime.date | None = Field(default=None, alias="from")
    to: datetime.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> EffectiveModel:
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise PydanticCustomError(
                "effective_order", "effective.from {start} is after effective.to {end}",
                {"start": str(self.from_), "end": str(self.to), "hint": "swap the dates"},
            )
        return self


class ReduceLimitModel(_Model):
    by_percent: float | None = Field(default=None, gt=0, le=100)
    to: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_of(self) -> ReduceLimitModel:
        if (self.by_percent is None) == (self.to is None):
            raise PydanticCustomError(
                "reduce_limit_one_of", "reduce_limit takes exactly one of by_percent and to",
                {"hint": "e.g. then: {reduce_limit: {by_percent: 25}} or then: {reduce_limit: {to: 5000}}"},
            )
        if self.by_percent is not None and round(self.by_percent, 2) != self.by_percent:
            raise PydanticCustomError(
                "by_percent_decimals", "by_percent {value} has more than two decimals",
                {"value": str(self.by_percent), "hint": "round it, e.g. 33.33"},
            )
        return self


class RuleModel(_Model):
    id: str = Field(pattern=RULE_ID_PATTERN)
    description: str | None = None
    when: str
    then: Any  # checked in lint.py: an action name or {reduce_limit: {...}}
    reason: str | None = None
    scope: ScopeModel | None = None
    effective: EffectiveModel | None = None
    enabled: bool = True


class ScorePointModel(_Model):
    when: str
    add: float


class GradeModel(_Model):
    grade: str = Field(min_length=1)
    max: float | None = None


class ScorecardModel(_Model):
    points: list[ScorePointModel] = Field(default_factory=list)
    grades: list[GradeModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _grades_ordered(self) -> ScorecardModel:
        *bounded, last = self.grades
        if last.max is not None:
            raise PydanticCustomError(
                "last_grade_max", "the last grade ({grade}) must have no max: it takes every higher score",
                {"grade": last.grade, "hint": f"remove max from grade {last.grade}, or add a final grade without max"},
            )
        previous = None
        for grade in bounded:
            if grade.max is None:
                raise PydanticCustomError(
                    "grade_max_missing", "grade {grade} needs a max (only the last grade has none)",
                    {"grade": grade.grade, "hint": "give every grade but the last an increasing max"},
                )
            if previous is not None and grade.max <= previous:
                raise PydanticCustomError(
                    "grade_order", "grade maxima must increase ({grade} has max {max} after {previous})",
                    {"grade": grade.grade, "max": grade.max, "previous": previous,
                     "hint": "list grades from best (lowest max) to worst"},
                )
            previous = grade.max
        names = [g.grade for g in self.grades]
        if len(set(names)) != len(names):
            raise PydanticCustomError("grade_duplicate", "grade names must be unique",
                                      {"hint": "e.g. A, B, C, D"})
        return self


class RuleFileModel(_Model):
    version: Literal[1] = 1
    name: str | None = None
    auto_release: bool | None = None
    guards: GuardsModel | None = None
    scorecard: Any = None  # ScorecardModel, validated on its own so its errors do not hide others
    scope: ScopeModel | None = None
    include: list[str] = Field(default_factory=list)
    rules: list[Any] = Field(default_factory=list)  # RuleModel each, validated one by one

    @field_validator("include", mode="before")
    @classmethod
    def _one_include(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


#: allowed keys per mapping, for did-you-mean hints; keyed by the mapping's own key in the file
ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(f for f in RuleFileModel.model_fields),
    "rules": tuple(RuleModel.model_fields),
    "guards": tuple(GuardsModel.model_fields),
    "scope": ("company", "segment", "country"),
    "effective": ("from", "to"),
    "scorecard": tuple(ScorecardModel.model_fields),
    "points": tuple(ScorePointModel.model_fields),
    "grades": tuple(GradeModel.model_fields),
    "reduce_limit": tuple(ReduceLimitModel.model_fields),
}
