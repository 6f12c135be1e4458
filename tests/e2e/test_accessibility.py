"""axe-core in a real browser: no serious or critical violation on any page the e2e suite visits.

Every page below is checked four ways (1280 and 390 wide, light and dark), with axe-core's
WCAG 2.0 A and AA and 2.1 AA rules, none disabled and no element excluded. axe-core is npm's
(pinned in package.json; ``make test`` installs it with the rest of node_modules).

To check a new page, add one ``AxePage`` to ``PAGES``: a name, who looks at it, and how to get
there from the scene (the data every page here reads, made once per test session).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.actor import Role
from dashboard.domain.orders import OrderFields
from dashboard.services.payments import NewPaymentLink
from dashboard.services.refunds import NewRefund
from tests.conftest import actor_for
from tests.live import LiveApp
from tests.webhook_receiver import answer_with, running_receiver

pytestmark = pytest.mark.e2e

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}
# Two best-practice rules (no WCAG tag) the issue names as well: each page starts with one <h1>
# and skips no heading level.
AXE_HEADINGS = {"type": "rule", "values": ["heading-order", "page-has-heading-one"]}
FAILING_IMPACTS = ("serious", "critical")
# AXE_SCREENSHOTS=/some/folder keeps a full-page screenshot of every page in every mode there.
SCREENSHOTS = os.environ.get("AXE_SCREENSHOTS")

# Mode name -> viewport and colour scheme.
MODES = {
    "desktop-light": ({"width": 1280, "height": 900}, "light"),
    "desktop-dark": ({"width": 1280, "height": 900}, "dark"),
    "phone-light": ({"width": 390, "height": 844}, "light"),
    "phone-dark": ({"width": 390, "height": 844}, "dark"),
}

# Only what axe reports as a violation is asked for: the rules that run are all of the tags'.
AXE_RUN = """async (runOnly) => {
  const results = await axe.run(document, { runOnly: runOnly, resultTypes: ["violations"] });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })) }));
}"""


@dataclass
class Scene:
    """The accounts, payments and orders the pages show; made once through the services."""

    app: LiveApp
    merchant: str  # the account with data of every kind
    payments: dict[str, str] = field(default_factory=dict)  # state -> payment id
    orders: dict[str, str] = field(default_factory=dict)  # state -> order id
    key_id: str = ""
    invitation_id: str = ""
    invitation_token: str = ""
    endpoint_id: str = ""  # a webhook endpoint with a delivered test event and a failed one

    def new_payment(self, reference: str, **options) -> object:
        """Create one more awaiting payment for the merchant (for pages that change it)."""
        service = self.app.app.extensions["payment_service"]
        with self.app.app.test_request_context(base_url=self.app.url):
            return service.create_payment_link(
                actor_for(self.merchant),
                NewPaymentLink(new_id(), 1999, "GBP", reference, **options),
            )


@dataclass(frozen=True)
class AxePage:
    """One page to check: who looks (merchant, newcomer or anyone) and how to open it."""

    name: str
    who: str
    open: Callable[[Page, Scene], None]


def _goto(path: str, status: int | None = 200) -> Callable[[Page, Scene], None]:
    def open_page(page: Page, scene: Scene) -> None:
        response = page.goto(scene.app.url + path.format(scene=scene))
        if status is not None:
            assert response is not None, path
            assert response.status == status, (path, response.status)

    return open_page


def _payment(state: str, suffix: str = "") -> Callable[[Page, Scene], None]:
    def open_page(page: Page, scene: Scene) -> None:
        page.goto(f"{scene.app.url}/payments/{scene.payments[state]}{suffix}")

    return open_page


def _order(state: str, suffix: str = "") -> Callable[[Page, Scene], None]:
    def open_page(page: Page, scene: Scene) -> None:
        page.goto(f"{scene.app.url}/orders/{scene.orders[state]}{suffix}")

    return open_page


def _new_payment_with_errors(page: Page, scene: Scene) -> None:
    page.goto(scene.app.url + "/payments/new")
    page.get_by_label("Amount").fill("0")
    page.get_by_label("Reference").fill("Invoice #42 & more stuff!!")
    page.get_by_role("button", name="Create payment link").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def _refund_with_errors(page: Page, scene: Scene) -> None:
    page.goto(f"{scene.app.url}/payments/{scene.payments['refunded']}/refund")
    page.get_by_label("Refund amount").fill("999")
    page.get_by_role("button", name="Refund payment").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def _sandbox_controls(page: Page, scene: Scene) -> None:
    _payment("refunded")(page, scene)
    page.get_by_role("link", name="Sandbox controls").click()
    expect(page.get_by_role("heading", name="Refunds")).to_be_visible()


def _new_order_with_errors(page: Page, scene: Scene) -> None:
    page.goto(scene.app.url + "/orders/new")
    page.get_by_label("Customer email").fill("not an email")
    page.get_by_role("button", name="Create order").click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def _cancel_dialog(page: Page, scene: Scene) -> None:
    page.goto(f"{scene.app.url}/payments/{scene.payments['awaiting_payment']}")
    page.get_by_role("button", name="Cancel link").click()
    expect(page.get_by_role("dialog")).to_be_visible()


def _confirm_it_is_you(page: Page, scene: Scene) -> None:
    """Sign in again when the app asks (a step-up), and come back to the page asked for."""
    if page.get_by_role("heading", name="Confirm it's you").count():
        page.get_by_role("link", name="Sign in again").or_(
            page.get_by_role("button", name="Sign in again")
        ).first.click()
        page.locator("input[name=sub]").fill(scene.merchant)
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{scene.app.url}/**")


def _key_created(page: Page, scene: Scene) -> None:
    page.goto(scene.app.url + "/settings")
    _confirm_it_is_you(page, scene)
    page.get_by_label("Name").fill(f"Shop {new_id()[-4:]}")
    page.get_by_role("button", name="Create API key").click()
    if page.get_by_role("heading", name="Confirm it's you").count():
        _confirm_it_is_you(page, scene)
        page.get_by_label("Name").fill(f"Shop {new_id()[-4:]}")
        page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()


def _endpoint_added(page: Page, scene: Scene) -> None:
    page.goto(scene.app.url + "/settings/webhooks")
    _confirm_it_is_you(page, scene)
    page.get_by_label("Endpoint URL").fill(f"https://shop.example/hooks/{new_id()[-4:]}")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", name="Webhook endpoint added")).to_be_visible()


def _delivery_expanded(page: Page, scene: Scene) -> None:
    page.goto(f"{scene.app.url}/settings/webhooks/{scene.endpoint_id}")
    for summary in page.locator(".delivery summary").all():
        summary.click()


def _sandbox_page(page: Page, scene: Scene) -> None:
    page.goto(scene.new_payment("Payer view").link_url)
    expect(page.get_by_role("button", name="Pay now")).to_be_visible()


def _payer_result(paid: bool) -> Callable[[Page, Scene], None]:
    def open_page(page: Page, scene: Scene) -> None:
        page.goto(scene.new_payment("Payer result").link_url)
        page.get_by_role("button", name="Pay now" if paid else "Decline").click()
        expect(page.get_by_role("status")).to_contain_text("complete" if paid else "declined")

    return open_page


def _load_more(page: Page, scene: Scene) -> None:
    page.goto(scene.app.url + "/payments")
    page.get_by_role("link", name="Load more").click()
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)


# Every page the e2e suite visits, in the states it sees them in. Add new pages here.
PAGES = [
    # The API key is created first, while the session's sign-in is recent (a step-up otherwise).
    AxePage("api-key-created", "merchant", _key_created),
    AxePage("landing", "anyone", _goto("/")),
    AxePage("sign-in-failed", "anyone", _goto("/callback?error=access_denied", status=None)),
    AxePage("payer-not-found", "anyone", _goto("/pay/no-such-token", status=404)),
    AxePage("sandbox-hosted-page", "anyone", _sandbox_page),
    AxePage("payer-result-paid", "anyone", _payer_result(paid=True)),
    AxePage("payer-result-declined", "anyone", _payer_result(paid=False)),
    AxePage("invitation", "anyone", _goto("/invitations/{scene.invitation_token}")),
    AxePage("payments-empty", "newcomer", _goto("/payments")),
    AxePage("statistics-empty", "newcomer", _goto("/stats")),
    AxePage("orders-empty", "newcomer", _goto("/orders")),
    AxePage("payments-list", "merchant", _goto("/payments")),
    AxePage("payments-load-more", "merchant", _load_more),
    AxePage("payments-no-match", "merchant", _goto("/payments?q=nothing-like-this")),
    AxePage(
        "payments-bad-filters",
        "merchant",
        _goto("/payments?status=lost&from=2026-13-01&q=<b>x</b>", status=None),
    ),
    AxePage("payments-completed-tile", "merchant", _goto("/payments?status=completed")),
    AxePage("new-payment", "merchant", _goto("/payments/new")),
    AxePage("new-payment-errors", "merchant", _new_payment_with_errors),
    # Early in the list: the refund form needs a sign-in within 5 minutes (step-up).
    AxePage("payment-refunds", "merchant", _payment("refunded")),
    AxePage("refund-form", "merchant", _payment("refunded", "/refund")),
    AxePage("refund-form-errors", "merchant", _refund_with_errors),
    AxePage("sandbox-controls", "merchant", _sandbox_controls),
    AxePage("payment-awaiting", "merchant", _payment("awaiting_payment")),
    AxePage("payment-emailed", "merchant", _payment("emailed")),
    AxePage("payment-processing", "merchant", _payment("processing")),
    AxePage("payment-attempt-failed", "merchant", _payment("attempt_failed")),
    AxePage("payment-completed", "merchant", _payment("completed")),
    AxePage("payment-cancelled", "merchant", _payment("cancelled")),
    AxePage("payment-expired", "merchant", _payment("expired")),
    AxePage("payment-cancel-dialog", "merchant", _cancel_dialog),
    AxePage("payment-cancel-confirm", "merchant", _payment("awaiting_payment", "/cancel/confirm")),
    AxePage("payment-not-found", "merchant", _goto("/payments/no-such-payment", status=404)),
    AxePage("orders-list", "merchant", _goto("/orders")),
    AxePage("new-order", "merchant", _goto("/orders/new")),
    AxePage("new-order-errors", "merchant", _new_order_with_errors),
    AxePage("order-open", "merchant", _order("open")),
    AxePage("order-payment-requested", "merchant", _order("requested")),
    AxePage("order-paid", "merchant", _order("paid")),
    AxePage("order-cancelled", "merchant", _order("cancelled")),
    AxePage("order-edit", "merchant", _order("open", "/edit")),
    AxePage("order-delete-confirm", "merchant", _order("open", "/delete/confirm")),
    AxePage("statistics", "merchant", _goto("/stats")),
    AxePage("statistics-7-days", "merchant", _goto("/stats?days=7")),
    AxePage("statistics-dates", "merchant", _goto("/stats?from=2026-11-01&to=2026-11-30")),
    AxePage("payments-dates", "merchant", _goto("/payments?range=custom&from=2026-11-01")),
    AxePage("settings", "merchant", _goto("/settings")),
    AxePage("settings-revoke-confirm", "merchant", _goto("/settings/api-keys/{scene.key_id}/revoke/confirm")),
    AxePage("sign-out-everywhere-confirm", "merchant", _goto("/settings/sign-out-everywhere/confirm")),
    AxePage("business", "merchant", _goto("/settings/business")),
    AxePage("team", "merchant", _goto("/settings/team")),
    AxePage("notifications", "merchant", _goto("/settings/notifications")),
    AxePage(
        "team-revoke-invitation-confirm",
        "merchant",
        _goto("/settings/team/invitations/{scene.invitation_id}/revoke/confirm"),
    ),
    AxePage("audit-log", "merchant", _goto("/settings/audit-log")),
    AxePage("webhooks", "merchant", _goto("/settings/webhooks")),
    AxePage("webhook-endpoint", "merchant", _delivery_expanded),
    AxePage("webhook-endpoint-added", "merchant", _endpoint_added),
    AxePage("webhook-rotate-confirm", "merchant", _goto("/settings/webhooks/{scene.endpoint_id}/rotate-secret/confirm")),
    AxePage("webhook-delete-confirm", "merchant", _goto("/settings/webhooks/{scene.endpoint_id}/delete/confirm")),
    AxePage("confirm-it-is-you", "merchant", _goto("/confirm-sign-in?next=/settings")),
    AxePage("api-docs", "merchant", _goto("/api/v1/docs")),
]  # fmt: skip


def _make_scene(app: LiveApp) -> Scene:
    """One merchant with payments in every state, orders, a key and an invitation."""
    scene = Scene(app=app, merchant=f"axe-{new_id()[-8:]}@example.com")
    ext = app.app.extensions
    service, provider, orders = (
        ext["payment_service"],
        ext["payment_provider"],
        ext["order_service"],
    )
    actor = actor_for(scene.merchant)
    with app.app.test_request_context(base_url=app.url):
        for n in range(30):
            payment = service.create_payment_link(
                actor,
                NewPaymentLink(
                    new_id(), 1000 + n, "GBP", f"Invoice {n}", payer_name="Ann",
                    payer_email="ann@example.com" if n == 0 else None,
                ),
            )  # fmt: skip
            if n == 0:
                scene.payments["awaiting_payment"] = payment.payment_id
            elif n == 1:
                for event in provider.start_attempt(payment.provider_link_id):
                    service.apply_provider_event(event)
                scene.payments["processing"] = payment.payment_id
            elif n == 2:
                for event in provider.decline(payment.provider_link_id):
                    service.apply_provider_event(event)
                scene.payments["attempt_failed"] = payment.payment_id
            elif n % 5 == 3:
                for event in provider.pay(payment.provider_link_id):
                    service.apply_provider_event(event)
                scene.payments["completed"] = payment.payment_id
            elif n == 4:
                service.cancel_payment(actor, payment.payment_id)
                scene.payments["cancelled"] = payment.payment_id
        expiring = service.create_payment_link(
            actor,
            NewPaymentLink(
                new_id(), 500, "EUR", "Soon gone", expires_at=utc_now() + timedelta(seconds=1)
            ),
        )
        scene.payments["expired"] = expiring.payment_id
        emailed = service.create_payment_link(
            actor, NewPaymentLink(new_id(), 4200, "GBP", "Emailed", payer_email="bo@example.com")
        )
        ext["payment_emails"].email_link(actor, emailed.payment_id, 0)
        scene.payments["emailed"] = emailed.payment_id
        scene.payments["refunded"] = _refunded_payment(app, actor)
        examples = {
            "open": ("Charles Babbage", "Difference engine", 1, "1249.99", "GBP"),
            "requested": ("Grace Hopper", "Compiler handbook", 12, "18.00", "EUR"),
            "paid": ("Ada Lovelace", "Notes on the engine", 2, "12.50", "GBP"),
            "cancelled": ("Alan Turing", "Bombe drum", 4, "75.50", "GBP"),
        }
        for state, (name, product, quantity, price, currency) in examples.items():
            fields = OrderFields(
                customer_name=name,
                customer_email=f"{name.split()[0].lower()}@example.com",
                product_name=product,
                quantity=quantity,
                unit_price=Decimal(price),
                currency=currency,
            )
            order = orders.create_order(actor, new_id(), fields)
            scene.orders[state] = order.order_id
            if state in ("requested", "paid"):
                payment = orders.request_payment(actor, order.order_id)
                if state == "paid":
                    for event in provider.pay(payment.provider_link_id):
                        service.apply_provider_event(event)
            if state == "cancelled":
                orders.cancel_order(actor, order.order_id)
        key, _ = ext["api_keys"].create_key(actor, "Web shop")
        scene.key_id = key.key_id
        invitation, scene.invitation_token = ext["invitations"].invite(
            actor, new_id(), "viewer@example.com", Role.VIEWER
        )
        scene.invitation_id = invitation.invitation_id
        scene.endpoint_id = _endpoint_with_deliveries(app, actor)
    time.sleep(1)  # the expiring link is past its expiry
    return scene


def _endpoint_with_deliveries(app: LiveApp, actor) -> str:
    """Add an endpoint at a local receiver; deliver it a test event, then fail one."""
    ext = app.app.extensions
    endpoints, deliveries = ext["webhook_endpoints"], ext["deliveries"]
    with running_receiver() as receiver:
        endpoint, _ = endpoints.add(actor, None, receiver.url(), "all", "Shop backend")
        deliveries.send_test(actor, endpoint.endpoint_id)
        ext["delivery_worker"].run_once()
        receiver.answer = answer_with(503)
        deliveries.send_test(actor, endpoint.endpoint_id)
        ext["delivery_worker"].run_once()
    endpoints.add(actor, None, "http://127.0.0.1:9/invoicing", ["refund.executed"])
    endpoints.disable(actor, endpoints.list(actor.account_id)[-1].endpoint_id, "Paused for now.")
    return endpoint.endpoint_id


def _refunded_payment(app: LiveApp, actor) -> str:
    """Return a paid, settled payment with an executed refund and one still pending."""
    ext = app.app.extensions
    service, provider, refunds = (
        ext["payment_service"],
        ext["payment_provider"],
        ext["refund_service"],
    )
    payment = service.create_payment_link(actor, NewPaymentLink(new_id(), 2000, "GBP", "Order 7"))
    for event in provider.pay(payment.provider_link_id):
        service.apply_provider_event(event)
    paid = service.get_payment(actor.account_id, payment.payment_id)
    attempt = paid.succeeded_attempt.provider_payment_id
    for event in provider.settle(paid.provider_link_id, attempt):
        service.apply_provider_event(event)
    refunded = refunds.request_refund(actor, paid.payment_id, NewRefund(new_id(), 500, "Damaged"))
    for event in provider.execute_refund(
        paid.provider_link_id, attempt, refunded.refunds[0].provider_refund_id
    ):
        service.apply_provider_event(event)
    refunds.request_refund(actor, paid.payment_id, NewRefund(new_id(), 300))
    return paid.payment_id


@dataclass
class Looker:
    """One browser profile and its tab, and which page it shows now (reused across modes)."""

    page: Page
    showing: str | None = None


@pytest.fixture(scope="module")
def lookers(browser: Browser, live_app: LiveApp) -> Iterator[tuple[Scene, dict[str, Looker]]]:
    """The scene, and a signed-in merchant, a signed-in newcomer and a signed-out visitor."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"axe-core is missing at {AXE_SCRIPT}: `make install` (npm ci) installs it")
    scene = _make_scene(live_app)
    contexts, lookers = [], {}
    for who in ("merchant", "newcomer", "anyone"):
        # axe-core is injected as an inline script, which the app's CSP rightly refuses.
        context = browser.new_context(reduced_motion="reduce", bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if who != "anyone":
            subject = scene.merchant if who == "merchant" else f"new-{new_id()[-8:]}@example.com"
            page.goto(live_app.url + "/login")
            page.locator("input[name=sub]").fill(subject)
            page.get_by_role("button", name="Authorize").click()
            page.wait_for_url(f"{live_app.url}/payments")
        lookers[who] = Looker(page)
    yield scene, lookers
    for context in contexts:
        context.close()


def _report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']}: {violation['id']} ({violation['help']})")
        for node in violation["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("axe_page", "mode"),
    [(axe_page, mode) for axe_page in PAGES for mode in MODES],
    ids=[f"{axe_page.name}-{mode}" for axe_page in PAGES for mode in MODES],
)
def test_no_serious_or_critical_axe_violation(lookers, axe_page: AxePage, mode: str):
    scene, by_who = lookers
    looker = by_who[axe_page.who]
    page = looker.page
    viewport, scheme = MODES[mode]
    page.set_viewport_size(viewport)
    page.emulate_media(color_scheme=scheme)
    # The four modes of one page follow each other: the page is opened once and looked at again.
    if looker.showing != axe_page.name:
        looker.showing = None
        axe_page.open(page, scene)
        looker.showing = axe_page.name
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    violations = page.evaluate(AXE_RUN, AXE_TAGS)
    violations += page.evaluate(AXE_RUN, AXE_HEADINGS)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SCREENSHOTS}/{axe_page.name}-{mode}.png", full_page=True)

    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert failing == [], f"{axe_page.name} ({mode}) at {page.url}:\n{_report(failing)}"
    assert violations == [], f"{axe_page.name} ({mode}) at {page.url}:\n{_report(violations)}"
