"""S3 (botocore) outcomes go through the same table as HTTP ones."""
import botocore.exceptions as bc

from include.ingest.http.errors import Action, Outcome, classify


def client_error(status, code, headers=None):
    return bc.ClientError({"Error": {"Code": code, "Message": code},
                           "ResponseMetadata": {"HTTPStatusCode": status,
                                                "HTTPHeaders": headers or {}}}, "GetObject")


def test_missing_key_fails_fast_with_what_to_check():
    decision = classify(Outcome(exception=client_error(404, "NoSuchKey"), url="s3://b/k"))
    assert decision.action is Action.FAIL and "check the bucket/report prefix" in decision.reason


def test_slow_down_waits_as_asked():
    decision = classify(Outcome(exception=client_error(503, "SlowDown", {"retry-after": "7"}),
                                url="s3://b/k"))
    assert decision.action is Action.WAIT and 7 <= decision.delay_s <= 8


def test_internal_error_and_dropped_connections_are_retried():
    assert classify(Outcome(exception=client_error(500, "InternalError"))).action is Action.RETRY
    for exc in (bc.EndpointConnectionError(endpoint_url="http://s3"),
                bc.ConnectionClosedError(endpoint_url="http://s3"),
                bc.ReadTimeoutError(endpoint_url="http://s3"),
                bc.IncompleteReadError(actual_bytes=1, expected_bytes=2)):
        assert classify(Outcome(exception=exc)).action is Action.RETRY, type(exc)
