"""The benchmarks' temporary PostgreSQL cluster (``benchmarks/harness.py``, ``--postgres sized``).

It is started from Debian's binaries with its settings on the command line, serves on loopback, and
is stopped and its folder removed when its block ends, also when the block fails. Skipped with the
reason where Debian's PostgreSQL binaries are missing, unless ``TIXTRACE_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from tests.support.databases import REQUIRE_POSTGRES

HARNESS = Path(__file__).resolve().parents[1] / "benchmarks" / "harness.py"


def _harness() -> ModuleType:
    """benchmarks/harness.py, imported by path (benchmarks/ is a folder of scripts, not a package)."""
    name = "tixtrace_benchmark_harness"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HARNESS)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


harness = _harness()
pytestmark = pytest.mark.postgres


@pytest.fixture
def binaries() -> Path:
    found = harness.postgres_binaries()
    if found is None:
        problem = "no PostgreSQL binaries in /usr/lib/postgresql/*/bin"
        if REQUIRE_POSTGRES:
            pytest.fail(f"TIXTRACE_REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(problem)
    return Path(found)


def _reachable(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=2).close()
        return True
    except psycopg.OperationalError:
        return False


def test_a_temporary_cluster_runs_with_its_settings_and_is_removed_afterwards(binaries: Path) -> None:
    with harness.temporary_cluster({"shared_buffers": "32MB", "work_mem": "7MB", "autovacuum": "on"}) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                        for name in ("shared_buffers", "work_mem", "autovacuum", "fsync", "server_encoding")}
            folder = Path(conn.execute("SHOW data_directory").fetchone()[0]).parent  # type: ignore[index]
            conn.execute("CREATE DATABASE bench")
        with psycopg.connect(url.rsplit("/", 1)[0] + "/bench") as conn:
            conn.execute("CREATE TABLE t (x int)")
        assert folder.is_dir()
        assert harness.server_settings(url)["work_mem"] == "7MB"
    assert settings == {"shared_buffers": "32MB", "work_mem": "7MB", "autovacuum": "on", "fsync": "on",
                        "server_encoding": "UTF8"}
    assert not folder.exists()
    assert not _reachable(url)


def test_a_temporary_cluster_is_stopped_and_removed_when_its_block_fails(binaries: Path) -> None:
    with pytest.raises(RuntimeError, match="the benchmark failed"), harness.temporary_cluster({}) as url:
        with psycopg.connect(url) as conn:
            folder = Path(conn.execute("SHOW data_directory").fetchone()[0]).parent  # type: ignore[index]
        raise RuntimeError("the benchmark failed")
    assert not folder.exists()
    assert not _reachable(url)


def test_a_setting_the_server_refuses_is_reported_with_its_log_and_leaves_nothing(
        binaries: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folders: list[str] = []
    mkdtemp = harness.tempfile.mkdtemp

    def recorded_mkdtemp(*args: object, **kwargs: object) -> str:
        folders.append(mkdtemp(*args, **kwargs))
        return folders[-1]

    monkeypatch.setattr(harness.tempfile, "mkdtemp", recorded_mkdtemp)
    with pytest.raises(RuntimeError, match="did not start(.|\n)*shared_buffers"), \
            harness.temporary_cluster({"shared_buffers": "not-a-size"}):
        pass
    assert len(folders) == 1
    assert not Path(folders[0]).exists()
