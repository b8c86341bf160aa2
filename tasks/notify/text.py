"""Untrusted text (resource names, tag values, observed values) made safe for Slack mrkdwn.

Slack parses `<…>` as mentions and links (`<!channel>`, `<https://evil|x>`) and `&` as an entity, so
these three characters are escaped everywhere; control characters and newlines are flattened so that
a value cannot fake extra lines of a digest, and bidi controls are dropped (`complyflow.core.text.clean`,
then every other invisible formatting character); every value is clipped so one hostile tag cannot
push a message past Slack's size limits.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from complyflow.core.text import clean

#: Longest rendering of one untrusted value (resource name, observed value, …).
VALUE_LIMIT = 160
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def escape(text: object) -> str:
    """Escape Slack's control characters: `&`, `<`, `>` (the only ones Slack asks to escape)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def flatten(text: object, limit: int = VALUE_LIMIT) -> str:
    """One line of at most `limit` characters, without control or invisible formatting characters."""
    value = clean(_CONTROL.sub(" ", str(text)))  # a run of line breaks or controls is one space
    value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf").strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def safe(text: object, limit: int = VALUE_LIMIT) -> str:
    """Untrusted text as inert mrkdwn, at most `limit` characters once escaped (entities are never cut)."""
    value = flatten(text, limit=len(str(text)) + 1)
    out: list[str] = []
    size = 0
    for index, ch in enumerate(value):
        piece = escape(ch)
        rest = len(value) - index - 1
        if size + len(piece) > limit - (1 if rest else 0):
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def code(text: object, limit: int = VALUE_LIMIT) -> str:
    """Untrusted text in an inline code span; a backtick inside would end the span, so it is replaced."""
    value = safe(text, limit).replace("`", "ˋ")
    return f"`{value}`" if value else "`(empty)`"


def link(url: str, label: str, missing: str = "") -> str:
    """A mrkdwn link to an http(s) URL; `missing` (default: the label) when the URL is empty or not http(s)."""
    if not url.startswith(("https://", "http://")):
        return missing or label
    target = quote(url, safe=":/?#[]@!$&'()*+,;=%-._~")  # percent-encodes `|`, `<`, `>` and spaces
    return f"<{escape(target)}|{label}>"


_LOOKALIKES = str.maketrans({"<": "‹", ">": "›", "&": "＆"})


def plain(text: object, limit: int) -> str:
    """Text for a plain_text element (headers). Entities are not decoded there, so escaping would show
    `&lt;`; look-alike characters keep `<!here>` inert and readable instead."""
    return flatten(str(text).translate(_LOOKALIKES), limit)
