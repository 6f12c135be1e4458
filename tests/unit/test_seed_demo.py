"""``seed-demo`` on moto: the demo merchant gets payments and orders that agree with each other."""

from __future__ import annotations

from datetime import timedelta

from dashboard.core.ids import id_time
from dashboard.domain.orders import OrderStatus, order_status_for_payment
from dashboard.services.orders import OrderQuery


def test_seed_demo_makes_orders_whose_status_follows_their_payment(app):
    result = app.test_cli_runner().invoke(
        args=["seed-demo", "--user", "demo", "--count", "5", "--orders", "12", "--seed", "7"]
    )

    assert result.exit_code == 0, result.output
    orders = app.extensions["order_service"]
    listed = orders.list_orders("demo", OrderQuery(), page_size=50).orders
    assert len(listed) == 12
    assert [o.order_number for o in listed] == list(range(1012, 1000, -1))
    assert [o.created_at for o in listed] == sorted((o.created_at for o in listed), reverse=True)
    assert OrderStatus.PAID in {o.status for o in listed}
    for order in listed:
        payment = orders.order_payment(order)
        if payment is None:
            assert order.status in (OrderStatus.PENDING, OrderStatus.CANCELLED)
        elif order.status is not OrderStatus.CANCELLED:
            assert order.status is order_status_for_payment(payment.status)
            assert payment.amount_minor == order.total_minor
            assert payment.reference == order.number_label


def test_seed_demo_orders_are_found_on_the_day_they_show_and_counted_in_the_tiles(app):
    app.test_cli_runner().invoke(
        args=["seed-demo", "--user", "demo", "--count", "1", "--orders", "12", "--seed", "3"]
    )
    orders = app.extensions["order_service"]
    listed = orders.list_orders("demo", OrderQuery(), page_size=50).orders

    # Each id is minted at its order's moment, so the Created filter (a range of ids) agrees
    # with the time the list shows.
    for order in listed:
        assert abs(id_time(order.order_id) - order.created_at) < timedelta(milliseconds=1)
    assert orders.status_counts("demo", OrderQuery()).total == 12
