"""Formats of the billing params that name places, and which addresses count as internal."""
import ipaddress

import pytest

from include.ingest.billing.providers.aws import PROVIDER as AWS_PROVIDER
from include.ingest.safety import InputRefused
from include.ingest.safety import params as checked
from include.ingest.safety.urls import UrlPolicy, _non_public

AWS = {"aws_conn_id": "aws_billing", "bucket": "sandbox-billing", "prefix": "cur",
       "report": "sandbox-cur", "layout": "cur1", "billing_account": "111122223333",
       "billing_period": "2024-01"}


@pytest.mark.parametrize("field, value", [
    ("bucket", "../etc"), ("bucket", "Bucket_With_Caps"), ("bucket", "a"),
    ("prefix", "../../other-tenant"), ("prefix", "/abs"), ("prefix", "cur/../x"),
    ("prefix", "a//b"), ("report", "r/../x"), ("aws_conn_id", "aws billing; rm"),
    ("aws_conn_id", "http://evil"), ("billing_account", "1234/../5")])
def test_the_aws_plan_refuses_a_malformed_param_before_any_call(field, value):
    with pytest.raises(InputRefused, match=r"expected .* got "):
        AWS_PROVIDER.plan({**AWS, field: value}, None, "run")


def test_the_sandbox_and_demo_values_pass():
    assert checked.bucket("sandbox-billing") and checked.prefix("user") == "user"
    assert checked.prefix("") == "" and checked.prefix("cur2/reports/") == "cur2/reports/"
    assert checked.conn_id("azure_cost") and checked.account("01A2B3-C4D5E6-F7A8B9")
    assert checked.scope("/subscriptions/abc-123") == "/subscriptions/abc-123"
    with pytest.raises(InputRefused, match="expected a query scope"):
        checked.scope("subscriptions/../x")


@pytest.mark.parametrize("address, why", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"),
    ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("224.0.0.1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::ffff:127.0.0.1", "loopback"), ("fd00::1", "private"),
    ("100.64.0.1", "not globally routable"), ("240.0.0.1", "private"), ("93.184.216.34", None)])
def test_internal_addresses_are_named(address, why):
    assert _non_public(ipaddress.ip_address(address)) == why


def test_url_allow_list_matches_scheme_host_and_port_exactly(monkeypatch):
    monkeypatch.setenv("INGEST_URL_ALLOW", "https://*.vendor.example, http://files.example:8080")
    policy = UrlPolicy.from_settings()
    policy.check_url("https://cdn.vendor.example/a.mrc")
    policy.check_url("http://files.example:8080/a.mrc")
    for url in ("http://cdn.vendor.example/a.mrc", "https://vendor.example.evil.test/a",
                "http://files.example/a.mrc", "https://user:pw@cdn.vendor.example/a",
                "gopher://files.example:8080/"):
        with pytest.raises(InputRefused) as refused:
            policy.check_url(url)
        assert "pw" not in str(refused.value)
