from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Audit log")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from core.audit import login_record, logout_record

        # Every way in (staff page, card page, the admin's own login) passes through
        # django.contrib.auth, so its signals are the one place logins are audited (a failed
        # one by villagers, which knows whose name or card was tried: villagers.auth).
        user_logged_in.connect(login_record, dispatch_uid="core.audit.login")
        user_logged_out.connect(logout_record, dispatch_uid="core.audit.logout")
