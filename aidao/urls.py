from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from aidao import views as site_views
from reports import views as report_views
from reports.api import api
from villagers import views as villager_views
from villagers.forms import AdminLoginForm

# Lazy, so the back office follows the chosen language (简体中文 by default, or English).
admin.site.site_header = _("Love Supermarket back office")
admin.site.site_title = _("Love Supermarket")
admin.site.index_title = _("Village records")
admin.site.login_form = AdminLoginForm

# The 400 page never reads the body (core.views.bad_request says why).
handler400 = "core.views.bad_request"
# Another village's QR code or link: a page that says so (core.access.OtherVillageObject).
handler404 = "aidao.views.page_not_found"
# While the database cannot be reached: a 503 "restarting" page, not a 500.
handler500 = "aidao.views.server_error"

urlpatterns = [
    path("", report_views.home, name="home"),
    path("healthz", site_views.healthz, name="healthz"),
    path("accounts/login/", villager_views.staff_login, name="login"),
    path("accounts/card-login/", villager_views.card_login, name="card_login"),
    path("accounts/logout/", villager_views.logout_view, name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("display/large-type/", site_views.large_type, name="large_type"),
    path("manifest.webmanifest", site_views.manifest, name="manifest"),
    path("favicon.ico", site_views.favicon, name="favicon"),
    path("registry/", include("villagers.urls")),
    path("points/", include("points.urls")),
    path("store/", include("store.urls")),
    path("wishes/", include("wishwall.urls")),
    path("messages/", include("notifications.urls")),
    path("village/", include("reports.urls")),
    path("admin/", admin.site.urls),
    # The read-only API for county systems (token, not session): reports/api.py.
    path("api/v1/", api.urls),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
