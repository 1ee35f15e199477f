"""ErpNextConnector: etl.ports.ErpConnector over an ERPNext database (SQLAlchemy URL)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from connectors.erpnext import provenance, read, write
from connectors.erpnext.api import ApiError, ApiSettings, ErpNextApi
from connectors.erpnext.api_write import ApiAbort, ApiWriter
from connectors.sql import SqlConnector
from etl.ports import ChangesRefused, ConnectorError, ErpProvenance
from validation.contracts import empty_frame

DEFAULT_PREPAYMENT_TERMS = "Prepayment"

#: options the connector understands (erp.options in the run config)
OPTIONS = {
    "prepayment_terms": "payment terms template meaning 'on prepayment' (default Prepayment)",
    "chunk_size": "rows fetched per round trip when streaming reads (default 50000)",
    "order_amounts": "'base' (default: base_grand_total in company currency) or 'document'",
    "tool_user": "the ERP user creditctl's changes are attributed to: owner of its tabVersion rows and "
                 "comments (default creditctl)",
    "comment_owner": "former name of tool_user",
    "write_via": "'api' (default: ERPNext's REST API, so ERPNext enforces what is written) or 'sql' (only for "
                 "a database no ERPNext application serves)",
    "api_url": "the ERPNext site's base URL for the writes, e.g. https://erp.example.com",
    "api_key_env": "environment variable holding the API user's API key (default ERPNEXT_API_KEY)",
    "api_secret_env": "environment variable holding the API user's API secret (default ERPNEXT_API_SECRET)",
    "api_concurrency": "API calls in flight at once (default 4)",
    "api_timeout": "seconds to wait for one API answer (default 30)",
    "api_attempts": "attempts per API call on timeouts and gateway errors, with backoff (default 3)",
}


class ErpNextConnector(SqlConnector):
    """Read the canonical frames from ERPNext tables and apply writeback plans.

    ``url`` is a SQLAlchemy URL (``mysql+pymysql://…``, ``mysql+pyodbc://…``, ``sqlite:///…``).
    The engine is created on first use; connection problems raise
    :class:`etl.ports.ConnectorError` naming the setting to fix, never showing the password.
    """

    #: option keys accepted besides OPTIONS (the demo connector's ``path``)
    extra_options: frozenset[str] = frozenset()
    #: how plans are written unless erp.options.write_via says otherwise
    default_write_via = "api"

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        opts = dict(options or {})
        self._init_sql(url, opts, set(OPTIONS) | self.extra_options)
        self.prepayment_terms = str(opts.get("prepayment_terms") or DEFAULT_PREPAYMENT_TERMS)
        self.order_amounts = str(opts.get("order_amounts") or "base")
        if self.order_amounts not in ("base", "document"):
            raise ConnectorError(f"erp.options.order_amounts: {self.order_amounts!r} (use base or document)")
        self.tool_user = str(opts.get("tool_user") or opts.get("comment_owner") or write.DEFAULT_TOOL_USER)
        self.write_via = str(opts.get("write_via") or self.default_write_via)
        if self.write_via not in ("api", "sql"):
            raise ConnectorError(f"erp.options.write_via: {self.write_via!r} (use api or sql)")
        self.api_options = {k: opts[k] for k in OPTIONS if k.startswith("api_") and opts.get(k) not in (None, "")}
        for key, default in (("api_key_env", "ERPNEXT_API_KEY"), ("api_secret_env", "ERPNEXT_API_SECRET")):
            self.api_options.setdefault(key, default)
        # parsed once, so bad numbers fail when the config is loaded, not at apply time
        try:
            self.api_timeout = float(self.api_options.get("api_timeout", 30))
            self.api_attempts = int(self.api_options.get("api_attempts", 3))
            self.api_concurrency = int(self.api_options.get("api_concurrency", 4))
        except (TypeError, ValueError):
            raise ConnectorError("erp.options.api_timeout / api_attempts / api_concurrency: not a number") from None
        if self.api_timeout <= 0 or self.api_attempts < 1 or not 1 <= self.api_concurrency <= 32:
            raise ConnectorError("erp.options: api_timeout must be > 0, api_attempts >= 1, api_concurrency 1-32")

    # ------------------------------------------------------------------ reads

    def read_companies(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("companies")
        with self._connection("read tabCompany") as conn:
            return read.read_companies(conn, companies, self.chunk_size)

    def read_customers(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("customers")
        with self._connection("read customers") as conn:
            raw = read.read_customers_raw(conn, companies, self.chunk_size, self.prepayment_terms)
        return raw.drop(columns="payment_terms")

    def read_open_items(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_items")
        with self._connection("read open items") as conn:
            return read.read_open_items(conn, companies, self.chunk_size)

    def read_open_orders(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_orders")
        with self._connection("read open orders") as conn:
            return read.read_open_orders(conn, companies, self.chunk_size, self.order_amounts)

    def read_open_deliveries(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("open_deliveries")
        with self._connection("read unbilled delivery notes") as conn:
            return read.read_open_deliveries(conn, companies, self.chunk_size)

    def read_payments(self, companies: Sequence[str]) -> pd.DataFrame:
        if not companies:
            return empty_frame("payments")
        with self._connection("read payment history") as conn:
            return read.read_payments(conn, companies, self.chunk_size)

    def read_fx_rates(self, companies: Sequence[str]) -> pd.DataFrame:
        """All selling rates in tabCurrency Exchange (rates are not per company in ERPNext)."""
        with self._connection("read tabCurrency Exchange") as conn:
            return read.read_fx_rates(conn, self.chunk_size)

    def read_state(self, companies: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not companies:
            customers = empty_frame("customers").assign(payment_terms=pd.Series([], dtype=object))
            return customers[read.STATE_CUSTOMER_COLUMNS], empty_frame("open_orders")[read.STATE_ORDER_COLUMNS]
        with self._connection("read the ERP state") as conn:
            customers = read.read_customers_raw(conn, companies, self.chunk_size, self.prepayment_terms)
            orders = read.read_open_orders(conn, companies, self.chunk_size, self.order_amounts)
        return (customers[read.STATE_CUSTOMER_COLUMNS].reset_index(drop=True),
                orders[read.STATE_ORDER_COLUMNS].reset_index(drop=True))

    # ------------------------------------------------------------------ write

    def apply(self, company: str, changes: pd.DataFrame) -> int:
        """Apply one company's plan rows: through ERPNext's API (connectors.erpnext.api_write), or
        with ``write_via: sql`` in ONE transaction (connectors.erpnext.write)."""
        plan = write.validate_plan(company, changes)
        if plan.empty:
            return 0
        if self.write_via == "sql":
            with self._connection(f"write the plan for {company!r}", begin=True) as conn:
                return write.apply_plan(conn, company, plan, prepayment_terms=self.prepayment_terms,
                                        user=self.tool_user)
        return self._apply_api(company, plan)

    def _api_settings(self) -> ApiSettings | None:
        """The API settings, or None without ``api_url``; credentials are read when writing."""
        o = self.api_options
        if not o.get("api_url"):
            return None
        return ApiSettings(url=str(o["api_url"]), key=os.environ.get(o["api_key_env"], ""),
                           secret=os.environ.get(o["api_secret_env"], ""), timeout_s=self.api_timeout,
                           attempts=self.api_attempts)

    def api(self) -> ErpNextApi:
        """A client of the site's REST API as the API user (one-line ConnectorError when unset)."""
        settings = self._api_settings()
        if settings is None:
            raise ConnectorError(
                "erp.options.api_url is not set: creditctl writes to ERPNext through its REST API (a block "
                "written by SQL is not enforced on a live site); set api_url to the site's base URL, or "
                "write_via: sql for a database no ERPNext application serves")
        missing = [self.api_options[k] for k in ("api_key_env", "api_secret_env") if not os.environ.get(self.api_options[k])]
        if missing:
            raise ConnectorError(f"environment variable(s) {', '.join(missing)} (erp.options.api_key_env / "
                                 "api_secret_env) not set: export the ERPNext API user's API key and secret")
        return ErpNextApi(settings)

    def _apply_api(self, company: str, plan: pd.DataFrame) -> int:
        terms = {self.prepayment_terms} if (plan["change"] == "set_prepayment").any() else set()
        terms |= {t for t in plan.loc[plan["change"] == "unset_prepayment", "after"] if t}
        if terms:  # reads stay SQL: one check instead of a refusal per customer
            with self._connection("read tabPayment Terms Template") as conn:
                missing = sorted(terms - write.existing_templates(conn, terms))
            if missing:
                raise ConnectorError(f"apply {company!r}: payment terms template(s) {', '.join(map(repr, missing))} "
                                     "not found in ERPNext (erp.options.prepayment_terms); nothing was written")
        api = self.api()
        try:
            try:
                user = api.logged_user()  # fails fast on a bad key, before any write
            except ApiError as exc:
                raise ApiAbort(f"ERPNext at {api.base} refused the API key ({exc}): check that "
                               f"{self.api_options['api_key_env']} and {self.api_options['api_secret_env']} hold "
                               "the API user's key and secret" if exc.status in (401, 403) else
                               f"ERPNext at {api.base}: {exc}", transient=exc.status == 0) from None
            writer = ApiWriter(api, company, self.prepayment_terms, user, self.api_concurrency,
                               self.api_options["api_key_env"], self.api_options["api_secret_env"])
            outcomes = writer.apply(plan)
        except ApiAbort as exc:
            raise ConnectorError(f"apply {company!r}: {exc}", transient=exc.transient) from None
        finally:
            api.close()
        failed = [o for o in outcomes if not o.done]
        done = len(outcomes) - len(failed)
        if failed:
            refused = plan.iloc[[o.row for o in failed]].assign(
                status=[o.status for o in failed], message=[o.message for o in failed]).reset_index(drop=True)
            raise ChangesRefused(f"apply {company!r}: {len(failed)} of {len(plan)} change(s) not applied, e.g. "
                                 f"{failed[0].message}", applied=done, refused=refused)
        return done

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """creditctl's earlier changes from its tabVersion rows and comments (connectors.erpnext.provenance)."""
        with self._connection("read creditctl's change history (tabVersion)") as conn:
            return provenance.read_provenance(conn, companies, self.tool_user, self.chunk_size)
