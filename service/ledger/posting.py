"""Posting behaviours to the ledger: the hot path's one round trip to the database.

Every behaviour, a resident's report or a partner's record, is posted by one call of the SQL function
`ingest_record_batch()` (service/ledger/sql/ingest_record_batch.sql): one statement on a plain asyncpg
connection, and so its own transaction. Under locks taken in one global order (rate-limit keys, budget
slots, residents' accounts, each sorted) it keeps, for every record: idempotency (a key seen before
answers the stored result); one trip, one credit; the daily and yearly caps and the platform's daily
budget, as running sums in record order; and double entry (each credit an issuance transfer with its
two entries, the new balance and the cap usage, written with the behaviour).

The `Recorder` posts residents' reports. Reports that arrive while this worker's calls are busy share
the next call, at most one per resident (theirs meet under the resident's account lock, one after the
other, as separate requests would) and all of one day: a call's fixed cost is several times what one
more record adds. Each keeps its own outcome and write limit; with no call running a report goes at
once, alone. A call that fails for the database fails every report in it, each safe to retry under its
key; one refused for its data is retried a report at a time, so that a bad report fails only itself.
A partner's batch is one call of its own (`post_batch`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NotRequired, TypedDict

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.errors import DatabaseUnavailable
from service.kit.ratelimit import Limit
from service.ledger import repository
from service.ledger.results import Result, result_of

logger = logging.getLogger(__name__)

# Calls running at once per worker: while one is in the database the next is gathering.
CALLS = 2
# Reports in one call: bounds how long one call, and so every report in it, takes.
REPORTS = 64


class Source(StrEnum):
    resident = "resident"
    partner = "partner"


class Posting(TypedDict):
    """One checked behaviour as `ingest_record_batch()` reads it (JSON: decimals as strings). A resident's
    report names its resident, key and write-limit bucket, and the claims its evidence makes (hex
    digests no other report may name again); a partner's record the pseudonym of its resident's link
    with the partner, and its own record id. `ord` numbers the records of one call."""

    ord: int
    resident_id: NotRequired[int]
    client_id: NotRequired[str]
    rate_key: NotRequired[str]
    resident_pseudonym: NotRequired[str]
    external_id: NotRequired[str]
    behaviour_type: str
    category: str | None
    trip_group: str
    quantity: str
    reported_quantity: str
    reported_unit: str
    unit: str
    occurred_at: str
    ended_at: str
    local_date: str
    evidence: dict[str, object] | None
    claims: NotRequired[list[str]]
    tier: str
    pending: bool
    factor_version_id: int
    reduction_g_per_unit: str
    weight: str
    exact_g: str
    grams: int
    remainder_g: str
    daily_cap_g: int | None
    yearly_cap_g: int | None
    content_sha256: str


_POST_SQL = """
    SELECT ord, outcome, behaviour_id, status, credited_g, capped_g, cap_reason, balance_after, content_sha256,
           related_id, retry_after, transfer_id
      FROM ingest_record_batch($1::jsonb, $2, $3, $4::bigint[], $5, $6, NULL, $7::interval, $8::interval)
"""


@dataclass(frozen=True, slots=True)
class Ledger:
    """What every call names: the issuance slot accounts, and the platform's daily budget if one is set."""

    issuance_accounts: Sequence[int]
    budget_g: int | None


async def call(
    connection: asyncpg.Connection,
    postings: Sequence[Posting],
    *,
    source: Source,
    partner_id: int | None,
    ledger: Ledger,
    today: date,
    write_limit: Limit | None = None,
) -> dict[int, Result]:
    """One call of `ingest_record_batch()`: each posting's result by its `ord`. Each posting that names a
    `rate_key` takes a step of `write_limit` first; one over its limit is answered `WriteLimited` and the
    others are posted as if it had not been sent."""
    rows = await connection.fetch(
        _POST_SQL,
        orjson.dumps(postings).decode(),
        source.value,
        partner_id,
        list(ledger.issuance_accounts),
        today,
        ledger.budget_g,
        write_limit.interval if write_limit else None,
        write_limit.period if write_limit else None,
    )
    return {row[0]: result_of(row) for row in rows}


@dataclass(slots=True)
class _Waiting:
    posting: Posting
    today: date
    answer: asyncio.Future[Result]


@dataclass
class Recorder:
    """Posts behaviours for one worker process. Built in the app's lifespan; `load` finds the issuance
    accounts once the database answers, and until then every post is refused as the database's outage.
    `connect` gives a statement connection (Database.statement_connection)."""

    connect: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
    budget_g: int | None
    resident_write_limit: Limit
    _ledger: Ledger | None = None
    _waiting: list[_Waiting] = field(default_factory=list)
    _calls: set[asyncio.Task[None]] = field(default_factory=set)

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session:
            accounts = await repository.issuance_account_ids(session)
        self._ledger = Ledger(accounts, self.budget_g)

    @property
    def loaded(self) -> bool:
        return self._ledger is not None

    def require_ready(self) -> None:
        """503 while the ledger's accounts are not yet loaded."""
        self.ledger()

    def ledger(self) -> Ledger:
        """The ledger's accounts, or 503 while they are not yet loaded."""
        if self._ledger is None:
            raise DatabaseUnavailable(
                "Recording starts once the database answers.", "数据库就绪后即可记录。", retry_after_s=5
            )
        return self._ledger

    async def post(self, posting: Posting, *, today: date) -> Result:
        """Post one resident's report (counted on `today`), in the next call this worker makes."""
        self.require_ready()
        waiting = _Waiting(posting, today, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        # A call task is done the moment its loop ends (its removal from the set comes later), and a
        # running one looks at the waiting reports again before it ends.
        if sum(not call.done() for call in self._calls) < CALLS:
            task = asyncio.create_task(self._call_while_waiting())
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
        return await waiting.answer

    async def post_batch(
        self, connection: asyncpg.Connection, postings: Sequence[Posting], *, partner_id: int, today: date
    ) -> dict[int, Result]:
        """Post a partner's records in one call, on the request's connection: each result by its `ord`."""
        return await call(
            connection, postings, source=Source.partner, partner_id=partner_id, ledger=self.ledger(), today=today
        )

    async def close(self) -> None:
        """Let the calls running finish (their reports' requests are finishing too) before the pool closes."""
        await asyncio.gather(*self._calls, return_exceptions=True)

    def _next(self) -> list[_Waiting]:
        """The oldest waiting reports, at most one per resident and all of one day (the day the caps and
        the budget are counted on), up to REPORTS; the rest keep their places."""
        taken: list[_Waiting] = []
        kept: list[_Waiting] = []
        residents: set[int | None] = set()
        for waiting in self._waiting:
            resident = waiting.posting.get("resident_id")
            if len(taken) < REPORTS and resident not in residents and (not taken or waiting.today == taken[0].today):
                residents.add(resident)
                taken.append(waiting)
            else:
                kept.append(waiting)
        self._waiting = kept
        return taken

    async def _call_while_waiting(self) -> None:
        reports: list[_Waiting] = []
        try:
            while self._waiting:
                reports = self._next()
                await self._answer(reports)
        except BaseException:  # cancelled (the worker is stopping): no report may wait for ever
            for waiting in [*reports, *self._waiting]:
                waiting.answer.cancel()
            self._waiting.clear()
            raise

    async def _answer(self, reports: list[_Waiting]) -> None:
        try:
            results = await self._call(reports)
        except Exception as error:
            if len(reports) > 1 and _refuses_a_record(error):
                logger.warning("a gathered recording call was refused; recording its reports one by one")
                await self._one_by_one(reports)
            else:
                for waiting in reports:
                    _fail(waiting, error)
            return
        for number, waiting in enumerate(reports):
            _succeed(waiting, results[number])

    async def _one_by_one(self, reports: list[_Waiting]) -> None:
        for number, waiting in enumerate(reports):
            try:
                results = await self._call([waiting])
            except Exception as error:
                if not _refuses_a_record(error):  # the database itself failed: so would the rest
                    for failed in reports[number:]:
                        _fail(failed, error)
                    return
                _fail(waiting, error)
            else:
                _succeed(waiting, results[0])

    async def _call(self, reports: list[_Waiting]) -> dict[int, Result]:
        for number, waiting in enumerate(reports):
            waiting.posting["ord"] = number
        async with self.connect() as connection:
            return await call(
                connection,
                [waiting.posting for waiting in reports],
                source=Source.resident,
                partner_id=None,
                ledger=self.ledger(),
                today=reports[0].today,
                write_limit=self.resident_write_limit,
            )


def _refuses_a_record(error: Exception) -> bool:
    """A failure one record can cause (data the database cannot take, a constraint it breaks), as opposed
    to the database failing (an outage, a timeout, a lock it could not get), which fails every report."""
    return isinstance(error, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError)


def _succeed(waiting: _Waiting, result: Result) -> None:
    if not waiting.answer.done():  # its request may have gone (the client disconnected)
        waiting.answer.set_result(result)


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.answer.done():
        waiting.answer.set_exception(error)
