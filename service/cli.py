"""The `tanpuhui` command.

tanpuhui serve                    serve HTTP (embedded PostgreSQL unless TANPUHUI_DATABASE_URL is set)
tanpuhui migrate upgrade [REV]    apply migrations (default: head)
tanpuhui migrate downgrade REV    revert migrations
tanpuhui db show-function NAME    print a stored function as the database runs it and name its current file
tanpuhui keys generate [--kid K]  print a new access-token signing key as TANPUHUI_JWT_KEYS JSON
tanpuhui create-user USERNAME --role ROLE [--enterprise-id N] [--scope-community-id N]   password from stdin or prompted
tanpuhui credits expire           expire what is left of credits past their validity now (as the job does)
tanpuhui sites keygen             print a new site key pair (private seed and public key, base64url)
tanpuhui sites sign --site-id N --key-number K --private-key-file PATH [--at ISO-8601] [--window-minutes M]
                                  print the site code of the window that time (default now) falls in
tanpuhui audit verify             recompute the ledger's invariants and the sealed log; exits 1 on a problem
tanpuhui openapi [--check]        write mobile_api_docs/openapi.json from the app (--check: exit 1 if it differs)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.config import ConfigurationRefused, Settings, check_production, check_startup
from service.kit.logging import configure_logging


def _settings(*, serving: bool = False, host: str | None = None) -> Settings:
    """The settings, refused as check_production says; for `serve`, as check_startup says of the address it
    will serve on (`host`, else the settings' own)."""
    settings = Settings()
    try:
        if serving:
            check_startup(settings, host=host or settings.host)
        else:
            check_production(settings)
    except ConfigurationRefused as refused:
        print(str(refused), file=sys.stderr)
        raise SystemExit(2) from None
    return settings


@contextlib.contextmanager
def _database_url(settings: Settings) -> Iterator[str]:
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    from service.embedded_postgres import EmbeddedPostgres

    embedded = EmbeddedPostgres(settings.embedded_pgdata)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from service.kit import httpprotocol

    settings = _settings(serving=True, host=args.host)
    host = args.host or settings.host
    port = args.port or settings.port
    configure_logging(settings.log_level)
    logging.getLogger("tanpuhui").log(*settings.startup_notice(host))
    if args.workers > 1 and settings.uses_embedded_database:
        print(
            "--workers above 1 needs TANPUHUI_DATABASE_URL: the embedded database serves one process", file=sys.stderr
        )
        raise SystemExit(2)
    docs = f"  (Swagger UI: http://{host}:{port}/docs)" if settings.docs_enabled else ""
    print(f"tanpuhui: serving on http://{host}:{port}{docs}", flush=True)
    options: dict[str, Any] = {
        "app": "service.main:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips or None,
        "server_header": False,
        "timeout_keep_alive": settings.keep_alive_s,
        "http": httpprotocol.IMPORT_PATH,
    }
    if args.workers > 1:
        from service.kit.workers import Supervisor

        supervisor = Supervisor(
            options, workers=args.workers, log_level=settings.log_level, hung_after_s=settings.worker_timeout_s
        )
        raise SystemExit(supervisor.run())
    uvicorn.run(**options)


def migrate(args: argparse.Namespace) -> None:
    from service.db import run_migrations

    settings = _settings()
    configure_logging(settings.log_level)
    with _database_url(settings) as url:
        run_migrations(
            url,
            args.revision,
            downgrade=args.direction == "downgrade",
            secret_key=settings.secret_key.get_secret_value(),
        )
    print(f"migrations: {args.direction} {args.revision} done")


def db_show_function(args: argparse.Namespace) -> None:
    from service.db import SERVICE_DIR, Database, current_sql_files, stored_definitions

    settings = _settings()

    async def run(url: str) -> list[str]:
        db = Database(url, settings=settings)
        try:
            return await stored_definitions(db.engine, args.name)
        finally:
            await db.dispose()

    with _database_url(settings) as url:
        definitions = asyncio.run(run(url))
    path = current_sql_files().get(args.name)
    current = f"its current file is {path.relative_to(SERVICE_DIR.parent)}" if path else "it has no current file"
    if not definitions:
        print(f"tanpuhui: the database has no function named {args.name!r} ({current})", file=sys.stderr)
        raise SystemExit(1)
    print(f"-- {args.name}() as the database runs it; {current}")
    for definition in definitions:
        print(definition.rstrip("\n"))


def keys_generate(args: argparse.Namespace) -> None:
    from service.accounts.tokens import generate_signing_key_pem

    kid = args.kid or datetime.now(UTC).strftime("k%Y%m%d%H%M")
    print(json.dumps([{"kid": kid, "private_key": generate_signing_key_pem()}]))


def create_user(args: argparse.Namespace) -> None:
    from pydantic import ValidationError

    from service.accounts import staff
    from service.accounts.models import Role
    from service.accounts.schemas import UserCreate
    from service.db import Database
    from service.errors import AppError

    settings = _settings()
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("password: ")
    try:
        data = UserCreate(
            username=args.username,
            password=password,
            display_name=args.display_name or args.username,
            role=Role(args.role),  # type: ignore[arg-type]
            enterprise_id=args.enterprise_id,
            scope_community_id=args.scope_community_id,
        )
    except ValidationError as exc:
        sys.exit("refused: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))

    async def run(url: str) -> None:
        db = Database(url, settings=settings)
        try:
            async with db.sessionmaker.begin() as session:
                user = await staff.add_user(session, admin=None, data=data)
            print(f"created {user.role.value} user {user.username} (id {user.id})")
        except AppError as exc:
            sys.exit(f"refused: {exc.detail_en}")
        finally:
            await db.dispose()

    with _database_url(settings) as url:
        asyncio.run(run(url))


def factors_load(args: argparse.Namespace) -> None:
    from pathlib import Path

    from service.db import Database
    from service.factors import service as factors_service
    from service.factors.errors import FactorFileInvalid

    settings = _settings()
    path = Path(args.path)
    text = path.read_text(encoding="utf-8")
    try:
        factors_service.parse(text)  # refuse an invalid file before touching the database
    except FactorFileInvalid as invalid:
        print(f"{path}: {invalid.detail_en}", file=sys.stderr)
        for problem in invalid.errors:
            print(f"  {problem['field'] or '(file)'}: {problem['message']}", file=sys.stderr)
        raise SystemExit(1) from None

    async def run(url: str) -> None:
        db = Database(url, settings=settings)
        try:
            async with db.sessionmaker.begin() as session:
                published = await factors_service.publish_by_operator(session, operator=None, source_text=text)
            version = published.version
            state = "published" if published.created else "already published, unchanged"
            print(f"{version.set} {version.version}: {state} (version id {version.version_id})")
        finally:
            await db.dispose()

    with _database_url(settings) as url:
        asyncio.run(run(url))


def credits_expire(args: argparse.Namespace) -> None:
    from service.db import Database
    from service.ledger import expiry

    settings = _settings()
    configure_logging(settings.log_level)

    async def run(url: str) -> None:
        db = Database(url, settings=settings)
        try:
            expired = await expiry.run_once(db, months=settings.credit_validity_months)
        finally:
            await db.dispose()
        if expired is None:
            print("another expiry job is running; nothing done")
        else:
            print(f"expired {expired.grams} g of {expired.residents} residents' credits")

    with _database_url(settings) as url:
        asyncio.run(run(url))


def sites_keygen(args: argparse.Namespace) -> None:
    from service.sites import keypairs

    seed, public = keypairs.generate()
    print(f"private_key: {keypairs.encode(seed)}\npublic_key:  {keypairs.encode(public)}")


def sites_sign(args: argparse.Namespace) -> None:
    from service.sites import codes, keypairs

    try:
        seed = keypairs.decode(Path(args.private_key_file).read_text(encoding="utf-8").strip())
        at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
        if at.tzinfo is None:
            raise ValueError("--at needs a UTC offset, e.g. 2026-12-06T08:30:00+08:00")
        start = codes.window_start_for(at, args.window_minutes)
        print(codes.sign(seed, args.site_id, args.key_number, start, args.window_minutes))
    except (OSError, ValueError) as refused:
        print(f"tanpuhui: {refused}", file=sys.stderr)
        raise SystemExit(2) from None


def audit_verify(args: argparse.Namespace) -> None:
    from service.audit.signing import CheckpointSigner
    from service.audit.verify import verify
    from service.db import Database

    settings = _settings()
    signer = CheckpointSigner(settings.secret_key.get_secret_value())

    async def run(url: str) -> bool:
        db = Database(url, settings=settings)
        try:
            report = await verify(
                db, public_key=signer.public_key, progress=lambda step: print(step.message, file=sys.stderr)
            )
        finally:
            await db.dispose()
        for check in report.checks:
            print(f"{'ok' if check.ok else 'FAILED'}  {check.name}: {check.checked:,} checked")
            for problem in check.problems:
                print(f"    {problem}")
            if check.more:
                print(f"    … and {check.more} more")
        return report.ok

    with _database_url(settings) as url:
        if not asyncio.run(run(url)):
            raise SystemExit(1)


def openapi(args: argparse.Namespace) -> None:
    from service.kit.devdb import CHECKOUT
    from service.main import EXPORTED, exported_document

    path = args.output or CHECKOUT / EXPORTED
    document = exported_document()
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != document:
            print(f"{path} differs from the app's OpenAPI document: run `make openapi`", file=sys.stderr)
            raise SystemExit(1)
        return
    path.write_text(document, encoding="utf-8")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tanpuhui", description="Haihe carbon-inclusion platform")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="serve HTTP")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1, help="worker processes (the embedded database needs 1)")
    p.set_defaults(func=serve)

    p = commands.add_parser("migrate", help="apply or revert database migrations")
    p.add_argument("direction", choices=["upgrade", "downgrade"])
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=migrate)

    p = commands.add_parser("db", help="the database's stored functions")
    db = p.add_subparsers(dest="db_command", required=True)
    g = db.add_parser("show-function", help="print a function as the database runs it and name its current file")
    g.add_argument("name")
    g.set_defaults(func=db_show_function)

    p = commands.add_parser("keys", help="signing keys")
    keys = p.add_subparsers(dest="keys_command", required=True)
    g = keys.add_parser("generate", help="print a new Ed25519 signing key as TANPUHUI_JWT_KEYS JSON")
    g.add_argument("--kid")
    g.set_defaults(func=keys_generate)

    p = commands.add_parser("factors", help="emission-factor versions")
    factors = p.add_subparsers(dest="factors_command", required=True)
    g = factors.add_parser("load", help="validate a factor file and publish it as an immutable version")
    g.add_argument("path")
    g.set_defaults(func=factors_load)

    p = commands.add_parser("create-user", help="create an enterprise or administrator user")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["enterprise", "admin-auditor", "admin-operator", "admin-super"])
    p.add_argument("--display-name")
    p.add_argument("--enterprise-id", type=int)
    p.add_argument("--scope-community-id", type=int, help="an auditor's or operator's one community")
    p.set_defaults(func=create_user)

    p = commands.add_parser("credits", help="credit housekeeping")
    credits = p.add_subparsers(dest="credits_command", required=True)
    g = credits.add_parser("expire", help="expire what is left of credits past their validity")
    g.set_defaults(func=credits_expire)

    p = commands.add_parser("sites", help="site keys and codes")
    sites = p.add_subparsers(dest="sites_command", required=True)
    g = sites.add_parser("keygen", help="print a new Ed25519 key pair for a site")
    g.set_defaults(func=sites_keygen)
    g = sites.add_parser("sign", help="print a site's code for now or for --at")
    g.add_argument("--site-id", type=int, required=True)
    g.add_argument("--key-number", type=int, required=True)
    g.add_argument("--private-key-file", required=True, help="a file holding the private key in base64url")
    g.add_argument("--at", help="a time with its UTC offset (ISO 8601); default now")
    g.add_argument("--window-minutes", type=int, default=1, help="the window length, 1-10 (default 1)")
    g.set_defaults(func=sites_sign)

    p = commands.add_parser("audit", help="ledger audit")
    audit = p.add_subparsers(dest="audit_command", required=True)
    g = audit.add_parser("verify", help="recompute balances, issuance and the sealed log; exit 1 on a problem")
    g.set_defaults(func=audit_verify)

    p = commands.add_parser("openapi", help="export the OpenAPI document for front-end developers")
    p.add_argument(
        "--output", type=Path, help="where to write it (default: the checkout's mobile_api_docs/openapi.json)"
    )
    p.add_argument("--check", action="store_true", help="exit 1 if the file differs from the app's document")
    p.set_defaults(func=openapi)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
