"""What each kind of notification says: worded when it is shown (in the reader's language) or
sent (an SMS, in Simplified Chinese), from the figures kept with it.

SMS text carries figures, dates, a receipt or reservation number and the village's and items'
names only: never a person's name, ID number or phone (SECURITY.md, "What a text message may
contain").
"""

import datetime

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from notifications.models import Notification

Kind = Notification.Kind

SMS_LANGUAGE = "zh-hans"


def _date(value: str) -> str:
    return formats.date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")


def _moment(value: str) -> str:
    """A time kept as ISO text, in the local time zone (an expiry: the day alone is not enough)."""
    moment = timezone.localtime(datetime.datetime.fromisoformat(value))
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")


def _words(kind: str, params: dict) -> str:
    if kind == Kind.CREDITED:
        return _("%(points)d points credited (%(rule)s). Balance: %(balance)d.") % params
    if kind == Kind.DEDUCTED:
        return _("%(points)d points deducted (%(rule)s). Balance: %(balance)d.") % {
            **params,
            "points": abs(params["points"]),
        }
    if kind == Kind.PUBLICITY:
        return _(
            "%(points)+d points (%(rule)s) approved for your household: on the public notice, "
            "objections possible until %(until)s, credited after that."
        ) % {**params, "until": _date(params["until"])}
    if kind == Kind.REDEMPTION:
        return (
            _("Receipt %(receipt)s: %(items)d pieces for %(points)d points. Balance: %(balance)d.")
            % params
        )
    if kind == Kind.WISH_MATCHED:
        return _("Your wish has been matched with a donor.")
    if kind == Kind.WISH_FULFILLED:
        return _("Your wish has been fulfilled: see the echo wall.")
    if kind == Kind.LOW_STOCK:
        return _("Low stock: %(item)s, %(stock)d left.") % params
    if kind == Kind.RESERVATION_READY:
        return _(
            "Reservation %(reservation)s: %(items)d pieces for %(points)d points, held for you "
            "until %(until)s. Collect them at the store."
        ) % {**params, "until": _moment(params["until"])}
    if kind == Kind.RESERVATION_EXPIRING:
        return _(
            "Reservation %(reservation)s (%(points)d points) is kept only until %(until)s: "
            "collect it before then, or the goods go back on the shelf."
        ) % {**params, "until": _moment(params["until"])}
    if kind == Kind.REVERSED:
        return _(
            "A correction of %(points)+d points: your entry of %(date)s was reversed. "
            "Balance: %(balance)d."
        ) % {**params, "date": _date(params["date"])}
    if kind == Kind.VOIDED:
        return (
            _(
                "Receipt %(receipt)s was cancelled: %(points)d points back, the goods returned to "
                "the store. Balance: %(balance)d."
            )
            % params
        )
    if kind == Kind.ANNOUNCEMENT:
        # Never the announcement's words: they may name people (SECURITY.md).
        return _(
            "The village has posted an announcement: open your points page to read or hear it."
        )
    if kind == Kind.SETTLEMENT_PLANNED:
        return _(
            "Yearly settlement on %(date)s: points above %(keep)d that you could spend then "
            "lapse, at most %(points)d for your household. Spend them at the store before "
            "then. The points you earned stay on your record."
        ) % {**params, "date": _date(params["date"])}
    if kind == Kind.POINTS_LAPSED:
        return (
            _(
                "Yearly settlement: %(points)d points lapsed. Balance: %(balance)d. The points "
                "you earned stay on your record."
            )
            % params
        )
    if kind == Kind.RESERVATION_CLOSED:
        words = (
            _(
                "Reservation %(reservation)s was not collected in time: its %(points)d points "
                "are yours to spend again, and the goods are back on the shelf."
            )
            if params["expired"]
            else _(
                "Reservation %(reservation)s was cancelled at the store: its %(points)d points "
                "are yours to spend again."
            )
        )
        return words % params
    if kind == Kind.OBJECTION_ANSWERED:
        # Never the supervisor's reason: it may name people (it is on the public notice).
        words = (
            _(
                "Your objection to the entry of %(points)+d points (%(rule)s) of %(date)s was "
                "upheld: the entry is cancelled. The reason is on the public notice."
            )
            if params["upheld"]
            else _(
                "Your objection to the entry of %(points)+d points (%(rule)s) of %(date)s was "
                "looked into and dismissed: the entry stands."
            )
        )
        return words % {**params, "date": _date(params["date"])}
    raise ValueError(kind)


def text(notification: Notification) -> str:
    """The message in the active language, for the household's list and the delivery log."""
    return _words(notification.kind, notification.params)


def sms_text(notification: Notification) -> str:
    """The text message: the village's store, then the message, in Simplified Chinese."""
    with translation.override(SMS_LANGUAGE):
        return _("%(village)s love supermarket: %(message)s") % {
            "village": notification.village.name,
            "message": _words(notification.kind, notification.params),
        }
