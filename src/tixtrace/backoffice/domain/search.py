"""What an operator types to find a contact or a ticket, and the keys stored to find it fast.

SQLite's ``lower()`` folds ASCII only and neither database ignores accents portably, so a search that
lower-cased columns at query time would miss ``Chloé`` for ``chloe`` and scan every row. Instead each
contact stores its name folded by `fold_name`, maintained on write (`name_keys`), and a search is a
prefix of that indexed column; e-mails are matched on the C1 key (`normalize_email`), already stored.

Invariants:
- `fold_name` is the one accent-folding rule: NFKD, combining marks dropped, a few letters that carry no
  decomposition spelled as their base letters (ø → o, ł → l, æ → ae ...), ``casefold``, runs of white
  space made one space, trimmed; it is idempotent and ``fold_name("CHLOÉ  Lima") == "chloe lima"``.
- `name_keys` gives both orders, "first last" and "last first", so that a prefix of either finds the
  contact ("chloe", "chloe lima", "lima", "lima chloe"); the second also sorts by last name.
- `compact_number` removes every white space: a ticket number or barcode read aloud in groups
  ("3470 4980") is the prefix "34704980".
- `prefix_bound(p)` is the least string greater than every string starting with ``p`` in code point
  order, so ``p <= column < prefix_bound(p)`` is exactly "starts with p" under a binary collation.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["MAX_KEY", "compact_number", "fold_name", "name_keys", "prefix_bound"]

#: letters that NFKD leaves whole, spelled as a reader without the accent would type them
_BASE_LETTERS: Final = str.maketrans({"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ħ": "h",
                                      "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i", "þ": "th"})


def fold_name(text: str | None) -> str:
    """`text` without case, accents or repeated spaces ("" for None): what names are searched by."""
    if not text:
        return ""
    folded, before = _fold_once(text), text
    for _ in range(8):  # to a fixed point (a round or two in practice): folding twice changes nothing
        if folded == before:
            break
        folded, before = _fold_once(folded), folded
    return folded


def _fold_once(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_BASE_LETTERS))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(unicodedata.normalize("NFKC", bare).casefold().split())


#: the length of the stored keys (a first and a last name of 100 characters and a space); folding may
#: lengthen a name (ß → ss, æ → ae), so a key is cut there: a search longer than that is not one
MAX_KEY: Final = 201


def name_keys(first_name: str | None, last_name: str | None) -> dict[str, str]:
    """The two stored search columns of a contact named so (first name optional), at most `MAX_KEY` long."""
    first, last = fold_name(first_name), fold_name(last_name)
    return {"search_name": f"{first} {last}".strip()[:MAX_KEY],
            "search_name_reversed": f"{last} {first}".strip()[:MAX_KEY]}


def compact_number(text: str) -> str:
    """A ticket number or barcode as typed, without its spaces."""
    return "".join(text.split())


def prefix_bound(prefix: str) -> str:
    """The upper bound (exclusive) of the strings starting with the non-empty `prefix`."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:  # no greater code point: bound on the shorter prefix instead
        return prefix_bound(prefix[:-1]) if len(prefix) > 1 else chr(0x10FFFF) * 2
    following = last + 1 if not 0xD7FF <= last < 0xDFFF else 0xE000  # surrogates cannot be stored
    return prefix[:-1] + chr(following)
