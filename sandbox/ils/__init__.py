"""FOLIO-style ILS emulator (inventory storage, auth, rate limit); see sandbox/README.md."""
