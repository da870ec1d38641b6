"""Forms for osimage definitions and build actions.

Field names are the xCAT attribute names, so the problems :func:`images.services.check`
reports land on the field they concern: a pkglist syntax error appears under the
pkglist editor with its line number, exactly as ``mkdef`` prints it.
"""

from __future__ import annotations

from typing import Any

from django import forms

from images import services
from images.models import DistroSource, OsImage
from images.pack import COMPRESSIONS, METHODS


def _text(rows: int, help_text: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": rows, "spellcheck": "false"}),
        help_text=help_text,
    )


class OsImageForm(forms.Form):
    """Create or edit a definition; on edit the name is fixed (copy to rename)."""

    imagename = forms.CharField(
        max_length=100, help_text="xCAT style: <osvers>-<arch>-netboot-<profile>, or your own"
    )
    osdistroname = forms.ChoiceField(label="Distro source", help_text="registered by copycds")
    profile = forms.CharField(max_length=64, help_text="compute, service, or your own")
    osvers = forms.CharField(max_length=32)
    osarch = forms.ChoiceField(choices=[(a, a) for a in services.ARCHES])
    provmethod = forms.ChoiceField(choices=OsImage.ProvMethod.choices)
    description = forms.CharField(max_length=500, required=False)
    pkglist = _text(
        10,
        "One package per line; '#' comments; #INCLUDE:<osimage name># splices in that "
        "image's pkglist. Debian: include linux-image-amd64 and systemd-sysv.",
    )
    otherpkglist = _text(
        4, "Extra packages from otherpkgdir, same syntax (#INCLUDE: names another image)."
    )
    otherpkgdir = forms.CharField(
        max_length=500,
        required=False,
        help_text="A directory of .deb files, or an apt line: deb [trusted=yes] URL ./",
    )
    exlist = _text(
        8,
        "Paths left out by packimage, one pattern per line, relative to the image root "
        "(./usr/share/man*); a line starting with + brings matching paths back.",
    )
    postinstall = _text(
        8,
        "Runs on the build host after the packages: <rootimg> <osvers> <arch> <profile>, "
        "with IMG_NAME, IMG_OSVERS, IMG_ARCH, IMG_PROFILE, IMG_ROOTIMGDIR set. Shell "
        "scripts are syntax-checked (sh -n).",
    )
    synclists = _text(
        8,
        "Files placed into the image, each as a here-document: a line "
        "'/etc/exports 0644 <<EOF', the content, then a line 'EOF'.",
    )
    addkcmdline = forms.CharField(
        max_length=500,
        required=False,
        label="Extra kernel parameters",
        help_text="Appended to the boot command line (snp.* are set by the portal).",
    )
    packmethod = forms.ChoiceField(choices=[(m, m) for m in METHODS], label="Pack method")
    compression = forms.ChoiceField(choices=[(c, c) for c in COMPRESSIONS])

    def __init__(self, *args: Any, instance: OsImage | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = services.attrs_of(instance)
        super().__init__(*args, **kwargs)
        names = DistroSource.objects.values_list("name", flat=True)
        self.fields["osdistroname"].choices = [(n, n) for n in names]
        if instance is not None:
            self.fields["imagename"].disabled = True
            self.fields["imagename"].help_text = "Fixed: copy the definition to use a new name."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        attrs = {attr: data.get(attr) or "" for attr in services.ATTRS}
        for attr, messages in services.check(attrs, existing=self.instance).items():
            for message in messages:
                self.add_error(attr if attr in self.fields else None, message)
        return data

    def attrs(self) -> dict[str, str]:
        return {attr: self.cleaned_data.get(attr) or "" for attr in services.ATTRS}


class CopyForm(forms.Form):
    """The new name of a copied definition."""

    imagename = forms.CharField(max_length=100, label="New osimage name")


class PackForm(forms.Form):
    method = forms.ChoiceField(choices=[(m, m) for m in METHODS])
    compression = forms.ChoiceField(choices=[(c, c) for c in COMPRESSIONS])
