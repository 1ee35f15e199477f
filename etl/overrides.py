"""Overrides (SPEC §6.2): a credit manager's exemption or forced block wins over the rules.

Pure functions over frames; the overrides themselves live in the state store (etl.store) and
are managed with ``creditctl override``. An override is valid on ``as_of`` when it is not
removed and ``expires_on`` (inclusive) is not before ``as_of``.

* ``exempt``: no restriction from the rules for that customer — no block, hold, prepayment or
  limit cut. The decision shows ``rule_ids == "override:exempt"`` and the override's reason
  (plus the rule ids it overrode). A block/hold this tool set earlier is then released by the
  plan (with auto_release), as for any customer no rule asks to restrict; a person's block stays.
* ``force_block``: the customer is blocked (and its orders held) as if a rule fired;
  ``override:force_block`` is listed first in rule_ids.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

KEYS = ["company", "customer_id"]


def active_overrides(overrides: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Overrides valid on ``as_of``; the newest per customer wins."""
    if overrides.empty:
        return overrides
    valid = overrides[overrides["removed_at"].isna() & (pd.to_datetime(overrides["expires_on"]).dt.date >= as_of)]
    return valid.sort_values("id").drop_duplicates(KEYS, keep="last")


def _join(*parts: str) -> str:
    return ";".join(p for p in parts if p)


def apply_overrides(decisions: pd.DataFrame, overrides: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The decisions with valid overrides applied (a new frame; decisions without one unchanged)."""
    active = active_overrides(overrides, as_of)
    if active.empty or decisions.empty:
        return decisions
    out = decisions.copy()
    merged = out[KEYS].merge(active[[*KEYS, "id", "kind", "reason", "expires_on"]], on=KEYS, how="left")
    merged.index = out.index
    for kind_name in ("exempt", "force_block"):
        mask = merged["kind"] == kind_name
        if not mask.any():
            continue
        sub = merged[mask]
        notes = [f"{kind_name} until {e} (override #{int(i)}): {r}"
                 for e, i, r in zip(sub["expires_on"], sub["id"], sub["reason"], strict=True)]
        if kind_name == "exempt":
            out.loc[mask, ["block", "hold", "require_prepayment"]] = False
            out.loc[mask, "new_credit_limit"] = out.loc[mask, "credit_limit"]
            out.loc[mask, "action"] = "none"
            overridden = out.loc[mask, "rule_ids"].fillna("").astype(str)
            out.loc[mask, "reasons"] = [n + (f" (overrides rules {o})" if o else "")
                                        for n, o in zip(notes, overridden, strict=True)]
            out.loc[mask, "rule_ids"] = "override:exempt"
        else:
            out.loc[mask, ["block", "hold"]] = True
            out.loc[mask, "action"] = "block"
            out.loc[mask, "rule_ids"] = [_join("override:force_block", str(r or ""))
                                         for r in out.loc[mask, "rule_ids"]]
            out.loc[mask, "reasons"] = [" | ".join(p for p in (n, str(r or "")) if p)
                                        for n, r in zip(notes, out.loc[mask, "reasons"], strict=True)]
    return out
