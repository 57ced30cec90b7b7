"""The district's clock: Asia/Shanghai, where days, caps, periods and boards are counted."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tz database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The day in Asia/Shanghai at `moment`."""
    return moment.astimezone(SHANGHAI).date()
