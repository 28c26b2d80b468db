"""The Prometheus alert rules are valid and fire when they should: `promtool check rules`
and `promtool test rules` over deploy/prometheus/ (the cases are in alerts_test.yml).

promtool comes with Debian's `prometheus` package; `make test` installs it when it is
missing and it can (root with apt). Without it this test fails naming the package — it is
never skipped.
"""
import shutil
import subprocess

import yaml

from devstack.state import ROOT

RULES_DIR = ROOT / "deploy" / "prometheus"


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, ("expected promtool on PATH, got none; install Debian's `prometheus` package "
                  "(apt-get install prometheus) or run `make test`, which installs it when it can")
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=RULES_DIR, capture_output=True, text=True,
                          timeout=120)


def test_alert_rules_pass_promtool_check():
    result = run("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_alert_rules_fire_as_the_cases_say():
    result = run("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_the_issue_asks_for_has_test_cases():
    rules = yaml.safe_load((RULES_DIR / "alerts.yml").read_text())
    cases = yaml.safe_load((RULES_DIR / "alerts_test.yml").read_text())
    tested = {case["alertname"] for test in cases["tests"] for case in test["alert_rule_test"]
              if case.get("exp_alerts")}
    required = {"IngestDLQDepthHigh", "IngestRetryLatencyHigh", "IngestReconciliationDiscrepancy",
                "IngestProviderThrottled"}
    assert required <= {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert required <= tested
