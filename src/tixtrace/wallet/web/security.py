"""The spectator page's cookies and how its forms are tied to them (the mechanics are in the kernel).

- Session cookie ``tixtrace_wallet_session`` holds the spectator's bearer token, the same one the
  JSON API takes (``spectators.start_session``), under Path=/app (flags: `tixtrace.kernel.cookies`).
  The names start with ``tixtrace_wallet_`` because browsers share cookies between the ports of one
  host: the back office's ``tixtrace_session`` (Path=/) must never meet the wallet's.
- CSRF token of a session = `tixtrace.kernel.csrf` token keyed with the session token itself: only a
  holder of the (HttpOnly) cookie can compute it, and it needs no secret of the server, so it works the
  same across restarts and workers. Every POST form carries it in the hidden ``csrf`` field; a POST
  without the right one is refused with 403.
- The sign-in form, posted before any session exists, is tied the same way to a random
  ``tixtrace_wallet_login`` cookie set when the form is shown (no login CSRF).
- Flash messages survive a redirect in ``tixtrace_wallet_flash`` (`tixtrace.kernel.flash`, unsigned:
  the wallet has no server secret, and the text is only ever rendered escaped, so a forged cookie
  could at worst show harmless text).
"""

from __future__ import annotations

SESSION_COOKIE = "tixtrace_wallet_session"
LOGIN_COOKIE = "tixtrace_wallet_login"
FLASH_COOKIE = "tixtrace_wallet_flash"
CSRF_FIELD = "csrf"
