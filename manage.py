#!/usr/bin/env python
"""Django's command-line utility for snportal (and its xCAT-shaped verbs)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["runservice"]:
        # A service node enrols before settings load: they come from its env file.
        from hierarchy.bootstrap import prepare

        prepare(sys.argv[2:])
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
