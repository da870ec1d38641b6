"""Audit verbs: one prefix per object type, and every verb the code records is listed here.

A new verb fails ``test_every_verb_in_the_code_is_listed`` until it is added below, which is
the moment to check that its prefix is its object type's one prefix. ``{…}`` stands for a
part filled in at run time (``image.{kind}`` is ``image.genimage`` or ``image.packimage``).
A refusal that no view named is recorded with the URL's name (``snportal.actions.view_verb``),
which is not a verb of this list.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from snportal import audit

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ["snportal", "nodes", "images", "consoles", "hierarchy", "config"]

# object type -> its one prefix -> the verbs recorded with it
VERBS: dict[str, tuple[str, set[str]]] = {
    "node": (
        "node",
        {
            "node.create",
            "node.import",
            "node.update",
            "node.delete",
            "node.rename",
            "node.nodeset",
            "node.rinstall",
            "node.rinstall.request",
            "node.rpower",
            "node.rsetboot",
            "node.snmove",
            "node.{}",
            "node.{}.request",
            "node.show_secrets",
        },
    ),
    "group": ("group", {"group.create", "group.update", "group.delete"}),
    "osimage": (
        "image",
        {
            "image.create",
            "image.change",
            "image.copy",
            "image.genimage",
            "image.packimage",
            "image.rollback",
            "image.delete",
            "image.{}",
            "image.{}.done",
            "image.show_secrets",
        },
    ),
    "distro": ("distro", {"distro.copycds"}),
    "servicenode": (
        "servicenode",
        {
            "servicenode.arm",
            "servicenode.delete",
            "servicenode.enrol",
            "servicenode.revoke",
            "servicenode.snmove",
        },
    ),
    "console": ("console", {"console.open", "console.close", "console.input", "console.log"}),
    "job": ("job", {"job.cancel", "job.{}.unroutable"}),
    "workers": ("workers", {"workers.check"}),
    "user": ("user", {"user.create", "user.update"}),
    "secrets": ("secrets", {"secrets.rotate"}),
    # Sessions keep the words Django's auth signals use.
    "session": ("", {"login", "logout", "login_failed"}),
    "lsdef": ("", {"{}.show_secrets"}),  # built by audit.verb(objtype, "show_secrets")
}
LISTED = {v for _, verbs in VERBS.values() for v in verbs}
_VERB = re.compile(r"[a-z_{}]+(\.[a-z_{}]+)+|login|logout|login_failed")
# Calls whose first argument is a verb; ``action``/``permission_required(permission, verb)``
# name it second.
_FIRST = {"record", "build", "Closing", "AuditEvent", "_audit_row", "_each_node"}


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def verbs_in_code() -> dict[str, str]:
    """Every verb literal passed to the audit functions in product code -> where."""
    found: dict[str, str] = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                args = [k.value for k in node.keywords if k.arg == "verb"]
                if name in _FIRST and node.args:
                    args.append(node.args[0])
                if name in ("action", "permission_required") and len(node.args) > 1:
                    args.append(node.args[1])
                for arg in args:
                    text = _text(arg)
                    if text and _VERB.fullmatch(text):
                        found.setdefault(text, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_verb_in_the_code_is_listed() -> None:
    unlisted = {v: where for v, where in verbs_in_code().items() if v not in LISTED}
    assert not unlisted, f"add these audit verbs to VERBS (one prefix per type): {unlisted}"


def test_the_scan_finds_the_verbs_it_is_meant_to() -> None:
    found = verbs_in_code()
    assert {"node.create", "image.delete", "user.update", "login_failed", "console.open"} <= set(
        found
    )


@pytest.mark.parametrize("object_type", sorted(VERBS))
def test_each_object_type_uses_one_prefix(object_type: str) -> None:
    prefix, verbs = VERBS[object_type]
    prefixes = {v.split(".", 1)[0] if "." in v else "" for v in verbs}
    assert prefixes == {prefix} or object_type == "lsdef"


def test_no_two_object_types_share_a_prefix() -> None:
    prefixes = [prefix for prefix, _ in VERBS.values() if prefix]
    assert len(prefixes) == len(set(prefixes))


def test_generic_verbs_use_the_types_prefix() -> None:
    assert audit.verb("osimage", "show_secrets") == "image.show_secrets"
    assert audit.verb("node", "show_secrets") == "node.show_secrets"
