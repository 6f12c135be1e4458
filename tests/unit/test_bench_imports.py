"""The benchmark code runs only under `make bench`; this keeps it from rotting unnoticed."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["bench.loader", "bench.orders", "bench.orders_run", "bench.run"]
)
def test_the_benchmark_modules_still_import(module):
    assert importlib.import_module(module).__doc__
