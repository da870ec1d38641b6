"""``rotatesecrets``: re-encrypt every BMC password under the current SNPORTAL_SECRETS_KEY.

Key rotation (see snportal.lib.secrets): put the new key in SNPORTAL_SECRETS_KEY and the
old one in SNPORTAL_SECRETS_KEYS_OLD, run this, then drop the old key.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from nodes.models import Node
from snportal import audit
from snportal.lib import secrets


class Command(BaseCommand):
    help = "Re-encrypt every stored BMC password with the first configured key."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            nodes = list(
                Node.objects.select_for_update()
                .exclude(bmcpassword_encrypted="")
                .only("name", "bmcpassword_encrypted")
            )
            failed = []
            for node in nodes:
                try:
                    node.bmcpassword_encrypted = secrets.rotate(
                        node.bmcpassword_encrypted, settings.SECRETS_KEYS
                    )
                except secrets.DecryptionError:
                    failed.append(node.name)
            if failed:
                raise CommandError(
                    f"{len(failed)} password(s) open with no configured key (e.g. "
                    f"{', '.join(failed[:5])}): add the key they were made with to "
                    "SNPORTAL_SECRETS_KEYS_OLD; nothing was changed"
                )
            Node.objects.bulk_update(nodes, ["bmcpassword_encrypted"], batch_size=1000)
            audit.record(
                "secrets.rotate",
                actor=audit.cli_actor(),
                object_type="node",
                message=f"{len(nodes)} BMC password(s) re-encrypted under the current key",
            )
        self.stdout.write(f"{len(nodes)} BMC password(s) re-encrypted.")
