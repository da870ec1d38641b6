"""Schedule the stuck-node check (nodes.netboot.mark_stuck_task) every minute in django-q2.

A node that stops reporting during a boot is marked failed with the last stage it reached
once it has been in that state longer than its timeout (SNPORTAL_TIMEOUT_*).
"""

from django.db import migrations

NAME = "snportal: mark stuck nodes failed"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "nodes.netboot.mark_stuck_task",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0003_netboot"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
