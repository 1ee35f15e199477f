"""Lint one rule file (SPEC §5.5): every problem, each at file:line:column with a fix hint.

The YAML is composed to nodes (for positions) and constructed to data (for checking) in one
pass. The file's shape is checked with the pydantic models; conditions with the grammar and the
type checker; actions by hand, so each message reads the way a data engineer thinks about it.
Nothing here reads other files: includes, duplicate ids across files and merging are loader.py.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from etl.rules.grammar import Expr, ExpressionError, FieldRef, parse_expression, walk
from etl.rules.model import (
    ALLOWED_KEYS,
    GuardsModel,
    ReduceLimitModel,
    RuleFileModel,
    RuleModel,
    ScorecardModel,
)
from etl.rules.ruleset import ACTION_NAMES, Effective, Grade, Scorecard, ScorePoint
from etl.rules.typecheck import check_condition

SIMPLE_ACTIONS = ("block", "hold", "require_prepayment", "review")
_THEN_EXAMPLE = "then: block | hold | require_prepayment | review | {reduce_limit: {by_percent: 25}}"

_VALUE_HINTS = {
    "by_percent": "a percentage above 0 and at most 100, e.g. 25",
    "to": "a limit in company currency, 0 or more, e.g. 5000",
    "max_new_blocks_percent": "a percentage from 0 to 100",
    "max_quarantine_percent": "a percentage from 0 to 100",
    "max_customer_drop_percent": "a percentage from 0 to 100",
    "add": "a number of points, e.g. 20",
    "max": "the highest score of this grade, e.g. 20",
    "enabled": "true or false",
    "auto_release": "true or false",
    "from": "a date, e.g. 2026-01-01",
    "name": "text",
    "description": "text",
    "reason": "text a credit manager understands",
}

_MISSING_HINTS = {
    "id": "give the rule a kebab-case id, e.g. `id: overdue-90-block`",
    "when": "add the condition, e.g. `when: overdue_91_plus > 0`",
    "then": f"add the action: {_THEN_EXAMPLE}",
    "grades": "e.g. grades: [{max: 20, grade: A}, {max: 45, grade: B}, {grade: C}]",
    "grade": "name the grade, e.g. `grade: A`",
    "add": "the points this condition adds, e.g. `add: 20`",
}


@dataclass(frozen=True)
class LintMessage:
    path: str
    line: int
    column: int
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}:{self.column}: {self.message}{hint}"


class RuleLintError(ValueError):
    """Rule files failed lint; nothing from them may be evaluated."""

    def __init__(self, messages: list[LintMessage]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(str(m) for m in self.messages))


# --- parsed file -----------------------------------------------------------------------------
@dataclass
class ParsedRule:
    id: str
    description: str | None
    when: str
    condition: Expr
    action: str
    by_percent: float | None
    to: float | None
    reason: str
    scope: dict[str, tuple[str, ...]]
    effective: Effective | None
    enabled: bool
    line: int
    column: int
    #: every field the condition names, with its position (for set-level checks)
    field_positions: list[tuple[str, int, int]] = field(default_factory=list)


@dataclass
class ParsedFile:
    path: str
    content: bytes
    messages: list[LintMessage] = field(default_factory=list)
    name: str | None = None
    auto_release: bool | None = None
    guards: GuardsModel | None = None
    scope: dict[str, tuple[str, ...]] | None = None
    includes: list[tuple[str, int, int]] = field(default_factory=list)  # (path as written, line, column)
    rules: list[ParsedRule] = field(default_factory=list)
    rule_ids: list[tuple[str, int, int]] = field(default_factory=list)  # every id written, valid or not
    scorecard: Scorecard | None = None
    scorecard_position: tuple[int, int] | None = None


# --- node positions --------------------------------------------------------------------------
def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _child(node: yaml.Node | None, key: str | int, want_key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k if want_key else v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def _locate(root: yaml.Node, loc: tuple[str | int, ...], want_key: bool = False) -> yaml.Node:
    """The node at ``loc`` (or the deepest ancestor that exists)."""
    node = root
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        nxt = _child(node, key, want_key=want_key and last)
        if nxt is None:
            return node
        node = nxt
    return node


def did_you_mean(word: str, choices: Sequence[str], otherwise: str) -> str:
    """"did you mean 'x'?" for the closest of ``choices``, else ``otherwise`` (a list of them)."""
    guess = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"did you mean '{guess[0]}'?" if guess else otherwise


def node_position(root: yaml.Node, loc: tuple[str | int, ...], want_key: bool = False) -> tuple[int, int]:
    """1-based line/column of the node at ``loc`` (of its key with ``want_key``; else the nearest ancestor)."""
    return _mark(_locate(root, loc, want_key))


def expression_position(node: yaml.Node, offset: int, source_lines: list[str]) -> tuple[int, int]:
    """1-based line/column in the file of character ``offset`` of a scalar's text."""
    start, end = node.start_mark, node.end_mark
    style = getattr(node, "style", None)
    if style in (None, "'", '"') and start.line == end.line:
        return start.line + 1, start.column + 1 + (1 if style else 0) + offset
    if style == "|":
        text = node.value[:offset]
        line_index = text.count("\n")
        col = offset - (text.rfind("\n") + 1)
        src = start.line + 1 + line_index
        indent = 0
        if 0 <= src < len(source_lines):
            indent = len(source_lines[src]) - len(source_lines[src].lstrip(" "))
        return src + 1, indent + col + 1
    return _mark(node)


# --- checking --------------------------------------------------------------------------------
class _FileChecker:
    def __init__(self, path: str, content: bytes) -> None:
        self.out = ParsedFile(path=path, content=content)
        self.path = path
        self.root: yaml.Node | None = None
        self.lines: list[str] = []

    def error(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        self.out.messages.append(LintMessage(self.path, line, column, message, hint))

    def error_at(self, node: yaml.Node, message: str, hint: str | None = None) -> None:
        self.error(*_mark(node), message, hint)

    # -- entry ----------------------------------------------------------------------------
    def run(self) -> ParsedFile:
        try:
            text = self.out.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.error(1, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})", "save the file as UTF-8")
            return self.out
        self.lines = text.splitlines()
        loader = yaml.SafeLoader(text)
        try:
            self.root = loader.get_single_node()
            data = loader.construct_document(self.root) if self.root is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(line, col, f"not valid YAML: {problem}",
                       "check indentation and quoting; a condition starting with a quote must be quoted whole")
            return self.out
        finally:
            loader.dispose()
        if self.root is None or data is None:
            self.error(1, 1, "the rule file is empty", "start with `version: 1` and a `rules:` list")
            return self.out
        if not isinstance(data, dict):
            self.error_at(self.root, "a rule file is a mapping (version, name, rules, ...)",
                          "start with `version: 1` and a `rules:` list")
            return self.out
        self._duplicate_keys(self.root)
        self._file(data)
        return self.out

    def _duplicate_keys(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        self.error_at(k, f"duplicate key '{k.value}'",
                                      "the later value would silently replace the earlier one: keep one")
                    seen.add(k.value)
                self._duplicate_keys(v)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._duplicate_keys(item)

    def _pydantic(self, exc: ValidationError, prefix: tuple[str | int, ...]) -> None:
        assert self.root is not None
        for err in exc.errors():
            loc = prefix + tuple(err["loc"])
            kind = err["type"]
            ctx = err.get("ctx") or {}
            hint = ctx.get("hint")
            if kind == "extra_forbidden":
                key = str(loc[-1])
                context = next((str(p) for p in reversed(loc[:-1]) if isinstance(p, str)), "")
                allowed = ALLOWED_KEYS.get(context, ())
                guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
                where = "scope key" if context == "scope" else "key"
                if context == "scope":
                    message = f"bad scope key '{key}'"
                else:
                    place = {"": "", "rules": " in this rule", "points": " in a scorecard point",
                             "grades": " in a grade"}.get(context, f" in {context}")
                    message = f"unknown {where} '{key}'{place}"
                hint = (f"did you mean '{guess[0]}'?" if guess else "") + (
                    f"{' ' if guess else ''}allowed: {', '.join(allowed)}" if allowed else "")
                self.error_at(_locate(self.root, loc, want_key=True), message, hint or None)
                continue
            node = _locate(self.root, loc)
            name = ".".join(str(p) for p in loc[len(prefix):] if isinstance(p, str)) or "value"
            if kind == "missing":
                key = str(loc[-1])
                self.error_at(node, f"missing `{key}`", _MISSING_HINTS.get(key))
            elif kind == "string_pattern_mismatch" and loc[-1] == "id":
                self.error_at(node, f"rule id {err['input']!r} is not kebab-case",
                              "use lowercase letters, digits and single dashes, e.g. overdue-90-block")
            elif kind == "literal_error" and loc == ("version",):
                self.error_at(node, f"unsupported version {err['input']!r}", "write `version: 1`")
            elif hint is not None:
                self.error_at(node, err["msg"], hint)
            else:
                msg = err["msg"]
                key = str(loc[-1]) if loc and isinstance(loc[-1], str) else ""
                self.error_at(node, f"{name}: {msg[:1].lower()}{msg[1:]}", _VALUE_HINTS.get(key.rstrip("_")))

    def _validate(self, model: type, value: Any, prefix: tuple[str | int, ...]) -> Any:
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            self._pydantic(exc, prefix)
            return None

    # -- top level ------------------------------------------------------------------------
    def _file(self, data: dict[str, Any]) -> None:
        assert self.root is not None
        raw_rules = data.get("rules")
        raw_scorecard = data.get("scorecard")
        top = self._validate(RuleFileModel, data, ())
        if top is not None:
            self.out.name = top.name
            self.out.auto_release = top.auto_release
            self.out.guards = top.guards
            self.out.scope = top.scope.as_dict() if top.scope is not None else None
        includes = top.include if top is not None else _raw_includes(data.get("include"))
        if includes:
            include_node = _child(self.root, "include")
            for i, inc in enumerate(includes):
                node = _child(include_node, i) if isinstance(include_node, yaml.SequenceNode) else include_node
                self.out.includes.append((inc, *_mark(node if node is not None else self.root)))
        if raw_scorecard is not None:
            self._scorecard(raw_scorecard)
        if raw_rules is None:
            return
        if not isinstance(raw_rules, list):
            if top is not None:  # otherwise pydantic already said so
                self.error_at(_locate(self.root, ("rules",)), "rules must be a list of rules")
            return
        for i, raw in enumerate(raw_rules):
            self._rule(i, raw)

    # -- one rule -------------------------------------------------------------------------
    def _rule(self, index: int, raw: Any) -> None:
        assert self.root is not None
        loc: tuple[str | int, ...] = ("rules", index)
        node = _locate(self.root, loc)
        if not isinstance(raw, dict):
            self.error_at(node, "a rule is a mapping with id, when, then and reason",
                          "start each rule with `- id: ...`")
            return
        if isinstance(raw.get("id"), str):
            id_node = _locate(self.root, (*loc, "id"))
            self.out.rule_ids.append((raw["id"], *_mark(id_node)))
        model = self._validate(RuleModel, raw, loc)
        action = self._then(raw.get("then"), (*loc, "then")) if "then" in raw else None
        condition, positions = None, []
        if isinstance(raw.get("when"), str):
            condition, positions = self._condition(raw["when"], (*loc, "when"), in_scorecard=False)
        if model is None or action is None or condition is None:
            return
        name, by_percent, to = action
        effective = None
        if model.effective is not None:
            effective = Effective(model.effective.from_, model.effective.to)
        reason = model.reason or model.description or model.id
        self.out.rules.append(ParsedRule(
            id=model.id, description=model.description, when=model.when, condition=condition,
            action=name, by_percent=by_percent, to=to, reason=reason,
            scope=model.scope.as_dict() if model.scope is not None else {},
            effective=effective, enabled=model.enabled, line=_mark(node)[0], column=_mark(node)[1],
            field_positions=positions,
        ))

    def _then(self, value: Any, loc: tuple[str | int, ...]) -> tuple[str, float | None, float | None] | None:
        assert self.root is not None
        node = _locate(self.root, loc)
        if isinstance(value, str):
            word = value.strip()
            if word in SIMPLE_ACTIONS:
                return word, None, None
            if word == "reduce_limit":
                self.error_at(node, "reduce_limit needs by_percent or to",
                              "write then: {reduce_limit: {by_percent: 25}} or then: {reduce_limit: {to: 5000}}")
                return None
            self._unknown_action(node, word)
            return None
        if isinstance(value, dict) and len(value) == 1:
            (key, params), = value.items()
            key_node = _locate(self.root, (*loc, str(key)), want_key=True)
            if key == "reduce_limit":
                model = self._validate(ReduceLimitModel, params if params is not None else {}, (*loc, "reduce_limit"))
                if model is None:
                    return None
                return "reduce_limit", model.by_percent, model.to
            if key in SIMPLE_ACTIONS:
                self.error_at(key_node, f"{key} takes no parameters", f"write `then: {key}`")
                return None
            self._unknown_action(key_node, str(key))
            return None
        self.error_at(node, "then must be one action", _THEN_EXAMPLE)
        return None

    def _unknown_action(self, node: yaml.Node, word: str) -> None:
        hint = did_you_mean(word.lower(), ACTION_NAMES, f"actions: {', '.join(ACTION_NAMES)}")
        self.error_at(node, f"unknown action '{word}'", hint)

    def _condition(self, text: str, loc: tuple[str | int, ...], *, in_scorecard: bool
                   ) -> tuple[Expr | None, list[tuple[str, int, int]]]:
        assert self.root is not None
        node = _locate(self.root, loc)
        try:
            expr = parse_expression(text)
        except ExpressionError as exc:
            line, col = expression_position(node, exc.offset, self.lines)
            self.error(line, col, f"cannot parse condition: {exc.message}", exc.hint)
            return None, []
        issues = check_condition(expr, in_scorecard=in_scorecard)
        for issue in issues:
            line, col = expression_position(node, issue.offset, self.lines)
            self.error(line, col, issue.message, issue.hint)
        positions = [(n.name, *expression_position(node, n.span[0], self.lines))
                     for n in walk(expr) if isinstance(n, FieldRef)]
        return (None if issues else expr), positions

    # -- scorecard ------------------------------------------------------------------------
    def _scorecard(self, raw: Any) -> None:
        assert self.root is not None
        loc = ("scorecard",)
        node = _locate(self.root, loc)
        self.out.scorecard_position = _mark(node)
        model = self._validate(ScorecardModel, raw, loc)
        conditions: list[Expr | None] = []
        raw_points = raw.get("points") if isinstance(raw, dict) else None
        for i, point in enumerate(raw_points if isinstance(raw_points, list) else []):
            if isinstance(point, dict) and isinstance(point.get("when"), str):
                expr, _ = self._condition(point["when"], (*loc, "points", i, "when"), in_scorecard=True)
                conditions.append(expr)
            else:
                conditions.append(None)
        if model is None or any(c is None for c in conditions):
            return
        points = tuple(ScorePoint(p.when, p.add, c) for p, c in zip(model.points, conditions, strict=True))
        grades = tuple(Grade(g.grade, g.max) for g in model.grades)
        self.out.scorecard = Scorecard(points, grades, self.path, _mark(node)[0])


def _raw_includes(value: Any) -> list[str]:
    """Includes of a file whose top level failed validation: still followed, to report their errors."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [i for i in items if isinstance(i, str)]


def check_file(path: str, content: bytes) -> ParsedFile:
    """Lint one rule file's content; the result holds its messages and what parsed cleanly."""
    return _FileChecker(path, content).run()


def check_expression(text: str, *, in_scorecard: bool = False) -> Expr:
    """Parse and type-check one condition; raises RuleLintError (path '<condition>')."""
    try:
        expr = parse_expression(text)
    except ExpressionError as exc:
        raise RuleLintError([LintMessage("<condition>", 1, exc.offset + 1,
                                         f"cannot parse condition: {exc.message}", exc.hint)]) from None
    issues = check_condition(expr, in_scorecard=in_scorecard)
    if issues:
        raise RuleLintError([LintMessage("<condition>", 1, i.offset + 1, i.message, i.hint) for i in issues])
    return expr

