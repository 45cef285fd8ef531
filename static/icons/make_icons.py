"""Draw the home-screen icons (a white heart on the header's red) with Pillow; no font needed.

Run from the repository root after a design change:
`.venv/bin/python static/icons/make_icons.py`.
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

RED = (167, 29, 42)
WHITE = (255, 255, 255)
GOLD = (255, 218, 106)
HERE = Path(__file__).resolve().parent
SCALE = 4  # draw large, shrink: smooth edges without an anti-aliasing library


def heart(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill) -> None:
    """The classic parametric heart curve, centred on (cx, cy), about 2r wide."""
    points = []
    for step in range(360):
        t = math.radians(step)
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        points.append((cx + x * r / 16, cy - (y + 2.5) * r / 16))
    draw.polygon(points, fill=fill)


def icon(size: int, *, maskable: bool = False) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGB", (big, big), WHITE if not maskable else RED)
    draw = ImageDraw.Draw(image)
    if maskable:
        inner = 0.8  # the safe zone: launchers may cut the outer 10 % on each side
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=RED)
        inner = 1.0
    r = big * 0.3 * inner
    heart(draw, big / 2, big / 2 + r * 0.05, r, WHITE)
    heart(draw, big / 2, big / 2 + r * 0.05, r * 0.42, GOLD)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for size in (192, 512):
        icon(size).save(HERE / f"icon-{size}.png", optimize=True)
    icon(512, maskable=True).save(HERE / "icon-maskable-512.png", optimize=True)
    icon(180, maskable=True).save(HERE / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
