"""Fixtures for the sandbox protocol tests: one in-process sandbox per test module.

Each module gets a fresh sandbox (restatements and fault counters never leak between
modules); faults are cleared after every test.
"""
from __future__ import annotations

import pytest

from sandbox import Sandbox


def _start(request: pytest.FixtureRequest, **overrides):
    options = dict(seed=7, scale=600, months=("2024-01", "2024-02"), aws_rows_per_file=250,
                   azure_rows_per_part=400, azure_page_size=1000, gcp_page_size=1000)
    options.update(getattr(request.module, "SANDBOX_OPTIONS", {}))
    options.update(overrides)
    return Sandbox(**options).start()


@pytest.fixture(scope="module")
def sandbox(request):
    sb = _start(request)
    yield sb
    sb.stop()


@pytest.fixture(autouse=True)
def _clear_faults(request):
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").clear_faults()
