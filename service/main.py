"""create_app(): settings, lifespan, middleware, routers and error handlers; and the API document it serves."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from service.accounts import staff
from service.accounts import tasks as accounts_tasks
from service.accounts.admin_router import router as accounts_admin_router
from service.accounts.revocations import Revocations
from service.accounts.router import router as accounts_router
from service.accounts.security_router import router as accounts_security_router
from service.accounts.tokens import Keyring
from service.accounts.wechat import WechatClient
from service.audit import tasks as audit_tasks
from service.audit.admin_router import router as audit_admin_router
from service.audit.router import router as audit_router
from service.audit.signing import CheckpointSigner
from service.config import Environment, Settings, check_startup
from service.consent.router import router as consent_router
from service.db import Database, DatabaseDep, open_database
from service.errors import DatabaseUnavailable, install_handlers, is_database_outage
from service.factors import service as factors_service
from service.factors import tasks as factors_tasks
from service.factors.cache import FactorCache
from service.factors.router import router as factors_router
from service.ingest import tasks as ingest_tasks
from service.ingest.router import router as ingest_router
from service.kit import apidocs, console, openapi
from service.kit.middleware import RequestContextMiddleware
from service.kit.ratelimit import Limit
from service.kit.secrets import SecretBox, derive_key
from service.leaderboard import tasks as leaderboard_tasks
from service.leaderboard.cache import TopCache
from service.leaderboard.router import router as leaderboard_router
from service.ledger import tasks as ledger_tasks
from service.ledger.posting import Recorder
from service.ledger.router import router as ledger_router
from service.photos.router import body_limits as photo_body_limits
from service.photos.router import router as photos_router
from service.photos.storage import PhotoStorage, storage_for
from service.privacy import tasks as privacy_tasks
from service.privacy.router import router as privacy_router
from service.redemption.codes import VoucherCodes
from service.redemption.router import router as redemption_router
from service.sites import tasks as sites_tasks
from service.sites.cache import SiteCache
from service.sites.router import router as sites_router
from service.webhooks import signing as webhook_signing
from service.webhooks import tasks as webhooks_tasks
from service.webhooks.router import enterprise_router as webhooks_enterprise_router
from service.webhooks.router import partner_router as webhooks_partner_router

logger = logging.getLogger("tanpuhui")

# Where `tanpuhui openapi` writes the API document front-end developers build from.
EXPORTED = "mobile_api_docs/openapi.json"


async def _prepare_recording(
    db: Database,
    settings: Settings,
    cache: FactorCache,
    sites: SiteCache,
    recorder: Recorder,
    revocations: Revocations,
) -> None:
    """Publish the factor files (a no-op for versions already stored), fill the caches, find issuance slots,
    and read the access revocations in force."""
    if settings.load_factors_on_start and settings.factors_dir.is_dir():
        async with db.sessionmaker.begin() as session:
            published = await factors_service.publish_directory(
                session, directory=settings.factors_dir, published_by="startup"
            )
        for item in published:
            if item.created:
                fs = item.stored.factor_set
                logger.info("factor version published", extra={"set": fs.set, "version": fs.version})
    await revocations.load(db)
    await cache.refresh(db.sessionmaker)
    await sites.refresh(db.sessionmaker)
    await recorder.load(db.sessionmaker)


async def _prepare_recording_when_possible(prepare: Callable[[], Awaitable[None]], recorder: Recorder) -> None:
    """Started while the database is down: keep trying, so recording begins once it answers."""
    while not recorder.loaded:
        await asyncio.sleep(2)
        try:
            await prepare()
        except Exception as exc:
            if not is_database_outage(exc):
                logger.exception("preparing recording failed")


async def _ensure_demo_admin(db: Database) -> None:
    async with db.sessionmaker.begin() as session:
        created = await staff.ensure_demo_admin(session)
    if created:
        username, password = created
        sys.stdout.write(
            "\n  Demo administrator created (shown once, save it now):\n"
            f"    username: {username}\n    password: {password}\n"
            "  Sign in: POST /v1/auth/login  ·  Swagger UI: /docs\n\n"
        )
        sys.stdout.flush()


def _background(
    db: Database,
    settings: Settings,
    cache: FactorCache,
    sites: SiteCache,
    signer: CheckpointSigner,
    photos: PhotoStorage,
    revocations: Revocations,
    codes: VoucherCodes,
    webhook_box: SecretBox,
) -> list[Coroutine[Any, Any, None]]:
    """The loops this process runs: each domain's, as its settings ask (tasks.py in each domain)."""
    loops = [
        accounts_tasks.prune(db, settings),
        accounts_tasks.follow_revocations(db, revocations),
        factors_tasks.follow_versions(db, cache),
        sites_tasks.follow_registry(db, sites),
    ]
    if settings.receipt_sealer:
        loops.append(audit_tasks.seal_receipts(db, settings, signer))
    if settings.dashboard_tally:
        loops.append(audit_tasks.tally_dashboard(db, settings))
    if settings.fraud_scan:
        loops.append(ingest_tasks.scan_for_fraud(db, settings, cache))
    if settings.credit_expiry:
        loops.append(ledger_tasks.expire_credits(db, settings))
    if settings.leaderboard_rollup:
        loops.append(leaderboard_tasks.roll_up(db, settings))
    if settings.webhook_dispatch:
        loops.append(webhooks_tasks.dispatch_webhooks(db, settings, webhook_box))
    if settings.retention:
        loops.append(privacy_tasks.apply_retention(db, settings, photos, codes))
    return loops


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    check_startup(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_database(settings) as db,
            httpx.AsyncClient(timeout=settings.wechat_timeout_s) as http,
        ):
            app.state.db = db
            app.state.after_commit = [
                # the app's database as it is at each call, as database_of(request) reads it
                lambda session: app.state.revocations.after_commit(app.state.db, session)
            ]
            if settings.demo_admin_enabled:
                await _ensure_demo_admin(db)
            app.state.wechat = WechatClient(settings, http)
            app.state.factor_cache = cache = FactorCache()
            app.state.site_cache = sites = SiteCache()
            app.state.recorder = recorder = Recorder(
                # the app's database as it is at each call, as database_of(request) reads it
                connect=lambda: app.state.db.statement_connection(),
                budget_g=settings.daily_issuance_budget_g,
                resident_write_limit=Limit(settings.rate_resident_writes_per_min),
            )
            tasks = [
                asyncio.create_task(loop)
                for loop in _background(
                    db,
                    settings,
                    cache,
                    sites,
                    app.state.checkpoint_signer,
                    app.state.photo_storage,
                    app.state.revocations,
                    app.state.voucher_codes,
                    app.state.webhook_box,
                )
            ]
            prepare = functools.partial(_prepare_recording, db, settings, cache, sites, recorder, app.state.revocations)
            try:
                await prepare()
            except Exception as exc:
                if not is_database_outage(exc):
                    raise
                logger.warning("database unavailable at start; recording waits for it")
                tasks.append(asyncio.create_task(_prepare_recording_when_possible(prepare, recorder)))
            logger.info("tanpuhui ready", extra={"env": settings.env.value})
            # What start-up built lives as long as the process: out of the collector's sight, a full
            # collection scans only what requests left behind, not all of it every time.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
                await recorder.close()
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
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.keyring = Keyring(settings)
    # a revocation matters while a token it concerns may still be presented: a lifetime and the leeway
    app.state.revocations = Revocations(within=timedelta(seconds=settings.access_token_ttl_s + 60))
    app.state.top_cache = TopCache(settings.leaderboard_cache_s)
    app.state.checkpoint_signer = CheckpointSigner(settings.secret_key.get_secret_value())
    app.state.secret_box = SecretBox(derive_key(settings.secret_key.get_secret_value(), "partner-secrets"))
    app.state.totp_box = SecretBox(derive_key(settings.secret_key.get_secret_value(), "staff-totp-secrets"))
    app.state.voucher_codes = VoucherCodes(settings.secret_key.get_secret_value())
    app.state.webhook_box = webhook_signing.box_for(settings)
    app.state.photo_storage = storage_for(settings)
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, body_limits=photo_body_limits(settings)
    )
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
    app.include_router(consent_router)
    app.include_router(accounts_router)
    app.include_router(privacy_router)
    app.include_router(accounts_admin_router)
    app.include_router(accounts_security_router)
    app.include_router(factors_router)
    app.include_router(sites_router)
    app.include_router(ledger_router)
    app.include_router(leaderboard_router)
    app.include_router(redemption_router)
    app.include_router(photos_router)
    app.include_router(webhooks_partner_router)
    app.include_router(webhooks_enterprise_router)
    app.include_router(audit_router)
    app.include_router(audit_admin_router)
    openapi.install(app)
    if settings.docs_enabled:
        apidocs.install(app)
    console.install(app)
    return app


def exported_document() -> str:
    """The API document as committed to mobile_api_docs/openapi.json: the same whatever the settings."""
    url = SecretStr("postgresql://tanpuhui@localhost/tanpuhui")
    settings = Settings(_env_file=None, env=Environment.test, database_url=url)
    return json.dumps(create_app(settings).openapi(), ensure_ascii=False, indent=2) + "\n"
