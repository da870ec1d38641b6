"""Make the audit table append-only at the database level.

A trigger rejects UPDATE and DELETE on every row, whoever connects, so the trail cannot be
edited after the fact even by code that bypasses the ORM. (TRUNCATE stays possible for the
table owner only, which Django's test flush needs; production can REVOKE it.)
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION snportal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'snportal_auditevent is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER snportal_auditevent_append_only
    BEFORE UPDATE OR DELETE ON snportal_auditevent
    FOR EACH ROW EXECUTE FUNCTION snportal_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS snportal_auditevent_append_only ON snportal_auditevent;
DROP FUNCTION IF EXISTS snportal_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("snportal", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
