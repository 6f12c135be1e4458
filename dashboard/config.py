"""Settings from the environment (and ``.env`` in development), validated at start-up.

Every variable is documented in ``.env.example`` and the README. Production refuses to start
without a secret key, a webhook secrets key, a real OpenID Connect issuer and a real
payment provider.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from dashboard.core.addresses import IPAddress, ipv4_shorthand, is_public_address

ENVIRONMENTS = ("development", "production", "test")
PROVIDERS = ("sandbox", "truelayer")
LOCAL_OIDC_ISSUER = "http://127.0.0.1:9400"


class ConfigError(Exception):
    """Raised at start-up when the settings cannot work; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, typed, with safe defaults."""

    app_env: str = "development"
    secret_key: str = field(default="", repr=False)  # secrets stay out of repr, as SMTP_URL
    # DynamoDB
    aws_region: str = "eu-west-2"
    dynamodb_endpoint: str | None = None
    dynamodb_table_prefix: str = ""
    dynamodb_max_attempts: int = 3
    # Sign-in (OpenID Connect)
    oidc_issuer: str = LOCAL_OIDC_ISSUER
    oidc_client_id: str = "payment-dashboard"
    # The local provider accepts any secret.
    oidc_client_secret: str = field(default="local-dev-secret", repr=False)
    is_auth0: bool = False
    signin_allowed_email_domains: tuple[str, ...] = ()
    # Server-side sessions: ended after this long without a request, and this long after sign-in.
    session_idle_minutes: int = 120
    session_lifetime_hours: int = 12
    # Payments
    payment_provider: str = "sandbox"
    truelayer_env: str = "sandbox"
    truelayer_client_id: str = ""
    truelayer_client_secret: str = field(default="", repr=False)
    truelayer_signing_key_id: str = ""
    truelayer_signing_private_key_path: str = ""
    truelayer_merchant_accounts: tuple[tuple[str, str], ...] = ()
    # Overrides of TrueLayer's hosts and webhook key URLs: for local stand-ins in tests only.
    truelayer_auth_url: str = ""
    truelayer_api_url: str = ""
    truelayer_extra_webhook_jkus: tuple[str, ...] = ()
    # Deployment
    trusted_proxy_count: int = 0
    # Where merchants and payers reach the app (scheme://host[:port], no path): every link and
    # redirect the app builds starts with it, never with the request's Host header.
    public_base_url: str = "http://127.0.0.1:5000"
    trusted_hosts: tuple[str, ...] = ()  # host names answered on top of the public base URL's
    # JSON API: requests per API key (or signed-in merchant) per window, Flask-Limiter syntax.
    api_rate_limit: str = "120 per minute"
    # Where the API's rate-limit counters live: memory:// (one process) or a shared Redis.
    ratelimit_storage_uri: str = "memory://"
    # Webhook signing secrets are encrypted at rest under this AES-256 key (base64 of 32 bytes),
    # kept apart from SECRET_KEY so rotating the session key never loses a signing secret.
    # Empty until load_settings fills in the development key (never in production).
    webhook_secrets_key: str = field(default="", repr=False)
    # Email: the SMTP server (smtp://user:password@host:587 with STARTTLS, smtps://host:465),
    # out of repr since it may hold a password. Empty: emails stay queued ("not sent yet").
    smtp_url: str = field(default="", repr=False)
    mail_from: str = ""  # the From address; the account's business name is its display name
    # Development and tests: where the local mail server writes and the Mailbox page reads.
    mailbox_dir: str = "var/mail"

    @property
    def is_production(self) -> bool:
        """Return True when running for real merchants."""
        return self.app_env == "production"

    @property
    def oidc_metadata_url(self) -> str:
        """Return the issuer's discovery document URL."""
        return self.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"


def _flag_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def _merchant_accounts(raw: str) -> tuple[tuple[str, str], ...]:
    from dashboard.providers.truelayer import parse_merchant_accounts

    try:
        return tuple(parse_merchant_accounts(raw).items())
    except ValueError as exc:
        raise ConfigError(f"TRUELAYER_MERCHANT_ACCOUNTS: {exc}") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _rate_limit(raw: str) -> str:
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"API_RATE_LIMIT must read like '120 per minute' or '10/second', not {raw!r}"
        ) from None
    return raw


# Redis (or a server that speaks its protocol: Valkey, ElastiCache, MemoryDB). Only these, so the
# short socket timeouts set in dashboard/web/api/wiring.py always apply.
SHARED_RATELIMIT_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")


def _ratelimit_storage(raw: str) -> str:
    scheme = urlsplit(raw).scheme
    if raw != "memory://" and scheme not in SHARED_RATELIMIT_SCHEMES:
        # Only the scheme in the message: the URI may hold the store's password.
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must be memory:// or a Redis URI such as "
            f"redis://host:6379/0 ({', '.join(SHARED_RATELIMIT_SCHEMES)}), not {scheme!r}://…"
        )
    return raw


def _public_base_url(env: Mapping[str, str], app_env: str) -> str:
    raw = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if not raw:
        if app_env == "production":
            return ""  # _validate names it with whatever else production lacks
        # Development: where `make run` serves; tests: where Flask's test client sends requests.
        port = _int(env, "PORT", 5000)
        return f"http://127.0.0.1:{port}" if app_env == "development" else "http://localhost"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"PUBLIC_BASE_URL must read like https://payments.example.com, not {raw!r}"
        )
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"PUBLIC_BASE_URL is scheme://host[:port] only, not {raw!r}")
    if app_env == "production" and parts.scheme != "https":
        raise ConfigError("PUBLIC_BASE_URL must be https in production")
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Return validated settings read from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    app_env = env.get("APP_ENV", "development").strip() or "development"
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {app_env!r}")

    auth0_domain = env.get("AUTH0_DOMAIN", "").strip()
    if auth0_domain:
        issuer = f"https://{auth0_domain}/"
        client_id = env.get("AUTH0_CLIENT_ID", "")
        client_secret = env.get("AUTH0_CLIENT_SECRET", "")
    else:
        issuer = env.get("OIDC_ISSUER", "").strip() or LOCAL_OIDC_ISSUER
        client_id = env.get("OIDC_CLIENT_ID", "").strip() or "payment-dashboard"
        client_secret = env.get("OIDC_CLIENT_SECRET", "").strip() or "local-dev-secret"

    settings = Settings(
        app_env=app_env,
        secret_key=env.get("SECRET_KEY", ""),
        aws_region=env.get("AWS_REGION", "").strip() or "eu-west-2",
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT", "").strip() or None,
        dynamodb_table_prefix=env.get("DYNAMODB_TABLE_PREFIX", ""),
        dynamodb_max_attempts=_int(env, "DYNAMODB_MAX_ATTEMPTS", 3),
        oidc_issuer=issuer,
        oidc_client_id=client_id,
        oidc_client_secret=client_secret,
        is_auth0=bool(auth0_domain),
        signin_allowed_email_domains=_flag_list(env.get("SIGNIN_ALLOWED_EMAIL_DOMAINS", "")),
        session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 120),
        session_lifetime_hours=_int(env, "SESSION_LIFETIME_HOURS", 12),
        payment_provider=env.get("PAYMENT_PROVIDER", "").strip() or "sandbox",
        truelayer_env=env.get("TRUELAYER_ENV", "").strip() or "sandbox",
        truelayer_client_id=env.get("TRUELAYER_CLIENT_ID", "").strip(),
        truelayer_client_secret=env.get("TRUELAYER_CLIENT_SECRET", "").strip(),
        truelayer_signing_key_id=env.get("TRUELAYER_SIGNING_KEY_ID", "").strip(),
        truelayer_signing_private_key_path=env.get(
            "TRUELAYER_SIGNING_PRIVATE_KEY_PATH", ""
        ).strip(),
        truelayer_merchant_accounts=_merchant_accounts(env.get("TRUELAYER_MERCHANT_ACCOUNTS", "")),
        truelayer_auth_url=env.get("TRUELAYER_AUTH_URL", "").strip().rstrip("/"),
        truelayer_api_url=env.get("TRUELAYER_API_URL", "").strip().rstrip("/"),
        truelayer_extra_webhook_jkus=tuple(
            u.strip() for u in env.get("TRUELAYER_EXTRA_WEBHOOK_JKUS", "").split(",") if u.strip()
        ),
        trusted_proxy_count=_int(env, "TRUSTED_PROXY_COUNT", 0),
        public_base_url=_public_base_url(env, app_env),
        trusted_hosts=_flag_list(env.get("TRUSTED_HOSTS", "")),
        api_rate_limit=_rate_limit(env.get("API_RATE_LIMIT", "").strip() or "120 per minute"),
        ratelimit_storage_uri=_ratelimit_storage(
            env.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://"
        ),
        webhook_secrets_key=_webhook_secrets_key(env.get("WEBHOOK_SECRETS_KEY", "")),
        smtp_url=_smtp_url(env.get("SMTP_URL", "").strip()),
        mail_from=_mail_from(env.get("MAIL_FROM", "").strip()),
        mailbox_dir=env.get("MAILBOX_DIR", "").strip() or "var/mail",
    )
    _validate(settings)
    if not settings.secret_key:
        # Development only (production is refused above): sessions last until a restart.
        settings = replace(settings, secret_key=secrets.token_hex(32))
    if not settings.webhook_secrets_key:
        from dashboard.store.secret_box import DEVELOPMENT_KEY

        # Development and tests only (production is refused above): a fixed, public key, so
        # the endpoints made locally keep working after a restart.
        settings = replace(settings, webhook_secrets_key=DEVELOPMENT_KEY)
    return settings


def _smtp_url(raw: str) -> str:
    from dashboard.providers.mailer import parse_smtp_url

    if raw:
        try:
            parse_smtp_url(raw)
        except ValueError as exc:
            # The message never repeats the URL: it may hold the password.
            raise ConfigError(f"SMTP_URL {exc}") from None
    return raw


def _mail_from(raw: str) -> str:
    from dashboard.providers.mailer import UnsafeHeader, build_sender_address

    if raw:
        try:
            build_sender_address(raw)
        except UnsafeHeader:
            raise ConfigError(
                f"MAIL_FROM must be one address like payments@example.com, not {raw!r}"
            ) from None
    return raw


def _webhook_secrets_key(raw: str) -> str:
    from dashboard.store.secret_box import decode_key

    raw = raw.strip()
    if raw:
        try:
            decode_key(raw)
        except ValueError as exc:
            # The message never repeats the value: it is a key.
            raise ConfigError(f"{exc}: make one with `openssl rand -base64 32`") from None
    return raw


def _validate(settings: Settings) -> None:
    if settings.truelayer_env not in ("sandbox", "production"):
        raise ConfigError("TRUELAYER_ENV must be sandbox or production")
    if settings.payment_provider not in PROVIDERS:
        raise ConfigError(f"PAYMENT_PROVIDER must be one of {', '.join(PROVIDERS)}")
    auth0 = settings.is_auth0
    if auth0 and not (settings.oidc_client_id and settings.oidc_client_secret):
        raise ConfigError("AUTH0_DOMAIN is set: set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET too")
    if settings.payment_provider == "truelayer":
        _validate_truelayer(settings)
    if settings.session_idle_minutes < 1 or settings.session_lifetime_hours < 1:
        raise ConfigError("SESSION_IDLE_MINUTES and SESSION_LIFETIME_HOURS must be at least 1")
    if settings.session_idle_minutes > settings.session_lifetime_hours * 60:
        raise ConfigError("SESSION_IDLE_MINUTES cannot be longer than SESSION_LIFETIME_HOURS")
    if settings.smtp_url and not settings.mail_from:
        raise ConfigError("SMTP_URL is set: set MAIL_FROM too (e.g. payments@example.com)")
    if not settings.is_production:
        return
    problems = []
    if len(settings.secret_key) < 32:
        problems.append("SECRET_KEY (at least 32 random characters)")
    issuer_problem = _public_https_problem(settings.oidc_issuer)
    if issuer_problem:
        problems.append(
            "AUTH0_DOMAIN/AUTH0_CLIENT_ID/AUTH0_CLIENT_SECRET or a real OIDC_ISSUER "
            f"({issuer_problem})"
        )
    if settings.payment_provider == "sandbox":
        problems.append("PAYMENT_PROVIDER=truelayer (the sandbox provider is for development)")
    if (
        settings.truelayer_extra_webhook_jkus
        or settings.truelayer_api_url
        or settings.truelayer_auth_url
    ):
        problems.append("no TRUELAYER_EXTRA_WEBHOOK_JKUS / _API_URL / _AUTH_URL (test stand-ins)")
    if not settings.public_base_url:
        problems.append(
            "PUBLIC_BASE_URL, the https address merchants use (e.g. https://payments.example.com)"
        )
    if settings.ratelimit_storage_uri == "memory://":
        # Several gunicorn workers and hosts would each count alone, multiplying the limit.
        problems.append("RATELIMIT_STORAGE_URI=redis://… (rate limits shared by every process)")
    if not settings.webhook_secrets_key or settings.webhook_secrets_key == settings.secret_key:
        # Apart, so that a leaked or rotated session key never exposes or loses the secrets.
        problems.append("WEBHOOK_SECRETS_KEY (base64 of 32 random bytes, not the SECRET_KEY)")
    if problems:
        raise ConfigError("Production needs: " + "; ".join(problems))


def _public_https_problem(url: str) -> str | None:
    """Return why ``url`` cannot be a production sign-in issuer, or None when it can.

    The issuer signs who may see every payment: it must be reached over https, on a public
    host, never a loopback, private or link-local address (where a test or local provider
    would answer) nor a local name.
    """
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"{url} is not https"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return f"{url} names no host"
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return f"{host} is a local name"
    address: IPAddress | None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = ipv4_shorthand(host)
        if address is None:
            return None  # a DNS name: what it resolves to is the operator's to get right
    if not is_public_address(address):
        return f"{host} is not a public address"
    return None


def _validate_truelayer(settings: Settings) -> None:
    if settings.truelayer_env not in ("sandbox", "production"):
        raise ConfigError("TRUELAYER_ENV must be sandbox or production")
    missing = [
        name
        for name, value in (
            ("TRUELAYER_CLIENT_ID", settings.truelayer_client_id),
            ("TRUELAYER_CLIENT_SECRET", settings.truelayer_client_secret),
            ("TRUELAYER_SIGNING_KEY_ID", settings.truelayer_signing_key_id),
            ("TRUELAYER_SIGNING_PRIVATE_KEY_PATH", settings.truelayer_signing_private_key_path),
            ("TRUELAYER_MERCHANT_ACCOUNTS", settings.truelayer_merchant_accounts),
        )
        if not value
    ]
    if missing:
        raise ConfigError("PAYMENT_PROVIDER=truelayer needs " + ", ".join(missing))
    key_path = settings.truelayer_signing_private_key_path
    if not os.path.isfile(key_path):
        raise ConfigError(f"TRUELAYER_SIGNING_PRIVATE_KEY_PATH: no file at {key_path}")
