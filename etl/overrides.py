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

``expires_on`` is a Python date end to end, never a pandas Timestamp: a Timestamp ends in 2262,
and one far date in the store (``9999-12-31``) used to crash every list, simulation and run.
New overrides end at most :data:`MAX_YEARS_AHEAD` years ahead (:func:`expiry_problem`). An
``exempt`` and a ``force_block`` valid at once on one customer are refused by the store; should
a store already hold both (written before that check), the newest override wins.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable

import pandas as pd

KEYS = ["company", "customer_id"]
#: an override is a reviewed exception, not a permanent state: it ends within this many years
MAX_YEARS_AHEAD = 5


def as_date(value: object) -> dt.date | None:
    """A stored expiry as a date (a date, datetime, Timestamp or ISO text); None when missing."""
    if value is None or (not isinstance(value, str | dt.date) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):  # pd.Timestamp is one too
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def latest_expiry(today: dt.date) -> dt.date:
    """The last day a new override may run to: ``today`` plus MAX_YEARS_AHEAD years."""
    try:
        return today.replace(year=today.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February into a year without one
        return today.replace(year=today.year + MAX_YEARS_AHEAD, day=28)


def expiry_problem(expires_on: dt.date, today: dt.date) -> str | None:
    """Why ``expires_on`` is no plausible end of a new override, or None when it is."""
    if expires_on < today:
        return f"{expires_on} is in the past (today is {today})"
    if expires_on > latest_expiry(today):
        return (f"{expires_on} is more than {MAX_YEARS_AHEAD} years ahead (at most {latest_expiry(today)}); "
                "an override is reviewed, not permanent: add a new one when it ends")
    return None


def did_you_mean(value: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known value ``value`` most likely meant: the same but for case, else the closest spelling.

    Ids such as ``CUST-00018`` all look alike, so callers pass a higher ``cutoff`` for them.
    """
    by_lower: dict[str, str] = {}
    for k in known:
        by_lower.setdefault(str(k).lower(), str(k))
    if value.lower() in by_lower:
        return by_lower[value.lower()]
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[close[0]] if close else None


def _valid(overrides: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    # overrides are a handful of rows: a per-value conversion is cheap and never overflows
    expires = overrides["expires_on"].map(as_date)
    return overrides[overrides["removed_at"].isna() & expires.map(lambda d: d is not None and d >= as_of)]


def active_overrides(overrides: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Overrides valid on ``as_of``; the newest per customer wins."""
    if overrides.empty:
        return overrides
    return _valid(overrides, as_of).sort_values("id").drop_duplicates(KEYS, keep="last")


def superseded(overrides: pd.DataFrame, as_of: dt.date) -> dict[int, int]:
    """{override id: the id applied instead} for overrides valid on ``as_of`` that a newer one beats."""
    if overrides.empty:
        return {}
    valid = _valid(overrides, as_of).sort_values("id")
    newest = valid.groupby(KEYS)["id"].transform("max")
    return {int(i): int(n) for i, n in zip(valid["id"], newest, strict=True) if i != n}


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
        notes = [f"{kind_name} until {as_date(e)} (override #{int(i)}): {r}"
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
