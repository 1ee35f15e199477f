"""What every SQL connector shares: its engine, made on first use, and errors a user can act on.

Connection problems become one-line :class:`etl.ports.ConnectorError` messages naming the setting
that holds the URL (``erp.url_env``), never showing the password; a server that does not answer
fails within the connect timeout instead of hanging the nightly run.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import String, create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql import Select
from sqlalchemy.sql.sqltypes import NullType

from connectors.transient import is_transient
from etl.ports import ConnectorError, ErpProvenance
from validation.contracts import CATEGORY_COLUMNS, LIMIT_COLUMNS
from validation.numbers import (
    TEXT_DTYPE,
    compact_text,
    parse_number_text,
    sorted_categories,
    text_cells,
)
from validation.quarantine import parse_iso_dates

CONNECT_TIMEOUT = 6  # seconds: a run against a dead server fails within 10 s
#: how long a failed connect is remembered (shorter than the retry wait, so a retry tries again)
FAILED_CONNECT_MEMORY = 30.0
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

    def read_provenance(self, companies: Sequence[str]) -> ErpProvenance:
        """This tool's earlier writes in the ERP; the base class cannot tell (subclasses can)."""
        return ErpProvenance.unknown()
    _url: str
    _engine: Engine | None = None

    def _init_sql(self, url: str, opts: dict, known: Iterable[str]) -> None:
        """Set the URL and ``chunk_size``; an option nobody knows is an error, not ignored."""
        known = set(known)
        unknown = sorted(set(opts) - known)
        if unknown:
            raise ConnectorError(f"erp.options: unknown option(s) {', '.join(unknown)} "
                                 f"(known: {', '.join(sorted(known))})")
        self._url = mariadb_odbc_url(url)
        self._engine = None
        # (when, message, transient) of the last failed connect: the run's other reads fail at once
        self._failed_connect: tuple[float, str, bool] | None = None
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
                driver = url.get_driver_name()
                arg = _TIMEOUT_ARG.get(driver)
                args: dict[str, Any] = {arg: CONNECT_TIMEOUT} if arg else {}
                if driver == "pymysql":
                    # pymysql's connect_timeout covers the TCP connect only: a server that accepts and
                    # never sends its greeting would hang the run; the read timeout bounds the handshake
                    args["read_timeout"] = CONNECT_TIMEOUT
                self._engine = create_engine(url, connect_args=args)
                if driver == "pymysql":
                    event.listen(self._engine, "connect", _no_read_timeout_after_handshake)
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
        failed = self._failed_connect
        if failed is not None and time.monotonic() - failed[0] < FAILED_CONNECT_MEMORY:
            # a server that did not answer a moment ago: say so again at once instead of waiting
            # CONNECT_TIMEOUT once per extract (the run must fail within seconds, not minutes)
            raise ConnectorError(failed[1], transient=failed[2])
        try:
            conn = self.engine.connect()
        except DBAPIError as exc:
            message = f"cannot connect to the ERP database ({self.setting}): {self._reason(exc)}"
            self._failed_connect = (time.monotonic(), message, is_transient(exc))
            raise ConnectorError(message, transient=is_transient(exc)) from None
        self._failed_connect = None
        try:
            if begin:
                with conn.begin():
                    yield conn
            else:
                yield conn
        except ConnectorError:
            raise
        except SQLAlchemyError as exc:
            raise ConnectorError(f"cannot {what} ({self.setting}): {self._reason(exc)}",
                                 transient=is_transient(exc)) from exc
        finally:
            conn.close()

    def close(self) -> None:
        """Dispose of the engine's connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def mariadb_odbc_url(url: str) -> str:
    """A ``mysql+pyodbc`` URL as the MariaDB ODBC driver needs it; any other URL as is.

    * SQLAlchemy writes the port as ``Server=host,PORT`` (SQL Server's syntax), which the MariaDB
      driver ignores — it would silently connect to 3306 — so the port is also given as
      ``port=PORT`` in the query, which SQLAlchemy passes on as the driver's own keyword.
    * The driver ignores ODBC's login timeout (pyodbc's ``timeout``): without its own
      ``CONN_TIMEOUT`` a server that drops packets or never answers hangs the run for good.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url  # the engine reports the bad URL as one line
    if parsed.get_backend_name() not in ("mysql", "mariadb") or parsed.get_driver_name() != "pyodbc":
        return url
    given = {k.lower() for k in parsed.query}
    extra = {}
    if parsed.port is not None and "port" not in given:
        extra["port"] = str(parsed.port)  # with port in the query SQLAlchemy leaves ",PORT" out
    if "conn_timeout" not in given:
        extra["CONN_TIMEOUT"] = str(CONNECT_TIMEOUT)
    return parsed.update_query_dict(extra).render_as_string(hide_password=False) if extra else url


def _no_read_timeout_after_handshake(dbapi_connection: Any, _record: Any) -> None:
    """Lift the handshake's read timeout: a long ERP query may take minutes between packets."""
    dbapi_connection._read_timeout = None  # pymysql has no public setter; it applies this per read


# --------------------------------------------------------------------------- streaming + dtypes


def stream(conn: Connection, stmt: Select, chunk_size: int) -> Iterator[pd.DataFrame]:
    """Run ``stmt`` with a server-side cursor where the driver has one; yield DataFrame chunks."""
    result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(stmt)
    keys = list(result.keys())
    for part in result.partitions():
        yield pd.DataFrame.from_records(part, columns=keys)


def bound_sql(conn: Connection, stmt: Select) -> str:
    """``stmt`` as one SQL string with its parameters bound client-side by psycopg (PostgreSQL only).

    For ``COPY (query) TO STDOUT``, which takes no server-side parameters: SQLAlchemy compiles the
    statement for the connection's dialect (IN lists expanded), psycopg quotes each value as it
    would send it (``ClientCursor.mogrify``), so a company named ``O'Brien "Trading"`` stays one
    string literal.
    """
    import psycopg

    _Float8Literal = _float8_literal()
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = {}
    for name, value in compiled.params.items():
        # an expanded IN-list value (name_1_2) has the type of its list's bind (name_1)
        bind = compiled.binds.get(name)
        if bind is None:
            bind = compiled.binds.get(name.rsplit("_", 1)[0])
        process = bind.type.dialect_impl(dialect).bind_processor(dialect) if bind is not None else None
        params[name] = process(value) if process is not None else value
    cursor = psycopg.ClientCursor(conn.connection.driver_connection)
    cursor.adapters.register_dumper(float, _Float8Literal)  # this cursor's adapters only
    return cursor.mogrify(compiled.string, params)


def _float8_literal():
    """psycopg's float dumper, quoting as ``'1.0'::float8``.

    A server-side bound Python float is a float8; psycopg's client-side literal ``1.0`` would be a
    numeric, and ``1.0 / numeric_column`` would then compute in numeric, not as the row path does.
    """
    from psycopg.types.numeric import FloatDumper

    class Float8Literal(FloatDumper):
        def quote(self, obj: float) -> bytes:
            return b"'" + bytes(self.dump(obj)) + b"'::float8"

    return Float8Literal


def _typed(s: pd.Series, parsed: pd.Series, dtype: str) -> pd.Series:
    """``parsed`` cast to ``dtype``, or the raw values when any could not be parsed.

    A value the database gave that does not parse (or a null where the type has none) must not
    turn into a silent null, 0 or False here: the raw column goes on and the data contract
    quarantines exactly those rows.
    """
    unparsed = parsed.isna() & s.notna()
    if unparsed.any():
        return _objects(s)
    return parsed.astype(dtype)


def coerce(frame: pd.DataFrame, template: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly ``template``'s columns, in order, in its dtypes where the values allow."""
    out: dict[str, pd.Series] = {}
    for name, dtype in template.dtypes.items():
        s = frame[name].reset_index(drop=True) if name in frame.columns else pd.Series([None] * len(frame), dtype=object)
        if s.dtype == object and (dtype.kind in "fiuM" or isinstance(dtype, pd.Int64Dtype)):
            s = _text_read(s, str(name), dtype)
            if s is None:  # text pandas would guess at ("5.000", "28.11.2026"): the contract judges it
                out[name] = _objects(frame[name].reset_index(drop=True))
                continue
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
            out[name] = _objects(s)
    return pd.DataFrame(out, columns=list(template.columns))


def _text_read(s: pd.Series, name: str, dtype) -> pd.Series | None:
    """A number or date column's text cells read as the data contract reads them, or None if any
    is not in its grammar (validation.numbers, ISO dates): pandas would take ``5.000`` for 5 and
    ``28.11.2026`` for a date, so such text goes on as it is and is quarantined, never guessed."""
    if not text_cells(s).any():
        return s
    if dtype.kind == "M":
        parsed, bad = parse_iso_dates(s)
        return None if bad.any() else parsed
    parsed, problems = parse_number_text(s, integer=dtype.kind != "f", limit=name in LIMIT_COLUMNS)
    return None if problems.notna().any() else parsed


def _objects(s: pd.Series) -> pd.Series:
    """``s`` as an object column with None for every null (untouched when it has none)."""
    s = s if s.dtype == object else s.astype(object)
    missing = s.isna()
    return s.where(~missing, None) if missing.any() else s


def _copy_capable(conn: Connection, stmt: Select, template: pd.DataFrame) -> bool:
    """PostgreSQL through psycopg, and every text column of ``template`` is text in ``stmt``.

    CSV turns every value into text; a text column the row path would have filled with the
    driver's objects (ints, dates) keeps the row path, so both give the same frame.
    """
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return False
    text = {name for name, dtype in template.dtypes.items() if dtype.kind == "O"}
    return all(isinstance(col.type, String | NullType) for name, col in stmt.selected_columns.items()
               if name in text)


def _arrow_type(dtype):
    """The Arrow type a CSV column is parsed as, for a template dtype (text for anything else)."""
    import pyarrow as pa

    if isinstance(dtype, pd.Int64Dtype) or dtype.kind in "iu":
        return pa.int64()
    if dtype.kind == "f":
        return pa.float64()
    if dtype.kind == "M":
        return pa.timestamp("ns")
    if dtype.kind == "b":
        return pa.bool_()
    return pa.string()


def _csv_table(data: bytes | bytearray, names: list[str], template: pd.DataFrame, encoding: str,
               text: frozenset[str] = frozenset()):
    """One chunk of PostgreSQL CSV (no header) -> (Arrow table, typed).

    NULL is an unquoted empty field, an empty string a quoted one (``""``): Arrow keeps the two
    apart. Values are parsed in the template's types (``typed``); in a chunk where one does not
    parse, each column is parsed on its own and the failing ones stay text, so :func:`coerce` hands
    exactly those values to the data contract, as the row path does. Columns that are text in the
    database (``text``) stay text: Arrow would read ``5.000`` as 5, :func:`coerce` reads them in the
    contract's grammar.
    """
    import pyarrow as pa
    from pyarrow import csv

    types = {n: _arrow_type(template.dtypes[n]) if n in template.columns and n not in text else pa.string()
             for n in names}
    read = csv.ReadOptions(column_names=names, encoding=encoding, block_size=max(1 << 20, len(data) + 1))
    parse = csv.ParseOptions(newlines_in_values=True)

    def table(column_types: dict) -> pa.Table:
        convert = csv.ConvertOptions(column_types=column_types, include_columns=list(column_types),
                                     strings_can_be_null=True, quoted_strings_can_be_null=False,
                                     true_values=["t", "1"], false_values=["f", "0"], null_values=[""],
                                     timestamp_parsers=[csv.ISO8601])
        return csv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse, convert_options=convert)

    try:
        # text kept for coerce makes the chunk a text chunk: coerced on its own, as the row path does
        return table(types), not text.intersection(names)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        columns = {}
        for name in names:  # rare: a text column holding a value its template type cannot take
            try:
                columns[name] = table({name: types[name]}).column(0)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                columns[name] = table({name: pa.string()}).column(0)
        return pa.table(columns), False


def _text_frame(table, template: pd.DataFrame) -> pd.DataFrame:
    """A chunk with text columns -> coerced; PostgreSQL's ``t`` / ``f`` there as the driver's bools."""
    frame = table.to_pandas(date_as_object=False)
    for name in frame.columns:
        if name in template.columns and template.dtypes[name].kind == "b" and frame[name].dtype == object:
            raw = frame[name]
            frame[name] = raw.map({"t": True, "f": False}).where(raw.isin(["t", "f"]), raw)
    return coerce(frame, template)


def copy_tables(conn: Connection, stmt: Select, template: pd.DataFrame, chunk_size: int) -> Iterator[tuple]:
    """PostgreSQL + psycopg: ``COPY (stmt) TO STDOUT (FORMAT csv)``, as (Arrow table, typed) per chunk.

    Rows arrive as CSV bytes; ``chunk_size`` of them at a time are parsed by Arrow's C++ reader
    straight into typed columns (no Python object per value; memory bounded by the chunk). The
    parameters are bound client-side (:func:`bound_sql`), as COPY takes none.
    """
    import psycopg

    names = list(stmt.selected_columns.keys())
    # a number or date kept as text in the database is read by coerce, in the contract's grammar
    text = frozenset(name for name, col in stmt.selected_columns.items()
                     if isinstance(col.type, String) and name in template.columns
                     and (template.dtypes[name].kind in "fiuM" or isinstance(template.dtypes[name], pd.Int64Dtype)))
    sql = bound_sql(conn, stmt)
    raw = conn.connection.driver_connection
    encoding = raw.info.encoding
    # Arrow parses (GIL released) in a worker thread while this one keeps receiving; at most
    # two chunks wait for it, so memory stays bounded
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="creditctl-csv") as parser:
        try:
            with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
                # each row is copied into one buffer at once: holding on to psycopg's row buffers
                # (a list of memoryviews) costs several times the COPY itself
                data, rows = bytearray(), 0
                for row in copy:
                    data += row
                    rows += 1
                    if rows >= chunk_size:
                        if len(pending) >= 2:
                            yield pending.popleft().result()
                        pending.append(parser.submit(_csv_table, data, names, template, encoding, text))
                        data, rows = bytearray(), 0
                if rows:
                    pending.append(parser.submit(_csv_table, data, names, template, encoding, text))
        except psycopg.Error as exc:  # reported like any SQLAlchemy error: one line, by _connection
            for future in pending:
                future.cancel()
            raise DBAPIError(sql[:200], None, exc) from exc
        while pending:
            yield pending.popleft().result()


def _read_copy(conn: Connection, stmt: Select, template: pd.DataFrame, chunk_size: int,
               sort: Sequence[str], compact: bool) -> pd.DataFrame:
    """The COPY path of :func:`read_frame`: typed chunks are concatenated and sorted in Arrow, then
    converted and coerced once; a chunk that fell back to text takes the row path's steps."""
    import pyarrow as pa

    chunks = list(copy_tables(conn, stmt, template, chunk_size))
    if not chunks:
        return compact_frame(template.iloc[0:0].copy(), template) if compact else template.iloc[0:0].copy()
    if not all(typed for _, typed in chunks):
        frames = [_text_frame(t, template) for t, _ in chunks]
        chunks.clear()
        frame = pd.concat(frames, ignore_index=True)
        frames.clear()
        frame = sort_frame(frame, sort) if sort else frame
        return compact_frame(frame, template) if compact else frame
    table = pa.concat_tables([t for t, _ in chunks])
    chunks.clear()
    if sort:
        table = table.take(_arrow_order(table, sort))
    return _typed_frame(table, template, compact)


def _typed_frame(table, template: pd.DataFrame, compact: bool = False) -> pd.DataFrame:
    """A typed Arrow table -> ``coerce(table.to_pandas(), template)``, converting once.

    The table is put in the template's column order (a missing column is all null) and its
    timestamps floored to the day in Arrow; the pandas columns that then already have the
    template's dtype are what coerce would return, so only the others go through it (a nullable
    Int64, an integer or flag column with nulls). With ``compact`` the text columns come out of
    Arrow as :func:`compact_frame` makes them (no Python ``str`` per cell on the way).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    compacted = set()
    for name in template.columns:
        if name in table.column_names:
            col = table.column(name)
        else:  # compact: typed, for only the text columns to be Arrow strings (types_mapper below)
            col = pa.nulls(table.num_rows, _arrow_type(template.dtypes[name]) if compact else pa.string())
        if pa.types.is_timestamp(col.type):
            col = pc.floor_temporal(col, unit="day")
        elif compact and pd.api.types.is_object_dtype(template.dtypes[name]) and pa.types.is_string(col.type):
            compacted.add(name)
            if name in CATEGORY_COLUMNS:
                col = pc.dictionary_encode(col)  # -> a pandas categorical
        columns.append(col)
    strings = {pa.string(): TEXT_DTYPE}.get if compacted else None
    frame = pa.table(columns, names=list(template.columns)).to_pandas(date_as_object=False, types_mapper=strings)
    del table, columns
    for name in compacted.intersection(CATEGORY_COLUMNS):
        frame[name] = sorted_categories(frame[name])
    wrong = [name for name, dtype in template.dtypes.items() if frame[name].dtype != dtype and name not in compacted]
    if wrong:
        fixed = coerce(frame[wrong], template[wrong])
        for name in wrong:
            frame[name] = fixed[name]
    return frame


def compact_frame(frame: pd.DataFrame, template: pd.DataFrame | None = None) -> pd.DataFrame:
    """``frame`` (shaped as ``template``, by default itself) with its text columns (object in ``template``) held compactly where they hold only
    strings (nulls aside): the columns of few distinct values (validation.contracts.CATEGORY_COLUMNS)
    as categoricals, the others as Arrow-backed strings. A column holding anything else stays as it
    is, for the data contract to coerce or quarantine (validation.numbers.compact_text)."""
    template = frame if template is None else template
    text = {name: compact_text(frame[name], name in CATEGORY_COLUMNS)
            for name, dtype in template.dtypes.items()
            if pd.api.types.is_object_dtype(dtype) and name in frame.columns}
    changed = {name: values for name, values in text.items() if values is not frame[name]}
    return frame.assign(**changed) if changed else frame


def _arrow_order(table, keys: Sequence[str]):
    """Stable ascending order of ``table`` by ``keys``, nulls last, dates by day (as coerce leaves them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = {}
    for i, key in enumerate(k for k in keys if k in table.column_names):
        col = table.column(key)
        cols[f"k{i}"] = pc.floor_temporal(col, unit="day") if pa.types.is_timestamp(col.type) else col
    if not cols:
        return pa.array(range(table.num_rows))
    return pc.sort_indices(pa.table(cols), sort_keys=[(k, "ascending", "at_end") for k in cols])


def read_frame(conn: Connection, stmt: Select, template: pd.DataFrame, chunk_size: int,
               transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
               sort: Sequence[str] = (), compact: bool = False) -> pd.DataFrame:
    """Stream ``stmt``, optionally ``transform`` each raw chunk, coerce to ``template``, concat, sort.

    On PostgreSQL through psycopg (and without ``transform``) the rows come as CSV from ``COPY``
    (:func:`copy_tables`), several times faster than a cursor's Python rows; the frame is the same.
    With ``compact`` the text columns that hold only strings come back compact (:func:`compact_frame`:
    categoricals and Arrow-backed strings, a few bytes per cell instead of a Python ``str`` each);
    their values, nulls and order are the same.
    """
    if transform is None and _copy_capable(conn, stmt, template):
        return _read_copy(conn, stmt, template, chunk_size, sort, compact)
    parts = [coerce(transform(chunk) if transform is not None else chunk, template)
             for chunk in stream(conn, stmt, chunk_size)]
    if not parts:
        frame = template.iloc[0:0].copy()
    else:
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        parts.clear()  # the chunks' columns are garbage now: the peak stays at about two frames
        frame = sort_frame(frame, sort) if sort else frame
    return compact_frame(frame, template) if compact else frame


def sort_frame(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``frame.sort_values(keys, kind="stable")`` with a fresh index, ordered by Arrow's C++ sort.

    The same order as pandas' (strings by code point, nulls last, stable) without comparing
    millions of Python strings one pair at a time; keys Arrow cannot type (mixed raw values on
    their way to quarantine) fall back to pandas.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        keyed = pa.table({f"k{i}": pa.array(frame[k], from_pandas=True) for i, k in enumerate(keys)})
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return frame.sort_values(list(keys), kind="stable").reset_index(drop=True)
    order = pc.sort_indices(keyed, sort_keys=[(f"k{i}", "ascending", "at_end") for i in range(len(keys))])
    return frame.take(order.to_numpy()).reset_index(drop=True)
