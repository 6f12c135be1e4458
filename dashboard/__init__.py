"""Payment Dashboard: a Flask app for merchants to create and follow payment links.

The app is built by ``dashboard.app.create_app``. Imports run one way, top to bottom:

    app                  the factory: settings, extensions, blueprints, CLI commands
    web | cli | local    blueprints and the JSON API; flask commands; development tools
    services             the use cases (create a payment link, apply a provider event, ...)
    providers            TrueLayer, the sandbox, outbound HTTP, webhook verification
    store                DynamoDB: tables, repositories, cursors
    domain               payments, orders, money, search terms: models and rules
    core                 clock, ids, signed ids, text and word rules

``pyproject.toml`` (``[tool.importlinter]``) holds the layers; ``make lint`` checks them.
"""

__version__ = "0.1.0"
