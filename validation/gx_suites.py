"""The SPEC §3 data contracts as great-expectations 1.x suites, run per extract, with data docs.

The pandera models in :mod:`validation.contracts` stay the one source of truth: every suite is
*derived* from a model's schema objects (columns, their nullability, uniqueness and checks, the
model's compound key, strictness and dataframe-level checks), never written out by hand. A check
kind without a translation makes :func:`suite_for` raise, so a contract cannot grow a rule the GX
suite silently lacks.

What GX does not express, and stays pandera-only, is listed in :data:`PANDERA_ONLY` (and in each
suite's notes, so it shows in data docs).

Each validation runs in a fresh *ephemeral* GX context: inside one context, datasource, suite,
validation definition and checkpoint names collide on the second run. The frame reaches GX as a
batch parameter of a whole-dataframe batch definition; nothing is written to disk unless data
docs are asked for.
"""

from __future__ import annotations

import logging
import os

# GX 1.x reads GX_ANALYTICS_ENABLED into its analytics settings when great_expectations is
# imported, so it must be set before the import below (setting it later has no effect); forced,
# not setdefault, because creditctl validates customer credit data and sends usage events nowhere.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

import re  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402
from urllib.parse import urlparse  # noqa: E402
from urllib.request import url2pathname  # noqa: E402

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
import pandas as pd  # noqa: E402
import pandera.pandas as pa  # noqa: E402
from great_expectations.checkpoint import UpdateDataDocsAction  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from validation.contracts import ENTITIES  # noqa: E402
from validation.release import release_cycles

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

# GX logs INFO lines on every ephemeral context (e.g. its temporary docs site); some GX modules
# pin their own logger to INFO, so the parent's level alone does not quiet them
for _name in ["great_expectations", *logging.root.manager.loggerDict]:
    if _name.split(".")[0] == "great_expectations":
        _logger = logging.getLogger(_name)
        if _logger.level < logging.WARNING:
            _logger.setLevel(logging.WARNING)

SUITE_PREFIX = "creditctl."
#: result format of every run: counts and the first 20 unexpected values per expectation
RESULT_FORMAT = "SUMMARY"

#: parts of the pandera contract with no GX equivalent here (also shown in each suite's notes)
PANDERA_ONLY: tuple[str, ...] = (
    "dtypes and coercion (Config.coerce): GX checks the values as they arrive; a raw extract may "
    "carry Decimal, numeric strings or object columns that pandera coerces, so no type "
    "expectation is derived (a non-numeric value in a checked numeric column fails its "
    "expectation with an error; in an unchecked one it passes GX)",
    "quarantine: GX reports failed expectations and counts; splitting out the bad rows with "
    "entity/company/key/check/value is validation.quarantine's job",
)


# --- frame rules -------------------------------------------------------------------------------
# A dataframe-level pandera check is opaque code: its columns cannot be read off the schema. Each
# is translated here once, by its pandera check name; a model gaining a dataframe check not named
# here makes suite_for raise until it is translated (or its name is added with None: pandera-only).

# rows breaking OpenItems.open_within_amount, as a pandas query (GX 1.x's UnexpectedRowsExpectation
# would be the natural fit, but it is SQL/Spark-only: no pandas metric provider exists for it).
# The casts let raw extracts with Decimal (object) amounts through, as pandera's coercion does.
_OPEN = "open_amount.astype('float64')"
_AMOUNT = "amount.astype('float64')"
_OPEN_OUTSIDE_AMOUNT = f"not (({_OPEN} * {_AMOUNT} >= 0) & ({_OPEN}.abs() <= {_AMOUNT}.abs() + 0.005))"


# rows breaking OpenItems.amount_sign_for_doc_type (same pandas-query approach)
_DEBIT = "doc_type.isin(['invoice', 'debit_note'])"
_CREDIT = "doc_type.isin(['credit_note', 'payment_on_account'])"
_WRONG_SIGN = f"({_DEBIT} & ({_AMOUNT} <= 0)) | ({_CREDIT} & ({_AMOUNT} >= 0))"


def _due_not_before_doc() -> gxe.Expectation:
    return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="due_date", column_B="doc_date", or_equal=True
    )


def _open_within_amount() -> gxe.Expectation:
    # a table-level count of the offending rows: the row condition selects them, none may remain.
    # GX does not render a row condition in data docs, so the description says what is counted.
    return gxe.ExpectTableRowCountToEqual(
        value=0,
        row_condition=_OPEN_OUTSIDE_AMOUNT,
        condition_parser="pandas",
        description=(
            "No row breaks open_within_amount: open_amount has the sign of amount and "
            "abs(open_amount) <= abs(amount) + 0.005"
        ),
    )


def _amount_sign_for_doc_type() -> gxe.Expectation:
    return gxe.ExpectTableRowCountToEqual(
        value=0,
        row_condition=_WRONG_SIGN,
        condition_parser="pandas",
        description=(
            "No row breaks amount_sign_for_doc_type: invoices and debit notes have amount > 0, "
            "credit notes and payments on account amount < 0"
        ),
    )


_FRAME_CHECKS: dict[str, Callable[[], gxe.Expectation] | None] = {
    "due_not_before_doc": _due_not_before_doc,
    "open_within_amount": _open_within_amount,
    "amount_sign_for_doc_type": _amount_sign_for_doc_type,
}


# --- column checks -----------------------------------------------------------------------------
_LOWER = {"greater_than_or_equal_to": False, "greater_than": True}  # name -> strict
_UPPER = {"less_than_or_equal_to": False, "less_than": True}


def _pattern(statistics: dict) -> str:
    pattern = statistics["pattern"]
    return pattern.pattern if isinstance(pattern, re.Pattern) else str(pattern)


def _value_check(column: str, check: pa.Check) -> gxe.Expectation:
    """The GX expectation for one pandera value check (bounds are handled by _bounds)."""
    name, stats = check.name, check.statistics
    if name == "isin":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(stats["allowed_values"]))
    if name == "notin":
        return gxe.ExpectColumnValuesToNotBeInSet(column=column, value_set=list(stats["forbidden_values"]))
    if name == "equal_to":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[stats["value"]])
    if name == "not_equal_to":
        return gxe.ExpectColumnValuesToNotBeInSet(column=column, value_set=[stats["value"]])
    if name == "str_matches":
        # pandera matches at the start (re.match); GX's pandas regex searches anywhere
        pattern = _pattern(stats)
        anchored = pattern if pattern.startswith("^") else f"^(?:{pattern})"
        return gxe.ExpectColumnValuesToMatchRegex(column=column, regex=anchored)
    if name == "str_contains":
        return gxe.ExpectColumnValuesToMatchRegex(column=column, regex=_pattern(stats))
    if name == "str_startswith":
        return gxe.ExpectColumnValuesToMatchRegex(column=column, regex="^" + re.escape(stats["string"]))
    if name == "str_endswith":
        return gxe.ExpectColumnValuesToMatchRegex(column=column, regex=re.escape(stats["string"]) + "$")
    if name == "str_length":
        exact = stats.get("exact_value")
        low, high = (exact, exact) if exact is not None else (stats["min_value"], stats["max_value"])
        return gxe.ExpectColumnValueLengthsToBeBetween(column=column, min_value=low, max_value=high)
    if name == "unique_values_eq":
        return gxe.ExpectColumnDistinctValuesToEqualSet(column=column, value_set=sorted(stats["values"]))
    raise NotImplementedError(
        f"pandera check {name!r} on column {column!r} has no GX translation in validation/gx_suites.py"
    )


def _bounds(column: str, checks: list[pa.Check]) -> gxe.Expectation | None:
    """One ExpectColumnValuesToBeBetween for all of a column's bound checks (tightest wins)."""
    low: tuple[float, bool] | None = None  # (value, strict)
    high: tuple[float, bool] | None = None
    for check in checks:
        stats = check.statistics
        lows, highs = [], []
        if check.name in _LOWER:
            lows.append((stats["min_value"], _LOWER[check.name]))
        elif check.name in _UPPER:
            highs.append((stats["max_value"], _UPPER[check.name]))
        elif check.name == "in_range":
            lows.append((stats["min_value"], not stats["include_min"]))
            highs.append((stats["max_value"], not stats["include_max"]))
        for bound in lows:
            if low is None or bound[0] > low[0] or (bound[0] == low[0] and bound[1]):
                low = bound
        for bound in highs:
            if high is None or bound[0] < high[0] or (bound[0] == high[0] and bound[1]):
                high = bound
    if low is None and high is None:
        return None
    return gxe.ExpectColumnValuesToBeBetween(
        column=column,
        min_value=None if low is None else low[0],
        max_value=None if high is None else high[0],
        strict_min=bool(low and low[1]),
        strict_max=bool(high and high[1]),
    )


def _is_bound(check: pa.Check) -> bool:
    return check.name in _LOWER or check.name in _UPPER or check.name == "in_range"


def _with_source(expectation: gxe.Expectation, *sources: str) -> gxe.Expectation:
    """Record which pandera rule(s) an expectation came from (meta, shown nowhere, tested)."""
    expectation.meta = {**(expectation.meta or {}), "pandera": list(sources)}
    return expectation


# --- suites ------------------------------------------------------------------------------------
def suite_from_model(model: type[pa.DataFrameModel], name: str) -> gx.ExpectationSuite:
    """Derive a GX suite from a pandera DataFrameModel (not bound to any GX context).

    Every expectation's ``meta["pandera"]`` names its source: ``column:exists``,
    ``column:not_nullable``, ``column:unique``, ``column:<check name>``, ``unique:<cols>``,
    ``strict`` or ``frame:<check name>``.
    """
    schema = model.to_schema()
    out: list[gxe.Expectation] = []
    for column, spec in schema.columns.items():
        if not spec.required or spec.regex:
            raise NotImplementedError(f"{column!r}: optional or regex-named columns have no GX translation")
        out.append(_with_source(gxe.ExpectColumnToExist(column=column), f"{column}:exists"))
        if not spec.nullable:
            out.append(_with_source(gxe.ExpectColumnValuesToNotBeNull(column=column), f"{column}:not_nullable"))
        if spec.unique:
            out.append(_with_source(gxe.ExpectColumnValuesToBeUnique(column=column), f"{column}:unique"))
        bounds = [c for c in spec.checks if _is_bound(c)]
        between = _bounds(column, bounds)
        if between is not None:
            out.append(_with_source(between, *(f"{column}:{c.name}" for c in bounds)))
        for check in spec.checks:
            if not _is_bound(check):
                out.append(_with_source(_value_check(column, check), f"{column}:{check.name}"))
    if schema.strict is True:  # "filter" drops extra columns instead of failing: nothing to expect
        out.append(_with_source(
            gxe.ExpectTableColumnsToMatchSet(column_set=list(schema.columns), exact_match=True), "strict"
        ))
    key = list(schema.unique or [])
    if len(key) == 1:
        out.append(_with_source(gxe.ExpectColumnValuesToBeUnique(column=key[0]), f"unique:{key[0]}"))
    elif key:
        out.append(_with_source(gxe.ExpectCompoundColumnsToBeUnique(column_list=key), "unique:" + ",".join(key)))
    pandera_only = list(PANDERA_ONLY)
    for check in schema.checks:
        if check.name not in _FRAME_CHECKS:
            raise NotImplementedError(
                f"{model.__name__}: dataframe check {check.name!r} has no GX translation; add it to "
                "_FRAME_CHECKS in validation/gx_suites.py (None = pandera-only)"
            )
        factory = _FRAME_CHECKS[check.name]
        if factory is None:
            pandera_only.append(f"dataframe check {check.name}")
        else:
            out.append(_with_source(factory(), f"frame:{check.name}"))
    return gx.ExpectationSuite(
        name=name,
        expectations=out,
        meta={"derived_from": f"{model.__module__}.{model.__name__}"},
        notes=[f"Derived from the pandera model {model.__module__}.{model.__name__}.",
               "Pandera-only: " + "; ".join(pandera_only)],
    )


def suite_for(entity: str) -> gx.ExpectationSuite:
    """The GX suite of one SPEC §3 entity, derived from its pandera model."""
    if entity not in ENTITIES:
        raise KeyError(f"unknown entity {entity!r}; known: {', '.join(ENTITIES)}")
    model, _ = ENTITIES[entity]
    return suite_from_model(model, SUITE_PREFIX + entity)


# --- running -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GxResult:
    """One entity's validation.

    ``failed`` names each failed expectation as ``type(target)``: target is its column(s), or
    for a frame rule its pandera check name. ``unexpected_rows`` sums the rows each failed
    expectation flagged (a row failing two expectations counts twice; an expectation that could
    not be evaluated, e.g. on a missing column or a non-numeric value in a numeric rule, fails and
    counts 0). ``docs_index`` is the data docs index.html, when asked for.
    """

    entity: str
    success: bool
    evaluated: int
    failed: list[str]
    unexpected_rows: int
    docs_index: Path | None


def _target(config: ExpectationConfiguration) -> str:
    kwargs = config.kwargs
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ",".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    sources = (config.meta or {}).get("pandera", [])
    return ",".join(s.removeprefix("frame:") for s in sources if s.startswith("frame:"))


def _flagged_rows(result: dict, config: ExpectationConfiguration) -> int:
    if "unexpected_count" in result:
        return int(result["unexpected_count"] or 0)
    if config.type == "expect_table_row_count_to_equal" and config.kwargs.get("row_condition"):
        return int(result.get("observed_value") or 0)  # the rows the frame rule selected
    return 0


def _add_docs_site(context: AbstractDataContext, folder: Path) -> str:
    site = "creditctl_local"  # the ephemeral context already has a "local_site" in a temp dir
    context.add_data_docs_site(
        site_name=site,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            # GX refuses a relative base_directory: resolve it, whatever folder the command started in
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(Path(folder).resolve())},
        },
    )
    return site


def run_suite(entity: str, frame: pd.DataFrame, docs_dir: Path | None = None) -> GxResult:
    """Validate one entity's frame against its suite in a fresh ephemeral GX context.

    With ``docs_dir``, a local data docs site is built (or added to) at ``docs_dir / entity``.

    The frame goes to GX with the dtypes it has: converting text columns to Arrow strings first
    (as was done) costs more than it saves. GX's regex metric and its batch fingerprint
    (``hash_pandas_object``) go through object arrays anyway, only its null checks gain, and a
    connector's compact columns (categoricals, Arrow strings) are judged as they come.
    """
    suite = suite_for(entity)
    context = gx.get_context(mode="ephemeral")
    # GX 1.x draws a tqdm "Calculating Metrics" bar per validation unless told not to
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(f"creditctl_{entity}")
        .add_dataframe_asset(entity)
        .add_batch_definition_whole_dataframe("whole_frame")
    )
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=entity, data=batch, suite=suite)
    )
    actions = []
    site = None
    if docs_dir is not None:
        site = _add_docs_site(context, Path(docs_dir) / entity)
        actions.append(UpdateDataDocsAction(name="data_docs", site_names=[site]))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=entity, validation_definitions=[definition], actions=actions,
                      result_format=RESULT_FORMAT)
    )
    try:
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
    finally:
        # GX keeps its latest context in a module-level project manager, and its objects (the frame's
        # batch, metric caches) form reference cycles: forget the data source, and collect if the
        # frame is big, or it outlives the extract's step (validation.release)
        context.data_sources.delete(f"creditctl_{entity}")
        release_cycles(len(frame))
    (validation,) = outcome.run_results.values()
    failed: list[str] = []
    flagged = 0
    for result in validation.results:
        if result.success:
            continue
        config = result.expectation_config
        failed.append(f"{config.type}({_target(config)})")
        flagged += _flagged_rows(result.result or {}, config)
    docs_index = None
    if site is not None:
        (url,) = (s["site_url"] for s in context.get_docs_sites_urls(site_name=site))
        docs_index = Path(url2pathname(urlparse(url).path))
    return GxResult(
        entity=entity,
        success=bool(validation.success),
        evaluated=int(validation.statistics["evaluated_expectations"]),
        failed=failed,
        unexpected_rows=flagged,
        docs_index=docs_index,
    )


def run_suites(frames: Mapping[str, pd.DataFrame], docs_dir: Path | None = None) -> dict[str, GxResult]:
    """Validate each entity's frame (one fresh context each); data docs per entity under docs_dir."""
    return {entity: run_suite(entity, frame, docs_dir) for entity, frame in frames.items()}
