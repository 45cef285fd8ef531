"""The back office's site: Django's own, with a staff member's own password change audited
and a signed-in villager named by name on its login page."""

from django.contrib import admin
from django.db import transaction

from core.audit import audit_record


class AidaoAdminSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        """Django's login page says "You are authenticated as <username>" to a signed-in user
        the back office refuses: for a villager that was the card login's internal username
        (v-…). It names the person as the app's pages do (the name shown, the head of the
        household for an older login without one); staff keep the username they type."""
        user = request.user
        if user.is_authenticated and not user.is_staff and user.household_id is not None:
            name = user.display_name or user.household.head_name
            extra_context = {"username": name, **(extra_context or {})}
        return super().login(request, extra_context)

    def password_change(self, request, extra_context=None):
        """Django's "Change password" page, which asks for the current password: the one way
        staff change their own (the user admin's password page sends them here). In the audit
        log as a password the county admin sets for someone else is."""
        user = request.user
        with transaction.atomic():
            before = user.password
            response = super().password_change(request, extra_context)
            if request.method == "POST" and user.password != before:
                audit_record(
                    action="staff.password",
                    actor=user,
                    village_id=user.village_id,
                    obj=user,
                    detail={"password": True},
                    request=request,
                )
        return response
