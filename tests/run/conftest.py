"""The browser tests' chromium (:mod:`tests.ui.conftest`) for the tests of ``make run``."""

from tests.ui import conftest as ui

browser = ui.browser
