"""Credit-control rules: the rule-file language, its lint, and evaluation on durable_rules.

Public API (other packages import only these names)::

    load_ruleset(paths) -> RuleSet          lint_paths(paths) -> list[LintMessage]
    evaluate_rules(ruleset, positions, as_of) -> RuleResult
"""

from etl.rules.evaluate import RuleResult, evaluate_rules
from etl.rules.lint import LintMessage, RuleLintError
from etl.rules.loader import lint_paths, load_ruleset
from etl.rules.ruleset import Effective, Grade, Guards, Rule, RuleSet, Scorecard, ScorePoint

__all__ = [
    "Effective", "Grade", "Guards", "LintMessage", "Rule", "RuleLintError", "RuleResult", "RuleSet",
    "ScorePoint", "Scorecard", "evaluate_rules", "lint_paths", "load_ruleset",
]
