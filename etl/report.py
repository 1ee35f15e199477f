"""The run report a credit manager reads in the morning: one self-contained HTML file.

Charts are PNGs embedded as data URIs, so the file opens in a browser or a mail client without
any other file or network access. It opens with the worklist (whom to call first), says every
change in words, and shows money per company currency: amounts in different currencies are
never added up.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import jinja2
import markupsafe
import matplotlib

matplotlib.use("Agg")  # files only, never a screen
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from etl.decisions import ACTIONS  # noqa: E402
from etl.simulate import DELTAS, diff_decisions  # noqa: E402
from etl.store import StateStore  # noqa: E402

BUCKETS = ["not_due", "overdue_1_30", "overdue_31_60", "overdue_61_90", "overdue_91_plus"]
KEYS = ["company", "customer_id"]

#: a decision's action in words, and its colour in the top-exposure chart (hex, word)
ACTION_WORDS = {"block": "block", "hold": "hold orders", "require_prepayment": "prepayment",
                "reduce_limit": "limit cut", "review": "review", "none": "no action"}
ACTION_COLOURS = {"block": ("#c0392b", "red"), "hold": ("#e67e22", "orange"),
                  "require_prepayment": ("#f1c40f", "yellow"), "reduce_limit": ("#8e44ad", "purple"),
                  "review": ("#2980b9", "blue"), "none": ("#95a5a6", "grey")}

#: the plan's changes that newly restrict a customer: the worklist, most severe first (as written)
RESTRICTIONS = {"block": "blocked", "hold_order": "orders held", "set_prepayment": "put on prepayment"}
#: the same, planned but not written (a dry-run, a failed run)
PLANNED_RESTRICTIONS = {"block": "block", "hold_order": "hold orders", "set_prepayment": "prepayment"}

#: a difference between two runs' decisions (etl.simulate.DELTAS) in words
DELTA_WORDS = {
    "newly_blocked": "blocked", "released_block": "block lifted",
    "newly_held": "orders held", "released_hold": "order hold lifted",
    "newly_prepayment": "put on prepayment", "released_prepayment": "prepayment lifted",
    "limit_cut": "credit limit cut", "limit_cut_less": "credit limit cut smaller or lifted",
    "rules_changed": "other rules apply",
}


@dataclass(frozen=True)
class RunReportData:
    """Everything the report shows, read from the state store and the run folder."""

    run: dict  # the runs row
    decisions: pd.DataFrame  # SPEC §6.1
    positions: pd.DataFrame  # SPEC §4 plus name, company_currency (may be empty when the run folder is gone)
    previous: pd.DataFrame | None  # the compared run's decisions, for "what changed"
    audit: pd.DataFrame  # the changes written by this run
    plan: pd.DataFrame  # the planned changes (etl.plan.PLAN_FILE_COLUMNS)
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS
    previous_run: dict | None = None  # the runs row ``previous`` belongs to: the last applied run before


@dataclass(frozen=True)
class Chart:
    """A chart as drawn: the PNG, what it shows in words, its legend entries and value-axis labels."""

    src: str  # data:image/png;base64,...
    alt: str  # what the chart shows, legend included, in words
    legend: tuple[str, ...]  # the legend's entries, read back from the drawn legend
    value_ticks: tuple[str, ...]  # the labels of the amount axis as drawn
    offset: str  # the amount axis' offset/exponent text ('' = none: the labels are the amounts)


def _read_csv(path: Path) -> pd.DataFrame:
    """A run-folder CSV; empty when the folder no longer has it."""
    if not path.is_file():
        return pd.DataFrame()
    return pd.read_csv(path, dtype={"customer_id": str, "company": str, "order_id": str, "key": str,
                                    "name": str, "company_currency": str})


def load_report_data(store: StateStore, run_id: str, folder: Path) -> RunReportData | None:
    """The report's inputs: the run's rows in the state store and the files in its run folder.

    "What changed" compares with the last applied run of the same companies (StateStore.previous_run),
    never a dry-run: a dry-run's decisions were never written to the ERP.
    """
    run = store.run(run_id)
    if run is None:
        return None
    previous = store.previous_run(run_id)
    return RunReportData(
        run=run,
        decisions=store.decisions(run_id),
        positions=_read_csv(folder / "positions.csv"),
        previous=store.decisions(previous["run_id"]) if previous else None,
        audit=store.audit(run_id=run_id),
        plan=_read_csv(folder / "plan.csv"),
        quarantine=_read_csv(folder / "quarantine.csv"),
        previous_run=previous,
    )


# --- formatting ---------------------------------------------------------------------------------
def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def money(value: object, currency: str = "") -> str:
    """``12,345.67 EUR``; '' when there is no amount."""
    if _missing(value):
        return ""
    return f"{float(value):,.2f} {currency}".strip()


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


def customer_label(name: object, customer_id: object) -> str:
    """``Name (ID)``, or the id alone when the name is unknown."""
    name, customer_id = _text(name).strip(), _text(customer_id)
    return f"{name} ({customer_id})" if name and name != customer_id else customer_id


def _short(name: object, width: int = 28) -> str:
    text = _text(name)
    return text if len(text) <= width else text[:width - 1] + "…"


def _thousands(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}"


def change_words(change: str, order_id: object, before: object, after: object, currency: str = "") -> str:
    """One planned or written ERP change (etl.plan.CHANGES) in words: :func:`_changes_in_words` of one row."""
    row = pd.DataFrame({"change": [change], "order_id": [order_id], "before": [before], "after": [after]})
    return _changes_in_words(row, pd.Series([currency])).iloc[0]


# --- a column at a time (the report lists up to every customer: no Python call per row) ---
def _texts(values: pd.Series) -> pd.Series:
    """``_text`` of every value: '' where missing, else ``str(value)``."""
    values = values.astype(object)
    return values.where(values.notna(), "").astype(str)


def _labels(names: pd.Series, customer_ids: pd.Series) -> pd.Series:
    """``customer_label`` of every row."""
    name, customer_id = _texts(names).str.strip(), _texts(customer_ids)
    return (name + " (" + customer_id + ")").where((name != "") & (name != customer_id), customer_id)


def _moneys(amounts: pd.Series, currencies: pd.Series | None = None) -> pd.Series:
    """``money`` of every row: ``12,345.67 EUR`` in the row's currency; '' where there is no amount."""
    values = pd.Series(amounts).to_numpy(dtype=float, na_value=np.nan)
    text = pd.Series(list(map("{:,.2f}".format, values.tolist())), index=amounts.index, dtype=object)
    if currencies is not None:
        text = (text + " " + currencies.to_numpy()).str.strip()
    return text.where(~np.isnan(values), "")


def _changes_in_words(frame: pd.DataFrame, currencies: pd.Series) -> pd.Series:
    """Every plan or audit row (columns change, order_id, before, after) in words, in ``currencies``."""
    change = frame["change"]
    words = _texts(change).str.replace("_", " ", regex=False)
    words[change == "block"] = "block the customer"
    words[change == "unblock"] = "lift the block"
    for code, verb in (("hold_order", "hold order "), ("release_order", "release order ")):
        rows = change == code
        if rows.any():
            words[rows] = verb + _texts(frame.loc[rows, "order_id"])
    rows = change == "set_prepayment"
    if rows.any():
        was = _texts(frame.loc[rows, "before"])
        words[rows] = "put on prepayment" + (" (terms were " + was + ")").where(was != "", "")
    rows = change == "unset_prepayment"
    if rows.any():
        back = _texts(frame.loc[rows, "after"])
        words[rows] = "end prepayment" + (", terms back to " + back).where(back != "", "")
    rows = change == "set_limit"
    if rows.any():
        old = _moneys(pd.to_numeric(frame.loc[rows, "before"], errors="coerce"), currencies[rows])
        new = _moneys(pd.to_numeric(frame.loc[rows, "after"], errors="coerce"), currencies[rows])
        words[rows] = "credit limit " + old.where(old != "", "none") + " → " + new
    return words


def _first_per_key(frame: pd.DataFrame, keys: pd.DataFrame, column: str) -> pd.Series:
    """``column`` of ``frame``'s first row per KEYS, for each row of ``keys`` (NaN where it has none)."""
    first = frame.drop_duplicates(KEYS)[[*KEYS, column]].rename(columns={column: "_value"})
    found = keys[KEYS].merge(first, on=KEYS, how="left")["_value"]
    return pd.Series(found.to_numpy(), index=keys.index)


# --- the customers of the run, with the figures the report shows ---------------------------------
def customer_frame(decisions: pd.DataFrame, positions: pd.DataFrame, plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per decision: KEYS, action, reasons, name, currency (the company's), exposure,
    overdue_amount, over_limit_amount and at_risk (overdue + over limit), all in company currency."""
    cols = ["action", "reasons", "rule_ids"]
    data = decisions[KEYS + [c for c in cols if c in decisions.columns]].copy()
    figures = ["exposure", "overdue_amount", "over_limit_amount"]
    if not positions.empty:
        pos = positions[KEYS + [c for c in [*figures, "name", "company_currency"] if c in positions.columns]]
        data = data.merge(pos.drop_duplicates(KEYS), on=KEYS, how="left")
    for column in figures:
        data[column] = pd.to_numeric(data[column], errors="coerce") if column in data else np.nan
    names = data["name"] if "name" in data else pd.Series("", index=data.index)
    if plan is not None and not plan.empty and "name" in plan.columns:  # the plan names whom it changes
        names = names.where(names.fillna("").astype(str) != "", _first_per_key(plan, data, "name"))
    data["name"] = names.fillna("").astype(str)
    currency = data["company_currency"] if "company_currency" in data else pd.Series("", index=data.index)
    data["currency"] = currency.fillna("").astype(str)
    data["at_risk"] = data["overdue_amount"] + data["over_limit_amount"].fillna(0.0)
    return data


def worklist(plan: pd.DataFrame, customers: pd.DataFrame, words: dict[str, str] = RESTRICTIONS) -> pd.DataFrame:
    """Whom to call first: customers this run newly blocks, holds orders of or puts on prepayment
    (per its plan), by exposure at risk (overdue + over limit, company currency), largest first.

    Columns: KEYS, name, currency, restrictions (words), orders (held order ids), reasons,
    overdue_amount, exposure, over_limit_amount, at_risk.
    """
    out_cols = [*KEYS, "name", "currency", "restrictions", "orders", "reasons", "overdue_amount", "exposure",
                "over_limit_amount", "at_risk"]
    if plan.empty or "change" not in plan.columns:
        return pd.DataFrame(columns=out_cols)
    new = plan[plan["change"].isin(list(RESTRICTIONS))]
    if new.empty:
        return pd.DataFrame(columns=out_cols)
    per = new[KEYS].drop_duplicates().reset_index(drop=True)  # in the plan's order
    customer = pd.MultiIndex.from_frame(per)
    restrictions = np.full(len(per), "", dtype=object)
    for change in RESTRICTIONS:  # most severe first
        has = customer.isin(pd.MultiIndex.from_frame(new.loc[new["change"] == change, KEYS]))
        restrictions = np.where(~has, restrictions,
                                np.where(restrictions == "", words[change], restrictions + ", " + words[change]))
    per["restrictions"] = restrictions
    held = new[KEYS].assign(_order=_texts(new["order_id"]))
    held = held[held["_order"] != ""].drop_duplicates().sort_values("_order", kind="stable")
    held = held.merge(per[KEYS].assign(_row=np.arange(len(per))), on=KEYS)  # the customer's row in per
    nth = held.groupby(KEYS, sort=False).cumcount().to_numpy()  # the order's place among the customer's
    orders = np.full(len(per), "", dtype=object)
    for k in range(int(nth.max()) + 1 if len(held) else 0):  # the first orders, the second ones, …
        at, order = held["_row"].to_numpy()[nth == k], held["_order"].to_numpy()[nth == k]
        orders[at] = order if k == 0 else orders[at] + ", " + order
    per["orders"] = orders
    merged = per.merge(customers, on=KEYS, how="left")
    if "name" in new.columns:  # a customer the decisions do not show: the plan's own name
        merged["name"] = merged["name"].where(merged["name"].fillna("") != "",
                                              _first_per_key(new, merged, "name").fillna(""))
    merged["name"] = merged["name"].fillna("").astype(str)
    merged["currency"] = merged["currency"].fillna("").astype(str)
    merged["reasons"] = merged["reasons"].fillna("").astype(str)
    merged = merged.sort_values(["at_risk", "exposure", "company", "customer_id"],
                                ascending=[False, False, True, True], na_position="last", kind="stable")
    return merged[out_cols].reset_index(drop=True)


# --- charts ---------------------------------------------------------------------------------------
def _draw(fig: plt.Figure, legend, value_axes: list) -> tuple[str, tuple[str, ...], tuple[str, ...], str]:  # noqa: ANN001
    """Draw the figure once; read back what a reader sees (legend, amount labels, offset); PNG it."""
    fig.canvas.draw()
    entries = tuple(t.get_text() for t in legend.get_texts()) if legend is not None else ()
    ticks: list[str] = []
    offsets: list[str] = []
    for axis in value_axes:
        ticks += [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
        offsets.append(axis.get_offset_text().get_text())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return src, entries, tuple(ticks), "".join(offsets)


def _currencies(positions: pd.DataFrame) -> pd.Series:
    if "company_currency" in positions.columns:
        return positions["company_currency"].fillna("").astype(str)
    return pd.Series("", index=positions.index)


def aging_chart(positions: pd.DataFrame) -> Chart | None:
    """Receivables per aging bucket and company, each in its company currency."""
    if positions.empty:
        return None
    data = positions.assign(_currency=_currencies(positions))
    totals = data.groupby(["company", "_currency"])[BUCKETS].sum()
    totals.index = [f"{c} ({k})" if k else str(c) for c, k in totals.index]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    totals.T.plot.bar(ax=ax)
    ax.set_title("Receivables by age, per company (company currency)")
    ax.set_xticklabels(["not due", "1-30 days", "31-60 days", "61-90 days", "91+ days"], rotation=0)
    ax.set_ylabel("open amount")
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))  # 1,250,000 — never a 1e6 offset
    legend = ax.legend(title="company (currency)", fontsize=8)
    src, entries, ticks, offset = _draw(fig, legend, [ax.yaxis])
    alt = "Receivables by age per company, in company currency; legend: " + ", ".join(entries)
    return Chart(src, alt, entries, ticks, offset)


def top_exposure_chart(positions: pd.DataFrame, decisions: pd.DataFrame, top: int = 10) -> Chart | None:
    """The largest exposures per company currency (one panel each), coloured by the run's decision."""
    if positions.empty:
        return None
    cols = [c for c in ["exposure", "name"] if c in positions.columns]
    data = positions[KEYS + cols].assign(_currency=_currencies(positions)).merge(
        decisions[KEYS + ["action"]], on=KEYS)
    data = data[data["exposure"].notna()]
    if data.empty:
        return None
    groups = [(currency, part.nlargest(top, "exposure").iloc[::-1]) for currency, part in data.groupby("_currency")]
    heights = [0.28 * len(part) + 0.9 for _, part in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(7.5, sum(heights) + 0.8), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (currency, part) in zip(axes[:, 0], groups, strict=True):
        labels = [customer_label(_short(n), c) for n, c in zip(part.get("name", part["customer_id"]),
                                                                part["customer_id"], strict=True)]
        ax.barh(range(len(part)), part["exposure"],
                color=[ACTION_COLOURS.get(a, ACTION_COLOURS["none"])[0] for a in part["action"]])
        ax.set_yticks(range(len(part)), labels, fontsize=8)
        ax.set_title(f"Top {len(part)} exposures in {currency or 'company currency'}", fontsize=10)
        ax.set_xlabel(f"exposure ({currency or 'company currency'})")
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    shown = [a for a in ACTIONS if a in set(pd.concat([p["action"] for _, p in groups]))]
    handles = [Patch(color=ACTION_COLOURS[a][0], label=ACTION_WORDS[a]) for a in shown]
    fig.tight_layout()
    legend = fig.legend(handles=handles, title="colour = this run's decision", loc="upper center",
                        bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 6), fontsize=8)
    src, entries, ticks, offset = _draw(fig, legend, [ax.xaxis for ax in axes[:, 0]])
    colours = {ACTION_WORDS[a]: ACTION_COLOURS[a][1] for a in ACTIONS}
    alt = (f"Top exposures per company currency ({', '.join(c or '?' for c, _ in groups)}); colour = this run's "
           "decision: " + ", ".join(f"{e} = {colours.get(e, '?')}" for e in entries))
    return Chart(src, alt, entries, ticks, offset)


# --- tables ---------------------------------------------------------------------------------------
def _summary(customers: pd.DataFrame) -> list[dict]:
    """Customers and exposure per company and action; each company's exposure in its currency."""
    order = {a: i for i, a in enumerate(ACTIONS)}
    table = (customers.groupby(["company", "action"])
             .agg(customers=("customer_id", "size"), exposure=("exposure", lambda s: s.sum(min_count=1)),
                  currency=("currency", "first"))
             .reset_index())
    table = table.sort_values(["company", "action"], key=lambda s: s.map(order) if s.name == "action" else s)
    return [{"company": r.company, "action": r.action, "customers": int(r.customers),
             "exposure": money(r.exposure, r.currency)} for r in table.itertuples()]


def currency_totals(customers: pd.DataFrame) -> list[dict]:
    """Totals per company currency (never across currencies): companies, customers, exposure,
    overdue and exposure at risk. Empty without positions."""
    known = customers[customers["exposure"].notna()]
    if known.empty:
        return []
    table = known.groupby("currency").agg(
        companies=("company", lambda s: ", ".join(sorted(set(map(str, s))))), customers=("customer_id", "size"),
        exposure=("exposure", "sum"), overdue=("overdue_amount", "sum"), at_risk=("at_risk", "sum")).reset_index()
    return [{"currency": r.currency or "?", "companies": r.companies, "customers": int(r.customers),
             "exposure": money(r.exposure, r.currency), "overdue": money(r.overdue, r.currency),
             "at_risk": money(r.at_risk, r.currency)} for r in table.itertuples()]


def what_changed(previous: pd.DataFrame, decisions: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """The decisions that differ from the compared run's, each difference in words: one row per customer
    with customer, company, change, before, now, why, exposure (the page's columns)."""
    labels = customers[KEYS + ["exposure", "name", "currency"]].rename(columns={"currency": "company_currency"})
    diff = diff_decisions(previous, decisions, labels).rows
    was_decided, is_decided = diff["baseline_action"].notna(), diff["candidate_action"].notna()
    currency = _texts(diff["company_currency"])
    codes = ";" + diff["changes"].astype(str) + ";"
    said = pd.DataFrame({d: codes.str.contains(f";{d};", regex=False) for d in DELTAS})
    said.loc[~was_decided, ["limit_cut", "limit_cut_less", "rules_changed"]] = False  # nothing to compare with
    said.loc[said.sum(axis=1) > 1, "rules_changed"] = False  # said by the other changes and "why now"
    cut = "credit limit cut to " + _moneys(diff["candidate_new_credit_limit"], currency)
    was = _moneys(diff["baseline_new_credit_limit"], currency)
    cut = cut + (" (was " + was + ")").where(diff["baseline_new_credit_limit"].notna(), "")
    rules = np.where(_texts(diff["candidate_rule_ids"]) != "", "other rules apply", "no rule applies any more")
    words = {**{d: DELTA_WORDS.get(d, d.replace("_", " ")) for d in DELTAS}, "limit_cut": cut.to_numpy(),
             "rules_changed": rules}
    change = np.where(was_decided, "", "new since that run").astype(object)
    for d in DELTAS:  # in the diff's order
        change = np.where(~said[d], change, np.where(change == "", words[d], change + "; " + words[d]))
    change = np.where(is_decided, change, "not decided by this run (no longer in the extract)")
    nothing_to_do = ~was_decided & ~said.any(axis=1) & (diff["candidate_action"] == "none")  # a new customer, no change
    reasons = (_first_per_key(customers, diff, "reasons") if "reasons" in customers
               else pd.Series("", index=diff.index))
    rows = pd.DataFrame({
        "customer": _labels(diff["name"], diff["customer_id"]), "company": diff["company"], "change": change,
        "before": diff["baseline_action"].map(ACTION_WORDS).where(was_decided).fillna("—"),
        "now": diff["candidate_action"].map(ACTION_WORDS).where(is_decided).fillna("—"),
        "why": _texts(reasons.where(is_decided, "")).str.replace(" | ", "; ", regex=False),
        "exposure": _moneys(diff["exposure"], currency),
    })
    return rows[~(is_decided & nothing_to_do)].reset_index(drop=True)


def _change_rows(frame: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Plan or audit rows for the page: whom (name), what in words, why (customer, company, change,
    rules, reason)."""
    if frame.empty:
        return pd.DataFrame(columns=["customer", "company", "change", "rules", "reason"])
    own = _texts(frame["name"]) if "name" in frame.columns else pd.Series("", index=frame.index, dtype=object)
    name, currency = own, pd.Series("", index=frame.index, dtype=object)
    if not customers.empty:  # the run's name and currency of the customers it decided
        first = customers.drop_duplicates(KEYS)[[*KEYS, "name", "currency"]]
        found = frame[KEYS].merge(first, on=KEYS, how="left", indicator=True).set_axis(frame.index)
        known = found["_merge"] == "both"
        name = found["name"].where(known & (found["name"] != ""), own)
        currency = found["currency"].where(known, "")
    return pd.DataFrame({"customer": _labels(name, frame["customer_id"]), "company": frame["company"],
                         "change": _changes_in_words(frame, currency),
                         "rules": _texts(frame["rule_ids"]), "reason": _texts(frame["reason"])})


#: the long tables' rows (one per customer or change), filled by _html_rows: the template's markup for them
_WORK_ROW = ('<tr><td class="n">{}</td><td class="customer">{}</td><td>{}</td>\n<td>{}</td><td>{}</td>'
             '<td class="n overdue">{}</td><td class="n exposure">{}</td>\n<td class="n at-risk">{}</td>'
             '<td>{}</td></tr>\n')
_CHANGED_ROW = ('<tr><td>{}</td><td>{}</td><td>{}</td>\n<td>{}</td><td>{}</td><td>{}</td>'
                '<td class="n">{}</td></tr>')
_CHANGE_ROW = "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"
_FIRED_ROW = ('<tr><td>{}</td><td>{}</td><td class="{}">{}</td>\n<td class="n">{}</td><td class="n">{}</td>'
              "<td>{}</td><td>{}</td><td>{}</td></tr>")


def _escaped(values: list) -> list:
    """``markupsafe.escape`` of every value (what the template's autoescape does with ``{{ value }}``);
    a column of plain strings escaped in one call."""
    if values and set(map(type, values)) == {str}:
        joined = "\x00".join(values)
        if joined.count("\x00") == len(values) - 1:  # no value has the separator in it
            return str(markupsafe.escape(joined)).split("\x00")
    return list(map(markupsafe.escape, values))


def _html_rows(row: str, *columns: pd.Series | range) -> markupsafe.Markup:
    """Every row through ``row``'s ``{}`` slots, each value escaped as the template's autoescape does:
    a table of 100k rows without a template loop."""
    cells = [_escaped(c.tolist() if isinstance(c, pd.Series) else list(c)) for c in columns]
    return markupsafe.Markup("".join(map(row.format, *cells)))


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>creditctl run {{ run.run_id }}</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;max-width:1100px;margin:1em auto}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}h2{border-bottom:2px solid #444;padding-bottom:2px}
.block{color:#c0392b;font-weight:bold}.hold{color:#e67e22;font-weight:bold}
.failed{border:2px solid #c0392b;background:#fdecea;padding:6px 10px}.dry{border:2px solid #2980b9;background:#eaf2fb;padding:6px 10px}
figure{margin:0 0 1.5em}figcaption{font-size:13px;color:#444}
</style></head><body>
<h1>Credit control run {{ run.as_of }}</h1>
<p id="run">Run <code>{{ run.run_id }}</code>, mode <b>{{ run.mode }}</b>, status <b>{{ run.status }}</b>,
companies {{ run.companies }}, {{ decisions|length }} customers, {{ audit|length }} change(s) written to the ERP,
{{ plan|length }} planned.{% if run.message and not failed %} Message: {{ run.message }}{% endif %}</p>
{% if failed %}<p id="failure" class="failed"><b>This run {{ run.status }}</b>: {{ run.message or "no reason was recorded (see the Dagster run log)" }}.
{% if audit|length %}{{ audit|length }} change(s) were written to the ERP before it stopped (listed below).{% else %}Nothing was written to the ERP.{% endif %}
{% if decisions|length == 0 %} It stopped before deciding anything.{% endif %}</p>
{% elif run.mode != "apply" %}<p id="dry-run" class="dry"><b>{{ run.mode }}</b>: nothing was written to the ERP.
The {{ plan|length }} planned change(s) below are what an apply would write.</p>{% endif %}

<h2>Whom to call first</h2>
<p>Customers this run {% if written %}newly blocked, whose orders it held, or put on prepayment{% else %}plans to block, to hold orders of, or to put on prepayment (not written){% endif %},
by exposure at risk (overdue plus amount over the limit, in the company's currency), largest first.</p>
{% if not work %}<p id="worklist-empty">No customer is newly blocked, held or put on prepayment by this run.</p>
{% else %}<table id="worklist"><tr><th>#</th><th>customer</th><th>company</th><th>{% if written %}this run{% else %}planned{% endif %}</th><th>why</th>
<th>overdue</th><th>exposure</th><th>at risk</th><th>held orders</th></tr>
{{ work }}</table>{% endif %}

<h2>Summary</h2>
<table id="summary"><tr><th>company</th><th>action</th><th>customers</th><th>exposure</th></tr>
{% for r in summary %}<tr><td>{{ r.company }}</td><td class="{{ r.action }}">{{ r.action }}</td>
<td class="n">{{ r.customers }}</td><td class="n">{{ r.exposure }}</td></tr>
{% endfor %}</table>
{% if totals %}<p>Totals per company currency (amounts in different currencies are not added up):</p>
<table id="currency-totals"><tr><th>currency</th><th>companies</th><th>customers</th><th>exposure</th><th>overdue</th><th>at risk</th></tr>
{% for r in totals %}<tr><td>{{ r.currency }}</td><td>{{ r.companies }}</td><td class="n">{{ r.customers }}</td>
<td class="n">{{ r.exposure }}</td><td class="n">{{ r.overdue }}</td><td class="n">{{ r.at_risk }}</td></tr>
{% endfor %}</table>{% endif %}

<h2>Charts</h2>
{% if aging %}<figure><img id="aging-chart" alt="{{ aging.alt }}" src="{{ aging.src }}">
<figcaption id="aging-legend">Legend: {{ aging.legend|join(", ") }}</figcaption></figure>{% endif %}
{% if top %}<figure><img id="top-exposure-chart" alt="{{ top.alt }}" src="{{ top.src }}">
<figcaption id="top-exposure-legend">Colour = this run's decision: {% for e in top.legend %}<span class="legend-entry">{{ e }}</span> ({{ top_colours[e] }}){% if not loop.last %}, {% endif %}{% endfor %}</figcaption></figure>{% endif %}
{% if not aging %}<p>No positions were kept for this run.</p>{% endif %}

<h2>What changed since the last run</h2>
{% if decisions|length == 0 %}<p id="compared">This run decided nothing, so there is nothing to compare.</p>
{% elif previous_run is none %}<p id="compared">No earlier applied run of the same companies to compare with.</p>
{% else %}<p id="compared">Compared with run <code>{{ previous_run.run_id }}</code> of {{ previous_run.as_of }}
(mode {{ previous_run.mode }}, companies {{ previous_run.companies }}): the last applied run of the same companies.</p>
{% if not changed %}<p>No decision changed.</p>
{% else %}<table id="changes"><tr><th>customer</th><th>company</th><th>what changed</th><th>before</th><th>now</th><th>why now</th><th>exposure</th></tr>
{{ changed }}</table>{% endif %}{% endif %}

{% if show_plan %}<h2>Planned changes (not written)</h2>
{% if not planned %}<p>None.</p>{% else %}
<table id="plan"><tr><th>customer</th><th>company</th><th>change</th><th>rules</th><th>why</th></tr>
{{ planned }}</table>{% endif %}{% endif %}

<h2>Changes written to the ERP</h2>
{% if audit|length == 0 %}<p>None.</p>{% else %}
<table id="audit"><tr><th>customer</th><th>company</th><th>change</th><th>rules</th><th>why</th></tr>
{{ written_rows }}</table>{% endif %}

<h2>Decisions with a rule</h2>
<table id="decisions"><tr><th>company</th><th>customer</th><th>action</th><th>limit</th><th>new limit</th><th>grade</th><th>rules</th><th>reasons</th></tr>
{{ fired }}</table>

<h2>Validation</h2>
<p id="quarantine-summary">{{ quarantine|length }} row(s) quarantined; {{ incomplete }} customer(s) marked data_incomplete
(decided, but nothing of theirs is released automatically).</p>
{% if quarantine_counts %}<table id="quarantine"><tr><th>entity</th><th>check</th><th>rows</th></tr>
{% for r in quarantine_counts %}<tr><td>{{ r.entity }}</td><td>{{ r.check }}</td><td class="n">{{ r.rows }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>
""")


def render_report(data: RunReportData) -> str:
    """The report as one HTML string."""
    decisions, run = data.decisions, data.run
    customers = customer_frame(decisions, data.positions, data.plan)
    failed = run.get("status") not in ("succeeded", "running")
    written = run.get("mode") == "apply" and not failed
    changed = markupsafe.Markup("")
    if data.previous is not None and not decisions.empty:
        c = what_changed(data.previous, decisions, customers)
        changed = _html_rows(_CHANGED_ROW, c["customer"], c["company"], c["change"], c["before"], c["now"],
                             c["why"], c["exposure"])
    fired = customers.merge(decisions.drop(columns=["action", "reasons", "rule_ids", "name"], errors="ignore"), on=KEYS)
    fired = fired[fired["rule_ids"].fillna("") != ""]
    q = data.quarantine
    quarantine_counts = (q.groupby(["entity", "check"]).size().rename("rows").reset_index()
                         if not q.empty else pd.DataFrame(columns=["entity", "check", "rows"]))
    work = worklist(data.plan, customers, RESTRICTIONS if written else PLANNED_RESTRICTIONS)
    work_rows = _html_rows(
        _WORK_ROW, range(1, len(work) + 1), _labels(work["name"], work["customer_id"]), work["company"],
        work["restrictions"], _texts(work["reasons"]).str.replace(" | ", "; ", regex=False),
        _moneys(work["overdue_amount"], work["currency"]), _moneys(work["exposure"], work["currency"]),
        _moneys(work["at_risk"], work["currency"]), work["orders"])
    fired_rows = _html_rows(
        _FIRED_ROW, fired["company"], _labels(fired["name"], fired["customer_id"]), fired["action"], fired["action"],
        _moneys(fired["credit_limit"]), _moneys(fired["new_credit_limit"]), _texts(fired["risk_grade"]),
        fired["rule_ids"], _texts(fired["reasons"]))
    planned = markupsafe.Markup("")
    if not written:  # the plan is shown only when it was not written
        p = _change_rows(data.plan, customers)
        planned = _html_rows(_CHANGE_ROW, p["customer"], p["company"], p["change"], p["rules"], p["reason"])
    a = _change_rows(data.audit, customers)
    written_rows = _html_rows(_CHANGE_ROW, a["customer"], a["company"], a["change"], a["rules"], a["reason"])
    top = top_exposure_chart(data.positions, decisions)
    compared = data.previous_run
    if data.previous is None:
        compared = None
    elif compared is None:  # decisions handed in without their run
        compared = {"run_id": "(not recorded)", "as_of": "?", "mode": "apply", "companies": run.get("companies")}
    return _TEMPLATE.render(
        run=run,
        failed=failed,
        written=written,
        decisions=decisions,
        work=work_rows,
        summary=_summary(customers),
        totals=currency_totals(customers),
        aging=aging_chart(data.positions),
        top=top,
        top_colours={ACTION_WORDS[a]: ACTION_COLOURS[a][1] for a in ACTIONS},
        previous_run=compared,
        changed=changed,
        show_plan=not written,
        planned=planned,
        audit=data.audit,
        written_rows=written_rows,
        plan=data.plan,
        fired=fired_rows,
        quarantine=q,
        quarantine_counts=quarantine_counts.to_dict("records"),
        incomplete=int(decisions["data_incomplete"].astype(bool).sum()) if not decisions.empty else 0,
    )
