"""The `reconciler` command: `reconciler.cli:main` is its entry point."""

from reconciler.cli.main import main

__all__ = ["main"]
