"""Sessions moved to core_session (with a user column): the old table's rows are deleted.

Nobody reads django_session any more, and its rows could hold what sessions carry (a
pending roster's ID numbers); everyone simply signs in again. The table itself belongs to
django.contrib.sessions, which stays installed for its `clearsessions` command.
"""

from django.db import migrations


def old_sessions_delete(apps, schema_editor):
    apps.get_model("sessions", "Session").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(old_sessions_delete, migrations.RunPython.noop),
    ]
