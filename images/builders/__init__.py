"""Root-filesystem builders by distro family; see images.builders.base for what is supported."""

from __future__ import annotations

from images.builders import busybox, debian

# distro family -> build_rootfs(spec, tree, log, cancel_check). Ubuntu uses "debian"
# with its own suite and mirror; RHEL-family (dnf --installroot) is not supported yet.
BUILDERS = {
    "debian": debian.build_rootfs,
    "busybox": busybox.build_rootfs,
}
