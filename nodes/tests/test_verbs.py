"""One vocabulary for rpower and rsetboot: what a form offers, the CLI accepts, the service
validates and the IPMI driver sends are the same words."""

from __future__ import annotations

import pytest

from nodes import forms, verbs
from nodes.power import ipmi


def test_the_power_form_offers_exactly_the_power_verbs() -> None:
    offered = [value for value, _ in forms.PowerForm().fields["action"].choices]
    assert offered == list(verbs.POWER_VERBS)


def test_the_setboot_form_offers_exactly_the_boot_device_verbs() -> None:
    offered = [value for value, _ in forms.SetbootForm().fields["action"].choices]
    assert offered == list(verbs.BOOTDEV_VERBS)


def test_the_service_validates_against_the_same_words() -> None:
    from nodes import services

    assert services.POWER_VERBS is verbs.POWER_VERBS
    assert services.BOOTDEV_VERBS is verbs.BOOTDEV_VERBS
    assert services.POWER_ALIASES is verbs.POWER_ALIASES


@pytest.mark.parametrize("word", ["cd", "setup"])
def test_the_ipmi_driver_refuses_a_boot_device_the_portal_does_not_offer(word: str) -> None:
    with pytest.raises(ValueError, match=f"unknown rsetboot verb '{word}': use one of net, hd"):
        ipmi.rsetboot([], word)


def test_the_ipmi_driver_refuses_an_unknown_power_verb_before_asking_any_bmc() -> None:
    with pytest.raises(ValueError, match="unknown rpower verb 'explode'"):
        ipmi.rpower([], "explode")


def test_every_boot_device_verb_but_stat_maps_to_a_bmc_device() -> None:
    assert set(ipmi._SETBOOT) == set(verbs.BOOTDEV_VERBS) - set(verbs.READ_VERBS)


def test_the_cli_accepts_the_same_words() -> None:
    from nodes.management.commands import rpower, rsetboot

    assert set(rpower.Command.words["action"]["choices"]) == {
        *verbs.POWER_VERBS,
        *verbs.POWER_ALIASES,
    }
    assert tuple(rsetboot.Command.words["action"]["choices"]) == verbs.BOOTDEV_VERBS
