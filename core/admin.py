"""Back-office base classes: every number in an admin form is read like the app's own forms.

Each app's admin.py builds on these (or on `NumberFieldsAdminMixin` with another base, such
as Django's UserAdmin); a test walks the admin site and fails on any number field that
is not `core.forms`'.
"""

import re

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.filters import SimpleListFilter
from django.contrib.auth.models import Group
from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _
from procrastinate.contrib.django.models import ProcrastinateJob

from core.db import SavedMeanwhile, is_duplicate
from core.forms import NUMBER_FORMFIELD_OVERRIDES

# The task queue's jobs are the operators' (`manage.py procrastinate`), not the back office's:
# procrastinate's admin page would show any staff member with a view permission every job's
# arguments, outside the roles' scoping (tests/security/url_table.py, ADMIN_MODELS).
if admin.site.is_registered(ProcrastinateJob):
    admin.site.unregister(ProcrastinateJob)


class NumberFieldsAdminMixin:
    formfield_overrides = NUMBER_FORMFIELD_OVERRIDES


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


class ModelAdmin(
    DuplicateSavedMeanwhileMixin, OfferedFiltersOnlyMixin, NumberFieldsAdminMixin, admin.ModelAdmin
):
    pass


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
# superuser's) are registered again to take only what they offer too.
_MIXINS = {AccessAttempt: (AccessAttemptColumns,)}
for _model in (Group, AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        _base = type(admin.site.get_model_admin(_model))
        _bases = (
            DuplicateSavedMeanwhileMixin,
            OfferedFiltersOnlyMixin,
            *_MIXINS.get(_model, ()),
            _base,
        )
        admin.site.unregister(_model)
        admin.site.register(_model, type(_base.__name__, _bases, {}))


class TabularInline(NumberFieldsAdminMixin, admin.TabularInline):
    pass
