from django.db import migrations

from core.db import append_only


class Migration(migrations.Migration):
    dependencies = [("aidao", "0003_append_only"), ("store", "0003_store_core")]

    operations = [append_only("store_stockmovement"), append_only("store_redemptionline")]
