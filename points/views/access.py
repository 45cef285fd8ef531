"""Fetching points objects for the request's user: one place that scopes by village.

Objects of another village are 404, on a page saying they are another village's
(core.access.village_object_or_404).
"""

import mimetypes

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404

from core.access import village_object_or_404
from points.models import Batch, Declaration, Proposal, Rule


def _get_rule_for_user(request, pk: int) -> Rule:
    return village_object_or_404(
        Rule.objects.filter(village=request.village), request.village, pk=pk
    )


def _get_proposal_for_user(request, pk: int) -> Proposal:
    return village_object_or_404(
        Proposal.objects.filter(village=request.village).select_related(
            "household__group", "rule", "member", "proposed_by", "decided_by", "batch", "entry"
        ),
        request.village,
        pk=pk,
    )


def _get_batch_for_user(request, pk: int) -> Batch:
    return village_object_or_404(
        Batch.objects.filter(village=request.village).select_related("rule", "created_by"),
        request.village,
        pk=pk,
    )


def _get_declaration_for_user(request, pk: int) -> Declaration:
    return village_object_or_404(
        Declaration.objects.filter(village=request.village).select_related(
            "household__group", "member", "proposal__rule"
        ),
        request.village,
        pk=pk,
    )


def photo_response(field_file):
    """Serve stored evidence through a view, so only those allowed to see it can."""
    if not field_file:
        raise Http404
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    try:
        handle = field_file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def error_messages(error: ValidationError) -> list[str]:
    return list(error.messages)
