"""Benchmarks (`make bench`): each prints its figures next to a baseline measured in the
same run, and all figures land in bench/results/latest.json (one key per figure)."""
