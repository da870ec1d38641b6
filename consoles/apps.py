from __future__ import annotations

from django.apps import AppConfig


class ConsolesConfig(AppConfig):
    """Consoles over IPMI SOL: the console server, logs, tickets, the wall."""

    name = "consoles"

    def ready(self) -> None:
        from consoles import capture
        from nodes import extensions

        # Boot progress shows the console text around a node's last event.
        extensions.hooks.console_text = capture.read_at
