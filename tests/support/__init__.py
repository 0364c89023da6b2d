"""What the tests share: fixtures (modules registered as pytest plugins in tests/conftest.py) and helpers
(imported by name). A test module never imports another test module."""
