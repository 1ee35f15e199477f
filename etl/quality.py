"""Validate a whole extract: contracts per frame, then referential checks across frames."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.extract import Extract
from etl.fx import index_codes
from validation.quarantine import empty_quarantine, quarantine_rows, validate_frame
from validation.release import release_cycles

#: entities whose rows belong to a customer and must reference a known one
_CUSTOMER_CHILDREN = ("open_items", "open_orders", "open_deliveries", "payments")


@dataclass(frozen=True)
class ValidatedExtract:
    """The rows that passed, every quarantined row, and per-entity counts for the guards."""

    extract: Extract
    quarantine: pd.DataFrame
    rows: dict[str, int]  # rows read per entity
    quarantined: dict[str, int]  # distinct rows quarantined per entity

    def quarantine_percent(self) -> dict[str, float]:
        return {
            e: (100.0 * self.quarantined[e] / n if n else 0.0) for e, n in self.rows.items()
        }

    def incomplete_customers(self) -> pd.DataFrame:
        """(company, customer_id) of every customer with at least one quarantined row."""
        q = self.quarantine.dropna(subset=["company", "customer_id"])
        return q[["company", "customer_id"]].drop_duplicates().reset_index(drop=True)


def _known(frame: pd.DataFrame, keys: pd.DataFrame, on: list[str]) -> pd.Series:
    """Boolean mask: the row's ``on`` columns appear in ``keys``."""
    if frame.empty:
        return pd.Series([], dtype=bool, index=frame.index)
    # each column's values numbered by the keys' distinct values (compact columns by category or
    # Arrow's hash, no Python str per cell), then pairs of numbers compared: a null is never known
    key_code = np.zeros(len(keys), dtype=np.int64)
    row_code = np.zeros(len(frame), dtype=np.int64)
    complete_keys = np.ones(len(keys), dtype=bool)
    known = np.ones(len(frame), dtype=bool)
    for column in on:
        index = pd.Index(keys[column].dropna().unique()).astype(object)
        k, r = index_codes(index, keys[column]), index_codes(index, frame[column])
        complete_keys &= k >= 0
        known &= r >= 0
        key_code = key_code * (len(index) + 1) + k
        row_code = row_code * (len(index) + 1) + r
    return pd.Series(known & np.isin(row_code, key_code[complete_keys]), index=frame.index)


@dataclass(frozen=True)
class ValidatedFrame:
    """One entity validated against its contract: what is left of a raw frame once judged."""

    entity: str
    rows: int  # rows read
    valid: pd.DataFrame  # the rows satisfying the contract, coerced
    quarantine: pd.DataFrame  # one record per failed row and check

    def quarantined(self) -> int:
        """Distinct rows quarantined (a row failing two checks counts once)."""
        return int(self.quarantine["key"].nunique())


def validate_entity(entity: str, frame: pd.DataFrame) -> ValidatedFrame:
    """One frame split by its contract (validation.quarantine.validate_frame, once)."""
    valid, quarantine = validate_frame(entity, frame)
    # pandera's lazy errors leave reference cycles that hold the frame being validated: collected
    # (when big), the frame as read dies as soon as its caller drops it (validation.release)
    release_cycles(len(frame))
    return ValidatedFrame(entity, len(frame), valid, quarantine)


def validate_extract(extract: Extract) -> ValidatedExtract:
    """Split every frame into valid rows and quarantine records (SPEC §3)."""
    return combine_validated([validate_entity(e, f) for e, f in extract.frames().items()])


def combine_validated(parts: Iterable[ValidatedFrame]) -> ValidatedExtract:
    """The extract of frames validated one by one, then checked across frames: a customer of an
    unknown company and a child row of an unknown customer are quarantined too."""
    given = {part.entity: part for part in parts}
    missing = [e for e in Extract.entities() if e not in given]
    if missing:
        raise ValueError(f"no validated frame for {', '.join(missing)}")
    # in the extract's entity order, whatever order they came in: the quarantine's rows follow it
    ordered = [given[e] for e in Extract.entities()]
    frames: dict[str, pd.DataFrame] = {p.entity: p.valid for p in ordered}
    found: list[pd.DataFrame] = [p.quarantine for p in ordered]
    rows: dict[str, int] = {p.entity: p.rows for p in ordered}

    # referential breaks: a company without a company row, a child row of an unknown customer
    known_company = _known(frames["customers"], frames["companies"], ["company"])
    found.append(quarantine_rows("customers", frames["customers"][~known_company], "unknown_company",
                                 frames["customers"].loc[~known_company, "company"].astype(str)))
    frames["customers"] = frames["customers"][known_company].reset_index(drop=True)
    for entity in _CUSTOMER_CHILDREN:
        frame = frames[entity]
        ok = _known(frame, frames["customers"], ["company", "customer_id"])
        found.append(quarantine_rows(entity, frame[~ok], "unknown_customer",
                                     frame.loc[~ok, "customer_id"].astype(str)))
        frames[entity] = frame[ok].reset_index(drop=True)

    quarantine = pd.concat([q for q in found if not q.empty] or [empty_quarantine()], ignore_index=True)
    quarantined = {
        e: int(quarantine.loc[quarantine["entity"] == e, "key"].nunique()) for e in rows
    }
    return ValidatedExtract(Extract(**frames), quarantine, rows, quarantined)
