"""Customer names for people. The state store keeps ids only; each run folder's CSVs carry the
names the ERP had that night (decisions.csv, positions.csv and plan.csv end with ``name``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

#: the run-folder files that name customers, the most complete first
NAMED_FILES = ("decisions.csv", "positions.csv", "plan.csv")


def names_from_run_folders(folders: Iterable[Path], wanted: set[tuple[str, str]] | None = None
                           ) -> dict[tuple[str, str], str]:
    """{(company, customer_id): name} from the run folders, the first folder that names a customer
    winning (pass the newest first). Stops once every ``wanted`` customer is named; folders or
    files that are gone or carry no names (runs before names were kept) are skipped."""
    names: dict[tuple[str, str], str] = {}
    for folder in folders:
        if wanted is not None and wanted <= names.keys():
            break
        for file in NAMED_FILES:
            path = folder / file
            if not path.is_file():
                continue
            try:
                if "name" not in pd.read_csv(path, nrows=0).columns:
                    continue
                frame = pd.read_csv(path, usecols=["company", "customer_id", "name"], dtype=str,
                                    keep_default_na=False)
            except (OSError, ValueError, pd.errors.ParserError):
                continue
            for company, customer_id, name in frame.itertuples(index=False, name=None):
                if name:
                    names.setdefault((company, customer_id), name)
            break
    return names
