"""Read rule files into one RuleSet (SPEC §5.1): includes, file-level scope, merging, set checks.

Reading order is depth first in the order given: a file, then the files it includes (relative to
it), then the next file given. Rule order, and the sha256 (over the bytes read), follow that
order. A file reached twice (two files include the same one) is read once, at its first place.
A file's scope applies to its own rules and to the rules of every file it includes.
Merging several files: ids unique across all, at most one scorecard, each guard the strictest
(lowest) value any file sets, auto_release only when some file enables it and none disables it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from etl.rules.lint import LintMessage, ParsedFile, RuleLintError, check_file
from etl.rules.ruleset import Guards, Rule, RuleSet, Scope
from etl.rules.vocabulary import SCORE_FIELDS

ScopeDict = dict[str, tuple[str, ...]]


@dataclass
class _Placed:
    file: ParsedFile
    scopes: list[ScopeDict]  # the file scopes in force: its own and its includers'


class _SetReader:
    def __init__(self) -> None:
        self.messages: list[LintMessage] = []
        self.placed: list[_Placed] = []
        self.seen: set[Path] = set()
        self.stack: list[Path] = []

    def visit(self, path: Path, display: str, scopes: list[ScopeDict],
              origin: tuple[str, int, int] | None) -> None:
        resolved = path.resolve()
        where = origin or (display, 1, 1)
        if resolved in self.stack:
            chain = [p.name for p in self.stack[self.stack.index(resolved):]] + [resolved.name]
            self.messages.append(LintMessage(*where, f"include cycle: {' -> '.join(chain)}",
                                             "remove one of the includes in the cycle"))
            return
        if resolved in self.seen:
            return
        if not path.is_file():
            what = "included file" if origin else "rule file"
            reason = "is a directory" if path.is_dir() else "not found"
            hint = ("include paths are relative to the including file" if origin
                    else "check the path (rule files are usually under rules/)")
            self.messages.append(LintMessage(*where, f"{what} {display} {reason}", hint))
            return
        try:
            content = path.read_bytes()
        except OSError as exc:
            self.messages.append(LintMessage(*where, f"cannot read {display}: {exc.strerror or exc}", None))
            return
        self.seen.add(resolved)
        parsed = check_file(display, content)
        self.messages.extend(parsed.messages)
        in_force = scopes + ([parsed.scope] if parsed.scope else [])
        self.placed.append(_Placed(parsed, in_force))
        self.stack.append(resolved)
        for include, line, column in parsed.includes:
            target = path.parent / include
            self.visit(target, os.path.normpath(str(Path(display).parent / include)), in_force,
                       (display, line, column))
        self.stack.pop()


def _intersect(scopes: list[ScopeDict]) -> tuple[ScopeDict, str | None]:
    """Combine scopes key by key; returns the scope and the key that became empty, if any."""
    out: ScopeDict = {}
    for scope in scopes:
        for key, values in scope.items():
            if key in out:
                kept = tuple(v for v in out[key] if v in values)
                if not kept:
                    return out, key
                out[key] = kept
            else:
                out[key] = values
    return out, None


def _merge(reader: _SetReader, given: list[str]) -> RuleSet | None:
    messages = reader.messages
    rules: list[Rule] = []
    first_id: dict[str, str] = {}
    for placed in reader.placed:
        f = placed.file
        for rule_id, line, column in f.rule_ids:
            if rule_id in first_id:
                messages.append(LintMessage(f.path, line, column,
                                            f"duplicate rule id '{rule_id}' (first defined at {first_id[rule_id]})",
                                            "rule ids are unique across every file of a rule set: rename one"))
            else:
                first_id[rule_id] = f"{f.path}:{line}:{column}"
    scorecards = [(p.file, p.file.scorecard_position) for p in reader.placed if p.file.scorecard_position]
    for f, pos in scorecards[1:]:
        first = scorecards[0]
        messages.append(LintMessage(f.path, *pos,  # type: ignore[misc]
                                    f"a rule set has at most one scorecard (another is at {first[0].path}:{first[1][0]})",
                                    "keep the scorecard in one file"))
    has_scorecard = bool(scorecards)
    for placed in reader.placed:
        f = placed.file
        for r in f.rules:
            scope, empty = _intersect([*placed.scopes, r.scope])
            if empty is not None:
                messages.append(LintMessage(f.path, r.line, r.column,
                                            f"rule {r.id}: its scope {empty} lies outside the file scope, so it never applies",
                                            f"list {empty} values inside the file-level scope"))
                continue
            if not has_scorecard:
                for name, line, column in r.field_positions:
                    if name in SCORE_FIELDS:
                        messages.append(LintMessage(f.path, line, column,
                                                    f"{name} is always null: the rule set has no scorecard",
                                                    "add a scorecard (docs/rules.md, Scorecard) or drop this condition"))
            rules.append(Rule(
                id=r.id, description=r.description, when=r.when, action=r.action,
                reduce_by_percent=r.by_percent, reduce_to=r.to, reason=r.reason, scope=Scope(scope),
                effective=r.effective, enabled=r.enabled, path=f.path, line=r.line, condition=r.condition,
            ))
    if messages:
        return None
    files = [p.file for p in reader.placed]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.content)
    guards = {}
    for key, default in (("max_new_blocks_percent", 5.0), ("max_quarantine_percent", 1.0),
                         ("max_customer_drop_percent", 10.0)):
        values = [getattr(f.guards, key) for f in files if f.guards is not None and getattr(f.guards, key) is not None]
        guards[key] = float(min(values)) if values else default
    releases = [f.auto_release for f in files if f.auto_release is not None]
    names = [f.name for f in files if f.path in given and f.name] or [Path(g).stem for g in given]
    return RuleSet(
        name=" + ".join(names),
        sha256=digest.hexdigest(),
        auto_release=bool(releases) and all(releases),
        guards=Guards(**guards),
        rules=tuple(rules),
        scorecard=scorecards[0][0].scorecard if scorecards else None,
        paths=tuple(f.path for f in files),
    )


def _read(paths: Sequence[str | Path]) -> tuple[list[LintMessage], RuleSet | None]:
    if not paths:
        return [LintMessage("(no rule files)", 1, 1, "no rule files given", "pass at least one rules/*.yaml")], None
    reader = _SetReader()
    given = [str(p) for p in paths]
    for p in given:
        reader.visit(Path(p), p, [], None)
    ruleset = _merge(reader, given)
    # file by file in reading order, then by position
    order = {path: i for i, path in enumerate(dict.fromkeys(m.path for m in reader.messages))}
    messages = sorted(reader.messages, key=lambda m: (order[m.path], m.line, m.column))
    return messages, ruleset


def lint_paths(paths: Sequence[str | Path]) -> list[LintMessage]:
    """Every lint problem of these rule files taken together (empty when they are clean)."""
    messages, _ = _read(paths)
    return messages


def load_ruleset(paths: Sequence[str | Path]) -> RuleSet:
    """Read, lint and merge rule files; raises RuleLintError listing every problem."""
    messages, ruleset = _read(paths)
    if messages or ruleset is None:
        raise RuleLintError(messages)
    return ruleset
