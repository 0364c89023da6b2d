"""The spectator app page (/app) that stands in for the mobile app; sandbox mode only (W9).

`tixtrace.wallet.web.routes.install_spectator_page` adds it to the wallet app. This package module
imports nothing, so the page's modules import each other without a cycle through it.
"""
