"""WSGI entry point (gunicorn aidao.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidao.settings")
application = get_wsgi_application()
