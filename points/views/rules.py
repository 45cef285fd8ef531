"""The village's points rules (积分管理细则): the manager edits, the supervisor reads."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.access import Role, is_manager, staff_required
from core.idempotency import already_sent
from points.forms import RuleForm
from points.models import Rule
from points.selectors import rules_for_village
from points.services import rule_save
from points.views.access import _get_rule_for_user
from villagers.forms import form_add_service_error


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def rule_list(request):
    rules = rules_for_village(request.village)
    return render(
        request,
        "points/rule_list.html",
        {"rules": rules, "can_edit": is_manager(request.user)},
    )


def _rule_form_page(request, rule: Rule, title: str):
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            rule_save(rule=form.instance, actor=request.user, request=request)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("The rule was saved."))
            return redirect("points:rule_list")
    elif form.sent_twice():  # a double click: the first click saved it
        already_sent(request)
        return redirect("points:rule_list")
    return render(request, "points/rule_form.html", {"form": form, "title": title})


@staff_required(Role.MANAGER)
def rule_add(request):
    return _rule_form_page(request, Rule(village=request.village), _("New rule"))


@staff_required(Role.MANAGER)
@transaction.atomic  # the edited row is locked while the form checks and saves it
def rule_edit(request, pk):
    return _rule_form_page(request, _get_rule_for_user(request, pk), _("Edit rule"))
