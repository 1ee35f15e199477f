"""The writeback plan (SPEC §6.2): the diff between decisions and the ERP's current state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: one row per ERP change
PLAN_COLUMNS = ["company", "customer_id", "change", "order_id", "before", "after", "rule_ids", "reason"]
#: a plan's rows as built and written to the run folder's plan.csv: PLAN_COLUMNS, then the
#: customer's name for people (connectors and the journal take PLAN_COLUMNS only)
PLAN_FILE_COLUMNS = [*PLAN_COLUMNS, "name"]

#: what a plan row asks the connector to do
#:   block / unblock              customer blocked for new orders
#:   hold_order / release_order   one open order (order_id) put on / taken off hold
#:   set_prepayment               customer switched to the connector's prepayment terms
#:   unset_prepayment             terms restored to ``after`` (the value before this tool set them)
#:   set_limit                    credit limit set to ``after`` (a decimal string, 2 places); never a raise
CHANGES = ["block", "unblock", "hold_order", "release_order", "set_prepayment", "unset_prepayment", "set_limit"]

#: the audit subject a change belongs to: the latest audited change per subject tells what this
#: tool currently "owns" in the ERP (provenance for releases)
SUBJECT = {
    "block": "block", "unblock": "block",
    "hold_order": "hold", "release_order": "hold",
    "set_prepayment": "prepayment", "unset_prepayment": "prepayment",
    "set_limit": "limit",
}

RELEASE_REASON = "no rule asks for it any more (auto_release)"

#: limits are compared to the cent
_CENT = 0.005


@dataclass(frozen=True)
class WritebackPlan:
    """The changes one run would write, plus what the blast-radius guard needs."""

    changes: pd.DataFrame  # PLAN_FILE_COLUMNS
    customers: int  # customers with a decision

    def counts(self) -> dict[str, int]:
        counts = self.changes["change"].value_counts()
        return {c: int(counts.get(c, 0)) for c in CHANGES}

    @property
    def new_blocks(self) -> int:
        return int((self.changes["change"] == "block").sum())

    def new_blocks_percent(self) -> float:
        return 100.0 * self.new_blocks / self.customers if self.customers else 0.0

    def for_company(self, company: str) -> pd.DataFrame:
        return self.changes[self.changes["company"] == company].reset_index(drop=True)

    def companies(self) -> list[str]:
        return sorted(self.changes["company"].unique().tolist())


def empty_changes() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in PLAN_COLUMNS})


def tool_owned(audit: pd.DataFrame) -> pd.DataFrame:
    """What this tool set and has not undone, from its audit rows.

    Returns one row per (company, customer_id, subject, order_id) whose latest audited change
    was a "set" (block, hold_order, set_prepayment, set_limit), with that row's before/after.
    ``audit`` needs company, customer_id, change, order_id, before, after and an increasing ``id``.
    """
    cols = ["company", "customer_id", "subject", "order_id", "before", "after"]
    if audit.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    audit = audit[audit["change"].isin(list(SUBJECT))]  # override_add / override_remove are no ERP change
    if audit.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    a = audit.assign(subject=audit["change"].map(SUBJECT), order_id=audit["order_id"].fillna(""))
    latest = a.sort_values("id").drop_duplicates(["company", "customer_id", "subject", "order_id"], keep="last")
    owned = latest[latest["change"].isin(["block", "hold_order", "set_prepayment", "set_limit"])]
    if owned.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    # for limits, the reference is the limit before this tool's FIRST reduction in the current
    # streak (a person's change in between starts a new streak), so "by 25%" is taken once from
    # the limit a person set, not again every night
    owned = owned.merge(_streak_start(a[a["subject"] == "limit"]), on=["company", "customer_id"], how="left")
    owned["before"] = owned["first_before"].where(owned["subject"] == "limit", owned["before"])
    return owned[cols].reset_index(drop=True)


def _streak_start(limits: pd.DataFrame) -> pd.DataFrame:
    """Per customer, ``first_before``: the ``before`` of the first of its latest run of limit cuts
    that follow each other (each cut's before = the previous cut's after, to the cent)."""
    if limits.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in ["company", "customer_id", "first_before"]})
    lim = limits.sort_values("id", kind="stable")
    keys = [lim["company"], lim["customer_id"]]
    before = pd.to_numeric(lim["before"].replace("", np.nan), errors="coerce")
    prev_after = pd.to_numeric(lim["after"].replace("", np.nan), errors="coerce").groupby(keys).shift()
    first = lim.groupby(keys).cumcount().eq(0)
    continues = (before - prev_after).abs().lt(_CENT) | (before.isna() & prev_after.isna() & ~first)
    lim = lim.assign(_streak=(~continues).groupby(keys).cumsum())
    last = lim.groupby(["company", "customer_id"])["_streak"].transform("max")
    start = lim[(lim["_streak"] == last) & ~continues]
    start = start.drop_duplicates(["company", "customer_id"], keep="last")
    return start[["company", "customer_id"]].assign(first_before=start["before"].to_numpy())


def base_limits(positions: pd.DataFrame, owned: pd.DataFrame) -> pd.Series:
    """Each position's ``base_credit_limit``: the limit a person last set (SPEC §4, §6.2).

    The limit before this tool's first reduction of the current streak (``owned``, from
    :func:`tool_owned`), where the ERP still holds the limit this tool last wrote (to the cent);
    else the ERP's limit: a person changed it since (their value is the base from now on), or
    this tool never cut it.
    """
    current = pd.to_numeric(positions["credit_limit"]).astype("float64")
    lim = owned[owned["subject"] == "limit"][["company", "customer_id", "before", "after"]]
    if lim.empty:
        return current.rename("base_credit_limit")
    merged = positions[["company", "customer_id"]].merge(
        lim.drop_duplicates(["company", "customer_id"], keep="last"), on=["company", "customer_id"], how="left")
    last_set = pd.to_numeric(merged["after"].replace("", np.nan), errors="coerce").to_numpy()
    original = pd.to_numeric(merged["before"].replace("", np.nan), errors="coerce").to_numpy()
    ours = np.abs(current.to_numpy() - last_set) < _CENT
    return pd.Series(np.where(ours, original, current.to_numpy()), index=positions.index, name="base_credit_limit")


def _fmt_limit(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if pd.isna(v) else f"{v:.2f}")


def _rows(frame: pd.DataFrame, change: str, before: object, after: object, order_id: object = "",
          reason: object = None) -> pd.DataFrame:
    if frame.empty:
        return empty_changes()
    out = pd.DataFrame({
        "company": frame["company"].to_numpy(),
        "customer_id": frame["customer_id"].to_numpy(),
        "change": change,
        "order_id": order_id.to_numpy() if isinstance(order_id, pd.Series) else order_id,
        "before": before.to_numpy() if isinstance(before, pd.Series) else before,
        "after": after.to_numpy() if isinstance(after, pd.Series) else after,
        "rule_ids": frame["rule_ids"].to_numpy(),
        "reason": reason if reason is not None else frame["reasons"].to_numpy(),
    })
    return out


def build_plan(
    decisions: pd.DataFrame,
    state_customers: pd.DataFrame,
    state_orders: pd.DataFrame,
    owned: pd.DataFrame,
    auto_release: bool,
) -> WritebackPlan:
    """Diff decisions against the ERP's state; only changes, releases only of what this tool set.

    - restrictions (block, order holds, prepayment, lower limits) are written where the ERP
      does not have them yet;
    - with ``auto_release``, a block / hold / prepayment that this tool set (``owned``) and no
      rule asks for any more is released — never for a ``data_incomplete`` customer, never one
      a person set;
    - a limit is only ever lowered.
    """
    keys = ["company", "customer_id"]
    # the ERP's limit now is what a reduction is compared with
    d = decisions.drop(columns=["credit_limit"]).merge(state_customers, on=keys, how="inner", validate="one_to_one")
    release_ok = auto_release & ~d["data_incomplete"].astype(bool)

    def owned_keys(subject: str) -> pd.MultiIndex:
        o = owned[owned["subject"] == subject]
        return pd.MultiIndex.from_frame(o[keys + (["order_id"] if subject == "hold" else [])].astype(str))

    cust_key = pd.MultiIndex.from_frame(d[keys].astype(str))
    parts: list[pd.DataFrame] = []

    block = d[d["block"] & ~d["is_blocked"]]
    parts.append(_rows(block, "block", "false", "true"))
    unblock = d[~d["block"] & d["is_blocked"] & release_ok & cust_key.isin(owned_keys("block"))]
    parts.append(_rows(unblock, "unblock", "true", "false", reason=RELEASE_REASON))

    orders = state_orders.merge(d[keys + ["hold", "rule_ids", "reasons"]].assign(release_ok=release_ok.to_numpy()),
                                on=keys, how="inner")
    hold = orders[orders["hold"] & ~orders["on_hold"]]
    parts.append(_rows(hold, "hold_order", "false", "true", order_id=hold["order_id"]))
    order_key = pd.MultiIndex.from_frame(orders[keys + ["order_id"]].astype(str))
    release = orders[~orders["hold"] & orders["on_hold"] & orders["release_ok"] & order_key.isin(owned_keys("hold"))]
    parts.append(_rows(release, "release_order", "true", "false", order_id=release["order_id"], reason=RELEASE_REASON))

    terms = d["payment_terms"].fillna("").astype(str)
    prepay = d[d["require_prepayment"] & ~d["on_prepayment"]]
    parts.append(_rows(prepay, "set_prepayment", terms[prepay.index], "prepayment"))
    own_pre = owned[owned["subject"] == "prepayment"][keys + ["before"]].rename(columns={"before": "restore"})
    unprepay = d[~d["require_prepayment"] & d["on_prepayment"] & release_ok & cust_key.isin(owned_keys("prepayment"))]
    unprepay = unprepay.merge(own_pre, on=keys, how="left")
    parts.append(_rows(unprepay, "unset_prepayment", "prepayment", unprepay["restore"].fillna(""),
                       reason=RELEASE_REASON))

    new = d["new_credit_limit"]
    lower = new.notna() & (d["credit_limit"].isna() | (new < d["credit_limit"] - _CENT))
    cut = d[lower]
    parts.append(_rows(cut, "set_limit", _fmt_limit(cut["credit_limit"]), _fmt_limit(cut["new_credit_limit"])))

    changes = pd.concat([p for p in parts if not p.empty] or [empty_changes()], ignore_index=True)
    order = {c: i for i, c in enumerate(CHANGES)}
    changes = (changes.assign(_o=changes["change"].map(order))
               .sort_values(["company", "customer_id", "_o", "order_id"], kind="stable")
               .drop(columns="_o").reset_index(drop=True))
    changes["order_id"] = changes["order_id"].fillna("")
    # whom each change is about, for people reading plan.csv ('' when the decisions carry no name)
    names = decisions[keys + ["name"]] if "name" in decisions.columns else decisions[keys].assign(name="")
    changes = changes.merge(names.drop_duplicates(keys), on=keys, how="left")
    changes["name"] = changes["name"].fillna("").astype(object)
    return WritebackPlan(changes[PLAN_FILE_COLUMNS], customers=len(decisions))


def unapplied(changes: pd.DataFrame, state_customers: pd.DataFrame, state_orders: pd.DataFrame) -> pd.DataFrame:
    """Plan rows whose intended state the ERP does not show (read-back verification, SPEC §6.3)."""
    if changes.empty:
        return changes.assign(found=pd.Series([], dtype=object))
    keys = ["company", "customer_id"]
    cust = changes.merge(state_customers, on=keys, how="left")
    orders = changes.merge(state_orders[["company", "order_id", "on_hold"]], on=["company", "order_id"], how="left")
    limit_after = pd.to_numeric(changes["after"], errors="coerce")
    expected = {
        "block": cust["is_blocked"].eq(True),
        "unblock": cust["is_blocked"].eq(False),
        "hold_order": orders["on_hold"].eq(True),
        "release_order": orders["on_hold"].eq(False),
        "set_prepayment": cust["on_prepayment"].eq(True),
        "unset_prepayment": cust["on_prepayment"].eq(False),
        "set_limit": (cust["credit_limit"] - limit_after).abs().lt(_CENT),
    }
    ok = pd.Series(False, index=changes.index)
    found = pd.Series("", index=changes.index, dtype=object)
    for change, holds in expected.items():
        mask = changes["change"] == change
        ok = ok.where(~mask, holds.to_numpy())
    found = found.where(ok, cust["is_blocked"].astype(str).radd("is_blocked=") + cust["on_prepayment"].astype(str)
                        .radd(", on_prepayment=") + cust["credit_limit"].astype(str).radd(", credit_limit=")
                        + orders["on_hold"].astype(str).radd(", order on_hold="))
    return changes[~ok].assign(found=found[~ok]).reset_index(drop=True)
