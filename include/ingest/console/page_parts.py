"""Static parts of the console page: its style and the action buttons' script."""

STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1rem 2rem; color: #1a1a1a; }
table { border-collapse: collapse; margin: .3rem 0 .8rem; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.raw, td.error { font-family: monospace; max-width: 40rem; }
.slice { border-left: 4px solid #017cee; padding-left: .6rem; margin-bottom: 1rem; }
.warn { color: #8a4b00; } .recon-discrepancy { color: #b00020; font-weight: bold; }
.recon-warning { color: #8a4b00; font-weight: bold; } .recon-ok { color: #1b7f3b; }
#result { position: sticky; top: 0; background: #fffbe6; padding: 2px 6px; }
button.action { cursor: pointer; }
"""

# Destructive actions ask first (window.confirm); the answer travels as `confirm: true`.
SCRIPT = """
document.querySelectorAll('button.action').forEach(function (button) {
  button.addEventListener('click', async function () {
    var question = button.dataset.confirm, body = JSON.parse(button.dataset.body);
    if (question) { if (!window.confirm(question)) { return; } body.confirm = true; }
    var out = document.getElementById('result');
    out.textContent = 'triggering ' + button.dataset.dag + '…';
    var response = await fetch(document.body.dataset.base + 'actions/' + button.dataset.dag, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    var answer = await response.json();
    out.textContent = response.ok
      ? 'triggered ' + answer.dag_id + ' run ' + answer.dag_run_id
      : 'refused (' + response.status + '): ' + answer.detail;
    out.dataset.status = response.status;
    if (response.ok) { out.dataset.runId = answer.dag_run_id; }
  });
});
"""
