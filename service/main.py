"""create_app(): settings, lifespan, middleware, routers and error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from service.accounts import repository as accounts_repository
from service.accounts import service as accounts_service
from service.accounts.router import router as accounts_router
from service.accounts.tokens import Keyring
from service.accounts.wechat import WechatClient
from service.audit import sealer
from service.audit.router import router as audit_router
from service.audit.signing import CheckpointSigner
from service.config import Settings, check_production
from service.db import Database, DatabaseDep, open_database
from service.errors import DatabaseUnavailable, install_handlers, is_database_outage, log_background_failure
from service.factors import service as factors_service
from service.factors.cache import FactorCache
from service.factors.router import router as factors_router
from service.ingest import flags as fraud_flags
from service.ingest.router import router as ingest_router
from service.ingest.service import Ingest
from service.kit import openapi, ratelimit
from service.kit.middleware import RequestContextMiddleware
from service.kit.secrets import SecretBox, derive_key
from service.leaderboard import rollup as leaderboard_rollup
from service.leaderboard.cache import TopCache
from service.leaderboard.router import router as leaderboard_router
from service.ledger import expiry as credit_expiry
from service.ledger import service as ledger_service
from service.ledger.router import router as ledger_router
from service.redemption.router import router as redemption_router

logger = logging.getLogger("tanpuhui")

MAINTENANCE_INTERVAL_S = 60


async def _maintenance(db: Database, settings: Settings) -> None:
    """Prune spent rate-limit buckets and partner signatures past their replay window."""
    window = timedelta(seconds=2 * settings.partner_signature_window_s)
    while True:
        await asyncio.sleep(MAINTENANCE_INTERVAL_S)
        try:
            await ratelimit.prune(db.engine)
            async with db.sessionmaker.begin() as session:
                await accounts_repository.prune_signatures(session, older_than=window)
        except Exception as exc:
            log_background_failure(logger, "maintenance pass", exc)


async def _prepare_ingest(db: Database, settings: Settings, ingest: Ingest) -> None:
    """Publish the factor files (a no-op for versions already stored), fill the cache, find issuance slots."""
    if settings.load_factors_on_start and settings.factors_dir.is_dir():
        async with db.sessionmaker.begin() as session:
            published = await factors_service.publish_directory(
                session, directory=settings.factors_dir, published_by="startup"
            )
        for item in published:
            if item.created:
                fs = item.stored.factor_set
                logger.info("factor version published", extra={"set": fs.set, "version": fs.version})
    await ingest.cache.refresh(db.sessionmaker)
    async with db.sessionmaker() as session:
        ingest.issuance_accounts[:] = await ledger_service.issuance_accounts(session)


async def _prepare_ingest_when_possible(db: Database, settings: Settings, ingest: Ingest) -> None:
    """Started while the database is down: keep trying, so recording begins once it answers."""
    while not ingest.ready:
        await asyncio.sleep(2)
        try:
            await _prepare_ingest(db, settings, ingest)
        except Exception as exc:
            if not is_database_outage(exc):
                logger.exception("preparing recording failed")


async def _ensure_demo_admin(db: Database) -> None:
    async with db.sessionmaker.begin() as session:
        created = await accounts_service.ensure_demo_admin(session)
    if created:
        username, password = created
        sys.stdout.write(
            "\n  Demo administrator created (shown once, save it now):\n"
            f"    username: {username}\n    password: {password}\n"
            "  Sign in: POST /v1/auth/login  ·  Swagger UI: /docs\n\n"
        )
        sys.stdout.flush()


def fraud_thresholds(settings: Settings) -> fraud_flags.Thresholds:
    return fraud_flags.Thresholds(
        speed_ratio=settings.fraud_speed_ratio,
        burst_records=settings.fraud_burst_records,
        burst_window_s=settings.fraud_burst_window_s,
        device_residents=settings.fraud_device_residents,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    check_production(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_database(settings) as db,
            httpx.AsyncClient(timeout=settings.wechat_timeout_s) as http,
        ):
            app.state.db = db
            if settings.demo_admin_enabled:
                await _ensure_demo_admin(db)
            app.state.wechat = WechatClient(settings, http)
            app.state.ingest = ingest = Ingest(
                cache=FactorCache(),
                issuance_accounts=[],
                budget_g=settings.daily_issuance_budget_g,
                resident_writes_per_min=settings.rate_resident_writes_per_min,
                # the app's database as it is at each call, as database_of(request) reads it
                connect=lambda: app.state.db.statement_connection(),
            )
            tasks = [
                asyncio.create_task(_maintenance(db, settings)),
                asyncio.create_task(ingest.cache.poll(db.sessionmaker)),
            ]
            if settings.receipt_sealer:
                tasks.append(
                    asyncio.create_task(
                        sealer.run_forever(db, app.state.checkpoint_signer, interval_s=settings.receipt_seal_interval_s)
                    )
                )
            if settings.fraud_scan:
                tasks.append(
                    asyncio.create_task(
                        fraud_flags.run_forever(
                            db, ingest.cache, fraud_thresholds(settings), interval_s=settings.fraud_scan_interval_s
                        )
                    )
                )
            if settings.credit_expiry:
                tasks.append(
                    asyncio.create_task(
                        credit_expiry.run_forever(
                            db, months=settings.credit_validity_months, interval_s=settings.credit_expiry_interval_s
                        )
                    )
                )
            if settings.leaderboard_rollup:
                tasks.append(
                    asyncio.create_task(
                        leaderboard_rollup.run_forever(db, interval_s=settings.leaderboard_rollup_interval_s)
                    )
                )
            try:
                await _prepare_ingest(db, settings, ingest)
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                logger.warning("database unavailable at start; recording waits for it")
                tasks.append(asyncio.create_task(_prepare_ingest_when_possible(db, settings, ingest)))
            logger.info("tanpuhui ready", extra={"env": settings.env.value})
            # What start-up built lives as long as the process: out of the collector's sight, a full
            # collection scans only what requests left behind (about 4 ms rather than 100 ms a pause).
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
                await ingest.gathering.close()
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app = FastAPI(
        title="tanpuhui — Haihe carbon-inclusion platform",
        version="0.1.0",
        description="碳普惠 back end for Jinnan, Tianjin: residents earn grams of CO₂e credit for low-carbon behaviour.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.keyring = Keyring(settings)
    app.state.top_cache = TopCache(settings.leaderboard_cache_s)
    app.state.checkpoint_signer = CheckpointSigner(settings.secret_key.get_secret_value())
    app.state.secret_box = SecretBox(derive_key(settings.secret_key.get_secret_value(), "partner-secrets"))
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    install_handlers(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(db: DatabaseDep) -> dict[str, str]:
        """The database answers."""
        try:
            async with asyncio.timeout(2), db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            raise DatabaseUnavailable from None
        return {"status": "ok"}

    # Routes are matched in order, one after another: recording, most of the traffic, comes first.
    app.include_router(ingest_router)
    app.include_router(accounts_router)
    app.include_router(factors_router)
    app.include_router(ledger_router)
    app.include_router(leaderboard_router)
    app.include_router(redemption_router)
    app.include_router(audit_router)
    openapi.install(app)
    return app
