from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("aidao", "0003_append_only"), ("points", "0002_initial")]

    operations = [append_only("points_entry")]
