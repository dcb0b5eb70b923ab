"""The ``lci`` command line: one module per command family."""

from pipelines.cli.commands import app

__all__ = ["app"]
