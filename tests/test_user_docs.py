"""What users read stands on its own: no user doc and no `--help` sends people to the product
specification (users do not have it), and every relative link between the docs resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_helpers import command_paths, run_cli
from tests.conftest import ROOT

USER_DOCS = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
#: "SPEC §4", "SPEC's", "../shared/SPEC.md", "see §6.2", "the spec"
SPEC_REFERENCE = re.compile(r"\bSPEC\b|§|(?i:\bspec\.md\b|\bthe spec\b)")


def _mentions(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if SPEC_REFERENCE.search(line)]


def test_the_pattern_catches_what_it_should() -> None:
    for text in ("Credit positions (SPEC §4)", "see ../shared/SPEC.md", "as in §3", "exactly SPEC's rate",
                 "the spec says"):
        assert _mentions(text), text
    for text in ("a specific customer", "inspect the plan", "the specification-free docs", "SPECIAL"):
        assert not _mentions(text), text


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_user_doc_mentions_the_spec(doc: Path) -> None:
    found = _mentions(doc.read_text(encoding="utf-8"))
    assert not found, f"{doc.relative_to(ROOT)} refers users to the spec they do not have: {found}"


def test_every_command_is_checked() -> None:
    names = {" ".join(p) for p in command_paths()}
    assert {"", "run", "demo", "evaluate", "rules check", "override add", "store upgrade"} <= names


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "creditctl")
def test_no_help_output_mentions_the_spec(path: tuple[str, ...], capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, *path, "--help")
    assert result.code == 0, result.err
    found = _mentions(result.out)
    assert not found, f"creditctl {' '.join(path)} --help refers users to the spec: {found}"


# --- links ------------------------------------------------------------------------------------
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # not the code's "# ..."
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        slug = _slug(heading)
        n = seen.get(slug, 0)
        anchors.add(slug if n == 0 else f"{slug}-{n}")
        seen[slug] = n + 1
    return anchors


def test_slugs_are_githubs() -> None:
    assert _slug("Connector options (`erp.options`)") == "connector-options-erpoptions"
    assert _slug("erpnext (ERPNext v15 on MariaDB; SQLite for the demo)") == \
        "erpnext-erpnext-v15-on-mariadb-sqlite-for-the-demo"
    assert _slug("Null values: two-valued logic") == "null-values-two-valued-logic"
    assert _slug("sap_b1") == "sap_b1"


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}: {broken}"
