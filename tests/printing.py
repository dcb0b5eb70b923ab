"""PDFs printed by the runs of a test (the session prints none, see ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pipelines.publishing import publication
from pipelines.publishing.publication import wants_pdf


@contextmanager
def pdfs_printed() -> Iterator[None]:
    """Within the block, a run prints its report and profiles to PDF as a user's run does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(publication, "wants_pdf", wants_pdf)
        yield
