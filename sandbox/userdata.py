"""``--data DIR``: serve a user's real export files next to (or instead of) generated data.

Layout (every part optional):

    DIR/aws/<bucket>/<key...>        a CUR bucket tree (legacy CUR or CUR 2.0), served byte for byte
    DIR/aws-cur/*.csv[.gz]           loose legacy CUR CSVs -> bucket config.aws_bucket, prefix
                                     'user', report 'user-cur', one assembly per billing period
                                     (files gzipped unchanged, manifests written)
    DIR/azure/<container>/<path...>  export parts and manifests, served as blobs of that container
    DIR/gcp/<name>.jsonl|.json|.csv  rows of table <name> (prefixed gcp_billing_export_v1_ unless
                                     it already starts with gcp_billing_export) in config.gcp_dataset

Goldens: user CUR CSVs and GCP rows get goldens (providers 'aws-cur' and 'gcp', account
the files' payer account (bill/PayerAccountId) / the table name) computed from the files; verbatim trees have none.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def load_user_data(sandbox: Any, root: Path) -> list[Any]:
    if not root.exists():
        # a stack may pass --data before anyone dropped files in; say so and serve generated data
        print(f"sandbox: --data {root} does not exist yet; serving generated data only "
              f"(add {root}/aws-cur/*.csv, {root}/azure/<container>/, {root}/gcp/*.jsonl and restart)", file=sys.stderr)
        return []
    if not root.is_dir():
        raise NotADirectoryError(f"expected --data to be a directory with aws/, aws-cur/, azure/ or gcp/ inside, got a file: {root}")
    goldens: list[Any] = []
    servers = sandbox.servers
    if "aws" in servers:
        from sandbox.aws import realdata

        client = servers["aws"].direct_client()
        if (root / "aws").is_dir():
            realdata.upload_tree(client, root / "aws")
        if (root / "aws-cur").is_dir():
            goldens += realdata.publish_cur_dir(client, sandbox.config.aws_bucket, root / "aws-cur", workdir=sandbox.state_dir)
    if "azure" in servers and (root / "azure").is_dir():
        for container in sorted(p for p in (root / "azure").iterdir() if p.is_dir()):
            servers["azure"].blobs.mount(container.name, container)
    if "gcp" in servers and (root / "gcp").is_dir():
        from sandbox.gcp.userdata import build_table

        for path in sorted(p for p in (root / "gcp").iterdir() if p.suffix in (".jsonl", ".json", ".csv")):
            name = path.stem if path.stem.startswith("gcp_billing_export") else f"gcp_billing_export_v1_{path.stem}"
            table, table_goldens = build_table(name, [path])
            servers["gcp"].add_table(sandbox.config.gcp_dataset, name, table)
            goldens += table_goldens
    for golden in goldens:
        sandbox.goldens.put(golden)
    return goldens
