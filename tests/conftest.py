"""The shared fixtures and helpers live in ``tests/support`` (a package, imported by name); the modules
below are registered as pytest plugins, so their fixtures reach every test without imports.

Database tests take the ``backend`` fixture and run twice, on SQLite and on PostgreSQL
(``tests/support/databases.py`` says how). Slow tiers are marked ``slow``: ``make test-fast`` leaves
them out, ``make test`` runs all.

The back office's secret key comes from the environment for the whole run (and the processes tests
start), so no test writes a key file into the home directory.
"""

import os

os.environ.setdefault("TIXTRACE_SECRET_KEY", "tixtrace-tests-secret-key-of-at-least-32-bytes")

pytest_plugins = [
    "tests.support.databases",
    "tests.support.wallet",
    "tests.support.backoffice",
    "tests.support.screens",
    "tests.support.system",
    "tests.support.pages",
    "tests.support.browser",
]
