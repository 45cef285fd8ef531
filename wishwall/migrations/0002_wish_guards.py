from django.db import migrations

from core.db import append_only

# The state machine, enforced by the database as well as by the services: a wish moves
# open -> matched -> fulfilled, or open/matched -> declined, and never back.
STATUS_GUARD = """
CREATE OR REPLACE FUNCTION wishwall_wish_status_guard() RETURNS trigger AS $$
BEGIN
    IF NEW.status = OLD.status
       OR (OLD.status = 'open' AND NEW.status IN ('matched', 'declined'))
       OR (OLD.status = 'matched' AND NEW.status IN ('fulfilled', 'declined')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'wish %: status % -> % refused', OLD.id, OLD.status, NEW.status
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wishwall_wish_status_guard
    BEFORE UPDATE OF status ON wishwall_wish
    FOR EACH ROW EXECUTE FUNCTION wishwall_wish_status_guard();
"""

DROP_STATUS_GUARD = """
DROP TRIGGER IF EXISTS wishwall_wish_status_guard ON wishwall_wish;
DROP FUNCTION IF EXISTS wishwall_wish_status_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("aidao", "0003_append_only"), ("wishwall", "0001_initial")]

    operations = [
        migrations.RunSQL(STATUS_GUARD, DROP_STATUS_GUARD),
        append_only("wishwall_wishrevision"),
    ]
