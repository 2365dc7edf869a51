"""The ``wm`` console entry point: process defaults first (``wm/runtime.py``), then the CLI."""

from __future__ import annotations

import sys

from wm.runtime import configure_process


def main() -> int:
    """Apply the allocator and thread defaults before torch loads, then run ``wm.cli.main``."""
    configure_process()
    from wm.cli import main as cli_main  # imports torch
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
