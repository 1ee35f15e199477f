"""The run report a credit manager reads in the morning: one self-contained HTML file.

Charts are PNGs embedded as data URIs, so the file opens in a browser or a mail client without
any other file or network access.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")  # files only, never a screen
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from etl.decisions import ACTIONS  # noqa: E402
from etl.simulate import diff_decisions  # noqa: E402
from etl.store import StateStore  # noqa: E402

BUCKETS = ["not_due", "overdue_1_30", "overdue_31_60", "overdue_61_90", "overdue_91_plus"]


@dataclass(frozen=True)
class RunReportData:
    """Everything the report shows, read from the state store and the run folder."""

    run: dict  # the runs row
    decisions: pd.DataFrame  # SPEC §6.1
    positions: pd.DataFrame  # SPEC §4 (may be empty when the run folder is gone)
    previous: pd.DataFrame | None  # the previous run's decisions, for "what changed"
    audit: pd.DataFrame  # the changes written by this run
    plan: pd.DataFrame  # the planned changes (PLAN_COLUMNS)
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS


def _read_csv(path: Path) -> pd.DataFrame:
    """A run-folder CSV; empty when the folder no longer has it."""
    if not path.is_file():
        return pd.DataFrame()
    return pd.read_csv(path, dtype={"customer_id": str, "company": str, "order_id": str, "key": str})


def load_report_data(store: StateStore, run_id: str, folder: Path) -> RunReportData | None:
    """The report's inputs: the run's rows in the state store and the files in its run folder."""
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
    )


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def aging_chart(positions: pd.DataFrame) -> str | None:
    """Receivables per aging bucket and company (company currency), as a PNG data URI."""
    if positions.empty:
        return None
    totals = positions.groupby("company")[BUCKETS].sum()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    totals.T.plot.bar(ax=ax)
    ax.set_title("Receivables by age (company currency)")
    ax.set_xticklabels(["not due", "1-30", "31-60", "61-90", "91+"], rotation=0)
    ax.set_ylabel("open amount")
    ax.legend(title="company", fontsize=8)
    return _png(fig)


def top_exposure_chart(positions: pd.DataFrame, decisions: pd.DataFrame, top: int = 15) -> str | None:
    """The largest exposures, coloured by tonight's action."""
    if positions.empty:
        return None
    data = positions[["company", "customer_id", "exposure"]].merge(
        decisions[["company", "customer_id", "action"]], on=["company", "customer_id"])
    data = data.nlargest(top, "exposure").iloc[::-1]
    colours = {"block": "#c0392b", "hold": "#e67e22", "require_prepayment": "#f1c40f",
               "reduce_limit": "#8e44ad", "review": "#2980b9", "none": "#95a5a6"}
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(data) + 1))
    ax.barh(data["company"] + " / " + data["customer_id"], data["exposure"],
            color=[colours.get(a, "#95a5a6") for a in data["action"]])
    ax.set_title(f"Top {len(data)} exposures (colour = action)")
    ax.set_xlabel("exposure (company currency)")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


def _summary(decisions: pd.DataFrame, positions: pd.DataFrame) -> pd.DataFrame:
    data = decisions[["company", "customer_id", "action"]]
    if not positions.empty:
        data = data.merge(positions[["company", "customer_id", "exposure"]], on=["company", "customer_id"], how="left")
    else:
        data = data.assign(exposure=float("nan"))
    table = data.groupby(["company", "action"]).agg(customers=("customer_id", "size"), exposure=("exposure", "sum"))
    order = {a: i for i, a in enumerate(ACTIONS)}
    return table.reset_index().sort_values(["company", "action"], key=lambda s: s.map(order) if s.name == "action" else s)


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>creditctl run {{ run.run_id }}</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;max-width:1000px;margin:1em auto}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right}h2{border-bottom:2px solid #444;padding-bottom:2px}
.block{color:#c0392b;font-weight:bold}.hold{color:#e67e22;font-weight:bold}
</style></head><body>
<h1>Credit control run {{ run.as_of }}</h1>
<p id="run">Run <code>{{ run.run_id }}</code>, mode <b>{{ run.mode }}</b>, status <b>{{ run.status }}</b>,
companies {{ run.companies }}, {{ decisions|length }} customers, {{ audit|length }} change(s) written to the ERP,
{{ plan|length }} planned.{% if run.message %} Message: {{ run.message }}{% endif %}</p>

<h2>Summary</h2>
<table id="summary"><tr><th>company</th><th>action</th><th>customers</th><th>exposure</th></tr>
{% for r in summary %}<tr><td>{{ r.company }}</td><td class="{{ r.action }}">{{ r.action }}</td>
<td class="n">{{ r.customers }}</td><td class="n">{{ "{:,.2f}".format(r.exposure) if r.exposure == r.exposure else "" }}</td></tr>
{% endfor %}</table>

<h2>Charts</h2>
{% if aging %}<p><img id="aging-chart" alt="Receivables by age" src="{{ aging }}"></p>{% endif %}
{% if top %}<p><img id="top-exposure-chart" alt="Top exposures" src="{{ top }}"></p>{% endif %}
{% if not aging %}<p>No positions were kept for this run.</p>{% endif %}

<h2>What changed since the last run</h2>
{% if changed is none %}<p>No earlier run to compare with.</p>
{% elif changed|length == 0 %}<p>No decision changed.</p>
{% else %}<table id="changes"><tr><th>company</th><th>customer</th><th>change</th><th>before</th><th>now</th><th>exposure</th></tr>
{% for r in changed %}<tr><td>{{ r.company }}</td><td>{{ r.customer_id }}</td><td>{{ r.changes }}</td>
<td>{{ r.baseline_action }}</td><td>{{ r.candidate_action }}</td>
<td class="n">{{ "{:,.2f}".format(r.exposure) if r.exposure == r.exposure else "" }}</td></tr>{% endfor %}</table>{% endif %}

<h2>Changes written to the ERP</h2>
{% if audit|length == 0 %}<p>None.</p>{% else %}
<table id="audit"><tr><th>company</th><th>customer</th><th>change</th><th>order</th><th>before</th><th>after</th><th>rules</th></tr>
{% for r in audit %}<tr><td>{{ r.company }}</td><td>{{ r.customer_id }}</td><td>{{ r.change }}</td><td>{{ r.order_id }}</td>
<td>{{ r.before }}</td><td>{{ r.after }}</td><td>{{ r.rule_ids }}</td></tr>{% endfor %}</table>{% endif %}

<h2>Decisions with a rule</h2>
<table id="decisions"><tr><th>company</th><th>customer</th><th>action</th><th>limit</th><th>new limit</th><th>grade</th><th>rules</th><th>reasons</th></tr>
{% for r in fired %}<tr><td>{{ r.company }}</td><td>{{ r.customer_id }}</td><td class="{{ r.action }}">{{ r.action }}</td>
<td class="n">{{ "{:,.2f}".format(r.credit_limit) if r.credit_limit == r.credit_limit and r.credit_limit is not none else "" }}</td>
<td class="n">{{ "{:,.2f}".format(r.new_credit_limit) if r.new_credit_limit == r.new_credit_limit and r.new_credit_limit is not none else "" }}</td>
<td>{{ r.risk_grade or "" }}</td><td>{{ r.rule_ids }}</td><td>{{ r.reasons }}</td></tr>{% endfor %}</table>

<h2>Validation</h2>
<p id="quarantine-summary">{{ quarantine|length }} row(s) quarantined; {{ incomplete }} customer(s) marked data_incomplete
(decided, but nothing of theirs is released automatically).</p>
{% if quarantine_counts %}<table id="quarantine"><tr><th>entity</th><th>check</th><th>rows</th></tr>
{% for r in quarantine_counts %}<tr><td>{{ r.entity }}</td><td>{{ r.check }}</td><td class="n">{{ r.rows }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>
""")


def render_report(data: RunReportData) -> str:
    """The report as one HTML string."""
    decisions = data.decisions
    changed = None
    if data.previous is not None and not data.previous.empty:
        changed = diff_decisions(data.previous, decisions, data.positions if not data.positions.empty
                                 else decisions[["company", "customer_id"]].assign(exposure=float("nan"))).rows
    fired = decisions[decisions["rule_ids"].fillna("") != ""]
    q = data.quarantine
    quarantine_counts = (q.groupby(["entity", "check"]).size().rename("rows").reset_index()
                         if not q.empty else pd.DataFrame(columns=["entity", "check", "rows"]))
    return _TEMPLATE.render(
        run=data.run,
        decisions=decisions,
        summary=_summary(decisions, data.positions).to_dict("records"),
        aging=aging_chart(data.positions),
        top=top_exposure_chart(data.positions, decisions),
        changed=None if changed is None else changed.to_dict("records"),
        audit=data.audit.to_dict("records"),
        plan=data.plan,
        fired=fired.to_dict("records"),
        quarantine=q,
        quarantine_counts=quarantine_counts.to_dict("records"),
        incomplete=int(decisions["data_incomplete"].astype(bool).sum()),
    )
