"""Build specifications for the tests and benchmarks that run genimage for real."""

from __future__ import annotations

from typing import Any

from images.builders.base import BuildSpec, default_mirror


def build_spec(distro: str, profile: str = "compute", **extra: Any) -> BuildSpec:
    """An x86_64 netboot spec for ``distro`` named as the portal names it
    (``<distro>-x86_64-netboot-<profile>``); Debian distros use this host's mirror.

    ``extra`` sets any other BuildSpec field (imagename, pkglist, exlist, synclists, …).
    """
    fields: dict[str, Any] = {
        "imagename": f"{distro}-x86_64-netboot-{profile}",
        "osvers": distro,
        "osarch": "x86_64",
        "profile": profile,
        "distro_name": distro,
    }
    if distro.startswith("debian"):
        fields["mirror"] = default_mirror()
    return BuildSpec(**{**fields, **extra})
