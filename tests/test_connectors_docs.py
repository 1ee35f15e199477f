"""docs/connectors.md documents the files connector's columns exactly as the data contracts
(validation/contracts.py) define them: every column, in order, and which may be empty."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from validation.contracts import ENTITIES, columns

TEXT = (ROOT / "docs" / "connectors.md").read_text(encoding="utf-8")


def _columns_section() -> str:
    start = TEXT.index("\n### Columns\n")
    return TEXT[start:TEXT.index("\n### ", start + 1)]


def _table(entity: str) -> list[tuple[str, str]]:
    """(column, type cell) of the table under the entity's bold title."""
    section = _columns_section()
    start = section.index(f"**{entity}**")
    following = section.find("\n**", start + 1)
    block = section[start:following if following != -1 else None]
    return re.findall(r"^\| `(\w+)` \| ([^|]+) \|", block, flags=re.M)


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_the_columns_are_the_contracts(entity: str) -> None:
    documented = _table(entity)
    assert [name for name, _ in documented] == columns(entity)
    model, _ = ENTITIES[entity]
    schema = model.to_schema()
    for name, kind in documented:
        assert ("nullable" in kind) == schema.columns[name].nullable, (entity, name, kind)


def test_the_error_example_names_the_contract_columns() -> None:
    assert f"(the customers columns are {','.join(columns('customers'))})" in TEXT
