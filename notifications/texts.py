"""What each kind of notification says: worded when it is shown (in the reader's language) or
sent (an SMS, in Simplified Chinese), from the figures kept with it.

SMS text carries figures, dates, a receipt or reservation number and the village's and items'
names only: never a person's name, ID number or phone (SECURITY.md, "What a text message may
contain").
"""

import datetime

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.models import Notification

Kind = Notification.Kind

SMS_LANGUAGE = "zh-hans"


def _date(value: str) -> str:
    return formats.date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")


def _moment(value: str) -> str:
    """A time kept as ISO text, in the local time zone (an expiry: the day alone is not enough)."""
    moment = timezone.localtime(datetime.datetime.fromisoformat(value))
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")


def _date_or_moment(value: str) -> str:
    """A day kept as ISO text, or a moment (a publicity period ends to the minute: messages
    written before that was said keep the day alone)."""
    return _moment(value) if "T" in value else _date(value)


def _counted(params: dict) -> dict:
    """The figures as words that agree with them ("1 point", "3 pieces"), and the receipt
    number as the receipt prints it (000751; kept as the bare id)."""
    worded = dict(params)
    if "points" in params:
        points = abs(params["points"])
        worded["points_text"] = ngettext("%(n)d point", "%(n)d points", points) % {"n": points}
        signed = params["points"]
        worded["signed_text"] = ngettext("%(n)+d point", "%(n)+d points", points) % {"n": signed}
    if "items" in params:
        items = params["items"]
        worded["items_text"] = ngettext("%(n)d piece", "%(n)d pieces", items) % {"n": items}
    if str(params.get("receipt", "")).isdecimal():
        # Kept as the bare id before: printed as store.models.Redemption.number_of does
        # (the store is a layer above this app, which cannot import it).
        worded["receipt"] = f"{int(params['receipt']):06d}"
    return worded


# The kinds that give the household's balance after their own event (points.ledger's
# balance_after): a text of one sent after a newer one says no balance (`sms_text`).
BALANCE_KINDS = (
    Kind.CREDITED,
    Kind.DEDUCTED,
    Kind.REDEMPTION,
    Kind.REVERSED,
    Kind.VOIDED,
    Kind.POINTS_LAPSED,
)


def _words(kind: str, params: dict, *, balance: bool = True) -> str:
    """The message's words; `balance` False leaves out the balance it gives (BALANCE_KINDS)."""
    params = _counted(params)
    if kind == Kind.CREDITED:
        if not balance:
            return _("%(points_text)s credited (%(rule)s).") % params
        return _("%(points_text)s credited (%(rule)s). Balance: %(balance)d.") % params
    if kind == Kind.DEDUCTED:
        if not balance:
            return _("%(points_text)s deducted (%(rule)s).") % params
        return _("%(points_text)s deducted (%(rule)s). Balance: %(balance)d.") % params
    if kind == Kind.PUBLICITY:
        return _(
            "%(signed_text)s (%(rule)s) approved for your household: on the public notice, "
            "objections possible until %(until)s, credited after that."
        ) % {**params, "until": _date_or_moment(params["until"])}
    if kind == Kind.REDEMPTION:
        if not balance:
            return _("Receipt %(receipt)s: %(items_text)s for %(points_text)s.") % params
        return (
            _("Receipt %(receipt)s: %(items_text)s for %(points_text)s. Balance: %(balance)d.")
            % params
        )
    if kind == Kind.WISH_MATCHED:
        return _("Your wish has been matched with a donor.")
    if kind == Kind.WISH_FULFILLED:
        return _("Your wish has been fulfilled: see the echo wall.")
    if kind == Kind.WISH_DECLINED:
        # Never the reason: it may name people; the household reads it with its wish.
        return _("Your wish was declined: open My wishes to read why.")
    if kind == Kind.LOW_STOCK:
        return _("Low stock: %(item)s, %(stock)d left.") % params
    if kind == Kind.RESERVATION_READY:
        return _(
            "Reservation %(reservation)s: %(items_text)s for %(points_text)s, held for you "
            "until %(until)s. Collect them at the store."
        ) % {**params, "until": _moment(params["until"])}
    if kind == Kind.RESERVATION_EXPIRING:
        return _(
            "Reservation %(reservation)s (%(points_text)s) is kept only until %(until)s: "
            "collect it before then, or the goods go back on the shelf."
        ) % {**params, "until": _moment(params["until"])}
    if kind == Kind.REVERSED:
        if not balance:
            return _("A correction of %(signed_text)s: your entry of %(date)s was reversed.") % {
                **params,
                "date": _date(params["date"]),
            }
        return _(
            "A correction of %(signed_text)s: your entry of %(date)s was reversed. "
            "Balance: %(balance)d."
        ) % {**params, "date": _date(params["date"])}
    if kind == Kind.VOIDED:
        if not balance:
            return (
                _(
                    "Receipt %(receipt)s was cancelled: %(points_text)s back, the goods "
                    "returned to the store."
                )
                % params
            )
        return (
            _(
                "Receipt %(receipt)s was cancelled: %(points_text)s back, the goods returned to "
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
    if kind == Kind.SETTLEMENT_OFF:
        return _(
            "The yearly settlement on %(date)s is called off: no points lapse. Your points "
            "stay yours to spend."
        ) % {"date": _date(params["date"])}
    if kind == Kind.POINTS_LAPSED:
        if not balance:
            return (
                _(
                    "Yearly settlement: %(points_text)s lapsed. The points you earned stay on "
                    "your record."
                )
                % params
            )
        return (
            _(
                "Yearly settlement: %(points_text)s lapsed. Balance: %(balance)d. The points "
                "you earned stay on your record."
            )
            % params
        )
    if kind == Kind.RESERVATION_CLOSED:
        words = (
            _(
                "Reservation %(reservation)s was not collected in time: %(points_text)s can be "
                "spent again, and the goods are back on the shelf."
            )
            if params["expired"]
            else _(
                "Reservation %(reservation)s was cancelled at the store: %(points_text)s can be "
                "spent again."
            )
        )
        return words % params
    if kind == Kind.OBJECTION_ANSWERED:
        # Never the supervisor's reason: it may name people (it is on the public notice).
        words = (
            _(
                "Your objection to the entry of %(signed_text)s (%(rule)s) of %(date)s was "
                "upheld: the entry is cancelled. The reason is on the public notice."
            )
            if params["upheld"]
            else _(
                "Your objection to the entry of %(signed_text)s (%(rule)s) of %(date)s was "
                "looked into and dismissed: the entry stands."
            )
        )
        return words % {**params, "date": _date(params["date"])}
    if kind == Kind.CANCELLED:
        # Never the reason itself: it may name people (it is on the public notice).
        return _(
            "The entry of %(signed_text)s (%(rule)s) of %(date)s announced for your household "
            "was cancelled: it is not credited. The reason is on the public notice."
        ) % {**params, "date": _date(params["date"])}
    if kind == Kind.HELD:
        if params["why"] == "balance":
            words = _(
                "The deduction of %(points_text)s (%(rule)s) of %(date)s is held: your balance "
                "cannot bear it now. The supervisor credits it later or cancels it."
            )
        elif params["why"] == "limit":
            words = _(
                "The entry of %(signed_text)s (%(rule)s) of %(date)s is held: your balance "
                "cannot hold so many points. The supervisor checks it and cancels it."
            )
        else:
            words = _(
                "The entry of %(signed_text)s (%(rule)s) of %(date)s is held: your household "
                "has no active card. The supervisor credits it once a card is issued again, "
                "or cancels it."
            )
        return words % {**params, "date": _date(params["date"])}
    if kind == Kind.VOID_ASKED:
        # To the village's staff only, never by SMS: the manager's reason is for them.
        return (
            _("Receipt %(receipt)s: the manager asks the supervisor to void it. Reason: %(reason)s")
            % params
        )
    raise ValueError(kind)


def _end_of(value: str) -> datetime.datetime:
    """The moment kept as ISO text, or the end of the day kept (local time)."""
    if "T" in value:
        return datetime.datetime.fromisoformat(value)
    day = datetime.date.fromisoformat(value) + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def true_until(notification: Notification) -> datetime.datetime | None:
    """When the message's words stop being true, for those that give a time to act by
    ("held for you until", "objections possible until", "spend them before"): a text that
    could only go later would send the household on a wasted trip. None: true whenever sent."""
    params = notification.params
    if notification.kind in (Kind.RESERVATION_READY, Kind.RESERVATION_EXPIRING, Kind.PUBLICITY):
        return _end_of(params["until"])
    if notification.kind == Kind.SETTLEMENT_PLANNED:
        return _end_of(params["date"])  # points lapse when that day ends
    return None


def text(notification: Notification) -> str:
    """The message in the active language, for the household's list and the delivery log."""
    return _words(notification.kind, notification.params)


def sms_text(notification: Notification, *, balance: bool = True) -> str:
    """The text message: the village's store, then the message, in Simplified Chinese.
    `balance` False: without the balance it gives (a newer one has gone already)."""
    with translation.override(SMS_LANGUAGE):
        return _("%(village)s love supermarket: %(message)s") % {
            "village": notification.village.name,
            "message": _words(notification.kind, notification.params, balance=balance),
        }
