"""GraphiQL in a real browser: headless Chromium against a real `clone-gateway serve` process.

A person opens /graphql, types their API key into the Headers pane, runs `{ me { email } }`
and reads their email in the result pane; so does this test (with Selenium driving Debian's
Chromium through its matching chromedriver). `make test` installs both where they are missing
(`scripts/ensure-chromium.sh`). The page and all its assets must come from the gateway itself:
the test's machine has no route to a CDN, and the test checks every resource the page loaded.
"""

import json
import os
import shutil
import urllib.parse
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, unique_email

CHROMIUM = os.environ.get("CLONE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CLONE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
QUERY = "{ me { email } }"

pytestmark = pytest.mark.sqlite_only  # a browser run is slow and the same on both databases


def _require_browser() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not missing:
        return
    message = f"{', '.join(missing)} missing: run scripts/ensure-chromium.sh (make test does)"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs them through `make test`: absence is a failure
    pytest.skip(message)


@pytest.fixture
def browser():
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _account_with_api_key(base: str) -> tuple[str, str]:
    email = unique_email("browser")
    signup = httpx.post(f"{base}/api/auth/signup/", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    access = signup.json()["access"]
    created = httpx.post(
        f"{base}/api/auth/keys/",
        json={"name": "graphiql"},
        headers={"Authorization": f"Bearer {access}"},
    )
    assert created.status_code == 201, created.text
    return email, created.json()["key"]


def test_graphiql_runs_a_query_with_an_api_key(start_server, browser, tmp_path: Path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base = start_server()
    email, key = _account_with_api_key(base)
    wait = WebDriverWait(browser, 30)
    screenshot = tmp_path / "graphiql.png"
    try:
        browser.get(f"{base}/graphql?q={urllib.parse.quote(QUERY)}")
        # GraphiQL rendered (React and GraphiQL loaded from the gateway, not a CDN).
        headers_tab = wait.until(
            ec.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Headers']"))
        )
        headers_tab.click()
        editor = wait.until(
            ec.visibility_of_element_located(
                (By.CSS_SELECTOR, ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
            )
        )
        ActionChains(browser).click(editor).send_keys(
            json.dumps({"X-Clone-API-Key": key})
        ).perform()
        typed = browser.execute_script("return arguments[0].CodeMirror.getValue()", editor)
        assert json.loads(typed) == {"X-Clone-API-Key": key}

        browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
        result = browser.find_element(By.CSS_SELECTOR, ".result-window")
        wait.until(lambda _driver: email in result.text)
        assert json.loads(result.text) == {"data": {"me": {"email": email}}}
    finally:
        browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000

    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert any(name.endswith("/graphql/assets/graphiql.min.js") for name in resources)
    foreign = [name for name in resources if not name.startswith(base)]
    assert foreign == []
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_graphiql_shows_the_error_without_a_credential(start_server, browser):
    """The same page without a key: GraphiQL shows the typed error, not an email."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base = start_server()
    wait = WebDriverWait(browser, 30)
    browser.get(f"{base}/graphql?q={urllib.parse.quote(QUERY)}")
    button = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-execute-button")))
    button.click()
    result = browser.find_element(By.CSS_SELECTOR, ".result-window")
    wait.until(lambda _driver: "UNAUTHENTICATED" in result.text)
    assert json.loads(result.text)["data"] is None
