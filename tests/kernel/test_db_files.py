"""SQLite database files are created readable by their owner only (DESIGN section 10, issue 12)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tixtrace.backoffice.db.database import open_backoffice_database
from tixtrace.backoffice.interfaces.locks import run_locks
from tixtrace.wallet.db.database import open_wallet_database


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files world-readable unless created otherwise
    try:
        yield
    finally:
        os.umask(previous)


def _modes(directory: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in directory.iterdir() if path.is_file()}


def test_new_databases_and_their_wal_shm_and_lock_files_are_0600(tmp_path: Path, permissive_umask: None) -> None:
    """Both services' new SQLite files, the -wal and -shm beside them and a run lock's file: 0600
    (before: 0644, readable by every user of the machine)."""
    wallet = open_wallet_database(f"sqlite:///{tmp_path}/data/wallet.db")
    backoffice = open_backoffice_database(f"sqlite:///{tmp_path}/data/backoffice.db")
    with run_locks(backoffice, [("feedback:test", "a test lock")]):
        modes = _modes(tmp_path / "data")
    wallet.dispose()
    backoffice.dispose()
    names = set(modes)
    assert {"wallet.db", "wallet.db-wal", "wallet.db-shm", "backoffice.db", "backoffice.db-wal"} <= names
    assert any(name.endswith(".lock") for name in names)
    assert {name: mode for name, mode in modes.items() if mode != 0o600} == {}


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "wallet.db"
    path.touch()
    path.chmod(0o640)
    open_wallet_database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
