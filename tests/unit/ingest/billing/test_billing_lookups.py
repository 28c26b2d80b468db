"""ServiceCategory lookups copied from focus_converters."""

from include.ingest.billing.focus import SERVICE_CATEGORIES
from include.ingest.billing.lookups import LOOKUP_DIR, service_categories, service_category


def test_tables_load_and_use_only_focus_categories():
    for provider, minimum in (("aws", 200), ("gcp", 100), ("azure", 90)):
        table = service_categories(provider)
        assert len(table) >= minimum
        assert set(table.values()) <= SERVICE_CATEGORIES


def test_loaded_once():
    assert service_categories("aws") is service_categories("aws")


def test_aws_codes_from_the_real_sample():
    assert service_category("aws", "AmazonS3") == "Storage"
    assert service_category("aws", "AWSGlue") == "Analytics"
    assert service_category("aws", "awskms") == "Security"
    assert service_category("aws", "AmazonEC2") == "Compute"


def test_case_insensitive_then_other():
    assert service_category("aws", "AMAZONS3") == "Storage"
    assert service_category("aws", "AWSCloudShell") == "Other"  # not in the upstream table
    assert service_category("aws", None) == "Other"
    assert service_category("azure", "Microsoft.Compute") == "Compute"


def test_readme_names_source_and_licence():
    text = (LOOKUP_DIR / "README.md").read_text()
    assert "finopsfoundation/focus_converters" in text and "MIT" in text
