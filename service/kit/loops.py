"""Background loops: a step after another for as long as the process lives."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from service.errors import is_database_outage, log_background_failure


async def repeat(step: Callable[[], Awaitable[float]], *, name: str, logger: logging.Logger, interval_s: float) -> None:
    """Run `step` again and again; each run answers the seconds to wait before the next. A run that fails
    is logged and the next comes after `interval_s`: a database outage once, however long it lasts, and
    any other failure every time, with its traceback."""
    away = False
    while True:
        try:
            pause = await step()
        except Exception as exc:
            outage = is_database_outage(exc)
            if not (outage and away):
                log_background_failure(logger, name, exc)
            away = outage
            pause = interval_s
        else:
            away = False
        await asyncio.sleep(pause)
