"""The retention schedule and the pass that applies it.

What has passed its time is removed or coarsened, never the amounts: a behaviour's evidence goes and its
start and end become the start of its local day `evidence_days` after it was recorded (its quantity,
factor, calculation, credit and ledger entries stay, as long as the ledger); a device is forgotten
`device_days` after the last sign-in from it; a refused piece of evidence goes after `refusal_days`; what
a resolved fraud flag says (figures, times, a shared device's id) goes `evidence_days` after it was
resolved; a
refresh token `session_days` after it expired; a photo and its stored bytes after `photo_days` (the
photos domain's own pass, service/photos/retention.py, run from here). An account marked deleted but not erased (erasure.py)
is erased by the pass too.

`run_once` works in chunks of one short transaction each, so no pass holds locks for long, and records
itself in privacy_retention_run with what it did. One pass per deployment at a time: each chunk takes an
advisory lock without waiting, and a pass that finds it held stops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import personal as accounts
from service.config import Settings
from service.consent import personal as consent
from service.db import Database, try_xact_lock
from service.ingest import personal as ingest
from service.photos import retention as photo_retention
from service.photos.storage import PhotoStorage
from service.privacy import erasure, repository
from service.privacy.schemas import RetentionRunRead, RetentionScheduleRead
from service.redemption.codes import VoucherCodes

LOCK_KEY = 0x7470_7276  # "tprv": one pass at a time across all workers and hosts
BATCH = 500
# Erasing an account touches every domain: fewer of them to a transaction.
ACCOUNTS_BATCH = 20


@dataclass(frozen=True, slots=True)
class Schedule:
    evidence_days: int
    device_days: int
    refusal_days: int
    session_days: int
    photo_days: int

    @classmethod
    def of(cls, settings: Settings) -> Schedule:
        return cls(
            evidence_days=settings.retention_evidence_days,
            device_days=settings.retention_device_days,
            refusal_days=settings.retention_refusal_days,
            session_days=settings.retention_session_days,
            photo_days=settings.photo_retention_days,
        )

    def read(self) -> RetentionScheduleRead:
        return RetentionScheduleRead(**asdict(self))


# One chunk of one kind, in its own transaction: how many rows it changed, and whether more may be due.
Chunk = Callable[[AsyncSession], Awaitable[tuple[int, bool]]]


def _chunks(
    schedule: Schedule, now: datetime, batch: int, *, storage: PhotoStorage, codes: VoucherCodes
) -> dict[str, Chunk]:
    def days_ago(days: int) -> datetime:
        return now - timedelta(days=days)

    async def behaviours(session: AsyncSession) -> tuple[int, bool]:
        after = await repository.behaviour_mark(session)
        through, changed, more = await ingest.coarsen_recorded_before(
            session, after=after, before=days_ago(schedule.evidence_days), limit=batch
        )
        if through != after:
            await repository.set_behaviour_mark(session, through)
        return changed, more

    async def deleted_accounts(session: AsyncSession) -> tuple[int, bool]:
        limit = min(batch, ACCOUNTS_BATCH)
        erased = await erasure.erase_deleted(session, storage=storage, codes=codes, limit=limit)
        return erased, erased == limit

    def pruning(prune: Callable[..., Awaitable[int]], days: int) -> Chunk:
        async def chunk(session: AsyncSession) -> tuple[int, bool]:
            deleted = await prune(session, before=days_ago(days), limit=batch)
            return deleted, deleted == batch

        return chunk

    return {
        "deleted_accounts": deleted_accounts,
        "behaviours_coarsened": behaviours,
        "devices": pruning(accounts.prune_devices, schedule.device_days),
        "evidence_refusals": pruning(ingest.prune_refusals, schedule.refusal_days),
        "flags_cleared": pruning(ingest.clear_resolved_flags, schedule.evidence_days),
        "refresh_tokens": pruning(accounts.prune_refresh_tokens, schedule.session_days),
        # a link code lives minutes: once expired, used or not, it is kept no longer
        "link_codes": pruning(consent.prune_link_codes, 0),
    }


async def run_once(
    db: Database,
    storage: PhotoStorage,
    *,
    codes: VoucherCodes,
    schedule: Schedule,
    now: datetime | None = None,
    batch: int = BATCH,
) -> RetentionRunRead | None:
    """Apply the schedule as of `now` and record the run; None when another pass holds the lock."""
    started_at = datetime.now(UTC)
    now = now or started_at
    counts: dict[str, int] = {}
    for kind, chunk in _chunks(schedule, now, batch, storage=storage, codes=codes).items():
        counts[kind] = 0
        more = True
        while more:
            async with db.sessionmaker.begin() as session:
                if not await try_xact_lock(session, LOCK_KEY):
                    return None
                changed, more = await chunk(session)
            counts[kind] += changed
    purged = await photo_retention.purge_once(db, storage, retention_days=schedule.photo_days, now=now, batch=batch)
    counts |= {"photos": purged.photos, "photo_objects": purged.objects}
    async with db.sessionmaker.begin() as session:
        run = await repository.insert_run(session, started_at=started_at, schedule=asdict(schedule), counts=counts)
        return RetentionRunRead.model_validate(run)
