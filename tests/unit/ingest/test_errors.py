"""One error vocabulary: what each error tells Airflow, whichever family raises it."""
import pytest
from airflow.sdk import RetryAction
from airflow.sdk.exceptions import AirflowFailException

from include.ingest import errors
from include.ingest.http import exceptions as old_path
from include.ingest.retry_policy import IngestRetryPolicy


def test_a_permanent_error_fails_the_task_even_without_the_policy():
    assert issubclass(errors.PermanentError, AirflowFailException)
    assert not issubclass(errors.TransientError, AirflowFailException)


@pytest.mark.parametrize("error, action", [
    (errors.PermanentError("expected a file, got none"), RetryAction.FAIL),
    (errors.ThrottledError("429", wait_s=3), RetryAction.RETRY),
    (errors.TransientError("reset"), RetryAction.DEFAULT)])
def test_the_policy_reads_every_error(error, action):
    assert IngestRetryPolicy().evaluate(error, try_number=1, max_tries=3).action is action


def test_the_old_http_path_names_the_same_classes():
    assert (old_path.PermanentError, old_path.TransientError, old_path.ThrottledError) == (
        errors.PermanentError, errors.TransientError, errors.ThrottledError)
    assert old_path.IngestHTTPError is errors.IngestError
