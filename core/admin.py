"""Back-office base classes: every number in an admin form is read like the app's own forms.

Each app's admin.py builds on these (or on `NumberFieldsAdminMixin` with another base, such
as Django's UserAdmin); a test walks the admin site and fails on any number field that
is not `core.forms`'.
"""

from django.contrib import admin
from procrastinate.contrib.django.models import ProcrastinateJob

from core.forms import NUMBER_FORMFIELD_OVERRIDES

# The task queue's jobs are the operators' (`manage.py procrastinate`), not the back office's:
# procrastinate's admin page would show any staff member with a view permission every job's
# arguments, outside the roles' scoping (tests/security/url_table.py, ADMIN_MODELS).
if admin.site.is_registered(ProcrastinateJob):
    admin.site.unregister(ProcrastinateJob)


class NumberFieldsAdminMixin:
    formfield_overrides = NUMBER_FORMFIELD_OVERRIDES


class ModelAdmin(NumberFieldsAdminMixin, admin.ModelAdmin):
    pass


class TabularInline(NumberFieldsAdminMixin, admin.TabularInline):
    pass
