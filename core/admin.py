"""Back-office base classes: every number in an admin form is read like the app's own forms.

Each app's admin.py builds on these (or on `NumberFieldsAdminMixin` with another base, such
as Django's UserAdmin); a test walks the admin site and fails on any number field that
is not `core.forms`'.
"""

from django.contrib import admin

from core.forms import NUMBER_FORMFIELD_OVERRIDES


class NumberFieldsAdminMixin:
    formfield_overrides = NUMBER_FORMFIELD_OVERRIDES


class ModelAdmin(NumberFieldsAdminMixin, admin.ModelAdmin):
    pass


class TabularInline(NumberFieldsAdminMixin, admin.TabularInline):
    pass
