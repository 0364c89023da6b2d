"""E-mail addresses as both services identify people by them (C1): one pure function for both.

The wallet and the back office share no domain code (independence contract), yet must agree on
which two addresses are one person: a wallet account and a back-office contact are matched by it.
So this rule lives here, pure (the standard library only), and both domains may import it.

Invariants:
- `normalize_email` is trimmed, Unicode NFKC, then `str.lower` — never `casefold`: ``straße@`` and
  ``strasse@`` are two people, while fullwidth ``ａlice@`` is ``alice@``.
- `email_defect` names why an address is refused: it contains a control, zero-width, bidi or other
  invisible formatting character (Unicode categories Cc, Cf, Zl, Zp, Co, Cs, Cn), which would let two
  addresses look identical on screen yet be two people. Such an address is invalid everywhere.
- `normalize_email` is idempotent, and an address without defect stays without defect once normalized.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["email_defect", "normalize_email"]

_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
_CATEGORY_NAMES: Final = {"Cc": "a control", "Zl": "a line separator", "Zp": "a paragraph separator",
                          "Co": "a private-use", "Cs": "a surrogate", "Cn": "an unassigned"}
_BIDI_CONTROLS: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def normalize_email(value: str) -> str:
    """The key that identifies a person by e-mail (C1): NFKC, trimmed, lower-cased (trimmed after NFKC,
    which can turn a character into white space: so the key is idempotent)."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def email_defect(value: str) -> str | None:
    """Why `value` can never be an address (C1), or None; the reason names no character of it verbatim.

    Looks at the trimmed NFKC form (surrounding white space is trimmed away, not refused)."""
    if value.isascii() and value.isprintable():
        return None  # the usual address: printable ASCII is its own NFKC form and has no invisible category
    for char in unicodedata.normalize("NFKC", value).strip():
        category = unicodedata.category(char)
        if category in _INVISIBLE_CATEGORIES:
            if category == "Cf":
                kind = "a bidi" if char in _BIDI_CONTROLS else "a zero-width or format"
            else:
                kind = _CATEGORY_NAMES[category]
            return f"contains {kind} character (U+{ord(char):04X})"
    return None

