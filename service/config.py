"""The one Settings class. Nothing else in the service reads the environment.

Every setting comes from an environment variable with the prefix ``TANPUHUI_`` (or a ``.env`` file).
Development conveniences — the embedded database, the demo administrator, the dev login and the built-in
signing keys — are on by default outside production; with ``TANPUHUI_ENV=production`` they default to
off, and `Settings.production_problems()` names every one still on so that the service refuses to start.
Outside production the service serves this machine only (`Settings.exposure_problems()`).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.hosts import is_internal_host, is_local_database, is_loopback

# A fixed key for development only; production refuses to start while it is in use.
DEVELOPMENT_SECRET_KEY = "tanpuhui-development-secret-key-not-for-production"  # noqa: S105


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class PhotoStorageKind(StrEnum):
    filesystem = "filesystem"
    s3 = "s3"


class SigningKey(BaseModel):
    """One access-token signing key: Ed25519 in PEM. Keys without `private_key` only verify."""

    kid: str = Field(min_length=1, max_length=64)
    private_key: SecretStr | None = None
    public_key: str | None = None

    @model_validator(mode="after")
    def _has_a_key(self) -> SigningKey:
        if self.private_key is None and self.public_key is None:
            raise ValueError(f"signing key {self.kid!r} needs private_key or public_key")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TANPUHUI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.development
    log_level: str = "INFO"

    # Database. Unset means: start an embedded PostgreSQL with its data under `data_dir`.
    database_url: SecretStr | None = None
    read_database_url: SecretStr | None = Field(
        default=None, description="optional streaming replica for read-only requests"
    )
    data_dir: Path = Path(".data")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_statement_timeout_ms: int = Field(default=15_000, ge=100)
    migrate_on_start: bool = True

    # Leaderboards: the background roll-up of ledger entries into scores (off: boards stop moving).
    leaderboard_rollup: bool = True
    leaderboard_rollup_interval_s: float = Field(default=1.0, gt=0, le=60)
    # Seconds each worker keeps a public top board before reading it again (0: read every request).
    leaderboard_cache_s: float = Field(default=1.0, ge=0, le=60)

    # Receipts: the background sealer of ledger entries into the signed Merkle log (off: no new receipts).
    receipt_sealer: bool = True
    receipt_seal_interval_s: float = Field(default=0.15, gt=0, le=10)

    # The dashboard: the background roll-up of transfers into its tallies (off: the dashboard reads the
    # transfers above the tallies' mark on every request, and grows slower as they pile up).
    dashboard_tally: bool = True
    dashboard_tally_interval_s: float = Field(default=1.0, gt=0, le=60)

    # Fraud flags: the background scan, how often, and what it flags.
    fraud_scan: bool = True
    fraud_scan_interval_s: float = Field(default=5.0, gt=0)
    fraud_speed_ratio: Decimal = Field(default=Decimal("0.9"), gt=0, le=1)
    fraud_burst_records: int = Field(default=20, ge=2)
    fraud_burst_window_s: int = Field(default=600, ge=10)
    fraud_device_residents: int = Field(default=3, ge=2)
    # A resident whose evidence is refused this many times within fraud_refused_evidence_window_s is flagged.
    fraud_refused_evidence: int = Field(default=3, ge=1)
    fraud_refused_evidence_window_s: int = Field(default=86_400, ge=60)

    # Credits: valid this many months from issue; the expiry job (off: nothing expires) runs this often.
    credit_validity_months: int = Field(default=24, ge=1, le=120)
    credit_expiry: bool = True
    credit_expiry_interval_s: float = Field(default=3600.0, gt=0)

    # HTTP.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Longer than a load balancer's idle timeout (commonly 60 s), so the balancer, not the service, closes
    # an idle connection: else a request sent as the service closes it is lost on the wire.
    keep_alive_s: int = Field(default=65, ge=1, le=3600)
    # A request's headers must arrive within this of its first byte, and its body within the other of its
    # headers; a connection past either is closed (a proxy in front should bound them too).
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    body_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # `serve --workers N`: a worker whose event loop has not ticked for this long is killed and replaced.
    worker_timeout_s: float = Field(default=30.0, ge=1, le=600)
    # Proxies whose X-Forwarded-For names the client's address: none by default (a client could otherwise
    # name any address it likes and slip past every per-address limit); production refuses "*".
    forwarded_allow_ips: str = Field(default="", description="proxies whose X-Forwarded-For names the client")

    # Development conveniences: None means "on outside production".
    demo_admin: bool | None = None
    dev_login: bool | None = None
    # The API's page at /docs (Swagger UI, served from the package): None means "on outside production".
    docs: bool | None = None
    # Outside production the service runs with those conveniences and a signing key anyone can read in the
    # source, so it serves this machine only: it refuses to bind another address or to use a database on
    # another machine unless this is set (and then says so, loudly, in its first log line).
    unsafe_expose_development: bool = False

    # Access and refresh tokens.
    jwt_keys: Annotated[list[SigningKey], NoDecode] = Field(default_factory=list)
    jwt_active_kid: str | None = None
    jwt_issuer: str = "tanpuhui"
    access_token_ttl_s: int = Field(default=600, ge=30, le=3600)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=600)
    # Administrators sign in with a TOTP code as well as their password; one who has not enrolled gets
    # tokens that reach only their own account until they do. None means "on in production".
    admin_totp_required: bool | None = None
    # Staff sign-in attempts are kept this long for their owners to read.
    signin_history_days: int = Field(default=90, ge=1, le=3650)

    # Encrypts partner secrets at rest and derives other server-side secrets.
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)

    # WeChat mini-program sign-in (code2session).
    wechat_appid: str = "wx-development"
    wechat_secret: SecretStr = SecretStr("")
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_timeout_s: float = Field(default=5.0, gt=0, le=30)

    # Emission factors and issuance.
    factors_dir: Path = Field(default=Path("emission_factors"), description="factor files published at start")
    load_factors_on_start: bool = True
    daily_issuance_budget_g: int | None = Field(
        default=None, ge=1, description="the platform's daily issuance budget in grams; unset for none"
    )

    # Residents' photos: where the bytes are kept (filesystem: under `data_dir`/photos; s3: an S3-compatible
    # bucket), how large an upload may be, how long photos are kept and how long an operator's link lasts.
    photo_storage: PhotoStorageKind = PhotoStorageKind.filesystem
    photo_s3_endpoint_url: str | None = Field(default=None, description="unset for AWS S3 itself")
    photo_s3_region: str = "us-east-1"
    photo_s3_bucket: str | None = None
    photo_s3_access_key_id: str | None = None
    photo_s3_secret_access_key: SecretStr | None = None
    photo_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Width × height; decoding a larger image could take far more memory than its file's size suggests.
    photo_max_pixels: int = Field(default=40_000_000, ge=1, le=80_000_000)
    # A reward's picture, uploaded by an enterprise and shown in the residents' catalogue.
    reward_image_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    photo_retention_days: int = Field(default=180, ge=1, description="part of the retention schedule below")
    photo_link_ttl_s: int = Field(default=300, ge=10, le=3600)
    photo_link_base_url: str = Field(
        default="",
        description="origin put before the service's own photo links and reward pictures; empty: they are paths",
    )

    # The retention schedule (service/privacy/retention.py; photos: photo_retention_days), in days from when a
    # row was recorded or last used; one pass applies all of it every retention_interval_s.
    retention: bool = True
    retention_interval_s: float = Field(default=3600.0, gt=0)
    retention_evidence_days: int = Field(default=365, ge=1, description="evidence, trip times and places")
    retention_device_days: int = Field(default=90, ge=1, description="devices, from their last sign-in")
    retention_refusal_days: int = Field(default=90, ge=1, description="refused evidence the fraud scan counts")
    retention_session_days: int = Field(default=30, ge=1, description="refresh tokens, past their expiry")

    # Partner request signing.
    partner_signature_window_s: int = Field(default=300, ge=30, le=900)
    # How long a resident's one-time code for linking a partner account may wait to be redeemed.
    link_code_ttl_s: int = Field(default=600, ge=60, le=3600)

    # Webhooks: the dispatcher (off: deliveries wait in the outbox), how often it looks for due ones, how many
    # it sends at once, an attempt's time limit, the waits before each retry (then failed), a claim's lease (past any attempt).
    webhook_dispatch: bool = True
    webhook_dispatch_interval_s: float = Field(default=1.0, gt=0, le=60)
    webhook_batch: int = Field(default=20, ge=1, le=200)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_s: list[Annotated[float, Field(ge=0)]] = Field(default=[5, 300, 1800, 7200, 18000, 36000, 36000])
    webhook_lease_s: float = Field(default=120.0, gt=60)

    # Rate limits, as requests per minute with an equal burst.
    # Password sign-in and enterprise registration per address: guessing passwords is what it stops.
    rate_signin_per_ip_per_min: int = Field(default=20, ge=1)
    # WeChat sign-in, refresh and sign-out per address: a code from wx.login or a refresh token cannot be
    # guessed, and a whole campus or a mobile carrier's NAT may share one address, so only floods are cut.
    rate_resident_signin_per_ip_per_min: int = Field(default=600, ge=1)
    # Password sign-ins of one username from one address; and from every address it has not signed in from
    # within signin_known_address_days, all together (a budget guesses from elsewhere cannot spend for the
    # addresses its owner uses).
    rate_signin_per_username_per_min: int = Field(default=10, ge=1)
    rate_signin_per_username_per_hour: int = Field(default=100, ge=1)
    signin_known_address_days: int = Field(default=90, ge=1, le=3650)
    rate_resident_writes_per_min: int = Field(default=120, ge=1)
    rate_partner_writes_per_min: int = Field(default=600, ge=1)
    rate_voucher_checks_per_min: int = Field(default=120, ge=1)

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @model_validator(mode="after")
    def _active_kid_is_known(self) -> Settings:
        if self.jwt_keys:
            kid = self.jwt_active_kid or self.jwt_keys[0].kid
            key = next((k for k in self.jwt_keys if k.kid == kid), None)
            if key is None or key.private_key is None:
                raise ValueError(f"jwt_active_kid {kid!r} must name a key with a private_key")
        return self

    @model_validator(mode="after")
    def _s3_is_configured(self) -> Settings:
        if self.photo_storage is PhotoStorageKind.s3:
            secret = self.photo_s3_secret_access_key.get_secret_value() if self.photo_s3_secret_access_key else ""
            missing = [
                name
                for name, value in (
                    ("TANPUHUI_PHOTO_S3_BUCKET", self.photo_s3_bucket),
                    ("TANPUHUI_PHOTO_S3_ACCESS_KEY_ID", self.photo_s3_access_key_id),
                    ("TANPUHUI_PHOTO_S3_SECRET_ACCESS_KEY", secret),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"photo_storage s3 needs {', '.join(missing)}")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def demo_admin_enabled(self) -> bool:
        return self.demo_admin if self.demo_admin is not None else not self.is_production

    @property
    def admin_totp_required_enabled(self) -> bool:
        return self.admin_totp_required if self.admin_totp_required is not None else self.is_production

    @property
    def docs_enabled(self) -> bool:
        return self.docs if self.docs is not None else not self.is_production

    @property
    def dev_login_enabled(self) -> bool:
        return self.dev_login if self.dev_login is not None else not self.is_production

    @property
    def uses_builtin_signing_keys(self) -> bool:
        return not self.jwt_keys

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_remote_database(self) -> bool:
        """The database is on another machine (not a Unix socket, localhost or a loopback address)."""
        return self.database_url is not None and not is_local_database(self.database_url.get_secret_value())

    @cached_property
    def embedded_pgdata(self) -> Path:
        return (self.data_dir / "postgres").resolve()

    @cached_property
    def photos_dir(self) -> Path:
        return (self.data_dir / "photos").resolve()

    def production_problems(self) -> list[str]:
        """What keeps this configuration from running in production; empty when nothing does."""
        if not self.is_production:
            return []
        problems = []
        if self.uses_embedded_database:
            problems.append("TANPUHUI_DATABASE_URL is unset: the embedded database is for development")
        if self.demo_admin_enabled:
            problems.append("TANPUHUI_DEMO_ADMIN is on")
        if self.dev_login_enabled:
            problems.append("TANPUHUI_DEV_LOGIN is on")
        if self.uses_builtin_signing_keys:
            problems.append("TANPUHUI_JWT_KEYS is unset: the built-in signing key is for development")
        if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
            problems.append("TANPUHUI_SECRET_KEY is the development default")
        elif len(self.secret_key.get_secret_value()) < 32:
            problems.append("TANPUHUI_SECRET_KEY must be at least 32 characters")
        if not self.wechat_secret.get_secret_value() or self.wechat_appid == "wx-development":
            problems.append("TANPUHUI_WECHAT_APPID and TANPUHUI_WECHAT_SECRET must be set")
        if "*" in (part.strip() for part in self.forwarded_allow_ips.split(",")):
            problems.append("TANPUHUI_FORWARDED_ALLOW_IPS is *: name the proxies in front of the service")
        wechat = urlsplit(self.wechat_api_base)
        if wechat.scheme != "https" or not wechat.hostname or is_internal_host(wechat.hostname):
            problems.append("TANPUHUI_WECHAT_API_BASE must be https to a public address")
        return problems

    def exposure_problems(self, host: str | None = None) -> list[str]:
        """What keeps this configuration, outside production, from starting: serving another machine (on
        `host`, the settings' own by default) or using a database on one. Empty in production and when
        TANPUHUI_UNSAFE_EXPOSE_DEVELOPMENT is set."""
        if self.is_production or self.unsafe_expose_development:
            return []
        problems = []
        host = self.host if host is None else host
        if not is_loopback(host):
            problems.append(
                f"binding {host}: outside production the service serves this machine only (127.0.0.1); "
                "set TANPUHUI_ENV=production, or TANPUHUI_UNSAFE_EXPOSE_DEVELOPMENT=true to expose it anyway"
            )
        if self.uses_remote_database:
            problems.append(
                "TANPUHUI_DATABASE_URL names another machine: outside production the database must be local; "
                "set TANPUHUI_ENV=production, or TANPUHUI_UNSAFE_EXPOSE_DEVELOPMENT=true to use it anyway"
            )
        return problems

    def startup_notice(self, host: str) -> tuple[int, str]:
        """The service's first log line: its environment and, outside production, what that lets anyone do."""
        if self.is_production:
            return logging.INFO, f"tanpuhui starting in production on {host}"
        conveniences = ["a signing key from the source" if self.uses_builtin_signing_keys else "configured keys"]
        conveniences += ["the demo administrator"] if self.demo_admin_enabled else []
        conveniences += ["the dev sign-in"] if self.dev_login_enabled else []
        listed = ", ".join(conveniences)
        if not is_loopback(host) or self.uses_remote_database:
            return logging.WARNING, (
                f"UNSAFE: tanpuhui in {self.env.value} ({listed}) reaches beyond this machine "
                f"(on {host}{', with a remote database' if self.uses_remote_database else ''}) because "
                "TANPUHUI_UNSAFE_EXPOSE_DEVELOPMENT is set: anyone who reaches it can act as an administrator"
            )
        return logging.WARNING, f"tanpuhui in {self.env.value}, serving this machine only ({listed})"


class ConfigurationRefused(RuntimeError):
    """Raised at start-up when production settings still carry development conveniences, or when a
    configuration outside production would serve or use another machine."""

    def __init__(self, problems: list[str], *, environment: str = "production") -> None:
        self.problems = problems
        super().__init__(f"refusing to start in {environment}:\n" + "\n".join(f"  - {problem}" for problem in problems))


def check_production(settings: Settings) -> None:
    problems = settings.production_problems()
    if problems:
        raise ConfigurationRefused(problems)


def check_startup(settings: Settings, *, host: str | None = None) -> None:
    """Refuse production with development conveniences, and development or test reaching another machine."""
    check_production(settings)
    problems = settings.exposure_problems(host)
    if problems:
        raise ConfigurationRefused(problems, environment=settings.env.value)
