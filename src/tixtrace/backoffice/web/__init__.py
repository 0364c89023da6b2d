"""The back office's screens: server-rendered pages (Jinja2) with htmx, behind a signed session cookie.

`tixtrace.backoffice.web.screens.install_web` mounts them on the back-office app. This package module
imports nothing, so the screens' modules import each other without a cycle through it.
"""
