"""AWS emulation: CUR buckets (legacy CUR and CUR 2.0 Data Exports) on moto behind a fault proxy."""
