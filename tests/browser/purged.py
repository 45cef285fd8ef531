"""The purged stylesheet draws a page as the whole of Bootstrap did.

Pages load `static/vendor/bootstrap.purged.min.css` (scripts/purge_css.py). A page is drawn
with it, then the page's own stylesheet link is pointed at the whole of Bootstrap (served by
a route) and the same document is drawn again: the two pictures must be the same, pixel for
pixel. The accessibility sweep (tests/browser/test_accessibility.py) does this on every
villager and manager page it opens, so each page is loaded once for both.
"""

import base64
import io
import re
from pathlib import Path

from PIL import Image, ImageChops

from tests.browser.conftest import SCREENSHOTS

ORIGINAL_CSS = Path(__file__).resolve().parents[2] / "static/vendor/bootstrap.min.css"

# The page's own stylesheet link, pointed at the whole of Bootstrap (served by a route): the
# same document drawn again, so only the stylesheet differs between the two pictures.
WITH_WHOLE_BOOTSTRAP = """() => new Promise((loaded, failed) => {
  const link = document.querySelector("link[href*='bootstrap.purged.min.css']");
  link.onload = loaded;
  link.onerror = failed;
  link.href = link.href + "?whole";
})"""


def visibly_different(one: Image.Image, other: Image.Image) -> bool:
    """More than anti-aliasing: chromium draws a rounded corner's edge a level or two apart
    from one load to the next; a missing rule moves or recolours whole areas."""
    difference = ImageChops.difference(one, other).convert("L")
    return difference.point(lambda level: 255 if level > 24 else 0).getbbox() is not None


# Transitions and animations run to their end first: a stylesheet swapped in starts
# Bootstrap's (borders, buttons) from unstyled values, and a picture taken halfway differs
# from the first. One that never ends goes back to its start. The text caret of a focused
# field blinks: it is hidden (as Playwright's own screenshots hide it; the DevTools call does
# not), else one picture of a page has it and the other not. An inline style: no stylesheet
# a Content-Security-Policy could refuse; caret-color is inherited.
# Returns whether the page has touch (a phone's context).
ANIMATIONS_ENDED = """() => {
  document.documentElement.style.caretColor = "transparent";
  document.getAnimations().forEach((animation) => {
    try { animation.finish(); } catch (endless) { animation.cancel(); }
  });
  return navigator.maxTouchPoints > 0;
}"""


def _drawn(page, devtools) -> bytes:
    """The whole page as a PNG, through chromium's DevTools protocol with its quicker PNG
    encoding (`optimizeForSpeed`): the same pixels as Playwright's full-page screenshot, in
    about half the time (two pictures a page were a third of the sweep's time)."""
    touch = page.evaluate(ANIMATIONS_ENDED)
    size = devtools.send("Page.getLayoutMetrics")["cssContentSize"]
    whole = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = devtools.send(
        "Page.captureScreenshot",
        {"format": "png", "clip": whole, "captureBeyondViewport": True, "optimizeForSpeed": True},
    )
    if touch:
        # A picture beyond the viewport turns the phone's touch emulation off (the page then
        # has a fine pointer: `(pointer: coarse)` no longer matches); Playwright's own
        # screenshot turns it on again after, as this does.
        devtools.send("Emulation.setTouchEmulationEnabled", {"enabled": True})
    return base64.b64decode(shot["data"])


def _picture(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def _differ(one: bytes, other: bytes) -> bool:
    """The same pixels make the same PNG: only pictures whose files differ are decoded."""
    if one == other:
        return False
    one_picture, other_picture = _picture(one), _picture(other)
    return one_picture.size != other_picture.size or visibly_different(one_picture, other_picture)


class PurgedComparison:
    """Compares the page's current document drawn both ways; pictures of a page that differs
    go to test-artifacts/screenshots/purged-css/<who>/."""

    def __init__(self, page, who: str):
        self.page = page
        self.folder = SCREENSHOTS / "purged-css" / who
        self.folder.mkdir(parents=True, exist_ok=True)
        self.whole_served = []
        self.compared = 0
        self.devtools = page.context.new_cdp_session(page)
        page.route(re.compile(r"bootstrap\.purged\.min\.css\?whole$"), self._serve_whole)

    def _serve_whole(self, route):
        self.whole_served.append(route.request.url)
        route.fulfill(path=str(ORIGINAL_CSS), content_type="text/css")

    def differs(self) -> bool:
        """Draw the page as it is, then with the whole of Bootstrap; True if they differ.
        Leaves the page drawn with the whole file: load the next page before calling again."""
        page, number = self.page, self.compared
        self.compared += 1
        purged = _drawn(page, self.devtools)
        page.evaluate(WITH_WHOLE_BOOTSTRAP)
        whole = _drawn(page, self.devtools)
        if _differ(purged, whole):
            # Once in a while the swapped-in file's first frame still shows a control in
            # its unstyled border (seen on a file input's button): drawn again once settled.
            page.wait_for_timeout(500)
            whole = _drawn(page, self.devtools)
        if _differ(purged, whole):
            (self.folder / f"{number:02d}-bootstrap.png").write_bytes(whole)
            (self.folder / f"{number:02d}-purged.png").write_bytes(purged)
            return True
        return False

    def assert_each_page_drawn_again(self) -> None:
        assert self.compared and len(self.whole_served) == self.compared
