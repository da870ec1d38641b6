"""Forms for the node pages. Validation of values is :mod:`nodes.services`' job.

Node attributes arrive as xCAT text, exactly as ``chdef`` receives them, and the views map
each :class:`nodes.services.Problem` back onto the field it names; so the web and the CLI
can never disagree about what a valid MAC is.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator

from images.models import OsImage
from nodes.attributes import ATTRS
from nodes.models import Group, Node
from nodes.verbs import BOOTDEV_VERBS, POWER_VERBS

SORTS = {
    "name": "sortkey",
    "-name": "-sortkey",
    "ip": "ip",
    "-ip": "-ip",
    "status": "status",
    "-status": "-status",
    "power": "power",
    "-power": "-power",
}


class NodeFilterForm(forms.Form):
    """The node list's filters; every field is optional."""

    noderange = forms.CharField(required=False, help_text="e.g. rack1,-node03 or mgt==ipmi")
    group = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False)
    power = forms.ChoiceField(
        required=False, choices=[("", "any power"), ("on", "on"), ("off", "off"), ("-", "unknown")]
    )
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in SORTS])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "any group")] + [
            (n, n) for n in Group.objects.values_list("name", flat=True)
        ]
        self.fields["status"].choices = [("", "any status"), ("-", "unknown")] + [
            (v, v) for v in Node.Status.values if v
        ]


def _text(attr: str, **kwargs: Any) -> forms.Field:
    return forms.CharField(required=False, help_text=ATTRS[attr].help, strip=True, **kwargs)


class NodeForm(forms.Form):
    """Create or edit one node. A blank password keeps the stored one."""

    name = forms.CharField(max_length=100)
    groups = _text("groups")
    mac = _text("mac", label="MAC")
    ip = _text("ip", label="IP address")
    bmc = _text("bmc", label="BMC address")
    bmcusername = _text("bmcusername", label="BMC user")
    bmcpassword = forms.CharField(
        required=False,
        strip=False,
        label="BMC password",
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown; leave blank to keep the current one.",
    )
    clear_bmcpassword = forms.BooleanField(required=False, label="Remove the BMC password")
    mgt = forms.ChoiceField(choices=[("ipmi", "ipmi")])
    cons = forms.ChoiceField(choices=[("ipmi", "ipmi"), ("", "none")], required=False)
    serialport = _text("serialport", label="Serial port")
    serialspeed = _text("serialspeed", label="Serial speed")
    netboot = forms.ChoiceField(choices=[("ipxe", "ipxe"), ("xnba", "xnba")])
    provmethod = forms.ChoiceField(required=False, label="OS image (provmethod)")
    servicenode = _text("servicenode", label="Service node")
    xcatmaster = _text("xcatmaster", label="Master (xcatmaster)")
    installnic = _text("installnic", label="Install NIC")
    # Kept exactly as typed (edge spaces, newlines), like chdef comments=…; lsdef -z
    # escapes what a stanza line cannot hold.
    comments = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provmethod"].choices = [("", "none")] + [
            (n, n) for n in OsImage.objects.values_list("imagename", flat=True)
        ]
        if editing:
            del self.fields["name"]
        else:
            del self.fields["clear_bmcpassword"]

    def attrs(self) -> dict[str, str]:
        """The attributes to save, as xCAT text (password only when typed or cleared)."""
        data = {k: v for k, v in self.cleaned_data.items() if k in ATTRS}
        data = {k: "" if v is None else str(v) for k, v in data.items()}
        if self.cleaned_data.get("clear_bmcpassword"):
            data["bmcpassword"] = ""
        elif not data.get("bmcpassword"):
            data.pop("bmcpassword", None)
        return data


class BulkEditForm(forms.Form):
    """The browser's chdef: a noderange and ``attr=value`` lines."""

    noderange = forms.CharField(help_text="The nodes to change, e.g. rack1 or node[01-20]")
    changes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One attr=value per line, as chdef takes them (e.g. netboot=xnba). "
        "An empty value clears the attribute.",
    )

    def clean_changes(self) -> dict[str, str]:
        attrs: dict[str, str] = {}
        for line in self.cleaned_data["changes"].splitlines():
            if not line.strip():
                continue
            attr, sep, value = line.partition("=")
            if not sep or not attr.strip():
                raise forms.ValidationError(f"{line.strip()!r} is not attr=value")
            if attr.strip() not in ATTRS:
                raise forms.ValidationError(
                    f"unknown attribute {attr.strip()!r}; known: {', '.join(ATTRS)}"
                )
            attrs[attr.strip()] = value.strip()
        if not attrs:
            raise forms.ValidationError("give at least one attr=value line")
        return attrs


class CsvImportForm(forms.Form):
    """A CSV file or pasted text; ``name`` first, then attribute columns.

    Bounded before anything is parsed: the upload's size is checked before it is read
    (SNPORTAL_CSV_MAX_BYTES), then rows are counted (SNPORTAL_CSV_MAX_ROWS) and CSV
    errors (a cell over the csv module's field limit) reported as form errors.
    """

    file = forms.FileField(required=False, label="CSV file")
    text = forms.CharField(
        required=False,
        label="…or paste CSV",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="First line: name,groups,mac,ip,bmc,bmcusername,bmcpassword,… "
        "Existing nodes are updated, new ones created; nothing is written if a row is wrong.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].validators.append(MaxLengthValidator(settings.CSV_MAX_BYTES))

    def csv_text(self) -> str:
        """The CSV as text, or ValidationError naming the limit that was passed."""
        limit = settings.CSV_MAX_BYTES
        upload = self.cleaned_data.get("file")
        if upload:
            if upload.size is None or upload.size > limit:
                raise forms.ValidationError(
                    f"the file is {upload.size} bytes; at most {limit} bytes "
                    f"({limit / 1048576:.0f} MiB) are accepted: split it into several imports"
                )
            try:
                text = upload.read(limit + 1).decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("the file is not UTF-8 text") from None
        else:
            text = self.cleaned_data.get("text") or ""
        _check_rows(text, settings.CSV_MAX_ROWS)
        return text


def _check_rows(text: str, limit: int) -> None:
    """Refuse more than ``limit`` rows (header included) or text the csv module cannot read."""
    reader = csv.reader(io.StringIO(text))
    try:
        for count, _row in enumerate(reader):
            if count > limit:  # the header is row 0
                raise forms.ValidationError(
                    f"more than {limit} rows; at most {limit} rows are accepted in one import: "
                    "split the file"
                )
    except csv.Error as exc:
        raise forms.ValidationError(f"line {reader.line_num}: {exc}") from None


class GroupForm(forms.Form):
    """Create or describe a group (members come from the nodes' groups attribute)."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["name"]


class PowerForm(forms.Form):
    """What to do; the nodes are the ticked ``node`` values or a ``noderange``."""

    noderange = forms.CharField(required=False)

    def __init__(self, *args: Any, verbs: tuple[str, ...] = POWER_VERBS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"] = forms.ChoiceField(choices=[(v, v) for v in verbs])


class SetbootForm(PowerForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, verbs=BOOTDEV_VERBS, **kwargs)
