"""genimage for Debian (and, by suite and mirror, Ubuntu): one mmdebstrap run.

Why these options (measured in research/netboot.md §5):

* ``--variant=minbase`` plus the pkglist: minbase has no init, so the default lists
  carry systemd-sysv, udev, iproute2, kmod and the kernel package.
* the merged-usr hook: without it bookworm pulls ``usrmerge`` and perl (~50 MB).
* dpkg ``path-exclude`` for the documentation trees the exlist drops anyway: mmdebstrap
  is faster and the tree 35 % smaller.
* otherpkgs go into the same run (extra ``.deb`` paths or an extra apt source), so apt
  resolves everything once and no chroot with /proc mounted is needed afterwards.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from images.builders.base import BuildSpec, CancelCheck, Log, place_synclists, run_postinstall
from images.lists import dpkg_path_filters
from images.proc import run_logged

__all__ = [
    "DEFAULT_COMPUTE_PKGLIST",
    "DEFAULT_EXLIST",
    "DEFAULT_SERVICE_PKGLIST",
    "DEFAULT_SERVICE_POSTINSTALL",
    "build_rootfs",
    "mmdebstrap_command",
]

MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"

_NODE_PACKAGES = """\
systemd-sysv
udev
iproute2
kmod
linux-image-amd64
ifupdown
openssh-server
"""

DEFAULT_COMPUTE_PKGLIST = (
    "# Debian stateless compute node: init, networking, the kernel.\n" + _NODE_PACKAGES
)

DEFAULT_SERVICE_PKGLIST = (
    "# Debian stateless service node: a compute node plus what serves its compute nodes.\n"
    "# snportal itself comes from otherpkgdir (the wheelhouse): see the postinstall.\n"
    + _NODE_PACKAGES
    + """\
# DHCP, TFTP and RA for the compute network; off until the snportal agent configures it
dnsmasq
# iPXE binaries for PXE ROMs that are not iPXE (undionly.kpxe, ipxe.efi over TFTP)
ipxe
# the snportal venv (/opt/snportal/venv)
python3
python3-venv
"""
)

# xCAT's stock exlist, Debian paths: docs, manuals, locales, apt caches, and /boot
# (the kernel is served beside the image, not inside it). Drivers for hardware a
# cluster node does not have go too: the root lives in RAM.
DEFAULT_EXLIST = """\
./usr/share/doc/*
+./usr/share/doc/*/copyright
./usr/share/man*
./usr/share/info*
./usr/share/locale/*
+./usr/share/locale/locale.alias
./var/cache/apt/*
./var/lib/apt/lists/*
./boot*
./usr/lib/modules/*/kernel/sound*
./usr/lib/modules/*/kernel/drivers/gpu*
./usr/lib/modules/*/kernel/drivers/media*
./usr/lib/modules/*/kernel/drivers/net/wireless*
./usr/lib/modules/*/kernel/drivers/bluetooth*
./usr/lib/modules/*/kernel/drivers/staging*
./usr/lib/modules/*/kernel/drivers/iio*
./usr/lib/modules/*/kernel/drivers/isdn*
./usr/lib/modules/*/kernel/net/bluetooth*
./usr/lib/modules/*/kernel/net/wireless*
./usr/lib/modules/*/kernel/net/mac80211*
"""

# The seed's service-node steps: its software from otherpkgdir (xcat-core/xcat-dep there,
# the wheelhouse of `manage.py mkwheelhouse` here; no network needed), DHCP off until the
# node's agent has configured it ("chkconfig dhcpd off"), the agent started at boot.
# No secret goes into the image: the agent enrols at boot (docs/hierarchy.md).
DEFAULT_SERVICE_POSTINSTALL = """\
#!/bin/sh
# xCAT postinstall arguments: <rootimg> <osvers> <arch> <profile>
set -e
rootimg="$1"
wheelhouse="${IMG_OTHERPKGDIR:-}"
if [ ! -f "$wheelhouse/snportal-source.tar" ]; then
    echo "postinstall: otherpkgdir '$wheelhouse' has no snportal wheelhouse:" \\
        "run manage.py mkwheelhouse (or make wheelhouse) first" >&2
    exit 1
fi
# Keep DHCP off until the snportal agent on the service node has configured it.
chroot "$rootimg" systemctl disable dnsmasq.service >/dev/null 2>&1 || true
ln -sfn /dev/null "$rootimg/etc/systemd/system/dnsmasq.service"
# snportal: the source snapshot, a venv from the wheelhouse only, bytecode precompiled
# (a service node starts several Django processes; compiling at boot is slow).
mkdir -p "$rootimg/opt/snportal" "$rootimg/tmp/snp-wheelhouse"
tar -xf "$wheelhouse/snportal-source.tar" -C "$rootimg/opt/snportal" --no-same-owner
cp "$wheelhouse"/*.whl "$wheelhouse/service-requirements.txt" "$rootimg/tmp/snp-wheelhouse/"
chroot "$rootimg" python3 -m venv /opt/snportal/venv
chroot "$rootimg" /opt/snportal/venv/bin/pip install -q --no-index --no-cache-dir \\
    --disable-pip-version-check --find-links /tmp/snp-wheelhouse \\
    -r /tmp/snp-wheelhouse/service-requirements.txt
rm -rf "$rootimg/tmp/snp-wheelhouse"
chroot "$rootimg" /opt/snportal/venv/bin/python -m compileall -q -x /opt/snportal/venv \\
    /opt/snportal >/dev/null
# The agent: enrols, configures and starts dnsmasq, the service node's web and workers.
cp "$rootimg/opt/snportal/images/service/snportal-agent.service" "$rootimg/etc/systemd/system/"
mkdir -p "$rootimg/etc/systemd/system/multi-user.target.wants"
ln -sfn ../snportal-agent.service \\
    "$rootimg/etc/systemd/system/multi-user.target.wants/snportal-agent.service"
"""


# The kernel package's postinst builds a Debian initramfs (36 MB, most of a minute on two
# cores) that netboot never uses: snportal boots its own stateless initrd. While
# packages install, update-initramfs is diverted to a no-op; the real one is put back
# before the image is finished.
_STUB = "/usr/sbin/update-initramfs"
_DIVERT = f"dpkg-divert --quiet --local --rename --divert {_STUB}.snportal"
NO_INITRAMFS_HOOKS = [
    f'--essential-hook=chroot "$1" {_DIVERT} --add {_STUB}'
    f' && printf "#!/bin/sh\\nexit 0\\n" > "$1{_STUB}" && chmod 755 "$1{_STUB}"',
    f'--customize-hook=rm -f "$1{_STUB}" && chroot "$1" {_DIVERT} --remove {_STUB}',
]


def _otherpkg_args(spec: BuildSpec) -> tuple[list[str], list[str]]:
    """``--include`` values and extra apt sources for the otherpkgs.

    A local otherpkgdir contributes the newest ``<name>_*.deb`` for each name; an apt
    source line contributes itself and the names are installed from it.
    """
    if not spec.otherpkgs:
        return [], []
    source = spec.otherpkgdir.strip()
    if source.startswith("deb "):
        return [",".join(spec.otherpkgs)], [source]
    directory = Path(source)
    includes = []
    for name in spec.otherpkgs:
        debs = sorted(directory.glob(f"{name}_*.deb")) if source else []
        if not debs:
            raise FileNotFoundError(f"otherpkg {name!r}: no {name}_*.deb in otherpkgdir {source!r}")
        includes.append(str(debs[-1].resolve()))
    return includes, []


def mmdebstrap_command(spec: BuildSpec, tree: Path) -> list[str]:
    """The mmdebstrap command line genimage runs (also shown in the build log)."""
    cmd = ["mmdebstrap", "--variant=minbase", f"--hook-dir={MERGED_USR_HOOK}"]
    if spec.pkglist:
        cmd.append("--include=" + ",".join(spec.pkglist))
    extra_includes, extra_sources = _otherpkg_args(spec)
    cmd += [f"--include={inc}" for inc in extra_includes]
    cmd += [f"--dpkgopt={opt}" for opt in dpkg_path_filters(spec.exlist)]
    # Stateless nodes need a fresh machine-id per boot: systemd writes one into an
    # empty file. The node's hostname comes from the initrd, not from the build host.
    cmd += [
        *NO_INITRAMFS_HOOKS,
        '--customize-hook=rm -f "$1/etc/machine-id" && touch "$1/etc/machine-id"',
        '--customize-hook=rm -f "$1/etc/hostname"',
        spec.suite,
        str(tree),
        spec.mirror,
        *extra_sources,
    ]
    return cmd


def build_rootfs(spec: BuildSpec, tree: Path, log: Log, cancel_check: CancelCheck = None) -> None:
    """genimage for Debian: mmdebstrap, synclist files, postinstall.

    ``tree`` (conventionally ``<rootimgdir>/rootimg``) must not exist or be empty.
    """
    if not re.fullmatch(r"[a-z][a-z0-9-]*", spec.suite):
        raise ValueError(f"suite {spec.suite!r} is not a Debian suite name")
    cmd = mmdebstrap_command(spec, Path(tree))
    log("genimage: " + shlex.join(cmd))
    run_logged(cmd, log, cancel_check=cancel_check, step="mmdebstrap")
    place_synclists(Path(tree), spec.synclists, log)
    run_postinstall(spec, Path(tree), log, cancel_check)
