import pytest

from tests.clients.node.client import NodeClient


@pytest.fixture(scope="session")
def node_client():
    """The Node.js client with its packages installed (``npm ci --ignore-scripts``, once)."""
    return NodeClient.installed()
