from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("nodes", "0004_stuck_node_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="node",
            name="allpos",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
    ]
