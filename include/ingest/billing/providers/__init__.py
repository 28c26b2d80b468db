"""The billing providers: one object per provider (docs/architecture.md §2), found by name.

Every provider is one module of this package holding ``PROVIDER``, a
``base.BillingProvider``: its name, Airflow pool, connection param, client, delivery plan,
fetch, readers, normalizer and reconciliation probe. The chunk chain, the DLQ replay, the
nightly reconciliation and the DAGs' params dispatch through these objects, so adding a
provider is one new module here (plus its tests, its DAG file and its pool).

Imported at DAG parse time: the modules are found by listing this package and imported
only when asked for, and none of them imports anything heavy at module level.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from include.ingest.billing.providers.base import BillingProvider

_NOT_PROVIDERS = {"base"}
# every provider module of this package, in name order (aws, azure, gcp)
NAMES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)
                     if m.name not in _NOT_PROVIDERS and not m.name.startswith("_")))


def get(name: str) -> BillingProvider:
    """The provider called ``name`` (as in a slice's ``provider`` and the ledger)."""
    if name not in NAMES:
        raise ValueError(f"expected a billing provider of {list(NAMES)}, got {name!r}; a provider "
                         f"is a module of include/ingest/billing/providers/")
    return importlib.import_module(f"{__name__}.{name}").PROVIDER


def every() -> list[BillingProvider]:
    """Every provider, in ``NAMES`` order."""
    return [get(name) for name in NAMES]
