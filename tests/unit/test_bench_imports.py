"""The benchmark code runs only under `make bench`; this keeps it from rotting unnoticed."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["bench.loader", "bench.orders", "bench.orders_run", "bench.run", "bench.stats_run"]
)
def test_the_benchmark_modules_still_import(module):
    assert importlib.import_module(module).__doc__


def test_a_payments_run_keeps_the_hand_written_notes_and_the_orders_section():
    from bench.run import _notes_section, _split_orders_section

    report = (
        "# Benchmarks\n\n| table |\n\n## Notes\n\n- why the list misses\n\n## Orders\n\n| o |\n"
    )
    payments, orders = _split_orders_section(report)

    assert _notes_section(payments) == "## Notes\n\n- why the list misses\n"
    assert orders == "## Orders\n\n| o |\n"
