"""The order pages through Flask's test client, on moto: list, forms, the order page, actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.payments import PaymentStatus
from tests.conftest import place_order
from tests.unit.conftest import csrf_token, sign_in

ORDER = {
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "product_name": "Analytical engine manual",
    "quantity": "3",
    "unit_price": "12.50",
    "currency": "GBP",
}


def _new_form_fields(client: FlaskClient) -> dict[str, str]:
    html = client.get("/orders/new").get_data(as_text=True)
    token = re.search(r'id="order_token" name="order_token" type="hidden" value="([^"]+)"', html)
    assert token, "the form carries a signed order id"
    return {"csrf_token": csrf_token(client), "order_token": token.group(1)}


def _create(client: FlaskClient, **fields) -> str:
    """Create an order through the form; return its page's path."""
    response = client.post("/orders", data={**_new_form_fields(client), **ORDER, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def _place(app: Flask, user: str = "alice@example.com", **changes):
    """Create an order straight through the service (for lists that need many)."""
    return place_order(app, user, new_id(), **changes)


def _post(client: FlaskClient, path: str, **data):
    """Post a form with a fresh CSRF token (fetching it shows a page, which takes flashes)."""
    return client.post(path, data={"csrf_token": csrf_token(client), **data})


def _request_payment(client: FlaskClient, order_path: str) -> str:
    """Request payment from the order page; return the payment link shown there."""
    response = _post(client, f"{order_path}/request-payment")
    assert response.status_code == 303
    assert response.headers["Location"] == order_path
    html = client.get(order_path).get_data(as_text=True)
    assert "Payment link created. Share it with your customer." in html
    link = re.search(r'<a href="([^"]+)" id="payment-link"', html)
    assert link, "the order page shows the payment link"
    return link.group(1)


def _pay(app: Flask, link_url: str) -> None:
    """The payer pays the sandbox link; its events reach the app as the webhook would bring."""
    link_id = link_url.rsplit("/", 1)[1]
    with app.app_context():
        for event in app.extensions["payment_provider"].pay(link_id):
            app.extensions["payment_service"].apply_provider_event(event)


def _row_numbers(html: str) -> list[str]:
    return re.findall(r'class="order-number"><a class="row-link" href="[^"]+">(ORD-\d+)</a>', html)


# The list


def test_the_list_says_what_to_do_when_there_are_no_orders(merchant):
    html = merchant.get("/orders").get_data(as_text=True)

    assert "No orders yet" in html
    assert html.count('href="/orders/new"') == 2  # the header's link and the empty state's
    assert 'aria-current="page">Orders</a>' in html  # the header's nav marks the section


def test_the_list_shows_each_order_newest_first(merchant, app):
    _create(merchant)
    _create(merchant, customer_name="Charles Babbage", product_name="Difference engine")

    html = merchant.get("/orders").get_data(as_text=True)

    assert _row_numbers(html) == ["ORD-1002", "ORD-1001"]
    assert "Charles Babbage" in html
    assert 'Analytical engine manual <span class="muted order-qty">× 3</span>' in html
    assert "£37.50" in html
    # Pending is the colour of every pending thing (the payments' Pending badge's).
    assert 'class="badge badge-pending order-badge order-status-pending">Pending</span>' in html


def test_search_finds_orders_by_customer_product_or_number_and_htmx_gets_the_list_body(
    merchant,
):
    _create(merchant)
    _create(merchant, customer_name="Charles Babbage", product_name="Difference engine")

    assert _row_numbers(merchant.get("/orders?q=babbage").get_data(as_text=True)) == ["ORD-1002"]
    assert _row_numbers(merchant.get("/orders?q=manual").get_data(as_text=True)) == ["ORD-1001"]
    assert _row_numbers(merchant.get("/orders?q=ORD-1001").get_data(as_text=True)) == ["ORD-1001"]
    response = merchant.get("/orders?q=difference", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="order-list-body"')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert _row_numbers(html) == ["ORD-1002"]


def test_the_search_box_searches_as_you_type_and_without_javascript(merchant):
    html = merchant.get("/orders?q=ada").get_data(as_text=True)

    box = re.search(r'<input type="search" id="order-search"[^>]+>', html, re.S).group(0)
    assert 'name="q"' in box
    assert 'value="ada"' in box
    assert 'hx-trigger="input changed delay:350ms, search"' in box  # as the payments list's
    assert 'hx-push-url="true"' in box
    assert 'hx-target="#order-list-body"' in box
    assert 'form="order-filters"' in box  # Enter submits the filter form: a plain GET
    assert '<label for="order-search" class="search-label">Search</label>' in html
    # The filter form is outside the results htmx swaps, so typing is never interrupted.
    body_start = html.index('<div id="order-list-body"')
    assert html.index('<form id="order-filters"') < body_start
    assert html.index('id="order-search"') < body_start


def test_nothing_matching_is_told_apart_from_no_orders_at_all(merchant):
    _create(merchant)

    html = merchant.get("/orders?q=zebra").get_data(as_text=True)

    assert "No orders match" in html
    assert "“zebra”" in html
    assert "No orders yet" not in html


def test_status_tabs_filter_the_list_and_keep_the_search(merchant):
    first = _create(merchant)
    _create(merchant)
    _request_payment(merchant, first)

    requested = merchant.get("/orders?status=payment_requested").get_data(as_text=True)
    pending = merchant.get("/orders?status=pending").get_data(as_text=True)
    paid = merchant.get("/orders?status=paid&q=ada").get_data(as_text=True)

    assert _row_numbers(requested) == ["ORD-1001"]
    assert _row_numbers(pending) == ["ORD-1002"]
    assert "No paid orders match “ada”" in paid
    assert 'href="/orders?status=cancelled&amp;q=ada"' in paid
    assert '<input type="hidden" name="status" value="paid" form="order-filters">' in paid


def test_an_unknown_status_or_a_bad_cursor_is_a_400_with_a_message(merchant):
    unknown = merchant.get("/orders?status=shipped")
    damaged = merchant.get("/orders?cursor=not-a-cursor")

    assert unknown.status_code == 400
    assert "no such order status" in unknown.get_data(as_text=True)
    assert damaged.status_code == 400
    assert "Start again from the first page" in damaged.get_data(as_text=True)


def test_load_more_appends_the_next_rows_and_plain_browsers_get_a_next_page(merchant, app):
    for _ in range(27):
        _place(app)

    first = merchant.get("/orders").get_data(as_text=True)
    assert len(_row_numbers(first)) == 25
    next_url = re.search(r'<a href="(/orders\?cursor=[^"]+)" class="button secondary"', first)
    assert next_url
    assert "Load more" in first
    next_url = next_url.group(1).replace("&amp;", "&")

    more = merchant.get(next_url, headers={"HX-Request": "true", "HX-Target": "load-more"})
    rows = more.get_data(as_text=True)
    assert rows.lstrip().startswith("<tr>")
    assert _row_numbers(rows) == ["ORD-1002", "ORD-1001"]
    assert "Load more" not in rows

    page_two = merchant.get(next_url).get_data(as_text=True)
    assert "<html" in page_two
    assert _row_numbers(page_two) == ["ORD-1002", "ORD-1001"]
    assert "Back to the newest orders" in page_two


# Creating


def test_creating_an_order_shows_its_page(merchant):
    location = _create(merchant, shipping_address="12 St James's Square\nLondon")

    html = merchant.get(location).get_data(as_text=True)
    assert "Order ORD-1001 created." in html
    assert '<h1 class="order-title">ORD-1001</h1>' in html
    assert "3 × £12.50 = <strong>£37.50</strong>" in html
    assert "ada@example.com" in html
    assert "12 St James&#39;s Square\nLondon" in html
    assert ">Pending</span>" in html
    assert "Request payment</button>" in html
    assert "hx-trigger" not in html  # nothing to poll before a payment exists


def test_invalid_input_shows_the_form_again_with_messages_and_values(merchant):
    data = {
        **_new_form_fields(merchant),
        **ORDER,
        "customer_name": "",
        "customer_email": "not-an-email",
        "quantity": "two",
        "unit_price": "12.505",
    }

    response = merchant.post("/orders", data=data)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the customer&#39;s name." in html
    assert "Enter an email address such as name@example.com." in html
    assert "Enter a whole number from 1 to 100,000." in html
    assert "at most 2 digits after the point" in html
    assert 'value="not-an-email"' in html
    assert 'value="two"' in html
    assert 'value="Analytical engine manual"' in html
    assert "No orders yet" in merchant.get("/orders").get_data(as_text=True)


def test_a_customer_name_with_a_line_break_is_refused_with_the_values_kept(merchant):
    data = {**_new_form_fields(merchant), **ORDER, "customer_name": "Ada\nLovelace"}

    response = merchant.post("/orders", data=data)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "no line breaks, tabs or control characters" in html
    assert 'value="Analytical engine manual"' in html
    assert 'value="ada@example.com"' in html
    assert "No orders yet" in merchant.get("/orders").get_data(as_text=True)


def test_a_total_over_the_maximum_is_shown_on_the_quantity_with_the_total(merchant):
    data = {**_new_form_fields(merchant), **ORDER, "quantity": "2", "unit_price": "600000"}

    response = merchant.post("/orders", data=data)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    quantity_error = re.search(r'<small id="quantity-error" class="field-error">([^<]+)', html)
    assert quantity_error.group(1) == "The order total can be at most £1,000,000.00."
    assert "Order total: <strong>£1,200,000.00</strong>" in html


def test_a_double_submit_lands_on_the_same_order(merchant):
    fields = {**_new_form_fields(merchant), **ORDER}

    first = merchant.post("/orders", data=fields)
    second = merchant.post("/orders", data=fields)

    assert first.headers["Location"] == second.headers["Location"]
    assert _row_numbers(merchant.get("/orders").get_data(as_text=True)) == ["ORD-1001"]


def test_a_tampered_order_id_is_refused_without_writing(merchant):
    fields = {**_new_form_fields(merchant), **ORDER}
    fields["order_token"] = ("f" if fields["order_token"][0] != "f" else "g") + fields[
        "order_token"
    ][1:]

    response = merchant.post("/orders", data=fields)

    assert response.status_code == 422
    assert "open too long" in response.get_data(as_text=True)
    assert "No orders yet" in merchant.get("/orders").get_data(as_text=True)


# The order page and its payment


def test_requesting_payment_shows_the_link_and_the_payment_links_back(merchant):
    location = _create(merchant)

    link_url = _request_payment(merchant, location)

    html = merchant.get(location).get_data(as_text=True)
    assert re.fullmatch(r"http://localhost/sandbox/links/sbx-link-[0-9a-f]+", link_url)
    assert ">Payment requested</span>" in html
    assert ">Awaiting payment</span>" in html  # the payment's own badge
    assert "Copy link</button>" in html
    assert "Request payment</button>" not in html
    payment_path = re.search(r'<a href="(/payments/[^"]+)">View payment</a>', html).group(1)
    payment_html = merchant.get(payment_path).get_data(as_text=True)
    assert f'For order <a href="{location}">ORD-1001</a>' in payment_html
    assert "£37.50" in payment_html


def test_htmx_polls_get_only_the_order_panel_until_the_order_is_paid(merchant, app):
    location = _create(merchant)
    link_url = _request_payment(merchant, location)

    polled = merchant.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert polled.lstrip().startswith('<div id="order-panel"')
    assert "<html" not in polled
    assert 'hx-trigger="every 3s"' in polled

    _pay(app, link_url)

    paid = merchant.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert ">Paid</span>" in paid
    assert ">Completed</span>" in paid
    assert "hx-trigger" not in paid
    assert "Ada Lovelace paid £37.50" in paid
    for action in ("Cancel order", "Delete order", ">Edit<", "Request payment"):
        assert action not in paid, action


def test_a_paid_order_is_never_deleted_cancelled_or_edited(merchant, app):
    location = _create(merchant)
    _pay(app, _request_payment(merchant, location))

    token = csrf_token(merchant)  # fetched once: each page shown would take the messages
    deleted = merchant.post(f"{location}/delete", data={"csrf_token": token})
    cancelled = merchant.post(f"{location}/cancel", data={"csrf_token": token})
    edit = merchant.get(f"{location}/edit")

    assert deleted.status_code == cancelled.status_code == edit.status_code == 303
    html = merchant.get(location).get_data(as_text=True)
    assert "A paid order is a record of a payment and cannot be deleted." in html
    assert "A paid order cannot be cancelled." in html
    assert "A paid order cannot be changed." in html
    assert ">Paid</span>" in html


def test_a_failed_order_offers_to_request_payment_again(merchant):
    location = _create(merchant)
    first_link = _request_payment(merchant, location)
    html = merchant.get(location).get_data(as_text=True)
    payment_path = re.search(r'<a href="(/payments/[^"]+)">View payment</a>', html).group(1)
    _post(merchant, f"{payment_path}/cancel")  # the link ends unpaid: the order fails

    html = merchant.get(location).get_data(as_text=True)
    assert ">Payment failed</span>" in html
    assert "The link was cancelled before it was paid." in html
    assert "Request payment again</button>" in html

    second_link = _request_payment(merchant, location)
    assert ">Payment requested</span>" in merchant.get(location).get_data(as_text=True)
    assert second_link != first_link


def test_an_order_with_a_live_link_is_cancelled_before_it_can_be_deleted(merchant):
    location = _create(merchant)
    _request_payment(merchant, location)

    refused = _post(merchant, f"{location}/delete")
    assert refused.headers["Location"] == location
    assert "Cancel the order first" in merchant.get(location).get_data(as_text=True)

    _post(merchant, f"{location}/cancel")
    html = merchant.get(location).get_data(as_text=True)
    assert "The order is cancelled." in html
    assert ">Cancelled</span>" in html  # the order's badge and the link's
    assert "Copy link" not in html
    assert f"{location}/delete/confirm" in html  # the Delete button, now the link can go

    deleted = _post(merchant, f"{location}/delete")
    assert deleted.status_code == 303
    assert deleted.headers["Location"] == "/orders"
    listing = merchant.get("/orders").get_data(as_text=True)
    assert "Order ORD-1001 deleted." in listing
    assert "No orders yet" in listing
    assert merchant.get(location).status_code == 404


def test_the_payment_of_a_deleted_order_shows_just_its_reference(merchant):
    location = _create(merchant)
    _request_payment(merchant, location)
    html = merchant.get(location).get_data(as_text=True)
    payment_path = re.search(r'<a href="(/payments/[^"]+)">View payment</a>', html).group(1)
    _post(merchant, f"{location}/cancel")
    _post(merchant, f"{location}/delete")

    payment_html = merchant.get(payment_path).get_data(as_text=True)

    assert "For order ORD-1001 <small" in payment_html
    assert "/orders/" not in payment_html.split("<main", 1)[1]


def test_another_merchants_order_is_not_found_on_every_route(app, merchant):
    location = _create(merchant)
    other = sign_in(app.test_client(), "mallory@example.com")
    token = csrf_token(other)

    assert other.get(location).status_code == 404
    assert other.get(f"{location}/edit").status_code == 404
    assert "Order not found" in other.get(location).get_data(as_text=True)
    for action in ("request-payment", "cancel", "delete", "edit"):
        response = other.post(f"{location}/{action}", data={"csrf_token": token, **ORDER})
        assert response.status_code == 404, action
    assert _row_numbers(other.get("/orders?q=ORD-1001").get_data(as_text=True)) == []
    html = merchant.get(location).get_data(as_text=True)
    assert ">Pending</span>" in html
    assert "Ada Lovelace" in html


@pytest.mark.parametrize("order_id", ["nope", "01900000-0000-7000-8000-000000000000"])
def test_an_unknown_order_is_not_found_and_json_clients_get_json(merchant, order_id):
    page = merchant.get(f"/orders/{order_id}")
    as_json = merchant.get(f"/orders/{order_id}", headers={"Accept": "application/json"})

    assert page.status_code == as_json.status_code == 404
    assert "Order not found" in page.get_data(as_text=True)
    assert as_json.json["error"] == "Order not found"


# Editing


def test_editing_changes_the_customer_address_and_quantity(merchant):
    location = _create(merchant)
    form = merchant.get(f"{location}/edit").get_data(as_text=True)
    assert 'value="Ada Lovelace"' in form
    assert 'value="3"' in form
    assert "Analytical engine manual" in form  # shown, fixed

    response = _post(
        merchant,
        f"{location}/edit",
        customer_name="Ada King",
        customer_email="ada@example.com",
        quantity="4",
        shipping_address="1 Dorset Street",
    )

    assert response.status_code == 303
    html = merchant.get(location).get_data(as_text=True)
    assert "Order updated." in html
    assert "Ada King" in html
    assert "4 × £12.50 = <strong>£50.00</strong>" in html
    assert "1 Dorset Street" in html


def test_editing_with_errors_shows_messages_and_the_values_typed(merchant):
    location = _create(merchant)

    response = _post(
        merchant,
        f"{location}/edit",
        customer_name="Ada King",
        customer_email="ada@",
        quantity="0",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an email address such as name@example.com." in html
    assert "Enter a whole number from 1 to 100,000." in html
    assert 'value="Ada King"' in html
    assert 'value="ada@"' in html
    assert "Ada Lovelace" in merchant.get(location).get_data(as_text=True)


def test_the_quantity_is_locked_while_a_payment_link_is_live(merchant):
    location = _create(merchant)
    _request_payment(merchant, location)

    form = merchant.get(f"{location}/edit").get_data(as_text=True)
    quantity = re.search(r'<input[^>]+id="quantity"[^>]*>', form).group(0)
    assert "disabled" in quantity
    assert 'value="3"' in quantity
    assert "The quantity cannot change while a payment link" in form

    response = _post(
        merchant,
        f"{location}/edit",
        customer_name="Ada King",
        customer_email="ada@example.com",
        quantity="9",  # a hand-made request: the locked quantity is not read
    )

    assert response.status_code == 303
    html = merchant.get(location).get_data(as_text=True)
    assert "Ada King" in html
    assert "3 × £12.50 = <strong>£37.50</strong>" in html


def test_an_order_whose_link_lapsed_offers_to_request_payment_again(merchant, monkeypatch):
    location = _create(merchant)
    _request_payment(merchant, location)
    # A day and more later: no provider event and no sync has recorded the expiry yet.
    later = utc_now() + timedelta(hours=25)
    monkeypatch.setattr("dashboard.web.orders.routes.utc_now", lambda: later)

    page = merchant.get(location).get_data(as_text=True)

    assert "Payment failed" in page
    assert "Request payment again" in page


def test_a_search_that_matches_too_much_says_only_the_newest_are_shown(merchant, app, monkeypatch):
    monkeypatch.setattr("dashboard.services.orders.MAX_SEARCH_MATCHES", 2)
    for _ in range(3):
        _place(app)

    page = merchant.get("/orders?q=ada").get_data(as_text=True)

    assert "so some are not shown" in page
    assert page.count('class="order-number"') == 2  # the two newest of three matches


def test_the_list_shows_an_order_whose_link_lapsed_as_failed_like_its_page(merchant, monkeypatch):
    location = _create(merchant)
    _request_payment(merchant, location)
    later = utc_now() + timedelta(hours=25)
    monkeypatch.setattr("dashboard.web.orders.routes.utc_now", lambda: later)

    listed = merchant.get("/orders").get_data(as_text=True)

    assert 'order-status-failed">Payment failed</span>' in listed
    assert "order-status-payment_requested" not in listed
    # ...and the note beside the tiles says why it is still counted as Payment requested.
    assert "counted as Payment requested until the expiry is recorded" in listed


def test_an_order_paid_twice_says_so_and_links_the_extra_payment(merchant, app):
    order_path = _create(merchant)
    first_link = _request_payment(merchant, order_path)
    order_id = order_path.rsplit("/", 1)[1]
    sandbox = app.extensions["payment_provider"]
    payments = app.extensions["payment_service"]
    orders = app.extensions["order_service"]
    first_link_id = first_link.rsplit("/", 1)[1]
    with app.app_context():
        attempt = sandbox.start_attempt(first_link_id)[-1].provider_payment_id
        # The first link ended as unpaid while its payer was still at the bank (webhooks lost).
        first = orders.order_payment(orders.get_order("alice@example.com", order_id))
        app.extensions["store"].payments.save(
            first, first.with_status(PaymentStatus.CANCELLED, first.updated_at)
        )
    second_link = _request_payment(merchant, order_path)
    _pay(app, second_link)
    with app.app_context():
        for event in sandbox.finish_attempt(first_link_id, attempt, paid=True):
            payments.apply_provider_event(event)

    html = merchant.get(order_path).get_data(as_text=True)

    assert "Paid twice." in html
    assert f'href="/payments/{first.payment_id}"' in html
    assert "refund what is not owed" in html
