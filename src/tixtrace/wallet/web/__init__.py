"""The spectator app page (/app) that stands in for the mobile app; sandbox mode only (W9)."""

from tixtrace.wallet.web.routes import install_spectator_page

__all__ = ["install_spectator_page"]
