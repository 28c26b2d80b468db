"""Local emulators of the billing providers (AWS CUR on S3, Azure Cost Management, GCP BigQuery
billing export) with fault injection and golden expectations. See README.md next to this file.
"""
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

__all__ = ["Sandbox", "SandboxConfig"]
