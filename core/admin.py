"""Back-office base classes: every number in an admin form is read like the app's own forms.

Each app's admin.py builds on these (or on `NumberFieldsAdminMixin` with another base, such
as Django's UserAdmin); a test walks the admin site and fails on any number field that
is not `core.forms`'.
"""

import datetime
import re
from decimal import Decimal

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.filters import SimpleListFilter
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from procrastinate.contrib.django.models import ProcrastinateJob

from core.access import Role
from core.audit import as_stored, audit_record
from core.db import SavedMeanwhile, is_duplicate
from core.forms import NUMBER_FORMFIELD_OVERRIDES, number_limits

# The task queue's jobs are the operators' (`manage.py procrastinate`), not the back office's:
# procrastinate's admin page would show any staff member with a view permission every job's
# arguments, outside the roles' scoping (tests/security/url_table.py, ADMIN_MODELS).
if admin.site.is_registered(ProcrastinateJob):
    admin.site.unregister(ProcrastinateJob)


class NumberFieldsAdminMixin:
    formfield_overrides = NUMBER_FORMFIELD_OVERRIDES

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """Numbers with their model's range, refused in words out of it (core.forms)."""
        kwargs = {**number_limits(db_field), **kwargs}
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# The parameters Django's field filters put in a list's address after the field's path: the
# choice, boolean and all-values filters' `__exact` and `__isnull`, a related field's
# `__id__exact`, the date filter's range.
FILTER_PARAMETERS = ("exact", "isnull", "id__exact", "gte", "lt", "isempty")

# The parts of a `date_hierarchy` link, and the numbers each may be. Django's list turns
# them into a range ending a year, a month or a day later, computed in Python: the year
# 9999 ran past datetime's last (a ValueError, an OverflowError with a month or a day), a
# 500. A day past its month's end is Django's own "?e=1" redirect.
DATE_HIERARCHY_PARTS = {"year": (1, 9998), "month": (1, 12), "day": (1, 31)}


class OfferedFiltersOnlyMixin:
    """A list takes only the filters it offers (its `list_filter`), and the lookups of a
    raw-id popup's `limit_choices_to`. Django lets any lookup on the model's own fields
    through: `?id_number__startswith=6` answered 1 or 0 rows, and read a masked ID number or
    phone a character at a time; `?memo__regex=(` or `?created_at__year=99999` reached the
    database as an error (a 500). Refused, Django answers 400."""

    def lookup_allowed(self, lookup, value, request=None):
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        own_filters = [
            item
            for item in list_filter
            if isinstance(item, type) and issubclass(item, SimpleListFilter)
        ]
        # A filter of our own reads its parameter itself (and checks its value): Django's
        # rule for field paths does not apply to it. Since Django 5.2.20 that rule refuses a
        # path across a many-to-many relation that no list filter names as a field, such as
        # the role filter's `groups__id__exact`.
        if any(lookup == item.parameter_name for item in own_filters):
            return True
        if not super().lookup_allowed(lookup, value, request):
            return False
        for fk_lookup in self.model._meta.related_fkey_lookups:
            if callable(fk_lookup):
                fk_lookup = fk_lookup()
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        for item in list_filter:
            if item in own_filters:
                continue
            path = item[0] if isinstance(item, (list, tuple)) else item
            if lookup in (f"{path}__{parameter}" for parameter in FILTER_PARAMETERS):
                return True
        # The date links of a list with a `date_hierarchy` (django-axes' records have one).
        if self.date_hierarchy is None:
            return False
        for part, (first, last) in DATE_HIERARCHY_PARTS.items():
            if lookup == f"{self.date_hierarchy}__{part}":
                return re.fullmatch("[0-9]{1,4}", value) is not None and first <= int(value) <= last
        return False


class _ReadableValuesOnly:
    """An autocomplete widget that looks up only the values that can be its rows' keys.

    Django's widget draws the chosen row by looking its value up, whatever the value is: a
    page given `?household='` in its address, or a form sent back with it (refused, then
    drawn again with what was sent), failed in that lookup, a 500. A value that is no key
    is drawn as nothing chosen; the form's own check refuses it."""

    def optgroups(self, name, value, attr=None):
        key = self.field.target_field
        readable = []
        for each in value:
            try:
                key.to_python(each)
            except ValidationError:
                continue
            readable.append(each)
        return super().optgroups(name, readable, attr)


class ReadableAutocompleteSelect(_ReadableValuesOnly, widgets.AutocompleteSelect):
    pass


class ReadableAutocompleteSelectMultiple(_ReadableValuesOnly, widgets.AutocompleteSelectMultiple):
    pass


class ReadableAutocompleteMixin:
    """The admin's searched row fields (`autocomplete_fields`) draw only values that can be
    keys (`_ReadableValuesOnly`)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = ReadableAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = ReadableAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class DuplicateSavedMeanwhileMixin:
    """A form saved twice at once (a double click on a slow line, two admins adding one
    name) is told why, not shown a server error.

    Both requests pass the form's check of uniqueness before either saves; PostgreSQL makes
    the second INSERT wait for the first and refuses it (IntegrityError, or SavedMeanwhile
    where a service saves it: `core.db.duplicate_checked_again`). Django's change view runs
    in one transaction, so nothing of that attempt is left: it is run once more, and its
    form now sees the first's row and says so.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (IntegrityError, SavedMeanwhile) as error:
            duplicate = isinstance(error, SavedMeanwhile) or is_duplicate(error)
            if request.method != "POST" or not duplicate:
                raise
            return super().changeform_view(request, object_id, form_url, extra_context)


def audit_value(value):
    """A form or row value as the audit log keeps it (JSON): a row by its name, rows (a
    many-to-many field's) by their names, a decimal or a date as text, a file by its name
    (or none); anything else JSON does not hold, as text."""
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, File | FieldFile):
        return value.name or None
    if isinstance(value, Decimal | datetime.date | datetime.time):
        return str(value)
    if isinstance(value, list | tuple | set | QuerySet):
        return sorted(str(audit_value(item)) for item in value)
    if value is None or isinstance(value, bool | int | float | str | dict):
        return value
    return str(value)


class AuditedDeletesMixin:
    """A row deleted in the back office (its page, or the list's "delete selected") is an
    audit event "<audit_name>.delete" naming it, in one transaction with the deletion, with
    the row's village: its staff read their village's log, never the admin's history.
    reports.audit_labels names each code (tests/core/test_admin_audit.py checks)."""

    audit_name = ""  # the audit codes' first part: "donor" writes "donor.delete"

    def audit_village_id(self, obj, verb: str) -> int | None:
        """The village whose staff read the event; none for the county's or the site's rows
        (core.audit places those by the row's township or county)."""
        return getattr(obj, "village_id", None)

    def audit_write(self, request, obj, verb: str, detail: dict) -> None:
        audit_record(
            action=f"{self.audit_name}.{verb}",
            actor=request.user,
            village_id=self.audit_village_id(obj, verb),
            obj=obj,
            detail=detail,
            request=request,
        )

    def delete_model(self, request, obj):
        with transaction.atomic():
            self.audit_write(request, obj, "delete", {"name": str(obj)})  # while it has its id
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        rows = self.model._default_manager.filter(pk__in=queryset.values("pk"))
        with transaction.atomic():
            for obj in rows.select_for_update(no_key=True).order_by("pk"):
                self.audit_write(request, obj, "delete", {"name": str(obj)})
            super().delete_queryset(request, queryset)


class AuditedMixin(AuditedDeletesMixin):
    """A row saved in the back office is an audit event "<audit_name>.create" or ".update"
    naming each field changed, from what to what, in the admin view's transaction. A save
    that changes nothing (as drawn, or the same form sent twice) writes neither the row nor
    an event (core.audit.as_stored), as the services' saves; a many-to-many field's change
    (a role's permissions) is saved by the form and audited alone."""

    def save_model(self, request, obj, form, change):
        stored = type(obj)._default_manager.filter(pk=obj.pk).first() if change else None
        unchanged = change and as_stored(obj, stored)
        many = [name for name in form.changed_data if name in self._many_to_many()]
        if unchanged and not many:
            return  # saved as stored: nothing written or audited
        if not unchanged:
            super().save_model(request, obj, form, change)
        changed = {}
        for name in form.changed_data:
            if name in many:
                before = form.initial.get(name) if change else None
            else:
                before = getattr(stored, name, None)
            changed[name] = [audit_value(before), audit_value(form.cleaned_data.get(name))]
        self.audit_write(request, obj, "update" if change else "create", {"changed": changed})

    def _many_to_many(self) -> set[str]:
        return {field.name for field in self.model._meta.many_to_many}


class RowLockedOnPostMixin:
    """A page's POST (a save, a deletion, a password) reads its row under a lock held to the
    end of the view's transaction (Django runs each in one). The same form sent twice at
    once (a double click) then waits for the first, compares with what that stored, and,
    changing nothing, writes and audits nothing: unlocked, both compared with the old row,
    and both were saved and audited."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None or request.method != "POST":
            return obj
        if not transaction.get_connection().in_atomic_block:
            return obj  # a lock would end with its statement
        rows = self.model._default_manager.select_for_update(no_key=True).filter(pk=obj.pk)
        if rows.first() is None:
            return None  # deleted meanwhile
        # Read again now that it is held: as the last save left it, and still the reader's.
        return super().get_object(request, object_id, from_field)


class ChangesOnlyHistoryMixin:
    """The admin's own history (LogEntry) keeps the saves that changed something: Django
    logged every save, one that changed nothing (saved as drawn, the same form sent twice)
    as "No fields changed."."""

    def log_change(self, request, obj, message):
        if not message:  # construct_change_message found no field or inline changed
            return None
        return super().log_change(request, obj, message)


class ModelAdmin(
    ChangesOnlyHistoryMixin,
    RowLockedOnPostMixin,
    DuplicateSavedMeanwhileMixin,
    OfferedFiltersOnlyMixin,
    ReadableAutocompleteMixin,
    NumberFieldsAdminMixin,
    admin.ModelAdmin,
):
    pass


class NotChangedMixin:
    """Shown and deleted, never changed: no field of the page is the back office's to edit."""

    def has_change_permission(self, request, obj=None):
        return False


class RoleGroupsMixin:
    """The roles (Role.ALL) are the code's: their permissions are set again at every migrate
    (villagers.groups.role_permissions_grant), so a change made here was lost at the next
    deployment without a word. Their pages are read-only; another group stays editable."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.name in Role.ALL:
            fields += ["name", "permissions"]
        return fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in Role.ALL:
            return False
        return super().has_delete_permission(request, obj)


def audited_action(function):
    """Marks an admin action that audits what it does (tests/core/test_admin_audit.py fails
    on any action of the back office without it, but the audited "delete selected")."""
    function.audited = True
    return function


class ExpiredAttemptsCleanupMixin:
    """django-axes' "clean up expired attempts", audited: it deletes every expired attempt
    (whichever rows were ticked) and left no audit event, where deleting one does. Removing
    none writes none, as a save that changes nothing. It also failed (a 500): axes reads
    the time of the request from attributes its handler sets on sign-ins only, set here
    the way axes sets them."""

    @admin.action(description=_("Remove expired sign-in records"))
    @audited_action
    def cleanup_expired_attempts(self, request, queryset):
        AxesProxyHandler.update_request(request)
        with transaction.atomic():
            count = self.handler.clean_expired_user_attempts(request=request)
            if count:
                self.audit_write(request, None, "cleanup", {"deleted": count})
        self.message_user(
            request,
            ngettext(
                "%(count)d expired sign-in record removed.",
                "%(count)d expired sign-in records removed.",
                count,
            )
            % {"count": count},
        )


class AccessAttemptColumns:
    """django-axes' computed columns, named: it gives them no description, so Django showed
    their English method names ("Expiration", "Status") to every reader."""

    @admin.display(description=_("expires"))
    def expiration(self, obj):
        return super().expiration(obj)

    @admin.display(description=_("status"))
    def status(self, obj):
        return super().status(obj)


# Other apps' lists (Django's groups, which are the roles; django-axes' login records, the
# superuser's) are registered again to take only what they offer too, and to audit what is
# saved or deleted there: a role's permissions, a login record taken away (an attempt's
# deletion lifts its lockout), expired attempts cleaned up.
_MIXINS = {
    Group: (RoleGroupsMixin, AuditedMixin),
    AccessAttempt: (
        ExpiredAttemptsCleanupMixin,
        AuditedDeletesMixin,
        NotChangedMixin,
        AccessAttemptColumns,
    ),
    AccessLog: (AuditedDeletesMixin, NotChangedMixin),
    AccessFailureLog: (AuditedDeletesMixin, NotChangedMixin),
}
_AUDIT_NAMES = {
    Group: "role",
    AccessAttempt: "signin_record",
    AccessLog: "signin_record",
    AccessFailureLog: "signin_record",
}
for _model in (Group, AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        _base = type(admin.site.get_model_admin(_model))
        _bases = (
            *_MIXINS.get(_model, ()),
            ChangesOnlyHistoryMixin,
            RowLockedOnPostMixin,
            DuplicateSavedMeanwhileMixin,
            OfferedFiltersOnlyMixin,
            ReadableAutocompleteMixin,
            _base,
        )
        admin.site.unregister(_model)
        _attributes = {"audit_name": _AUDIT_NAMES[_model]}
        admin.site.register(_model, type(_base.__name__, _bases, _attributes))


class TabularInline(NumberFieldsAdminMixin, admin.TabularInline):
    pass
