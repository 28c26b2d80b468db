"""GCP emulation: BigQuery REST reads of a Cloud Billing export table (gcp_billing_export_v1_*)."""
