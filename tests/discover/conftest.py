from __future__ import annotations

import pytest

from devtools.standin import StandIn
from tests.discover.kit import tiny_library
from tests.ingest.conftest import make_api
from weekly_discovery.discover.sources.base import Clients


@pytest.fixture
def tiny():
    return tiny_library()


@pytest.fixture
def tiny_standin(tiny):
    with StandIn(tiny) as server:
        yield server


@pytest.fixture
def clients(tiny_standin):
    """Real HTTP clients pointed at the stand-in; retries do not really wait."""
    return Clients(spotify=make_api(tiny_standin), sleep=lambda seconds: None)
