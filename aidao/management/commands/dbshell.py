"""`manage.py dbshell` with the psql of the PostgreSQL wheel (aidao.pgtools), as backups use
its pg_dump: a fresh machine has no psql of its own, and a system one may be of an older
version or a wrapper that needs a local cluster."""

from django.core.management.commands import dbshell
from django.db import connections

from aidao.pgtools import pg_binary


class Command(dbshell.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor == "postgresql":

            class WheelClient(type(connection.client)):
                executable_name = pg_binary("psql")

            connection.client = WheelClient(connection)
        super().handle(**options)
