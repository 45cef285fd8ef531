"""The one-time keys' rows written before their fingerprints were keyed (an HMAC under the
site's key, core.idempotency.request_fingerprint) kept a plain SHA-256 of the form's body.
The forms that set a PIN send it in clear, so trying the ten thousand 4-digit PINs read it
back from such a row. Each old fingerprint is replaced by an HMAC of it: it reveals nothing
now, and the row still holds its key, so a form sent before the upgrade and sent again
after it is refused ("already sent with different content"), never carried out twice."""

from django.db import migrations
from django.utils.crypto import salted_hmac

BATCH = 2000


def fingerprints_keyed(apps, schema_editor):
    Key = apps.get_model("core", "IdempotencyKey")
    rows = []
    for row in Key.objects.only("pk", "request_hash").order_by("pk").iterator(chunk_size=BATCH):
        row.request_hash = salted_hmac(
            "core.migrations.0007", row.request_hash, algorithm="sha256"
        ).hexdigest()
        rows.append(row)
        if len(rows) == BATCH:
            Key.objects.bulk_update(rows, ["request_hash"])
            rows = []
    Key.objects.bulk_update(rows, ["request_hash"])


class Migration(migrations.Migration):
    # The table is points' first (points 0004 made it, 0009 handed the model to core).
    dependencies = [("core", "0006_field_labels"), ("points", "0009_idempotency_key_to_core")]

    operations = [migrations.RunPython(fingerprints_keyed, migrations.RunPython.noop)]
