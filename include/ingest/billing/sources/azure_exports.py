"""Azure Cost Management exports (v2, manifest 2024-04-01) from blob storage.

billing-formats.md §3.7–3.8. Runs live under
``<root>/<exportName>/<yyyymmdd-yyyymmdd>/<runId>/`` with ``manifest.json`` written last.
The newest run of the month (``runInfo.submittedTime``) that has data is the slice
version (``runInfo.runId``); each CSV part it lists is one chunk. The manifest is
checked before anything is planned: ``blobCount`` must equal the blobs listed and the
per-blob ``dataRowCount`` must add up to the total -- an inconsistent manifest is a
permanent error, not data. ``dataRowCount`` is what Azure declares for reconciliation.

Parts are streamed to the landing zone unchanged (BOM and all) and read back as text
columns under their own header, whatever the dialect (normalize/azure_columns.py).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa
import pyarrow.csv as pacsv
from airflow.sdk import ObjectStoragePath

from include.ingest import landing
from include.ingest.billing.normalize.source import csv_convert_options, csv_read_options
from include.ingest.billing.sources.azure_client import STORAGE_SCOPE, AzureClient
from include.ingest.errors import PermanentError, TransientError
from include.ingest.billing.store.ledger import SliceVersion

STREAM_BLOCK = 1 << 20


def _container_url(client: AzureClient) -> str:
    s = client.settings
    if not s.blob_url or not s.container:
        raise PermanentError("expected extras blob_url and container in the Azure connection for exports, "
                             f"got blob_url={s.blob_url!r}, container={s.container!r}")
    return f"{s.blob_url.rstrip('/')}/{s.container}"


def list_blobs(client: AzureClient, prefix: str) -> list[str]:
    """Every blob name under ``prefix`` (List Blobs, following NextMarker)."""
    names, marker = [], ""
    while True:
        url = f"{_container_url(client)}?restype=container&comp=list&prefix={quote(prefix)}"
        page = client.call("GET", url + (f"&marker={quote(marker)}" if marker else ""), scope=STORAGE_SCOPE,
                           parse=lambda r: ET.fromstring(r.content))
        names += [b.findtext("Name") for b in page.iter("Blob")]
        marker = page.findtext("NextMarker") or ""
        if not marker:
            return names


def get_json(client: AzureClient, name: str) -> dict:
    return client.call("GET", f"{_container_url(client)}/{quote(name)}", scope=STORAGE_SCOPE,
                       parse=lambda r: json.loads(r.content))


def _run_folder(root: str, export_name: str, period: str) -> str:
    first = dt.datetime.strptime(period, "%Y-%m").date()
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return f"{root.strip('/')}/{export_name}/{first:%Y%m%d}-{last:%Y%m%d}/"


def _check_manifest(name: str, manifest: dict) -> None:
    blobs = manifest.get("blobs") or []
    if manifest.get("blobCount") != len(blobs):
        raise PermanentError(f"{name}: expected blobCount {manifest.get('blobCount')} to equal the {len(blobs)} "
                             "blobs listed; the manifest is inconsistent -- re-run the export")
    per_blob = sum(int(b.get("dataRowCount") or 0) for b in blobs)
    if per_blob != manifest.get("dataRowCount"):
        raise PermanentError(f"{name}: expected dataRowCount {manifest.get('dataRowCount')} to equal the per-blob "
                             f"sum {per_blob}; the manifest is inconsistent -- re-run the export")


# The dataset an export holds (manifest exportConfig.type). Only actual cost is BilledCost:
# an AmortizedCost run spreads purchases over usage (FOCUS: EffectiveCost), so loading it as
# this slice would silently replace the month's billed cost. "Usage" is the older name of the
# actual-cost export. Other types (price sheets, reservation details / recommendations) are
# not cost rows at all.
ACTUAL_COST_TYPES = {"actualcost", "usage"}


def dataset_type(name: str, manifest: dict) -> str:
    """The export's dataset type, refused unless it is actual cost (named in the error)."""
    declared = (manifest.get("exportConfig") or {}).get("type")
    if declared is None:
        return "ActualCost (assumed: the manifest names no exportConfig.type)"
    if str(declared).lower() in ACTUAL_COST_TYPES:
        return str(declared)
    hint = ("amortized cost is FOCUS EffectiveCost, not BilledCost, and loading it as this slice "
            "would replace the month's actual cost" if str(declared).lower() == "amortizedcost"
            else "it holds no cost-and-usage rows")
    raise PermanentError(f"{name}: expected an ActualCost export, got exportConfig.type {declared!r} — "
                         f"{hint}; point export_name at the account's ActualCost export")


def latest_run(client: AzureClient, root: str, export_name: str, period: str) -> tuple[str, dict] | None:
    """(manifest blob name, manifest) of the newest run with data, or None."""
    runs = []
    for name in list_blobs(client, _run_folder(root, export_name, period)):
        if name.endswith("/manifest.json"):
            manifest = get_json(client, name)
            if manifest.get("blobCount") and manifest.get("dataRowCount"):  # empty runs carry no data
                runs.append((manifest["runInfo"]["submittedTime"], name, manifest))
    return (max(runs)[1], max(runs)[2]) if runs else None


def _submitted(text: str) -> dt.datetime:
    """Azure writes 7 fractional digits; Python reads at most 6."""
    head, _, frac = text.rstrip("Z").partition(".")
    return dt.datetime.fromisoformat(f"{head}.{(frac or '0')[:6]}").replace(tzinfo=dt.timezone.utc)


def plan_export(client: AzureClient, billing_account: str, period: str, export_name: str,
                root: str = "billing") -> tuple[SliceVersion, list[dict], dict]:
    found = latest_run(client, root, export_name, period)
    if found is None:
        raise PermanentError(f"expected an export run with data under {_run_folder(root, export_name, period)} "
                             f"in {_container_url(client)}, got none; check export_name / root_folder")
    name, manifest = found
    _check_manifest(name, manifest)
    dataset = dataset_type(name, manifest)
    run = manifest["runInfo"]
    sv = SliceVersion("azure", billing_account, period, run["runId"], _submitted(run["submittedTime"]))
    chunks = [{"chunk_id": f"{n:05d}", "kind": "export", "blob": b["blobName"], "rows": b.get("dataRowCount"),
               "bytes": b.get("byteCount"), "format": "csv"} for n, b in enumerate(manifest["blobs"])]
    source = {"kind": "export", "export_name": export_name, "root": root, "manifest": name, "dataset": dataset,
              "blobCount": manifest["blobCount"], "byteCount": manifest.get("byteCount"),
              "declared": {"rows": manifest["dataRowCount"]}, "declared_by": f"export manifest {name}"}
    return sv, chunks, source


def fetch_part(client: AzureClient, chunk: dict, sv: SliceVersion) -> landing.LandedFile:
    """Land one CSV part unchanged (streamed), its size checked against the manifest."""
    url = f"{_container_url(client)}/{quote(chunk['blob'])}"
    target = landing.slice_dir("raw", sv.provider, sv.billing_account, sv.billing_period,
                               sv.version) / f"{chunk['chunk_id']}-{chunk['blob'].rsplit('/', 1)[-1]}"
    if (done := landing.already_landed(target)) is not None:
        return done

    expected = chunk.get("bytes")

    def check_size(_written, size: int) -> None:
        if expected is not None and size < expected:  # cut short on the way: fetch again
            raise TransientError(f"{client.origin(url)}: expected {expected} bytes (manifest byteCount), "
                                 f"got {size}; fetching again")
        if expected is not None and size > expected:  # not a network fault: the run is inconsistent
            raise PermanentError(f"{client.origin(url)}: expected {expected} bytes (manifest byteCount), got "
                                 f"{size}; the blob changed after its manifest was written -- re-run the export")

    def download(response):
        return landing.land(response.iter_content(STREAM_BLOCK), target, client.origin(url), check=check_size)
    return client.call("GET", url, scope=STORAGE_SCOPE, stream=True, parse=download)


def read_batches(path: str, fmt: str) -> Iterator[pa.RecordBatch]:
    """Stream a landed part as Arrow batches of text columns under its own header."""
    file = ObjectStoragePath(path)
    with file.open("rb") as raw:
        first = raw.readline().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(first)))
    with file.open("rb") as raw:
        reader = pacsv.open_csv(raw, read_options=pacsv.ReadOptions(column_names=header, skip_rows=1,
                                                                      block_size=csv_read_options().block_size),
                                convert_options=csv_convert_options(header))
        yield from reader
