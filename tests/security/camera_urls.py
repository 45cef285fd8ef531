"""The project's URLs plus one page that scans with the camera (core.decorators.allows_camera)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from aidao.urls import urlpatterns as project_urlpatterns
from core.decorators import allows_camera


@allows_camera
@login_required
def scan(request):
    return HttpResponse("<!doctype html><title>scan</title>")


urlpatterns = [path("scan/", scan), *project_urlpatterns]
