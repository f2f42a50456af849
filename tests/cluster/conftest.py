"""The cluster of ``harness.py``, once per module; skipped, with the reason, where it cannot run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.harness import Cluster
from tests.cluster.netns import missing_tools
from tests.fake_ollama import OllamaScript


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = missing_tools()
    if reason is not None:
        pytest.skip(f"replica tests: {reason}")
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        running.start()
        yield running
    finally:
        # Also when start() failed half-way: no namespace, process or address outlives the module.
        running.stop()


@pytest.fixture
def replicas(cluster: Cluster) -> Cluster:
    """The cluster with all three backends running and a fresh Ollama script."""
    cluster.revive()
    cluster.ollama.current = OllamaScript()
    return cluster
