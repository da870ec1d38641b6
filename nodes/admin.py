"""Django admin for the inventory: read-mostly, for superusers debugging data.

Definitions are changed through the portal pages and the CLI verbs (validated and
audited there), so the admin shows nodes and groups but never the password ciphertext.
"""

from __future__ import annotations

from django.contrib import admin

from nodes.models import Group, Node, NodeEvent


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    list_display = ("name", "mac", "ip", "bmc", "status", "power")
    list_filter = ("status", "power", "mgt")
    search_fields = ("name", "mac", "ip", "bmc")
    exclude = ("bmcpassword_encrypted",)
    readonly_fields = [
        f.name for f in Node._meta.fields if f.name not in ("id", "bmcpassword_encrypted")
    ]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(NodeEvent)
class NodeEventAdmin(admin.ModelAdmin):
    list_display = ("time", "node", "kind", "message", "user")
    list_filter = ("kind",)
    search_fields = ("node__name", "message")
    readonly_fields = ("node", "time", "kind", "message", "data", "user")
