"""Which database errors are worth retrying: the server was down, restarting or dropped us.

A nightly run retries its reads after such an error (assets/extract.py); wrong credentials, an
unknown database or a SQL error fail at once, since waiting would not change them.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

#: MySQL/MariaDB client and server codes: cannot connect, gone away, lost connection, too many
#: connections, lock wait timeout, deadlock, server shutting down
_MYSQL_TRANSIENT = {1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2055}
#: PostgreSQL SQLSTATEs: too many connections, serialization failure, deadlock, admin/crash shutdown
_PG_TRANSIENT = {"53300", "40001", "40P01", "57P01", "57P02", "57P03"}
#: ODBC SQLSTATEs: connection failure/lost, timeouts, serialization failure
_ODBC_TRANSIENT = {"08001", "08S01", "08004", "HYT00", "HYT01", "40001"}
#: what libpq says when no server answered (it gives no SQLSTATE for these)
_NO_SERVER = ("connection refused", "can't connect", "timeout expired", "could not connect", "server closed the connection",
              "no route to host", "network is unreachable", "the database system is starting up",
              "the database system is shutting down", "could not receive data", "could not send data")


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (a SQLAlchemy or DB-API error) says the server was unavailable, not wrong."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    sqlstate = getattr(exc, "sqlstate", None)  # psycopg
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in _PG_TRANSIENT
    args = getattr(exc, "args", ())
    first = args[0] if args else None
    if isinstance(first, int):  # pymysql: (code, message)
        return first in _MYSQL_TRANSIENT
    if type(exc).__module__ == "pyodbc" and isinstance(first, str):  # pyodbc: (SQLSTATE, message)
        if first in _ODBC_TRANSIENT:
            return True
        if first.startswith("28"):  # invalid authorization
            return False
    text = str(exc).lower()
    if "fatal" in text and ("authentication" in text or "does not exist" in text or "pg_hba" in text):
        return False
    return any(marker in text for marker in _NO_SERVER)
