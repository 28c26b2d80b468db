"""An Azure export's dataset type decides whether it may be this slice's billed cost
(issue 12 item 4): an AmortizedCost or non-cost export is refused by name, never loaded
over the month's actual cost. The manifest is Microsoft's published example
(tests/fixtures/billing/azure, CC-BY-4.0), whose own type is ReservationRecommendations."""
import json
from pathlib import Path

import pytest

from include.ingest.billing.sources.azure_exports import dataset_type
from include.ingest.errors import PermanentError

MANIFEST = json.loads((Path(__file__).parents[3] / "fixtures/billing/azure/exports-manifest-2024-04-01.json").read_text())


def _typed(kind):
    return {**MANIFEST, "exportConfig": {**MANIFEST["exportConfig"], "type": kind}}


@pytest.mark.parametrize("kind", ["ActualCost", "actualcost", "Usage"])
def test_actual_cost_exports_are_taken(kind):
    assert dataset_type("m.json", _typed(kind)) == kind


def test_an_amortized_export_is_refused_naming_why():
    with pytest.raises(PermanentError, match="got exportConfig.type 'AmortizedCost' — amortized cost is "
                                             "FOCUS EffectiveCost, not BilledCost"):
        dataset_type("m.json", _typed("AmortizedCost"))


def test_the_published_sample_is_not_cost_data():
    with pytest.raises(PermanentError, match="'ReservationRecommendations' — it holds no cost-and-usage rows"):
        dataset_type("m.json", MANIFEST)


def test_a_manifest_without_a_type_is_taken_as_actual_cost_and_says_so():
    bare = {k: v for k, v in MANIFEST.items() if k != "exportConfig"}
    assert dataset_type("m.json", bare).startswith("ActualCost (assumed")
