"""What every SQL connector shares: its engine, made on first use, and errors a user can act on.

Connection problems become one-line :class:`etl.ports.ConnectorError` messages naming the setting
that holds the URL (``erp.url_env``), never showing the password; a server that does not answer
fails within the connect timeout instead of hanging the nightly run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from etl.ports import ConnectorError

CONNECT_TIMEOUT = 8  # seconds

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
