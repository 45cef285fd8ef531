"""A purchase paid from donated money must name the money donation that paid (checked in
PostgreSQL for new rows). Purchases recorded before, when naming it was optional, stay as
they were (NOT VALID): stock movements are append-only, and audit_ledger reads this
migration's date to tell them apart."""

from django.db import migrations

CONSTRAINT = "movement_donated_money_names_donation"


class Migration(migrations.Migration):
    dependencies = [("store", "0008_donation_thanks_link_version")]

    operations = [
        migrations.RunSQL(
            sql=f"""
            ALTER TABLE store_stockmovement ADD CONSTRAINT {CONSTRAINT}
                CHECK (kind <> 'purchase' OR fund_source <> 'donated_money'
                       OR paid_by_id IS NOT NULL) NOT VALID;
            """,
            reverse_sql=f"ALTER TABLE store_stockmovement DROP CONSTRAINT {CONSTRAINT};",
        )
    ]
