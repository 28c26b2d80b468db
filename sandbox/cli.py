"""Command line: ``python -m sandbox serve|golden``.

serve   Start the emulators in the foreground until SIGTERM/SIGINT, then stop cleanly (exit 0).
        When ready, print one JSON line with every endpoint to stdout (and write it to
        --ready-file, atomically, if given). Port 0 picks a free port.
golden  Print the goldens of the generated data as JSON without serving anything
        (streams the generators; same seed/scale/months give the same numbers).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from sandbox.config import PROVIDERS, SandboxConfig
from sandbox.faults import FaultSpecError, parse_spec


def _secret_from_env(flag: str, what: str) -> str | None:
    """$SANDBOX_CLIENT_SECRET, which `flag` needs (kept out of the command line and the
    logs); None, after saying so on stderr, when it is not set."""
    secret = os.environ.get("SANDBOX_CLIENT_SECRET")
    if not secret:
        print(f"sandbox: {flag} needs $SANDBOX_CLIENT_SECRET set ({what}; kept out of the "
              f"command line and the logs)", file=sys.stderr)
    return secret or None


def _months(text: str) -> tuple[str, ...]:
    return () if text.strip().lower() in ("", "none") else tuple(m.strip() for m in text.split(",") if m.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulators in the foreground")
    golden = sub.add_parser("golden", help="print goldens of the generated data")
    for p in (serve, golden):
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--scale", type=int, default=1000, help="generated rows per slice (provider x account x month)")
        p.add_argument("--months", type=_months, default=("2024-01", "2024-02"),
                       help="comma-separated YYYY-MM list, or 'none' to serve only --data")
        p.add_argument("--providers", default=",".join(PROVIDERS), help="subset of aws,azure,gcp,ils")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--aws-port", type=int, default=0)
    serve.add_argument("--azure-port", type=int, default=0)
    serve.add_argument("--azure-tls-port", type=int, default=0)
    serve.add_argument("--gcp-port", type=int, default=0)
    serve.add_argument("--ils-port", type=int, default=0)
    serve.add_argument("--ils-username", default=None,
                       help="login the ILS accepts; its password is read from "
                            "$SANDBOX_CLIENT_SECRET (default: the public pair sandbox-ils / sandbox-secret)")
    serve.add_argument("--ils-rate-limit", type=int, default=25,
                       help="ILS calls per second before 429 (Alma's threshold); 0 = no limit")
    serve.add_argument("--ils-retry-after", default="1",
                       help="Retry-After seconds on the threshold's 429, or 'none' for no header")
    serve.add_argument("--ils-token-ttl", type=float, default=600.0, help="access-token lifetime (s)")
    serve.add_argument("--ils-batch-max", type=int, default=10_000, help="records per batch before 413")
    serve.add_argument("--tls-hostnames", default="", help="extra comma-separated names for the Azure TLS certificate")
    serve.add_argument("--faults", default="", help="fault spec, JSON, or @file (see sandbox/README.md)")
    serve.add_argument("--data", type=Path, default=None, help="directory of real files to serve (aws/, aws-cur/, azure/, gcp/)")
    serve.add_argument("--state-dir", type=Path, default=None, help="where generated files live (default: a temp dir, removed on exit)")
    serve.add_argument("--azure-client-id", default=None,
                       help="OAuth2 client id the Azure token endpoint accepts; its secret is "
                            "read from $SANDBOX_CLIENT_SECRET (default: the public emulator pair "
                            "sandbox-client / sandbox-secret)")
    serve.add_argument("--ready-file", type=Path, default=None, help="also write the ready JSON here")
    serve.add_argument("--rows-per-file", type=int, default=100_000, help="CUR rows per data file / Azure rows per export part")
    serve.add_argument("--azure-page-size", type=int, default=1000)
    serve.add_argument("--gcp-page-size", type=int, default=1000)
    golden.add_argument("--provider", default=None, help="only this provider (aws-cur, aws-cur2, azure, gcp)")
    return parser


def _config(args: argparse.Namespace, **extra: Any) -> SandboxConfig:
    providers = tuple(p.strip() for p in args.providers.split(",") if p.strip())
    return SandboxConfig(seed=args.seed, scale=args.scale, months=args.months, providers=providers, **extra)


def _write_ready(path: Path, payload: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ready-")
    with os.fdopen(fd, "w") as fh:
        fh.write(payload + "\n")
    os.replace(tmp, path)


def serve(args: argparse.Namespace) -> int:
    from sandbox.sandbox import Sandbox

    try:
        parse_spec(args.faults)
    except (FaultSpecError, ValueError, OSError) as exc:
        print(f"sandbox: bad --faults: {exc}", file=sys.stderr)
        return 2
    config = _config(args, host=args.host, aws_port=args.aws_port, azure_port=args.azure_port,
                     azure_tls_port=args.azure_tls_port, gcp_port=args.gcp_port, faults=args.faults or None,
                     data_dir=args.data, state_dir=args.state_dir, aws_rows_per_file=args.rows_per_file,
                     azure_rows_per_part=args.rows_per_file, azure_page_size=args.azure_page_size,
                     gcp_page_size=args.gcp_page_size,
                     tls_hostnames=tuple(n.strip() for n in args.tls_hostnames.split(",") if n.strip()),
                     ils_port=args.ils_port, ils_rate_limit=args.ils_rate_limit or None,
                     ils_retry_after=None if args.ils_retry_after.lower() == "none" else args.ils_retry_after,
                     ils_token_ttl_s=args.ils_token_ttl, ils_batch_max=args.ils_batch_max)
    if args.azure_client_id:
        secret = _secret_from_env("--azure-client-id", "the client secret")
        if secret is None:
            return 2
        config.azure_clients = {args.azure_client_id: secret}
        config.client_secret_from_env = True
    if args.ils_username:
        secret = _secret_from_env("--ils-username", "the ILS password")
        if secret is None:
            return 2
        config.ils_username, config.ils_password, config.ils_password_from_env = args.ils_username, secret, True
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sandbox = Sandbox(config)
    try:
        sandbox.start()
        payload = json.dumps({"ready": True, **sandbox.endpoints})
        if args.ready_file:  # file first: whoever reads stdout may look for the file at once
            _write_ready(args.ready_file, payload)
        print(payload, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        if args.ready_file and args.ready_file.exists():
            args.ready_file.unlink()
    print(json.dumps({"stopped": True}), flush=True)
    return 0


def golden(args: argparse.Namespace) -> int:
    """Goldens computed from the generators alone (no servers, no files)."""
    from sandbox.aws.formats import CUR2_COST_COLUMNS, snake
    from sandbox.aws.generator import COST_COLUMNS, line_items
    from sandbox.azure.dataset import AzureDataset
    from sandbox.detrand import stable_uuid
    from sandbox.gcp.table import GeneratedTable
    from sandbox.golden import GoldenSlice

    config = _config(args)
    out = []
    for month in config.months:
        if "aws" in config.providers and args.provider in (None, "aws-cur", "aws-cur2"):
            final = month != max(config.months)
            cur1 = GoldenSlice("aws-cur", config.aws_payer, month, stable_uuid(config.seed, "cur1", config.aws_payer, month, 0), 0, COST_COLUMNS)
            cur2 = GoldenSlice("aws-cur2", config.aws_payer, month, stable_uuid(config.seed, "cur2", config.aws_payer, month, 0), 0, CUR2_COST_COLUMNS)
            for item in line_items(config.seed, config.aws_payer, month, 0, config.scale, final):
                cur1.add(item)
                cur2.add({snake(k): item[k] for k in COST_COLUMNS})
            out += [g.to_json() for g in (cur1, cur2) if args.provider in (None, g.provider)]
        if "azure" in config.providers and args.provider in (None, "azure"):
            out.append(AzureDataset(config).golden(month, 0).to_json())
    if "gcp" in config.providers and args.provider in (None, "gcp") and config.months:
        table = GeneratedTable(config.seed, config.gcp_billing_account, config.months, config.scale)
        out += [table.golden(m, 0).to_json() for m in config.months]
    print(json.dumps({"seed": config.seed, "scale": config.scale, "goldens": out}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return serve(args) if args.command == "serve" else golden(args)
