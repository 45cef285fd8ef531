from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from villagers import views as villager_views
from villagers.forms import AdminLoginForm

admin.site.site_header = "愛心超市"
admin.site.site_title = "愛心超市"
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", villager_views.home, name="home"),
    path("accounts/login/", villager_views.staff_login, name="login"),
    path("accounts/card-login/", villager_views.card_login, name="card_login"),
    path("accounts/logout/", villager_views.logout_view, name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("registry/", include("villagers.urls")),
    path("points/", include("points.urls")),
    path("store/", include("store.urls")),
    path("wishes/", include("wishwall.urls")),
    path("village/", include("reports.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
