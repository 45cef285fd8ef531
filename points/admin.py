"""Admin for the points app. The ledger and the workflow are read-only here by design:

approving, rejecting and posting happen only through the services (pages), which enforce
who may decide what. Rules may be edited by the manager, through `rule_save`.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError

from core.db import SavedMeanwhile
from points.models import Account, Batch, Declaration, Entry, Objection, Proposal, Rule
from points.services import rule_check, rule_save
from villagers.admin import VillageScopedAdmin, VillageScopedReadOnlyAdmin


@admin.register(Rule)
class RuleAdmin(VillageScopedAdmin):
    list_display = ["code", "category", "description", "points", "monthly_cap", "active"]
    list_filter = ["category", "active"]
    search_fields = ["code", "description"]

    def get_exclude(self, request, obj=None):
        return [] if request.user.is_superuser else ["village"]

    def has_delete_permission(self, request, obj=None):
        # Rules are referenced by the ledger's proposals: deactivate instead.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The form checks what `rule_save` would refuse (a code the village has, a used
        rule's category), as errors on the form: the village is not one of its fields."""
        base = super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class RuleAdminForm(base):
            def _post_clean(self):
                super()._post_clean()
                if self.errors:
                    return
                try:
                    if not user.is_superuser:
                        self.instance.village_id = user.village_id
                        self.instance.validate_constraints()
                    rule_check(self.instance)
                except ValidationError as error:
                    self.add_error(None, error)

        return RuleAdminForm

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.village_id = request.user.village_id
        try:
            rule_save(rule=obj, actor=request.user, request=request)
        except ValidationError as error:
            # The form checked what the service refuses, so a refusal now is of a change
            # saved meanwhile (the same code added in another tab, at the same moment): the
            # form is drawn again and says so (core.admin.DuplicateSavedMeanwhileMixin). Who
            # may not change rules at all is refused by the service as PermissionDenied.
            raise SavedMeanwhile(error) from error


@admin.register(Account)
class AccountAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["household", "balance", "opened_at"]
    list_select_related = ["household"]
    search_fields = ["household__head_name", "household__number"]


@admin.register(Entry)
class EntryAdmin(VillageScopedReadOnlyAdmin):
    village_path = "account__village"
    list_display = ["created_at", "account", "kind", "points", "balance_after", "memo"]
    list_filter = ["kind"]
    list_select_related = ["account__household"]
    search_fields = ["account__household__head_name", "memo"]


@admin.register(Proposal)
class ProposalAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["proposed_at", "household", "rule", "points", "status", "proposed_by"]
    list_filter = ["status", "rule__category"]
    list_select_related = ["household", "rule", "proposed_by"]
    search_fields = ["household__head_name", "reason"]


@admin.register(Batch)
class BatchAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["date", "title", "rule", "created_by"]
    list_select_related = ["rule", "created_by"]


@admin.register(Declaration)
class DeclarationAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["submitted_at", "household", "status"]
    list_filter = ["status"]
    list_select_related = ["household"]


@admin.register(Objection)
class ObjectionAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["raised_at", "proposal", "raised_by", "status", "resolved_by"]
    list_filter = ["status"]
    list_select_related = ["proposal__household", "proposal__rule", "raised_by", "resolved_by"]
    search_fields = ["reason", "resolution", "proposal__household__head_name"]
