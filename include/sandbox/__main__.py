"""Entry point: ``python -m include.sandbox serve ...`` (see cli.py)."""
import sys

from include.sandbox.cli import main

sys.exit(main())
