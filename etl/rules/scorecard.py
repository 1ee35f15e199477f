"""The scorecard (SPEC §5.4): risk_score and risk_grade, vectorised, before the rules run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.rules.derive import Evaluator
from etl.rules.ruleset import Scorecard


def apply_scorecard(scorecard: Scorecard | None, positions: pd.DataFrame) -> pd.DataFrame:
    """``positions`` plus risk_score (float) and risk_grade (str); both null without a scorecard.

    risk_score is the sum of the points whose condition holds (0 when none does); risk_grade is
    the first grade whose max >= the score, the last grade (no max) taking everything above.
    """
    out = positions.copy()
    n = len(out)
    if scorecard is None:
        out["risk_score"] = pd.Series(np.full(n, np.nan), index=out.index, dtype="float64")
        out["risk_grade"] = pd.Series([None] * n, index=out.index, dtype=object)
        return out
    evaluator = Evaluator(positions)
    score = np.zeros(n, dtype="float64")
    for point in scorecard.points:
        score += np.where(evaluator.condition(point.condition), float(point.add), 0.0)
    bounded = [g for g in scorecard.grades if g.max is not None]
    grade = np.select([score <= g.max for g in bounded], [g.grade for g in bounded],
                      default=scorecard.grades[-1].grade) if n else np.array([], dtype=object)
    out["risk_score"] = pd.Series(score, index=out.index, dtype="float64")
    out["risk_grade"] = pd.Series(grade.astype(object), index=out.index, dtype=object)
    return out
