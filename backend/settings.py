"""Typed settings read from environment variables (12-factor), validated at start-up.

Every variable is documented in the README's "Settings" table; ``Settings.describe()`` prints it.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import secrets
from collections.abc import Mapping
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS_DOC: tuple[Setting, ...] = (
    Setting("ENV", "development", "development | test | production; production refuses unsafe defaults"),
    Setting("HOST", "127.0.0.1", "address the HTTP server binds"),
    Setting("PORT", 8000, "port the HTTP server binds"),
    Setting("WORKERS", 1, "number of Sanic worker processes"),
    Setting("DATABASE_URL", "sqlite://data/app.sqlite3", "primary database (postgres://... in real deployments)"),
    Setting("DATABASE_REPLICA_URL", "", "read replica for lag-tolerant reads; empty = use the primary"),
    Setting("DB_POOL_MAX", 10, "maximum connections per worker in the PostgreSQL pool"),
    Setting("REDIS_URL", "", "Redis for cache, nonces, locks and rate limits; empty = in-process cache"),
    Setting("DATA_DIR", "data", "directory for the SQLite file, generated dev keys and stored files"),
    Setting("DATA_KEYS", "", "SM4 key-encryption keys as 'id:32hex,...'; the first encrypts, all decrypt "
            "(rotation). Empty outside production = a key generated once under DATA_DIR"),
    Setting("BLIND_INDEX_KEY", "", "32 hex chars keying the searchable hashes of ID/mobile numbers; "
            "empty outside production = derived from the first data key"),
    Setting("MAX_BODY_BYTES", 10 * 1024 * 1024, "largest accepted request body; bigger gives 413 BODY_TOO_LARGE"),
    Setting("SIGNATURE_MAX_SKEW_SECONDS", 300, "allowed clock skew of X-Timestamp in signed API calls"),
    Setting("IDEMPOTENCY_TTL_SECONDS", 86400, "how long an Idempotency-Key's first answer is replayed"),
    Setting("PUBLIC_BASE_URL", "", "base URL people open (signing links in SMS); empty = http://HOST:PORT"),
    Setting("SIGNING_LINK_TTL_HOURS", 72, "default lifetime of a signing link"),
    Setting("IDENTITY_CACHE_SECONDS", 1800, "how long a positive identity check is reused for the same person"),
    Setting("INTENT_CODE_SECONDS", 300, "lifetime of an intent-confirmation SMS code"),
    Setting("INTENT_MAX_ATTEMPTS", 5, "wrong codes/passwords before an intent challenge locks"),
    Setting("ALIYUN_SMS_REPORT_TOKEN", "", "secret path token of the Aliyun SmsReport receipt URL "
            "/hooks/aliyun/sms-report/<token>; empty = receipts refused"),
    Setting("JOB_RETRY_DELAY_SECONDS", 2, "first retry delay of a failed job; doubles each retry"),
    Setting("RISK_WORK_HOURS", "8-20", "Beijing-time working hours; seal use outside them raises an alert"),
    Setting("RISK_MAX_USES_PER_HOUR", 200, "seal uses per hour above which an alert is raised"),
    Setting("RISK_ALERT_NOTIFY", "", "send risk alerts as 'channel:recipient' (e.g. dingtalk:manager01)"),
    Setting("SEAL_ADMIN_CHECK", True, "seal management needs a security administrator (X-Operator); "
            "false only for demos"),
    Setting("CALLBACK_MAX_ATTEMPTS", 24, "attempts per round of a status callback (backoff doubling "
            "from JOB_RETRY_DELAY_SECONDS up to 15 min, full jitter: ~1 h 53 min on average with the "
            "defaults); POST /api/v1/callbacks/<id>/redeliver starts another round"),
    Setting("AUTO_MIGRATE", True, "apply database migrations at start-up"),
    Setting("DEMO_DATA", False, "create a demo tenant at start-up (run.sh sets it)"),
    Setting("LOG_LEVEL", "INFO", "log level"),
    Setting("LOG_JSON", True, "JSON log lines (one object per line, with request_id)"),
    Setting("SESSION_TTL_SECONDS", 28800, "lifetime of a user session opened by single sign-on"),
    Setting("SSO_TICKET_MAX_LIFETIME_SECONDS", 300, "largest allowed exp - now of a signed SSO "
            "ticket; longer-lived tickets are refused"),
    Setting("SSO_TICKET_SM2_KEYS", "", "tenants whose tickets must be SM2-signed, as "
            "'app_key:<04 + 128 hex public key>,...'; other tenants use HMAC-SHA256 with the app secret"),
    Setting("OIDC_ISSUER", "", "OpenID Connect issuer URL (discovery at /.well-known/openid-configuration); "
            "empty = OIDC login off"),
    Setting("OIDC_CLIENT_ID", "", "OIDC client id (also the expected ID-token audience)"),
    Setting("OIDC_CLIENT_SECRET", "", "OIDC client secret (client_secret_post at the token endpoint)"),
    Setting("OIDC_REDIRECT_URL", "", "OIDC redirect URI; empty = <PUBLIC_BASE_URL>/sso/oidc/callback"),
    Setting("OIDC_USER_CLAIM", "sub", "ID-token claim matched against the user's business-system id (push id)"),
    Setting("DINGTALK_CONTACTS_URL", "https://oapi.dingtalk.com", "DingTalk open API base for contacts and login"),
    Setting("DINGTALK_CONTACTS_APP_KEY", "", "DingTalk app key with contacts read permission; empty = DingTalk sync and login off"),
    Setting("DINGTALK_CONTACTS_APP_SECRET", "", "DingTalk app secret of DINGTALK_CONTACTS_APP_KEY"),
    Setting("DINGTALK_SYNC_TENANT_ID", "", "tenant (uuid) whose organisation is the DingTalk corp's"),
    Setting("WECHAT_MINI_TENANT_ID", "", "tenant (uuid) whose persons sign in to the WeChat mini-program "
            "(POST /mp/session; AppID/secret are notify's WECHAT_APP_ID/WECHAT_APP_SECRET); empty = "
            "the mini-program names its tenant in the login body"),
    Setting("WECHAT_MINI_SESSION_SECONDS", 7200, "lifetime of a WeChat mini-program session token (kept "
            "in the cache)"),
    Setting("WECHAT_OAUTH_APP_ID", "", "AppID of the WeChat official account [公众号] whose web OAuth "
            "(snsapi_base) records the openid of a signing link opened inside WeChat; empty = off"),
    Setting("WECHAT_OAUTH_APP_SECRET", "", "AppSecret of WECHAT_OAUTH_APP_ID"),
    Setting("WECHAT_OAUTH_URL", "https://open.weixin.qq.com", "WeChat web OAuth base (the "
            "authorize page is <base>/connect/oauth2/authorize)"),
    Setting("WECHAT_OAUTH_API_URL", "https://api.weixin.qq.com", "WeChat API base of the OAuth "
            "code exchange (<base>/sns/oauth2/access_token)"),
    Setting("ORG_SYNC_CRON", "0 2 * * *", "cron (UTC) of the scheduled DingTalk organisation sync in the job worker"),
    Setting("STORAGE_URL", "", "file store: empty = file://<DATA_DIR>/files; file:///path, or "
            "s3://bucket?endpoint=https://...&region=...&prefix=... (S3-compatible object storage)"),
    Setting("S3_ACCESS_KEY", "", "access key of the s3:// STORAGE_URL"),
    Setting("S3_SECRET_KEY", "", "secret key of the s3:// STORAGE_URL"),
    Setting("STORAGE_ENCRYPT", False, "encrypt stored files at rest (SM4-GCM, key derived from the "
            "first data key)"),
    Setting("STORAGE_FSYNC", True, "local file store: fsync each file and its folder before the "
            "write returns (a power cut cannot lose a file the database names); off only for "
            "throw-away data"),
    Setting("DOCUMENT_RETENTION_YEARS", 30, "default retention of a document (years from creation)"),
    Setting("METRICS_TOKEN", "", "bearer token required by /metrics and /healthz/certificates; "
            "empty = open (restrict them at the network)"),
    Setting("WORKER_METRICS_PORT", 0, "port on which a job worker serves its own /metrics; 0 = off"),
    Setting("CERT_EXPIRY_WARNING_DAYS", 30, "certificates expiring within this many days are "
            "reported as 'warning' by /healthz/certificates"),
    Setting("CERT_CHECK_FILES", "", "extra PEM certificate files to watch for expiry (e.g. the "
            "TSA's), comma-separated paths"),
    Setting("BACKUP_KEY", "", "32 hex chars: SM4 key of backup sets (python -m backend.ops); "
            "empty = derived from the first data key"),
    Setting("FRONT_SERVER_MODE", False, "run as a front server [前置服务器] in the insurer's network: "
            "seals with the keys it holds and reports each seal application (hash, seal, time, "
            "algorithms; never content) to CENTRAL_URL"),
    Setting("FRONT_SERVER_ID", "", "this front server's name in its reports; empty = the host name"),
    Setting("CENTRAL_URL", "", "base URL of the central platform that receives front-server "
            "reports (POST /api/v1/front-reports)"),
    Setting("CENTRAL_APP_KEY", "", "the front server's app key on the central platform (a tenant there)"),
    Setting("CENTRAL_APP_SECRET", "", "the app secret of CENTRAL_APP_KEY"),
)


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    return raw


def _parse_keys(name: str, raw: str) -> tuple[tuple[str, bytes], ...]:
    keys = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        key_id, _, hex_key = part.partition(":")
        try:
            key = bytes.fromhex(hex_key)
        except ValueError:
            raise SettingsError(f"{name}: key {key_id!r} is not hex") from None
        if not key_id or len(key) != 16:
            raise SettingsError(f"{name}: each entry must be 'id:<32 hex chars>'")
        keys.append((key_id, key))
    return tuple(keys)


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    database_url: str = "sqlite://data/app.sqlite3"
    database_replica_url: str = ""
    db_pool_max: int = 10
    redis_url: str = ""
    data_dir: str = "data"
    data_keys: tuple[tuple[str, bytes], ...] = ()
    blind_index_key: bytes = b""
    max_body_bytes: int = 10 * 1024 * 1024
    signature_max_skew_seconds: int = 300
    idempotency_ttl_seconds: int = 86400
    public_base_url: str = ""
    signing_link_ttl_hours: int = 72
    identity_cache_seconds: int = 1800
    intent_code_seconds: int = 300
    intent_max_attempts: int = 5
    aliyun_sms_report_token: str = ""
    job_retry_delay_seconds: int = 2
    risk_work_hours: str = "8-20"
    risk_max_uses_per_hour: int = 200
    risk_alert_notify: str = ""
    seal_admin_check: bool = True
    callback_max_attempts: int = 24
    auto_migrate: bool = True
    demo_data: bool = False
    log_level: str = "INFO"
    log_json: bool = True
    session_ttl_seconds: int = 28800
    sso_ticket_max_lifetime_seconds: int = 300
    sso_ticket_sm2_keys: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_redirect_url: str = ""
    oidc_user_claim: str = "sub"
    dingtalk_contacts_url: str = "https://oapi.dingtalk.com"
    dingtalk_contacts_app_key: str = ""
    dingtalk_contacts_app_secret: str = ""
    dingtalk_sync_tenant_id: str = ""
    wechat_mini_tenant_id: str = ""
    wechat_mini_session_seconds: int = 7200
    wechat_oauth_app_id: str = ""
    wechat_oauth_app_secret: str = ""
    wechat_oauth_url: str = "https://open.weixin.qq.com"
    wechat_oauth_api_url: str = "https://api.weixin.qq.com"
    org_sync_cron: str = "0 2 * * *"
    storage_url: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    storage_encrypt: bool = False
    storage_fsync: bool = True
    document_retention_years: int = 30
    metrics_token: str = ""
    worker_metrics_port: int = 0
    cert_expiry_warning_days: int = 30
    cert_check_files: str = ""
    backup_key: str = ""
    front_server_mode: bool = False
    front_server_id: str = ""
    central_url: str = ""
    central_app_key: str = ""
    central_app_secret: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for doc in SETTINGS_DOC:
            raw = environ.get(doc.name)
            values[doc.name.lower()] = doc.default if raw is None else _coerce(doc.name, raw, doc.default)
        values["data_keys"] = _parse_keys("DATA_KEYS", values["data_keys"])
        bik = values["blind_index_key"]
        try:
            values["blind_index_key"] = bytes.fromhex(bik)
        except ValueError:
            raise SettingsError("BLIND_INDEX_KEY must be hex") from None
        values.update(overrides)
        return cls(**values).validated()

    def validated(self) -> "Settings":
        if self.env not in ("development", "test", "production"):
            raise SettingsError(f"ENV must be development, test or production, got {self.env!r}")
        if not (0 < self.port < 65536):
            raise SettingsError("PORT must be between 1 and 65535")
        if not self.database_url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
            raise SettingsError("DATABASE_URL must be sqlite://... or postgres://...")
        start, _, end = self.risk_work_hours.partition("-")
        if not (start.isdigit() and end.isdigit() and 0 <= int(start) < int(end) <= 24):
            raise SettingsError("RISK_WORK_HOURS must look like 8-20")
        if self.storage_url and not self.storage_url.startswith(("file://", "s3://")):
            raise SettingsError("STORAGE_URL must be file://... or s3://bucket?endpoint=...")
        if self.backup_key and (len(self.backup_key) != 32
                                or not all(c in "0123456789abcdefABCDEF" for c in self.backup_key)):
            raise SettingsError("BACKUP_KEY must be 32 hex characters")
        if self.front_server_mode:
            if not self.central_url.startswith(("http://", "https://")):
                raise SettingsError("CENTRAL_URL (http(s)://...) is required with FRONT_SERVER_MODE")
            if not (self.central_app_key and self.central_app_secret):
                raise SettingsError("CENTRAL_APP_KEY and CENTRAL_APP_SECRET are required with "
                                    "FRONT_SERVER_MODE")
        if not (60 <= self.wechat_mini_session_seconds <= 30 * 86400):
            raise SettingsError("WECHAT_MINI_SESSION_SECONDS must be 60 to 2592000")
        if bool(self.wechat_oauth_app_id) != bool(self.wechat_oauth_app_secret):
            raise SettingsError("WECHAT_OAUTH_APP_ID and WECHAT_OAUTH_APP_SECRET go together")
        for name in ("WECHAT_OAUTH_URL", "WECHAT_OAUTH_API_URL"):
            if not getattr(self, name.lower()).startswith(("http://", "https://")):
                raise SettingsError(f"{name} must be an http(s):// URL")
        if self.max_body_bytes < 1024:
            raise SettingsError("MAX_BODY_BYTES must be at least 1024")
        if self.env == "production":
            if not self.seal_admin_check:
                raise SettingsError("SEAL_ADMIN_CHECK cannot be false in production")
            if not self.data_keys:
                raise SettingsError("DATA_KEYS is required in production")
            if len(self.blind_index_key) != 16:
                raise SettingsError("BLIND_INDEX_KEY (32 hex chars) is required in production")
        return self

    def risk_settings(self):
        from backend.services.seals.risk import RiskSettings

        start, _, end = self.risk_work_hours.partition("-")
        return RiskSettings(work_start_hour=int(start), work_end_hour=int(end),
                            max_uses_per_hour=self.risk_max_uses_per_hour,
                            notify=self.risk_alert_notify)

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def data_path(self) -> pathlib.Path:
        path = pathlib.Path(self.data_dir)
        return path if path.is_absolute() else ROOT / path

    def resolved_data_keys(self) -> tuple[tuple[str, bytes], ...]:
        """DATA_KEYS, or (outside production) a development key generated once under DATA_DIR."""
        if self.data_keys:
            return self.data_keys
        key_file = self.data_path / "dev-data-key.txt"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(f"dev1:{secrets.token_hex(16)}\n")
            key_file.chmod(0o600)
        return _parse_keys("dev-data-key.txt", key_file.read_text().strip())

    @staticmethod
    def describe() -> str:
        rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
        rows += [f"| `{d.name}` | `{d.default}` | {d.help} |" for d in SETTINGS_DOC]
        return "\n".join(rows)


if __name__ == "__main__":
    print(Settings.describe())
