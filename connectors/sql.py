"""What every SQL connector shares: its engine, made on first use, and errors a user can act on.

Connection problems become one-line :class:`etl.ports.ConnectorError` messages naming the setting
that holds the URL (``erp.url_env``), never showing the password; a server that does not answer
fails within the connect timeout instead of hanging the nightly run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql import Select

from etl.ports import ConnectorError

CONNECT_TIMEOUT = 8  # seconds
DEFAULT_CHUNK_SIZE = 50_000  # rows fetched per round trip when streaming reads

#: the DB-API's own name for its connect timeout, per driver
_TIMEOUT_ARG = {"psycopg": "connect_timeout", "psycopg2": "connect_timeout", "pymysql": "connect_timeout",
                "pyodbc": "timeout"}


class SqlConnector:
    """Base of the SQL connectors: ``engine``, ``_connection(what)``, ``_reason(exc)``, ``close()``.

    Subclasses set ``self._url`` in their constructor; ``_check_target`` is a hook run before
    each connection (the demo checks its file exists).
    """

    #: the configuration setting that holds the URL, named in error messages
    setting = "erp.url_env"
    _url: str
    _engine: Engine | None = None

    def _init_sql(self, url: str, opts: dict, known: Iterable[str]) -> None:
        """Set the URL and ``chunk_size``; an option nobody knows is an error, not ignored."""
        known = set(known)
        unknown = sorted(set(opts) - known)
        if unknown:
            raise ConnectorError(f"erp.options: unknown option(s) {', '.join(unknown)} "
                                 f"(known: {', '.join(sorted(known))})")
        self._url = url
        self._engine = None
        try:
            self.chunk_size = int(opts.get("chunk_size") or DEFAULT_CHUNK_SIZE)
        except (TypeError, ValueError):
            raise ConnectorError(f"erp.options.chunk_size: {opts.get('chunk_size')!r} is not a number") from None
        if self.chunk_size <= 0:
            raise ConnectorError("erp.options.chunk_size: must be a positive number of rows")

    def _scrub(self, text: str) -> str:
        try:
            password = make_url(self._url).password
        except (ArgumentError, ValueError):
            password = None
        return text.replace(str(password), "***") if password else text

    def _reason(self, exc: BaseException) -> str:
        """The first line of what the driver said, without the password."""
        orig = getattr(exc, "orig", None) or exc
        lines = [line for line in str(orig).strip().splitlines() if line.strip()] or [type(orig).__name__]
        return self._scrub(lines[0].strip())

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            prefix = f"cannot connect to the ERP database ({self.setting})"
            try:
                url = make_url(self._url)
                arg = _TIMEOUT_ARG.get(url.get_driver_name())
                self._engine = create_engine(url, connect_args={arg: CONNECT_TIMEOUT} if arg else {})
            except (ArgumentError, ValueError):
                raise ConnectorError(f"{prefix}: not a valid SQLAlchemy URL") from None
            except (NoSuchModuleError, ImportError) as exc:
                raise ConnectorError(f"{prefix}: driver not available: {self._reason(exc)}") from None
        return self._engine

    def _check_target(self) -> None:
        """Hook for subclasses, run before every connection."""

    @contextmanager
    def _connection(self, what: str, *, begin: bool = False) -> Iterator[Connection]:
        """A connection (in one transaction with ``begin``); database errors name ``what`` failed."""
        self._check_target()
        try:
            conn = self.engine.connect()
        except DBAPIError as exc:
            raise ConnectorError(f"cannot connect to the ERP database ({self.setting}): {self._reason(exc)}") from None
        try:
            if begin:
                with conn.begin():
                    yield conn
            else:
                yield conn
        except ConnectorError:
            raise
        except SQLAlchemyError as exc:
            raise ConnectorError(f"cannot {what} ({self.setting}): {self._reason(exc)}") from exc
        finally:
            conn.close()

    def close(self) -> None:
        """Dispose of the engine's connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


# --------------------------------------------------------------------------- streaming + dtypes


def stream(conn: Connection, stmt: Select, chunk_size: int) -> Iterator[pd.DataFrame]:
    """Run ``stmt`` with a server-side cursor where the driver has one; yield DataFrame chunks."""
    result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(stmt)
    keys = list(result.keys())
    for part in result.partitions():
        yield pd.DataFrame.from_records(part, columns=keys)


def _typed(s: pd.Series, parsed: pd.Series, dtype: str) -> pd.Series:
    """``parsed`` cast to ``dtype``, or the raw values when any could not be parsed.

    A value the database gave that does not parse (or a null where the type has none) must not
    turn into a silent null, 0 or False here: the raw column goes on and the data contract
    quarantines exactly those rows.
    """
    unparsed = parsed.isna() & s.notna()
    if unparsed.any():
        return s.astype(object).where(s.notna(), None)
    return parsed.astype(dtype)


def coerce(frame: pd.DataFrame, template: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly ``template``'s columns, in order, in its dtypes where the values allow."""
    out: dict[str, pd.Series] = {}
    for name, dtype in template.dtypes.items():
        s = frame[name].reset_index(drop=True) if name in frame.columns else pd.Series([None] * len(frame), dtype=object)
        if isinstance(dtype, pd.Int64Dtype):
            out[name] = _typed(s, pd.to_numeric(s, errors="coerce"), "Int64")
        elif dtype.kind == "M":
            out[name] = _typed(s, pd.to_datetime(s, errors="coerce").dt.normalize(), "datetime64[ns]")
        elif dtype.kind == "f":
            out[name] = _typed(s, pd.to_numeric(s, errors="coerce"), "float64")
        elif dtype.kind in "iu" or dtype.kind == "b":
            # not nullable: a null stays null (object) and fails the contract instead of becoming 0/False
            parsed = pd.to_numeric(s, errors="coerce") if s.dtype == object else s
            ok = parsed.notna().all() and (dtype.kind != "b" or parsed.isin([0, 1]).all())
            out[name] = parsed.astype("int64" if dtype.kind != "b" else bool) if ok else s.astype(object).where(s.notna(), None)
        else:
            out[name] = s.astype(object).where(s.notna(), None)
    return pd.DataFrame(out, columns=list(template.columns))


def read_frame(conn: Connection, stmt: Select, template: pd.DataFrame, chunk_size: int,
               transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
               sort: Sequence[str] = ()) -> pd.DataFrame:
    """Stream ``stmt``, optionally ``transform`` each raw chunk, coerce to ``template``, concat."""
    parts = []
    for chunk in stream(conn, stmt, chunk_size):
        if transform is not None:
            chunk = transform(chunk)
        parts.append(coerce(chunk, template))
    if not parts:
        return template.iloc[0:0].copy()
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if sort:
        frame = frame.sort_values(list(sort), kind="stable").reset_index(drop=True)
    return frame
