"""The web page in a real browser: headless Debian Chromium driven by Playwright.

setup.sh installs chromium when the `browser` extra is asked for (test.sh does); elsewhere these
tests are skipped with the reason, unless VAEGAN_REQUIRE_SYSTEM_DEPS=1 (set by test.sh) makes a
missing browser a failure, so CI can never skip them silently.
"""

from __future__ import annotations

import os
import shutil

import pytest
import soundfile as sf

import vaegan_vc
from conftest import vcc_file
from vaegan_vc.web.server import create_app
from web_server import running

pytestmark = pytest.mark.slow


def browser_tools():
    """(Chromium's path, playwright.sync_api); a skip when either is missing, or a failure when
    VAEGAN_REQUIRE_SYSTEM_DEPS=1."""
    path = os.environ.get("VAEGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
    missing = [what for what, ok in (("Debian chromium", path), ("playwright", sync_api)) if not ok]
    if missing:
        why = f"{' and '.join(missing)} not installed (EXTRAS=browser ./setup.sh installs both)"
        pytest.fail(why) if os.environ.get("VAEGAN_REQUIRE_SYSTEM_DEPS") == "1" else pytest.skip(why)
    return path, sync_api


@pytest.fixture(scope="module")
def page():
    executable, sync_api = browser_tools()
    vc = vaegan_vc.load("vcc2016-4")  # the default vocoder, as a user gets it
    with running(create_app(vc, "vcc2016-4")) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(accept_downloads=True)
        page.goto(url + "/")
        page.wait_for_function("document.querySelectorAll('#target option').length > 0")
        yield page
        browser.close()


def test_upload_convert_play_and_download(page, tmp_path):
    src = vcc_file("SF1", "100003")
    seconds = sf.info(str(src)).duration
    page.set_input_files("#file", str(src))
    page.select_option("#target", "TM1")
    page.click("#convert")
    page.wait_for_selector("#download:not([hidden])", timeout=120_000)
    assert page.inner_text("#error") == ""
    # The converted audio is decodable by the browser and as long as the input.
    page.wait_for_function("document.getElementById('converted').readyState >= 1", timeout=30_000)
    assert abs(page.eval_on_selector("#converted", "a => a.duration") - seconds) < 0.05
    played = page.eval_on_selector("#converted", "a => a.play().then(() => true)")
    assert played is True
    assert page.is_visible("#original-spec") and page.is_visible("#converted-spec")
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    wav, sr = sf.read(str(path))
    assert path.name == "100003_to_TM1.wav" and sr == 22050 and abs(len(wav) / sr - seconds) < 0.05
    if os.environ.get("VAEGAN_SCREENSHOT"):
        page.screenshot(path=os.environ["VAEGAN_SCREENSHOT"], full_page=True)


def test_bad_upload_shows_the_error_on_the_page(page, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio at all " * 20)
    page.set_input_files("#file", str(bad))
    page.click("#convert")
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "not an audio file" in page.inner_text("#error")
