"""Which chromium runs what (tests/browser/conftest.py): the shared browser is chromium's
headless shell where it is installed (.ci/run installs it), and a test that starts a browser
of its own (the camera, the microphone, the back-forward cache) starts the whole chromium,
which asks for the camera as a person's browser does (the shell answers a refused camera as
no camera at all)."""

from pathlib import Path

from tests.browser.conftest import CHROMIUM_ARGS, _chromium_path, _shell_path


def _product(browser) -> str:
    return browser.new_browser_cdp_session().send("Browser.getVersion")["product"]


def test_the_shared_browser_is_the_shell_and_an_own_one_the_whole_chromium(browser):
    shell_installed = "headless-shell" in Path(_shell_path()).name
    assert _product(browser).startswith("HeadlessChrome/" if shell_installed else "Chrome/")
    own = browser.browser_type.launch(executable_path=_chromium_path(), args=CHROMIUM_ARGS)
    try:
        assert _product(own).startswith("Chrome/")
    finally:
        own.close()
