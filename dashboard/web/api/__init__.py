"""The JSON API under ``/api/v1``: payments, statistics and health, for scripts and other systems.

How a request goes
    ``blueprint.py`` authenticates every request (``auth.py``: an API key as
    ``Authorization: Bearer``, or the browser session, whose writes need the CSRF token) and
    maps every error to RFC 9457 problem details (``problems.py``). Flask-Limiter counts requests
    per API key or merchant (``API_RATE_LIMIT``), kept in ``RATELIMIT_STORAGE_URI`` (Redis in
    production, so every process counts together). Routes parse input, call a service, answer
    JSON.

Adding an endpoint (the orders endpoints, say)
    1. Write the routes in a resource module, e.g. ``dashboard/web/api/orders.py``, on ``bp`` from
       ``dashboard.web.api.blueprint``. Pass ``current_actor()`` (``dashboard.web.actor``) to
       a service's writes and its ``account_id`` to its reads; use ``inputs.json_request_body()``
       and ``inputs.page_size()`` to read bodies and ``limit``; raise
       ``ValidationProblem(errors)`` for refused input, ``Problem(...)`` for other answers, or
       let the service's domain exceptions through: each carries its meaning
       (``dashboard.core.errors``, e.g. ``OrderNotFound`` is a ``NotFound``, a 404 problem) and
       ``dashboard.web.errors`` answers it.
    2. Put ``@idempotent`` (``dashboard.web.api.idempotency``) under the route decorator of every
       POST (``/orders``, ``/orders/{id}/payment-link``): it honours ``Idempotency-Key``. It
       works for PATCH and DELETE too; pass ``idempotent=True`` to ``endpoint`` wherever used.
       A route that creates something names it ``idempotent_resource_id()``, never a fresh id:
       a retry after a failed run then gets the resource that run may have made.
    3. In the same module define ``OPENAPI_TAG`` ({"name", "description"}),
       ``openapi_schemas()`` (component schemas by name, e.g. Order, OrderList, NewOrder) and
       ``openapi_endpoints()``: one ``openapi.endpoint(method, path, operationId, summary,
       tag=..., parameters=..., body=json_body(...), responses={...}, idempotent=True)`` per
       route, with the path below /api/v1 in OpenAPI form (``/orders/{order_id}``).
       ``endpoint`` adds the shared answers (401, 403, 413, 429, 503, Idempotency-Key).
    4. Add the module to ``RESOURCES`` in ``wiring.py``. ``tests/unit/test_api_openapi.py``
       then checks that the document and the URL map agree, and the docs page
       (``/api/v1/docs``) lists it.
"""
