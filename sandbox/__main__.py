"""Entry point: ``python -m sandbox serve ...`` (see cli.py)."""
import sys

from sandbox.cli import main

sys.exit(main())
