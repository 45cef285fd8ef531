"""The back office's site: Django's own, with a staff member's own password change audited."""

from django.contrib import admin
from django.db import transaction

from core.audit import audit_record


class AidaoAdminSite(admin.AdminSite):
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
