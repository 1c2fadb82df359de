"""What the browser tests share: Debian's chromium driven by selenium (headless, its own profile, the
browser console kept), and Airflow's sign-in form as a person fills it."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: run scripts/install-test-deps.sh (apt-get install chromium "
                        "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="wd-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1440,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # no selenium-manager download
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(browser, wait, password: str, user: str = "admin"):
    """Fill Airflow's login form (the page the browser is on, or was sent to) and submit it; returns the
    user-name field found, so a caller can check where the form was."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    field = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[name=username]")))
    login_url = browser.current_url
    field.send_keys(user)
    browser.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    return login_url
