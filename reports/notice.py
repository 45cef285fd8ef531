"""The village's public notice (公示): sections gathered from the apps below this one.

Each provider is `fn(village, year, month) -> list[NoticeSection]` with a bounded number of
queries. The store adds redemptions and donations by adding its provider path here; a path
whose module does not exist yet is skipped.
"""

from django.utils.module_loading import import_string

SECTION_PROVIDERS = [
    "points.selectors.notice_points_sections",
    "store.selectors.notice_store_sections",
]


def _providers():
    for path in SECTION_PROVIDERS:
        try:
            yield import_string(path)
        except ImportError:
            continue


def notice_sections(village, year: int, month: int) -> list:
    sections = []
    for provider in _providers():
        sections.extend(provider(village, year, month))
    return sections
