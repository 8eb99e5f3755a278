"""Tests/board's marker: `long` for the parts make board-test-full adds (make board-test,
in make test, runs the rest: -m "not long")."""


def pytest_configure(config):
    config.addinivalue_line("markers", "long: slow in a board VM (Chromium, a reboot): make board-test-full only")
