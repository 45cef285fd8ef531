from django.db import migrations

from core.db import REFUSE_CHANGE_FUNCTION, append_only


class Migration(migrations.Migration):
    dependencies = [("aidao", "0002_initial")]

    operations = [
        migrations.RunSQL(REFUSE_CHANGE_FUNCTION, "DROP FUNCTION IF EXISTS aidao_refuse_change();"),
        append_only("aidao_auditevent"),
    ]
