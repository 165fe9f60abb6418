"""The served CulturalTeaming tool in a real browser: Voila on 127.0.0.1 with a token, headless Chromium (Debian's
package, driven by selenium through chromedriver) through one whole session, then the saved log and its export.
Screenshots go to the test's tmp folder. Skipped, with the reason, where no chromium/chromedriver binary exists."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from helpers.core.serving import free_port

pytestmark = pytest.mark.slow
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no chromium/chromedriver binary on PATH (Debian: apt-get install -y chromium chromium-driver)",
)


def wait_port(port: int, proc, timeout: float = 180) -> None:
    end = time.time() + timeout
    while time.time() < end:
        assert proc.poll() is None, "the server exited early"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"server not listening on {port}")


@pytest.fixture()
def server(tmp_path, tiny_model_dir):
    port, token, sessions = free_port(), "t0ken-for-the-browser-test", tmp_path / "sessions"
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpers.culturalteaming.serve",
            "--sessions-dir",
            str(sessions),
            "--port",
            str(port),
            "--token",
            token,
            "--verifier-model",
            tiny_model_dir,
            "--target-models",
            tiny_model_dir,
            "--challenge-k",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        wait_port(port, proc)
        yield {"url": f"http://127.0.0.1:{port}/", "token": token, "sessions": sessions, "port": port}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture()
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,2000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


@needs_browser
def test_one_whole_session_in_headless_chromium(server, browser, tmp_path):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from helpers.culturalteaming import export
    from helpers.culturalteaming.session import Session
    from helpers.culturegen.cbdata import load_culturalbench

    # ipywidgets re-renders a widget's DOM when its value changes: an element found a moment ago can be gone
    # when its text is read, so the wait looks it up again instead of failing
    wait = WebDriverWait(browser, 240, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
    shot = lambda name: browser.save_screenshot(str(tmp_path / f"{name}.png"))  # noqa: E731
    css = lambda sel: browser.find_element(By.CSS_SELECTOR, sel)  # noqa: E731

    def fresh(action, tries=6):  # an element re-rendered under us is looked up again
        for _ in range(tries - 1):
            try:
                return action()
            except StaleElementReferenceException:
                time.sleep(0.5)
        return action()

    def text_of(sel):
        return fresh(lambda: css(sel).text)

    def until_text(sel, needle):
        wait.until(lambda d: needle in d.find_element(By.CSS_SELECTOR, sel).text)

    def fill(sel, value):  # the widget syncs its text on change: leave the field (TAB) as a person would
        def type_it():
            el = css(sel)
            el.send_keys(Keys.CONTROL, "a")
            el.send_keys(value, Keys.TAB)  # one change event, one update message

        fresh(type_it)
        # ipywidgets holds state updates back while the kernel is busy, but a click is sent at once: give the
        # update the moment a person's hand would take to reach the button (a wait, not a timed assertion)
        time.sleep(1.5)

    browser.get(server["url"])  # no token: refused
    assert "ct-start" not in browser.page_source
    browser.get(f"{server['url']}?token={server['token']}")
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "button.ct-start")))
    shot("01_start")
    fill(".ct-culture input", "Japan")
    fresh(lambda: css("button.ct-start").click())
    until_text(".ct-status", "started")
    # hostile input: refused with a clear message, shown as text (no element injected)
    fill(".ct-question textarea", "Which? <img src=x onerror=alert(1)>")
    for letter, option in zip("abcd", ["Take off shoes", "Bow to the door", "Ring a bell", "Wash hands"]):
        fill(f".ct-option-{letter} input", option)
    fresh(lambda: css("button.ct-verify").click())
    until_text(".ct-status", "contains markup")
    assert not browser.find_elements(By.CSS_SELECTOR, ".ct-status img") and "<img" in text_of(".ct-status")
    fill(".ct-question textarea", "What do people in Japan do before entering a home?")
    fresh(lambda: css("button.ct-verify").click())
    until_text(".ct-status", "no correct option is marked")
    browser.find_element(By.XPATH, "//div[contains(@class,'ct-correct')]//label[normalize-space()='A']").click()
    fresh(lambda: css("button.ct-verify").click())
    until_text(".ct-result", "The verifier answers")
    shot("02_verified")
    fresh(lambda: css("button.ct-hint").click())
    until_text(".ct-result", "Hint (")
    fill(".ct-question textarea", "In Japan, which of these is NOT done before entering a home?")
    browser.find_element(By.XPATH, "//div[contains(@class,'ct-correct')]//label[normalize-space()='D']").click()
    fresh(lambda: css("button.ct-verify").click())
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".ct-history-table tr")) == 3)
    fresh(lambda: css("button.ct-targets").click())
    until_text(".ct-result", "targets wrong")
    shot("03_targets")
    fresh(lambda: css("button.ct-finalize").click())
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "button.ct-submit-survey")))
    fill(".ct-comment textarea", "<b>nice</b> tool")
    fresh(lambda: css("button.ct-submit-survey").click())
    until_text(".ct-status", "comment contains markup")
    fill(".ct-comment textarea", "A nice tool & fun")
    fresh(lambda: css("button.ct-submit-survey").click())
    until_text(".ct-status", "is saved")
    shot("04_done")

    logs = sorted(server["sessions"].glob("*.jsonl"))
    assert len(logs) == 1
    s = Session.open(server["sessions"], logs[0].stem)
    kinds = [e["kind"] for e in s.events]
    assert kinds == ["start", "draft", "verify", "hint", "draft", "verify", "targets", "finalize", "survey"]
    assert s.state == "done" and s.revisions == 1 and s.final["answer"] == 3 and s.culture == "Japan"
    assert s.survey_answers["comment"] == "A nice tool & fun"
    paths = export.export([s], tmp_path / "export")
    easy, hard = load_culturalbench(str(paths["easy"]))
    assert easy[0]["question"].endswith("NOT done before entering a home?") and easy[0]["answer"] == 3
    assert len(hard) == 4 and sum(h["label"] for h in hard) == 1

    browser.switch_to.new_window("tab")  # a second tab is a second session
    browser.get(f"{server['url']}?token={server['token']}")
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "button.ct-start")))
    fill(".ct-culture input", "Mexico")
    fresh(lambda: css("button.ct-start").click())
    until_text(".ct-status", "started")
    assert len(list(server["sessions"].glob("*.jsonl"))) == 2
    assert all(p.exists() for p in tmp_path.glob("0*.png")) and len(list(tmp_path.glob("0*.png"))) == 4
