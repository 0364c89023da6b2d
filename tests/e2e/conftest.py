"""The browser tests use the two-service system of the interface tests."""

from tests.backoffice.interfaces.conftest import system  # noqa: F401  (a fixture, imported to be used here)
