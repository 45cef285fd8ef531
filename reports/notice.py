"""The village's public notice (公示): approved points, redemptions and donations of a month.

This sits in the top layer because it combines the ledger (points) with the store. Each
provider is `fn(village, year, month) -> list[NoticeSection]` with a bounded number of queries.
"""

from django.utils.translation import gettext as _

from points.selectors import NoticeSection, notice_points_sections, notice_publicity_sections
from reports.selectors_transparency import notice_traceability_sections
from store.selectors import notice_donations, notice_redemptions


def notice_store_sections(village, year: int, month: int) -> list[NoticeSection]:
    """Redemptions that stand (voided ones left out) and donations with their thanks."""
    redemptions = NoticeSection(
        "redemptions",
        _("Goods redeemed"),
        [_("Date"), _("Household head"), _("Group"), _("Items"), _("Points")],
    )
    for row in notice_redemptions(village, year, month):
        redemptions.rows.append(
            [row["date"], row["household_head"], row["group"], row["items"], row["points"]]
        )
    redemptions.totals = ["", "", "", _("Total"), sum(row[-1] for row in redemptions.rows)]

    donations = NoticeSection(
        "donations",
        _("Donations received, with thanks"),
        [
            _("Date"),
            _("Donor"),
            _("Donor kind"),
            _("Money or goods"),
            _("What"),
            _("Value (yuan)"),
            _("Thanks"),
        ],
    )
    for row in notice_donations(village, year, month):
        donations.rows.append(
            [
                row["date"],
                row["donor"],
                row["donor_kind"],
                row["kind"],
                row["what"],
                row["value"],
                row["thanks"],
            ]
        )
    donations.totals = ["", "", "", "", _("Total"), sum(row[5] or 0 for row in donations.rows), ""]
    return [redemptions, donations]


SECTION_PROVIDERS = [
    notice_points_sections,
    notice_publicity_sections,
    notice_store_sections,
    notice_traceability_sections,
]


def notice_sections(village, year: int, month: int) -> list[NoticeSection]:
    sections = []
    for provider in SECTION_PROVIDERS:
        sections.extend(provider(village, year, month))
    return sections
