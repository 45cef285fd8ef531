from django.db import migrations

# An API token's events (made, revoked, its calls) concern the token's county or township,
# whoever made it and wherever they are now (core 0005 placed them by their actor). The
# audit log is append-only: its guard is off for this one fill.
FILL = """
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE aidao_auditevent DISABLE TRIGGER aidao_auditevent_append_only;
UPDATE aidao_auditevent AS event
    SET township_id = token.township_id,
        county_id = COALESCE(token.county_id, township.county_id)
    FROM reports_apitoken AS token
    LEFT JOIN villagers_township AS township ON township.id = token.township_id
    WHERE event.village_id IS NULL AND event.object_type = 'reports.apitoken'
        AND event.object_id = token.id::text;
ALTER TABLE aidao_auditevent ENABLE TRIGGER aidao_auditevent_append_only;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_auditevent_place"),
        ("reports", "0004_export_township_overview"),
    ]

    operations = [migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop)]
