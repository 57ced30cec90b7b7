"""Residents' reports that arrive together are recorded together: one call of ingest_record_batch() for
what is waiting, instead of one call each.

A call's fixed cost in the database (starting the recording statement's plan, checking the tables'
constraints, committing) is several times what one more record adds to it, so on a busy worker most of
the database's time went to calls of one record each. Here a report waits while this worker's calls are
running (at most CALLS at a time), and the next call takes what has gathered meanwhile: up to RECORDS
records, at most one per resident. Two reports of one resident are never in one call: their calls meet
under the resident's account lock in the database, one after the other, exactly as separate requests
did. Records of different residents never affected each other's outcome except through the platform
budget, which the function shares out per slot by resident, as it does for a partner's batch. Each
record keeps its resident's write limit (migration 0013), its step taken in key order. With no other
report waiting a report goes at once, alone: a quiet worker answers as fast as before.

A call that fails for the database (an outage, a timeout, a lock it could not get) fails every report in
it, each answered 503 and safe to retry under its key. A call the database refuses for its data (a
constraint, a value out of range) is retried record by record, so one record it refuses cannot fail the
reports that came with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg

from service.ledger import posting

logger = logging.getLogger(__name__)

# Calls running at once per worker: while one is in the database the next is gathering.
CALLS = 2
# Records in one call: bounds how long one call, and so every report in it, takes.
RECORDS = 64


@dataclass(slots=True)
class _Report:
    record: dict[str, Any]
    today: date
    answer: asyncio.Future[posting.Recorded]


@dataclass
class Gathering:
    """The residents' recording calls of one worker process: `call` records a list of payloads (each
    with its `ord`) counted on one day, in one call of the recording function (Ingest's)."""

    call: Callable[[list[dict[str, Any]], date], Awaitable[list[posting.Recorded]]]
    _waiting: list[_Report] = field(default_factory=list)
    _calls: set[asyncio.Task[None]] = field(default_factory=set)

    async def record(self, record: dict[str, Any], *, today: date) -> posting.Recorded:
        """Record one report (a payload of ingest_record_batch() without `ord`) and answer its row."""
        report = _Report(record, today, asyncio.get_running_loop().create_future())
        self._waiting.append(report)
        # A call task is done the moment its loop ends (its removal from the set comes later), and a
        # running one looks at the waiting reports again before it ends.
        if sum(not call.done() for call in self._calls) < CALLS:
            call = asyncio.create_task(self._call_while_waiting())
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)
        return await report.answer

    async def close(self) -> None:
        """Let the calls running finish (their reports' requests are finishing too) before the pool closes."""
        await asyncio.gather(*self._calls, return_exceptions=True)

    def _next(self) -> list[_Report]:
        """The oldest waiting reports, at most one per resident and all of one day (the day the caps and
        the budget are counted on), up to RECORDS; the rest keep their places."""
        taken: list[_Report] = []
        kept: list[_Report] = []
        residents: set[int] = set()
        for report in self._waiting:
            if (
                len(taken) < RECORDS
                and report.record["resident_id"] not in residents
                and (not taken or report.today == taken[0].today)
            ):
                residents.add(report.record["resident_id"])
                taken.append(report)
            else:
                kept.append(report)
        self._waiting = kept
        return taken

    async def _call_while_waiting(self) -> None:
        reports: list[_Report] = []
        try:
            while self._waiting:
                reports = self._next()
                await self._answer(reports)
        except BaseException:  # cancelled (the worker is stopping): no report may wait for ever
            for report in [*reports, *self._waiting]:
                report.answer.cancel()
            self._waiting.clear()
            raise

    async def _answer(self, reports: list[_Report]) -> None:
        try:
            rows = await self._call(reports)
        except Exception as error:
            if len(reports) > 1 and _refuses_a_record(error):
                logger.warning("a gathered recording call was refused; recording its reports one by one")
                await self._one_by_one(reports)
            else:
                for report in reports:
                    _fail(report, error)
            return
        for row in rows:
            _succeed(reports[row.ord], row._replace(ord=0))

    async def _one_by_one(self, reports: list[_Report]) -> None:
        for number, report in enumerate(reports):
            try:
                (row,) = await self._call([report])
            except Exception as error:
                if not _refuses_a_record(error):  # the database itself failed: so would the rest
                    for failed in reports[number:]:
                        _fail(failed, error)
                    return
                _fail(report, error)
            else:
                _succeed(report, row)

    async def _call(self, reports: list[_Report]) -> list[posting.Recorded]:
        for number, report in enumerate(reports):
            report.record["ord"] = number
        return await self.call([report.record for report in reports], reports[0].today)


def _refuses_a_record(error: Exception) -> bool:
    """A failure one record can cause (data the database cannot take, a constraint it breaks), as opposed
    to the database failing (an outage, a timeout, a lock it could not get), which fails every report."""
    return isinstance(error, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError)


def _succeed(report: _Report, row: posting.Recorded) -> None:
    if not report.answer.done():  # its request may have gone (the client disconnected)
        report.answer.set_result(row)


def _fail(report: _Report, error: Exception) -> None:
    if not report.answer.done():
        report.answer.set_exception(error)
