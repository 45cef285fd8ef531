#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidao.settings")
    if not os.environ.get("DATABASE_URL") and not os.environ.get("SECRET_KEY"):
        # A developer's checkout on the embedded database: commands run in development mode.
        # Deployments set DATABASE_URL and SECRET_KEY, so production stays strict.
        os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
