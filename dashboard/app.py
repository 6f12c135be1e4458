"""The app factory: settings, extensions, services, blueprints, error pages and CLI commands.

Everything the app is made of is imported here, inside ``create_app`` (as flaskr and microblog
do), so importing any one module never drags in the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, Response, g
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard import __version__
from dashboard.config import ConfigError, Settings, load_settings
from dashboard.core.clock import utc_now
from dashboard.core.side_reads import SideReads
from dashboard.domain.emails import Email
from dashboard.domain.payments import ProviderEvent
from dashboard.providers.base import PaymentProvider
from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from dashboard.web import hosts

if TYPE_CHECKING:
    from dashboard.services.deliveries import EmailSender


def create_app(settings: Settings | Mapping[str, str] | None = None) -> Flask:
    """Create the app from settings (default: the environment), ready to serve."""
    # Imported here, not at the top: the factory is the one place that knows every layer.
    from dashboard.cli.deliver_events import deliver_events_command
    from dashboard.cli.init_db import init_db_command
    from dashboard.cli.migrate_accounts import migrate_accounts_command
    from dashboard.cli.rebuild_stats import rebuild_stats_command
    from dashboard.cli.reindex_search import reindex_search_command
    from dashboard.cli.sync_payments import (
        backfill_open_payments_command,
        sync_payments_command,
    )
    from dashboard.cli.truelayer_check import truelayer_check_command
    from dashboard.local.demo import seed_demo_command
    from dashboard.providers.sandbox_webhooks import SANDBOX_JKU, SandboxWebhookSigner
    from dashboard.providers.webhook_verification import (
        TRUELAYER_JKUS,
        JwksCache,
        WebhookVerifier,
    )
    from dashboard.services.accounts import AccountService
    from dashboard.services.api_keys import ApiKeyService
    from dashboard.services.audit import AuditLogService
    from dashboard.services.business import BusinessService
    from dashboard.services.deliveries import DeliveryService, DeliveryWorker
    from dashboard.services.emails import PaymentEmails
    from dashboard.services.events import EventListing
    from dashboard.services.invitations import InvitationService
    from dashboard.services.orders import OrderService
    from dashboard.services.payment_listing import PaymentListing
    from dashboard.services.payments import PaymentService
    from dashboard.services.refunds import RefundService
    from dashboard.services.statistics import StatisticsService
    from dashboard.services.team import TeamService
    from dashboard.services.webhook_endpoints import WebhookEndpointService
    from dashboard.services.webhooks import WebhookIntake
    from dashboard.store.cursors import CursorCodec
    from dashboard.store.secret_box import SecretBox, decode_key
    from dashboard.web import account_guard, errors, header, request_log, step_up, theme
    from dashboard.web.accounts import routes as account_routes
    from dashboard.web.api.events import event_json
    from dashboard.web.api.wiring import init_app as init_json_api
    from dashboard.web.audit import routes as audit_routes
    from dashboard.web.auth import routes as auth_routes
    from dashboard.web.business import routes as business_routes
    from dashboard.web.emails import render_email, render_notice
    from dashboard.web.extensions import csrf
    from dashboard.web.main import routes as main_routes
    from dashboard.web.orders import routes as order_routes
    from dashboard.web.payer import routes as payer_routes
    from dashboard.web.payments import routes as payment_routes
    from dashboard.web.permissions import init_app as init_permissions
    from dashboard.web.refunds import routes as refund_routes
    from dashboard.web.settings import routes as settings_routes
    from dashboard.web.stats import routes as stats_routes
    from dashboard.web.team import routes as team_routes
    from dashboard.web.templating import register_template_helpers
    from dashboard.web.webhook_settings import routes as webhook_settings_routes
    from dashboard.web.webhooks import routes as webhook_routes

    if not isinstance(settings, Settings):
        settings = load_settings(settings)
    # "dashboard", the package: the app's name, logger and root path (templates/, static/
    # beside it) stay what they were when the factory lived in dashboard/__init__.py.
    app = Flask(
        "dashboard",
        template_folder="../templates",
        static_folder="../static",
        static_url_path="/static",
    )
    _configure(app, settings)
    # First, in this order: the request id (every later log line carries it, the access log
    # line is written after every other hook), then the host check (nothing reads a request
    # for a host we do not serve).
    request_log.init_app(app)
    hosts.init_app(app)

    store = _make_store(app, settings)
    app.cli.add_command(init_db_command)
    app.extensions["accounts"] = AccountService(store.accounts)
    app.extensions["team"] = TeamService(store.team, store.accounts)
    app.extensions["invitations"] = InvitationService(store.team, store.accounts)
    auth_routes.init_app(app)
    csrf.init_app(app)
    provider = _make_provider(app, settings, store)
    app.extensions["payment_provider"] = provider
    payment_service = PaymentService(
        store.payments,
        provider,
        return_uri_for=lambda token: hosts.external_url("payer.payment_result", token=token),
    )
    app.extensions["payment_service"] = payment_service
    refund_service = RefundService(store.payments, provider)
    payment_service.sync_refunds_with(refund_service.sync_refunds)
    app.extensions["refund_service"] = refund_service

    cursors = CursorCodec(settings.secret_key)
    # The list's Query and its status counts are independent reads: sent at the same time.
    app.extensions["side_reads"] = SideReads()
    app.extensions["payment_listing"] = PaymentListing(
        store.finder, store.rollups, cursors, app.extensions["side_reads"]
    )
    app.extensions["order_service"] = OrderService(store.orders, payment_service, cursors)
    app.extensions["api_keys"] = ApiKeyService(store.api_keys)
    app.extensions["audit_log"] = AuditLogService(
        store.audit, cursors, store.accounts, store.api_keys
    )
    app.extensions["event_listing"] = EventListing(store.events, store.orders, cursors)
    app.extensions["webhook_endpoints"] = WebhookEndpointService(
        store.webhook_endpoints,
        SecretBox(decode_key(settings.webhook_secrets_key)),
        production=settings.is_production,
    )

    # The worker sends each event as GET /api/v1/events shows it: the web layer's JSON, handed
    # down from here, the one place that knows every layer.
    def render_email_in_app(*args: Any) -> Email:
        # Its own app context: the worker renders outside any request, and a request's g
        # (its time zone) is not the email's.
        with app.app_context():
            return render_email(*args)

    def render_notice_in_app(*args: Any) -> Email:
        with app.app_context():
            return render_notice(*args)

    worker = DeliveryWorker(
        store.deliveries,
        store.events,
        store.orders,
        app.extensions["webhook_endpoints"],
        render=lambda shown: json.dumps(event_json(shown), separators=(",", ":")),
        allow_loopback=not settings.is_production,
        render_email=render_email_in_app,
        send_email=_make_email_sender(settings),
        business=store.business,
        audit=store.audit,
        accounts=store.accounts,
        render_notice=render_notice_in_app,
    )
    app.extensions["delivery_worker"] = worker
    app.extensions["deliveries"] = DeliveryService(
        store.deliveries, app.extensions["webhook_endpoints"], cursors, wake=worker.wake
    )
    app.extensions["payment_emails"] = PaymentEmails(
        store.payments, store.deliveries, store.business, render_email_in_app, wake=worker.wake
    )
    app.extensions["statistics"] = StatisticsService(store.rollups, app.extensions["side_reads"])
    app.extensions["business"] = BusinessService(store.business, store.accounts, store.payments)

    app.register_blueprint(main_routes.bp)
    app.register_blueprint(auth_routes.bp)
    app.register_blueprint(payment_routes.bp)
    app.register_blueprint(refund_routes.bp)
    app.register_blueprint(order_routes.bp)
    app.register_blueprint(stats_routes.bp)
    app.register_blueprint(payer_routes.bp)
    app.register_blueprint(webhook_routes.bp)
    init_json_api(app)  # /api/v1: blueprint, rate limit, idempotency, OpenAPI
    app.register_blueprint(settings_routes.bp)
    app.register_blueprint(audit_routes.bp)
    app.register_blueprint(account_routes.bp)
    app.register_blueprint(team_routes.bp)
    app.register_blueprint(business_routes.bp)
    app.register_blueprint(webhook_settings_routes.bp)
    app.jinja_env.globals["account_choices"] = header.account_choices
    account_guard.init_app(app)
    theme.init_app(app)
    step_up.init_app(app)
    jwks = JwksCache()
    trusted_jkus = (TRUELAYER_JKUS[settings.truelayer_env], *settings.truelayer_extra_webhook_jkus)
    if settings.payment_provider == "sandbox":
        # The sandbox signs its webhooks with a key made at start-up (never in production).
        signer = SandboxWebhookSigner()
        app.extensions["sandbox_webhooks"] = signer
        jwks.add_local(SANDBOX_JKU, signer.jwks)
        trusted_jkus += (SANDBOX_JKU,)
    verifier = WebhookVerifier(trusted_jkus, jwks)
    app.extensions["truelayer_webhook_verifier"] = verifier
    app.extensions["webhook_intake"] = WebhookIntake(
        verifier, store.webhook_events, payment_service
    )
    if settings.payment_provider == "sandbox":
        from dashboard.providers.sandbox_retries import WebhookRetries
        from dashboard.web.sandbox import routes as sandbox_routes

        app.register_blueprint(sandbox_routes.bp)

        def send_in_app(event: ProviderEvent) -> bool:
            with app.app_context():  # retries run on their own thread, outside any request
                return sandbox_routes.send_webhook(event)

        app.extensions["sandbox_webhook_retries"] = WebhookRetries(send_in_app)

    if not settings.is_production:
        # Development and tests only: the local mail server's messages (a 404 in production).
        from dashboard.web.mailbox import routes as mailbox_routes

        app.register_blueprint(mailbox_routes.bp)

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(rebuild_stats_command)
    app.cli.add_command(truelayer_check_command)
    app.cli.add_command(sync_payments_command)
    app.cli.add_command(backfill_open_payments_command)
    app.cli.add_command(reindex_search_command)
    app.cli.add_command(migrate_accounts_command)
    app.cli.add_command(deliver_events_command)
    errors.register_error_handlers(app)
    register_template_helpers(app)
    init_permissions(app)  # last: refuses to start if any route above declares no permission
    _register_request_hooks(app, settings)
    return app


def _make_store(app: Flask, settings: Settings) -> Store:
    """Create the app's Store (DynamoDB client, tables, repositories) from its settings."""
    client = make_client(
        settings.aws_region, settings.dynamodb_endpoint, settings.dynamodb_max_attempts
    )
    store = Store(client, TableNames.with_prefix(settings.dynamodb_table_prefix))
    app.extensions["store"] = store
    return store


def _make_email_sender(settings: Settings) -> EmailSender | None:
    """Return the worker's email sender, or None without SMTP_URL (emails stay queued)."""
    if not settings.smtp_url:
        return None
    from dashboard.providers.mailer import SmtpEmailSender, SmtpMailer

    mailer = SmtpMailer(settings.smtp_url, production=settings.is_production)
    return SmtpEmailSender(mailer, settings.mail_from)


def _configure(app: Flask, settings: Settings) -> None:
    secure = settings.app_env == "production"
    app.config.update(
        APP_VERSION=__version__,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.app_env == "test",
        SESSION_COOKIE_NAME="pd_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_SECURE=secure,
        # The cookie lasts as long as a session may; the server-side record decides before that.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_lifetime_hours),
        # The CSRF token lives as long as the session, so a tab left open for hours still works.
        WTF_CSRF_TIME_LIMIT=None,
        PREFERRED_URL_SCHEME="https" if secure else "http",
        MAX_CONTENT_LENGTH=1024 * 1024,
        TEMPLATES_AUTO_RELOAD=settings.app_env == "development",
    )
    app.extensions["settings"] = settings
    if settings.trusted_proxy_count:
        # Behind a load balancer: trust its X-Forwarded-For and -Proto (the client's address,
        # https). Not -Host or -Port: load balancers pass the client's Host through and most
        # forward a client-sent X-Forwarded-Host untouched; links come from PUBLIC_BASE_URL.
        n = settings.trusted_proxy_count
        # Flask's documented way to add WSGI middleware; mypy sees only a method replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=0, x_port=0
        )


def _make_provider(app: Flask, settings: Settings, store: Store) -> PaymentProvider:
    if settings.payment_provider == "truelayer":
        from dashboard.providers.truelayer import (
            ENVIRONMENTS,
            TrueLayerProvider,
            TrueLayerSettings,
        )

        auth_url, api_url = ENVIRONMENTS[settings.truelayer_env]
        with open(settings.truelayer_signing_private_key_path) as key_file:
            private_key = key_file.read()
        return TrueLayerProvider(
            TrueLayerSettings(
                auth_url=settings.truelayer_auth_url or auth_url,
                api_url=settings.truelayer_api_url or api_url,
                client_id=settings.truelayer_client_id,
                client_secret=settings.truelayer_client_secret,
                signing_key_id=settings.truelayer_signing_key_id,
                signing_private_key_pem=private_key,
                merchant_accounts=dict(settings.truelayer_merchant_accounts),
            )
        )
    if settings.is_production:
        raise ConfigError("The sandbox payment provider is refused in production.")
    from dashboard.providers.sandbox import SandboxProvider

    return SandboxProvider(
        store.sandbox_links,
        secret=settings.secret_key.encode(),
        hosted_page_url=lambda link_id: hosts.external_url("sandbox.hosted_page", link_id=link_id),
        clock=utc_now,
    )


def _register_request_hooks(app: Flask, settings: Settings) -> None:
    issuer = urlsplit(settings.oidc_issuer)
    # Sign-out is a form POST that redirects to the provider; Chrome checks form-action on it.
    form_targets = f"'self' {issuer.scheme}://{issuer.netloc}"
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action {form_targets}; frame-ancestors 'none'; "
        "base-uri 'self'; object-src 'none'"
    )

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # The payer's pages carry a secret token in their URL: never send it to other sites.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if settings.is_production:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

    @app.after_request
    def signed_in_pages_are_not_stored(response: Response) -> Response:
        # A signed-in page shows the merchant's payments: no browser or proxy may keep a copy
        # (the back button after sign-out, a shared computer, a caching proxy).
        if response.mimetype == "text/html" and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response
