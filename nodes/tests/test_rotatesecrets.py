"""rotatesecrets moves every BMC password to the current key, or changes nothing."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from nodes.models import Node
from nodes.tests.factories import cli, make_node
from snportal.lib import secrets

pytestmark = pytest.mark.django_db


def test_rotatesecrets_re_encrypts_under_the_new_key(settings) -> None:
    settings.SECRETS_KEYS = ["old-key"]
    make_node("node01", bmcpassword="pw-1")
    settings.SECRETS_KEYS = ["new-key", "old-key"]
    out, _ = cli("rotatesecrets")
    assert out.strip() == "1 BMC password(s) re-encrypted."
    token = Node.objects.get(name="node01").bmcpassword_encrypted
    assert secrets.decrypt(token, ["new-key"]) == "pw-1"


def test_rotatesecrets_without_the_old_key_changes_nothing(settings) -> None:
    settings.SECRETS_KEYS = ["old-key"]
    make_node("node01", bmcpassword="pw-1")
    before = Node.objects.get(name="node01").bmcpassword_encrypted
    settings.SECRETS_KEYS = ["new-key"]
    with pytest.raises(CommandError, match="SNPORTAL_SECRETS_KEYS_OLD"):
        cli("rotatesecrets")
    assert Node.objects.get(name="node01").bmcpassword_encrypted == before
