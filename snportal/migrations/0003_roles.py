"""Create the viewer, operator and admin groups with their permissions (see snportal.roles)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from snportal import roles

    roles.sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("snportal", "0002_audit_append_only"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("images", "0001_initial"),
        ("nodes", "0001_initial"),
        ("consoles", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
