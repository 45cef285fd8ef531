"""The supervisor's approval queue: approve or reject one, several or a whole batch, from
the queue or from a proposal's or a batch's own page."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.access import Role, is_supervisor, staff_required
from core.db import retry_transient, row_id_or_none
from core.fragments import cached_part
from core.idempotency import OneTimeKeyMixin, run_once
from core.kept import choices_keep, choices_kept
from core.pagination import Paginator
from core.redirects import local_next
from points.models import Batch, Proposal, Rule
from points.rounds import batch_outcomes
from points.selectors import approval_queue_version, proposals_pending, queue_next
from points.services import proposal_approve, proposal_decision_refusal, proposal_reject
from points.views.access import _get_batch_for_user, _get_proposal_for_user
from villagers.models import Referral, User, VillageGroup
from villagers.second_person import (
    open_referrals,
    refusal_or_referral,
    sent_up_refusal,
)

# In the queue's address when a rejection came back for its reason: the box is focused.
REASON_ASKED = "reason"
# The ticks and the reason of a decision that was not made, for the queue drawn next.
KEPT = "approval_queue"

# The queue's parts are cached under approval_queue_version, a digest of every row they
# show: a stale part is never served; the timeout only frees memory.
QUEUE_CACHE_SECONDS = 600
# Waiting proposals a page of the queue shows: a month's round of a large village puts
# hundreds in the queue, read on a phone.
QUEUE_PAGE_SIZE = 50
# The queue's place (its filters and its page), carried by the links to the proposals' and
# batches' pages and by their forms, so a decision made there goes back to it.
QUEUE_FILTERS = ("rule", "group", "proposer")
QUEUE_PLACE = (*QUEUE_FILTERS, "page")


def queue_place(request) -> str:
    """The query string of the queue's place the request came from ("" for the top)."""
    return urlencode([(name, request.GET[name]) for name in QUEUE_PLACE if request.GET.get(name)])


def _queue_filters(request) -> dict:
    return {
        "rule_id": row_id_or_none(request.GET.get("rule")),
        "group_id": row_id_or_none(request.GET.get("group")),
        "proposer_id": row_id_or_none(request.GET.get("proposer")),
    }


def _at_place(url: str, place: str) -> str:
    return f"{url}?{place}" if place else url


@staff_required(Role.SUPERVISOR)
def approval_queue(request):
    kept = choices_kept(request, KEPT)
    if kept is not None:  # the ticks and the reason of a form that decided nothing: not cached
        parts = _queue_parts(request, kept)
    else:
        fingerprint = (
            f"{request.village.pk}:{approval_queue_version(request.village)}:"
            f"{request.GET.urlencode()}"
        )
        parts = cached_part(
            "approval-queue", fingerprint, lambda: _queue_parts(request), QUEUE_CACHE_SECONDS
        )
    context = {"parts": parts, "form": OneTimeKeyMixin()}
    return render(request, "points/approval_queue.html", context)


def _queue_parts(request, kept: dict | None = None) -> dict[str, str]:
    """The count of all waiting, the filters, the table of pending proposals and the pager,
    rendered; with `kept` (core.kept), the proposals ticked and the reason typed before."""
    filters = _queue_filters(request)
    page = Paginator(proposals_pending(request.village, **filters), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # Everything waiting, said above the filters: the paginator's count when none is set.
    waiting = page.paginator.count
    if any(filters.values()):
        waiting = Proposal.objects.filter(
            village=request.village, status=Proposal.Status.PROPOSED
        ).count()
    referred = open_referrals(
        kind=Referral.Kind.PROPOSAL,
        object_ids=[proposal.pk for proposal in page],
        village_id=request.village.pk,
    )
    # Of all waiting, those sent up are the township's or the county's to decide: said apart,
    # as each one's page says "nothing else waits for you" past them.
    sent_up = Referral.objects.filter(
        village_id=request.village.pk, kind=Referral.Kind.PROPOSAL, status=Referral.Status.OPEN
    ).count()
    outcomes = batch_outcomes(
        {proposal.batch_id for proposal in page if proposal.batch_id},
        village_id=request.village.pk,
    )
    for proposal in page:
        proposal.referral = referred.get(proposal.pk)
        if proposal.batch is not None:
            proposal.batch.outcome = outcomes[proposal.batch_id]
    proposer_ids = Proposal.objects.filter(
        village=request.village, status=Proposal.Status.PROPOSED
    ).values("proposed_by_id")
    context = {
        "page": page,
        "filters": filters,
        "rules": Rule.objects.filter(village=request.village).order_by("code"),
        "groups": VillageGroup.objects.filter(village=request.village),
        "proposers": User.objects.filter(pk__in=proposer_ids),
        "reason_asked": request.GET.get(REASON_ASKED) == "1",
        "kept": kept,
        "waiting": waiting,
        "sent_up": sent_up,
        "place": queue_place(request),
        # The pager's links keep the filters, never the `reason` asked for once.
        "pager_place": urlencode(
            [(name, request.GET[name]) for name in QUEUE_FILTERS if request.GET.get(name)]
        ),
    }
    return {
        part: render_to_string(template, context, request=request)
        for part, template in (
            ("count", "points/_queue_count.html"),
            ("filters", "points/_queue_filters.html"),
            ("table", "points/_queue_table.html"),
            ("pager", "_pager.html"),
        )
    }


def _reason_asked(url: str, asked: bool) -> str:
    """`url` (the queue, its filters kept), opening at the reason box, focused, when `asked`
    (a rejection came back for its reason), else as it is."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != REASON_ASKED]
    if asked:
        query.append((REASON_ASKED, "1"))
    fragment = "rejection_reason" if asked else ""
    return urlunsplit(parts._replace(query=urlencode(query), fragment=fragment))


@staff_required(Role.SUPERVISOR)
@require_POST
def approval_decide(request):
    """Approve or reject the ticked proposals, or every pending one of a batch, in one go."""
    action = request.POST.get("action")
    # Ids checked before the ledger's prepared statements, which take bigints.
    ids = [i for i in map(row_id_or_none, request.POST.getlist("proposal")) if i is not None]
    # What was ticked and typed, for the page sent back to when nothing is decided.
    ticked, reason = list(ids), request.POST.get("rejection_reason", "")
    keep = {"ids": ticked, "reason": reason}
    # A whole batch comes from its own button: batch_action = "approve:<id>" or "reject:<id>".
    batch_id = None
    if request.POST.get("batch_action"):
        action, _sep, batch_value = request.POST["batch_action"].partition(":")
        batch_id = row_id_or_none(batch_value)
        if batch_id is None:  # a batch's button names its batch: never the ticks instead
            action = None
    back = local_next(request, request.POST.get("next", "")) or reverse("points:approval_queue")
    back = _reason_asked(back, asked=False)  # a reason asked for once is not asked again
    if batch_id:
        return _batch_decision(request, batch_id, action, back, keep)
    return _decision(request, ids=ids, action=action, back=back, keep=keep)


def _batch_decision(request, batch_id: int, action, back: str, keep: dict | None = None):
    """Approve or reject every proposal of the batch still waiting for the supervisor.

    Those of it sent up to the township or the county are left to them, and the page says
    how many; one sent up after they were counted here is refused by the services, which
    then decide nothing of the batch (it is decided whole or not at all): pressed again, the
    rest is decided."""
    ids = list(
        Proposal.objects.filter(
            village=request.village, batch_id=batch_id, status=Proposal.Status.PROPOSED
        ).values_list("pk", flat=True)
    )
    # What waits for the county is the county's to decide: the rest of the batch goes on.
    referred = open_referrals(
        kind=Referral.Kind.PROPOSAL, object_ids=ids, village_id=request.village.pk
    )
    ids = [pk for pk in ids if pk not in referred]
    if action in ("approve", "reject") and not ids:
        if referred:
            messages.info(
                request,
                _("What is left of this batch waits for the township or the county to decide."),
            )
        else:  # decided already (another tab, another supervisor)
            messages.info(request, _("Nothing of this batch is waiting any more: it was decided."))
        return redirect(back)
    return _decision(request, ids=ids, action=action, back=back, keep=keep, left=len(referred))


def _decision(
    request, *, ids: list[int], action, back: str, keep: dict | None = None, left: int = 0
):
    """Approve or reject the proposals `ids` through the services, once per form key, and
    go `back` saying what was done; a refusal says why in the services' words (decided
    already, a card recalled), sending up what nobody of the village may decide. `keep`
    (core.kept) is what the queue draws again when nothing was decided; `left` is how many
    of a batch were left to the township or the county, said once the rest is decided."""
    reason = request.POST.get("rejection_reason", "")

    def refused(url):
        if keep is not None:
            choices_keep(request, KEPT, **keep)
        return redirect(url)

    if action not in ("approve", "reject"):
        # No decision button was pressed (Enter in the reason box presses the form's first,
        # hidden button, which names none): nothing is decided, and the page says so.
        messages.error(request, _("Nothing was decided: press an approve or a reject button."))
        return refused(back)
    if action == "reject" and not reason.strip():
        # The reason box is under the whole table: the page comes back there, the box ready.
        messages.error(request, _("Give the reason for the rejection."))
        return refused(_reason_asked(back, asked=True))
    decided = []

    def act():
        decided.clear()  # a retried attempt starts again
        if action == "approve":
            decided.extend(proposal_approve(proposal_ids=ids, actor=request.user, request=request))
        else:
            decided.extend(
                proposal_reject(
                    proposal_ids=ids, actor=request.user, reason=reason, request=request
                )
            )
        return back

    try:
        url, replayed = retry_transient(lambda: run_once(request, act))
    except ValidationError as error:
        second_person = getattr(error, "second_person", [])
        said = {line for item in second_person for line in item.messages}
        for line in error.messages:
            if line not in said:
                messages.error(request, line)
        asked = {"action": action, "reason": reason}
        for item in second_person:
            try:
                messages.warning(request, refusal_or_referral(request, item, asked))
            except ValidationError as not_sent:  # decided meanwhile: nothing to send up
                for line in not_sent.messages:
                    messages.error(request, line)
        return refused(back)
    if replayed:
        messages.info(request, _("This decision was already recorded."))
    elif action == "approve" and request.village.publicity_days:
        messages.success(
            request,
            _("%(count)d approved; they are on the public notice and credited after %(days)d days.")
            % {"count": len(decided), "days": request.village.publicity_days},
        )
    elif action == "approve":
        messages.success(
            request,
            _("%(count)d approved; the points are in the ledger.") % {"count": len(decided)},
        )
    else:
        messages.success(request, _("%(count)d rejected.") % {"count": len(decided)})
    if left and not replayed:
        messages.info(
            request,
            ngettext(
                "%(count)d of this batch waits for the township or the county to decide: it "
                "was left as it is.",
                "%(count)d of this batch wait for the township or the county to decide: they "
                "were left as they are.",
                left,
            )
            % {"count": left},
        )
    return redirect(url)


@staff_required(Role.SUPERVISOR)
@require_POST
def proposal_decide(request, pk):
    """Approve or reject one proposal from its own page, then back to that page, which says
    what was decided and leads back to the queue's place and on to the next waiting item."""
    proposal = _get_proposal_for_user(request, pk)
    back = _at_place(reverse("points:proposal_detail", args=[proposal.pk]), queue_place(request))
    refusal = sent_up_refusal(Referral.Kind.PROPOSAL, proposal.pk, village_id=proposal.village_id)
    if refusal and proposal.status == Proposal.Status.PROPOSED:
        # Sent up after the page was drawn: the county's to decide, as in the queue.
        messages.warning(request, refusal)
        return redirect(back)
    return _decision(request, ids=[proposal.pk], action=request.POST.get("action"), back=back)


@staff_required(Role.SUPERVISOR)
@require_POST
def batch_decide(request, pk):
    """Approve or reject what waits of a batch from its own page, as the queue's batch
    buttons do."""
    batch = _get_batch_for_user(request, pk)
    back = _at_place(reverse("points:batch_detail", args=[batch.pk]), queue_place(request))
    return _batch_decision(request, batch.pk, request.POST.get("action"), back)


def decision_context(request, subject: Proposal | Batch, pending: list[Proposal]) -> dict:
    """What a proposal's or a batch's page offers its reader to decide it: for the village's
    supervisor, the approve and reject buttons (`decide`) while something of it waits for
    them, or why not (`refusal`, `referral` when it waits for the township or the county);
    and the way back to the queue's place and on to its next waiting item. `pending` is the
    subject's proposals still waiting. Nothing for anyone else: they may not decide it."""
    if not is_supervisor(request.user):
        return {}
    place = queue_place(request)
    following = queue_next(request.village, subject, request.user, **_queue_filters(request))
    next_url = ""
    if following is not None:
        on_its_batch = isinstance(subject, Batch) and following.batch_id
        next_url = _at_place(
            reverse("points:batch_detail", args=[following.batch_id])
            if on_its_batch
            else reverse("points:proposal_detail", args=[following.pk]),
            place,
        )
    context = {
        "place": place,
        "queue_url": _at_place(reverse("points:approval_queue"), place),
        "next_url": next_url,
        "decide": False,
        "refusal": "",
        "referral": None,
        "reason_asked": request.GET.get(REASON_ASKED) == "1",
    }
    referred = open_referrals(
        kind=Referral.Kind.PROPOSAL,
        object_ids=[p.pk for p in pending],
        village_id=request.village.pk,
    )
    waiting = [p for p in pending if p.pk not in referred]
    if not waiting:
        context["referral"] = next(iter(referred.values()), None)
        return context
    # A batch is proposed by one person: one of its proposals says whether the reader may
    # (not one of the reader's household, refused when the batch is decided, as in the queue).
    ask = next((p for p in waiting if p.household_id != request.user.household_id), waiting[0])
    refusal = proposal_decision_refusal(ask, request.user)
    context["refusal"] = refusal or ""
    context["decide"] = refusal is None
    return context
