"""``seed-demo`` on moto: the demo merchant gets payments and orders that agree with each other."""

from __future__ import annotations

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
