"""Provider maintenance commands: ``truelayer-check``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.providers.base import ProviderRejected, ProviderUnavailable


@click.command("truelayer-check")
@with_appcontext
def truelayer_check_command() -> None:
    """Send a signed request to TrueLayer's /test-signature and say whether it was accepted."""
    from dashboard.providers.truelayer import TrueLayerProvider

    provider = current_app.extensions["payment_provider"]
    if not isinstance(provider, TrueLayerProvider):
        raise click.ClickException("Set PAYMENT_PROVIDER=truelayer and the TRUELAYER_* settings.")
    try:
        provider.check_signature()
    except ProviderRejected as exc:
        raise click.ClickException(f"TrueLayer refused the request: {exc}") from exc
    except ProviderUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("TrueLayer: signature accepted (token, key id and private key all work).")
