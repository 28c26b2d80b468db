"""Console actions become triggers of existing DAGs with their params; destructive ones
need an explicit confirmation."""
import pytest

from include.ingest.console.actions import ActionError, plan_trigger


def test_dlq_replay_triggers_billing_dlq_replay_with_the_entry_ids_once_confirmed():
    plan = plan_trigger("billing_dlq_replay", {"entry_ids": [3, 7], "confirm": True})
    assert (plan.dag_id, plan.conf, plan.destructive) == (
        "billing_dlq_replay", {"entry_ids": [3, 7], "dag_id": None}, True)
    assert "3, 7" in plan.note


@pytest.mark.parametrize("body", [{"entry_ids": [3]}, {"entry_ids": [3], "confirm": "yes"}])
def test_a_destructive_action_without_confirm_true_is_refused_with_409(body):
    with pytest.raises(ActionError) as refused:
        plan_trigger("billing_dlq_replay", body)
    assert refused.value.status == 409


@pytest.mark.parametrize("ids", [None, [], ["3"], [True], "1,2"])
def test_replay_takes_only_a_non_empty_list_of_integer_ids(ids):
    with pytest.raises(ActionError) as refused:
        plan_trigger("billing_dlq_replay", {"entry_ids": ids, "confirm": True})
    assert refused.value.status == 400


def test_rollback_triggers_catalog_rollback_with_the_batch_id():
    plan = plan_trigger("catalog_rollback", {"batch_id": " 3f2a-0003 ", "confirm": True})
    assert plan.conf == {"batch_id": "3f2a-0003"} and plan.destructive
    with pytest.raises(ActionError):
        plan_trigger("catalog_rollback", {"batch_id": "", "confirm": True})


def test_rerun_of_a_slice_reuses_the_loading_runs_conf_and_needs_no_confirmation():
    conf = {"billing_account": "111122223333", "billing_period": "2024-01", "layout": "cur1"}
    plan = plan_trigger("billing_aws_cur", {"dag_run_id": "manual__1"}, conf)
    assert (plan.dag_id, plan.conf, plan.destructive) == ("billing_aws_cur", conf, False)
    with pytest.raises(ActionError) as missing:
        plan_trigger("billing_aws_cur", {"dag_run_id": "nope"}, None)
    assert missing.value.status == 404


def test_only_the_known_action_dags_can_be_triggered():
    with pytest.raises(ActionError) as refused:
        plan_trigger("stack_selfcheck", {"confirm": True})
    assert refused.value.status == 404
