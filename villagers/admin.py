"""Django admin for the registry, scoped to the staff user's village (or county).

Households, members, inspections, participations and cards are only shown here: the app's
pages write them through the services, which check what a save must not break."""

import re

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    SetUnusablePasswordMixin,
    UserChangeForm,
)
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core import admin as core_admin
from core.access import Role, role_name
from core.audit import audit_record
from core.text import list_join
from villagers.masking import mask_cell
from villagers.models import (
    Card,
    County,
    Household,
    Inspection,
    Member,
    Participation,
    Township,
    User,
    Village,
    VillageGroup,
)


class VillageScopedAdmin(core_admin.ModelAdmin):
    """Non-superusers see and change only rows of their own village (county admins: county).

    `village_path` is the lookup from the model to its Village, e.g. "household__village".
    """

    village_path = "village"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return queryset
        if user.village_id is not None:
            return queryset.filter(**{self.village_path: user.village_id})
        if user.county_id is not None:
            return queryset.filter(**{f"{self.village_path}__township__county": user.county_id})
        return queryset.none()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Choices in foreign-key drop-downs are scoped the same way."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        user = request.user
        model = db_field.remote_field.model
        if user.is_superuser or field is None:
            return field
        if model is Township:
            # A county admin's village stays in the county: another county's township
            # would move it (and its books) out of their reach and into another's.
            county_id = user.county_id
            if county_id is None and user.village_id is not None:
                own = Village.objects.filter(pk=user.village_id)
                county_id = own.values("township__county")[:1]
            field.queryset = field.queryset.filter(county=county_id)
            return field
        scoped = {
            Village: "pk",
            VillageGroup: "village",
            Household: "village",
        }
        path = scoped.get(model)
        if path is not None:
            if user.village_id is not None:
                field.queryset = field.queryset.filter(**{path: user.village_id})
            elif user.county_id is not None:
                prefix = "" if path == "pk" else f"{path}__"
                field.queryset = field.queryset.filter(
                    **{f"{prefix}township__county": user.county_id}
                )
            else:
                field.queryset = field.queryset.none()
        return field


class ShownOnlyMixin:
    """Look, never touch: no add, change or delete for anyone, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VillageScopedReadOnlyAdmin(ShownOnlyMixin, VillageScopedAdmin):
    """Rows written by services (ledger, stock, wishes, the registry) are shown only."""

    def get_actions(self, request):
        return {}


@admin.register(County)
class CountyAdmin(core_admin.AuditedMixin, core_admin.ModelAdmin):
    audit_name = "county"
    search_fields = ["name"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk=request.user.county_id)


@admin.register(Township)
class TownshipAdmin(core_admin.AuditedMixin, core_admin.ModelAdmin):
    audit_name = "township"
    list_display = ["name", "county"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(county=request.user.county_id)


@admin.register(Village)
class VillageAdmin(core_admin.AuditedMixin, VillageScopedAdmin):
    audit_name = "village"
    village_path = "pk"
    list_display = ["name", "code", "township", "base_points", "yuan_per_point", "publicity_days"]
    search_fields = ["name", "code"]

    def get_readonly_fields(self, request, obj=None):
        # The code begins every card number of the village and is in the printed notices'
        # QR codes (/village/notice/<code>/...): fixed once a card bears it.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and Card.objects.filter(household__village=obj).exists():
            fields.append("code")
        return fields

    def audit_village_id(self, obj, verb):
        # A village's log is read through the village: once it is deleted nobody reads it,
        # so its deletion goes by its township and county (core.audit), for them to read.
        return None if verb == "delete" else obj.pk

    def save_model(self, request, obj, form, change):
        """Saved with an audit event naming each setting changed, from what to what (the
        publicity days, the yearly settlement and what it keeps decide households' points;
        core.admin.AuditedMixin). Saved unchanged, neither."""
        if "black_list_names" in form.changed_data:
            # Households fined while the board named nobody are not named now.
            obj.black_list_names_since = timezone.now() if obj.black_list_names else None
        super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        user = request.user
        if user.is_superuser:
            return queryset
        if user.village_id is not None:
            return queryset.filter(pk=user.village_id)
        if user.county_id is not None:
            return queryset.filter(township__county=user.county_id)
        return queryset.none()


@admin.register(VillageGroup)
class VillageGroupAdmin(core_admin.AuditedMixin, VillageScopedAdmin):
    audit_name = "villagegroup"
    list_display = ["name", "village"]

    def get_readonly_fields(self, request, obj=None):
        # Its households are its village's: moved, they would sit in another village's group.
        return ["village"] if obj is not None else []


class MemberInline(ShownOnlyMixin, core_admin.TabularInline):
    model = Member
    extra = 0
    fields = ["name", "relation", "sex", "birth_year"]


@admin.register(Household)
class HouseholdAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["number", "head_name", "group", "is_poor", "status"]
    list_filter = ["status", "is_poor", ("group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "head_name"]
    inlines = [MemberInline]
    exclude = ["phone"]


@admin.register(Member)
class MemberAdmin(VillageScopedReadOnlyAdmin):
    village_path = "household__village"
    list_display = ["name", "household", "relation", "sex", "birth_year", "masked_id_number"]
    search_fields = ["name"]
    exclude = ["id_number", "phone"]


@admin.register(Inspection)
class InspectionAdmin(VillageScopedReadOnlyAdmin):
    village_path = "household__village"
    list_display = ["household", "date", "passed"]
    list_select_related = ["household"]


@admin.register(Participation)
class ParticipationAdmin(VillageScopedReadOnlyAdmin):
    village_path = "household__village"
    list_display = ["household", "date", "activity"]
    list_select_related = ["household"]


@admin.register(Card)
class CardAdmin(VillageScopedReadOnlyAdmin):
    """Cards are issued, replaced and recalled on the card pages, which check the
    prerequisites and post points: shown here only."""

    village_path = "household__village"
    list_display = ["number", "household", "status", "issued_at"]
    list_filter = ["status"]
    search_fields = ["number"]


# Where each role works: a village's staff need the village, an officer the township.
ROLE_PLACES = {
    Role.MANAGER: "village",
    Role.SUPERVISOR: "village",
    Role.PARTY_SECRETARY: "village",
    Role.TOWNSHIP_OFFICER: "township",
    Role.COUNTY_ADMIN: "county",
}


class StaffPlacesMixin:
    """A role is given with the place it works in: without it, the account sees nothing and
    falls outside its county admin's list."""

    def clean_places(self, data):
        if "groups" not in self.fields:
            return  # read-only here: neither roles nor places change
        for group in data.get("groups") or []:
            place = ROLE_PLACES.get(group.name)
            if place is None:
                continue
            if place in self.fields:
                given = data.get(place)
            else:
                given = getattr(self.instance, f"{place}_id")
            if not given:
                self.add_error(
                    place if place in self.fields else "groups",
                    _("The role %(role)s needs its %(place)s.")
                    % {
                        "role": role_name(group.name),
                        "place": User._meta.get_field(place).verbose_name,
                    },
                )


class StaffUserChangeForm(StaffPlacesMixin, UserChangeForm):
    def clean(self):
        data = super().clean()
        if data.get("household") and not data.get("is_staff", self.instance.is_staff):
            raise ValidationError(
                _(
                    "A household's login is made by issuing its card or a member's PIN, not "
                    "here: give this user staff status, or no household."
                )
            )
        self.clean_places(data)
        return data


class StaffUserCreationForm(StaffPlacesMixin, AdminUserCreationForm):
    """A staff account, with its roles and places: a villager's login is made by issuing its
    card (villagers.services), never here."""

    def clean(self):
        data = super().clean()
        self.clean_places(data)
        return data


class RoleListFilter(admin.SimpleListFilter):
    """The user list's filter by role group, each named in the reader's language (Django's
    own filter showed the groups' English names). Its address is Django's own filter's."""

    title = User._meta.get_field("groups").verbose_name
    parameter_name = "groups__id__exact"

    def lookups(self, request, model_admin):
        groups = Group.objects.order_by("name").values_list("pk", "name")
        return [(str(pk), role_name(name)) for pk, name in groups]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if not re.fullmatch(r"[0-9]{1,18}", self.value()):
            raise IncorrectLookupParameters(self.value())
        return queryset.filter(groups__id=self.value())


class StaffPasswordChangeForm(AdminPasswordChangeForm):
    """Django's password form, its "password-based sign-in" help in the reader's language:
    Django joins the help's two sentences when it is imported, the first translated into
    the language of that moment and the second never (an English warning on a Chinese
    page, a Chinese sentence on an English one). Joined here when the page is drawn."""

    usable_password_help_text = format_lazy(
        '{}<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
        SetUnusablePasswordMixin.usable_password_help_text,
        _("If disabled, the current password for this user will be lost."),
    )


@admin.register(User)
class AidaoUserAdmin(
    core_admin.AuditedDeletesMixin,
    core_admin.ChangesOnlyHistoryMixin,
    core_admin.RowLockedOnPostMixin,
    core_admin.DuplicateSavedMeanwhileMixin,
    core_admin.OfferedFiltersOnlyMixin,
    core_admin.ReadableAutocompleteMixin,
    core_admin.NumberFieldsAdminMixin,
    UserAdmin,
):
    audit_name = "staff"  # saves: audit_staff_change; deletes: "staff.delete"
    form = StaffUserChangeForm
    fieldsets = UserAdmin.fieldsets + (
        (_("Village"), {"fields": ("village", "township", "county", "household", "display_name")}),
    )
    add_form = StaffUserCreationForm
    change_password_form = StaffPasswordChangeForm
    add_fieldsets = UserAdmin.add_fieldsets + (
        (
            _("Village"),
            {"fields": ("display_name", "groups", "village", "township", "county", "household")},
        ),
    )
    list_display = ["username", "display_name", "village", "county", "is_staff", "is_active"]
    # Both may be empty, so Django's own select_related (non-null keys only) took neither:
    # a query per row.
    list_select_related = ["village", "county"]
    list_filter = ["is_staff", "is_active", RoleListFilter]
    # A county has thousands of households: a drop-down of them all made the staff page
    # hundreds of kilobytes. Searched instead (the household list's scoped search); the
    # chosen one is drawn from the field's scoped choices below, never from the whole
    # table (a raw id's label named any county's household).
    autocomplete_fields = ["household"]

    # On one's own page: roles, places and the own-household link are given by someone else
    # (DESIGN.md rule 8: no role, village or household is self-given, and the household link
    # that keeps staff off their own household's items is never taken off by its holder).
    own_fixed = ["groups", "village", "township", "county", "household", "is_staff", "is_active"]

    @staticmethod
    def _own_page(request, obj) -> bool:
        return not request.user.is_superuser and obj is not None and obj.pk == request.user.pk

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            # Kept by Django, never typed: the date widget drops the microseconds, so every
            # save rewrote the date joined and Django's history said it had changed.
            return [*super().get_readonly_fields(request, obj), "last_login", "date_joined"]
        # A county admin manages staff of the county but can never raise anyone above it.
        fixed = ["is_superuser", "user_permissions", "last_login", "date_joined"]
        if self._own_page(request, obj):
            fixed += [*self.own_fixed, "roles"]
        return fixed

    @admin.display(description=User._meta.get_field("groups").verbose_name)
    def roles(self, obj):
        """One's own roles, shown read-only in the reader's language (Django showed the
        groups by their English names in the database)."""
        return list_join(
            sorted(role_name(name) for name in obj.groups.values_list("name", flat=True))
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self._own_page(request, obj):
            fieldsets = [
                (
                    name,
                    {
                        **options,
                        "fields": ["roles" if f == "groups" else f for f in options["fields"]],
                    },
                )
                for name, options in fieldsets
            ]
        if obj is None and not request.user.is_superuser:
            # A county is a county admin's place, and only a superuser appoints one.
            fieldsets = [
                (name, {**options, "fields": [f for f in options["fields"] if f != "county"]})
                for name, options in fieldsets
            ]
        return fieldsets

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None and not request.user.is_superuser:
            # A county admin's new account has a role, hence a place in their county: it
            # lands on a change page they can open, in their list.
            form.base_fields["groups"].required = True
        return form

    def save_model(self, request, obj, form, change):
        if not change:
            obj.is_staff = True  # the admin makes staff accounts only (see StaffUserCreationForm)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        """Saving sets the user's groups to those ticked: keep the groups the page does not
        offer (a peer's role, one a superuser gave), which nobody could have unticked."""
        if change and "groups" in form.cleaned_data:
            offered = form.fields["groups"].queryset.values("pk")
            kept = form.instance.groups.exclude(pk__in=offered)
            form.cleaned_data["groups"] = [*form.cleaned_data["groups"], *kept]
        before = set(form.instance.groups.values_list("name", flat=True))  # not yet saved
        super().save_related(request, form, formsets, change)
        self.audit_staff_change(request, form, change, before)

    # What the audit log keeps of a staff account's change: what gives or takes access, and
    # what names the account (whom the log's readers take its events for, what one signs in
    # with), from what to what.
    audited = ["village", "township", "county", "household", "is_staff", "is_active"]
    naming = ["username", "display_name", "first_name", "last_name", "email"]

    def audit_staff_change(self, request, form, change, groups_before):
        """Roles given and taken, places, the own-household link, the account's status and
        its names and e-mail, from what to what, in the audit log (the admin's history is
        the admin's only): the village's staff, its township officer and the county read it
        there. A name or an e-mail is kept masked where it reads as a phone or an ID number;
        a new account's are not listed (its event names it)."""
        user = form.instance
        groups_after = set(user.groups.values_list("name", flat=True))
        detail = {}
        for name in self.naming:
            if change and name in form.changed_data:
                before, after = form.initial.get(name), getattr(user, name)
                detail[name] = [mask_cell(before) or None, mask_cell(after) or None]
        if groups_after - groups_before:
            detail["roles_given"] = sorted(groups_after - groups_before)
        if groups_before - groups_after:
            detail["roles_taken"] = sorted(groups_before - groups_after)
        for name in self.audited + ["is_superuser"]:
            if name not in form.changed_data:
                continue
            if name == "household":
                detail["household_before"] = form.initial.get("household")
                detail["household"] = user.household_id
            elif name in ("village", "township", "county"):
                before = form.initial.get(name)
                model = User._meta.get_field(name).related_model
                detail[name] = [str(model.objects.get(pk=before)) if before else None]
                detail[name].append(core_admin.audit_value(getattr(user, name)))
            else:
                detail[name] = getattr(user, name)
        if not change:
            detail["password"] = user.has_usable_password()
        if "user_permissions" in form.changed_data:  # the superuser's: given one by one
            before = form.initial.get("user_permissions") or []
            after = form.cleaned_data.get("user_permissions") or []
            detail["permissions"] = [core_admin.audit_value(rows) for rows in (before, after)]
        if not detail:
            return  # saved as it was
        villages = {form.initial.get("village") if change else None, user.village_id}
        for village_id in sorted(villages - {None}) or [None]:
            audit_record(
                action="staff.update" if change else "staff.create",
                actor=request.user,
                village_id=village_id,
                obj=user,
                detail=detail,
                request=request,
            )

    def user_change_password(self, request, id, form_url=""):
        """Django's password form, with an audit event when it set (or disabled) a password,
        in one transaction. It asks for no current password, so for one's own account
        (a county admin's, a superuser's) it sends to the admin's "Change password" page,
        which does: anyone at an unlocked PC could otherwise take the account over."""
        with transaction.atomic():
            target = self.get_object(request, unquote(id))
            own = target is not None and target.pk == request.user.pk
            if own and self.has_change_permission(request, target):
                return redirect("admin:password_change")
            response = super().user_change_password(request, id, form_url)
            if target is not None and request.method == "POST":
                before = target.password
                target.refresh_from_db(fields=["password"])
                if target.password != before:
                    audit_record(
                        action="staff.password",
                        actor=request.user,
                        village_id=target.village_id,
                        obj=target,
                        detail={"password": target.has_usable_password()},
                        request=request,
                    )
        return response

    def has_change_permission(self, request, obj=None):
        # A villager login (no staff status) belongs to a card: issuing it, a PIN reset, a
        # member's PIN and a recall make and end it (villagers.services), never the admin.
        if obj is not None and not obj.is_staff and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """A county admin can place users only in the county's own villages and households."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        county_id = request.user.county_id
        if request.user.is_superuser or field is None:
            return field
        scopes = {
            "village": {"township__county": county_id},
            "county": {"pk": county_id},
            "township": {"county": county_id},
            "household": {"village__township__county": county_id},
        }
        if db_field.name in scopes:
            field.queryset = field.queryset.filter(**scopes[db_field.name])
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            # The county admin appoints village staff and township officers, never its peers.
            kwargs["queryset"] = Group.objects.filter(
                name__in=[
                    Role.MANAGER,
                    Role.SUPERVISOR,
                    Role.PARTY_SECRETARY,
                    Role.TOWNSHIP_OFFICER,
                ]
            )
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and field is not None:
            # The roles in the reader's language, as everywhere else (core.access.ROLE_NAMES).
            field.label_from_instance = lambda group: role_name(group.name)
        return field

    def get_queryset(self, request):
        """The county's staff, less those above a county admin: the other county admins and
        the superusers (the county's system administrator keeps them). Their change page,
        password form and history are therefore not found, whatever the caller."""
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return queryset
        if user.county_id is None:
            return queryset.filter(pk=user.pk)
        county = user.county_id
        peers = User.objects.filter(groups__name=Role.COUNTY_ADMIN).exclude(pk=user.pk)
        return (
            queryset.filter(
                Q(village__township__county=county) | Q(county=county) | Q(township__county=county)
            )
            .exclude(is_superuser=True)
            .exclude(pk__in=peers.values("pk"))
        )
