"""Untrusted text made safe for the places people read it: spreadsheets, markdown, HTML and chat.

Resource names, tag values (owners), observed values and API error messages come from the AWS
accounts under review, so anyone who can name a bucket or tag a role writes part of every report.
Each output format has its own way of being abused, and each guard lives here, once, so that every
writer applies the same rule:

- `clean`: bidi override and isolate characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
  U+061C) reorder what a reader sees, so `\\u202egnp.exe` displays as `exe.png`; control characters
  can end a line, fake a new one or corrupt a terminal. Line breaks and tabs become a space (or stay,
  as "\\n", with `keep_newlines=True`); every other control character and bidi control is removed.
  Apply it before the format's own escaping (`html.escape`, Slack's `&`/`<`/`>`), which it does not
  replace.
- `csv_cell`: spreadsheets evaluate a cell that starts with `=`, `+`, `-` or `@` as a formula
  (`=HYPERLINK(...)` exfiltrates, DDE runs commands); a leading TAB or CR is stripped by some
  importers, which exposes the formula behind it. Such a cell gets a leading `'` (OWASP's "CSV
  injection" advice); the value is otherwise written as is, so CSV files keep the exact data.
  Empty strings and None stay empty, and non-strings (numbers, booleans) are unchanged.
- `md_code` / `md_cell` / `md_text`: markdown (Prefect artifacts) is a line format: a newline in a
  name ends a table row or starts a `# heading`, and a `|` splits a cell. Names are rendered as inline
  code, which shows every other character literally; a backtick inside the name gets a longer fence,
  as CommonMark allows, so it cannot close the span early. `md_text` is the plain-text variant for
  short values (status, region) shown as text: it escapes every inline markup character instead.
"""

from __future__ import annotations

import re

#: Bidirectional formatting characters: embeddings and overrides, isolates, marks.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
#: Characters that break a line somewhere: CRLF, CR, LF, VT, FF, NEL, the line and paragraph separators.
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
#: What is left to remove once line breaks are handled: C0 and C1 control characters and bidi controls.
_REMOVE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{BIDI}]")
#: A cell starting with one of these is read as a formula (TAB and CR: some importers strip them first).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters that markdown may read as inline syntax (emphasis, links, code, HTML, entities, tables).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>&~])")
_BACKTICKS = re.compile(r"`+")


def clean(text: object, keep_newlines: bool = False) -> str:
    """`text` without bidi controls or control characters; line breaks and tabs become a space.

    With `keep_newlines`, every line break (CRLF, CR, VT, FF, NEL, U+2028, U+2029) becomes "\\n"
    instead, for multi-line places such as HTML text. None is the empty string.
    """
    if text is None:
        return ""
    value = _LINE_BREAK.sub("\n" if keep_newlines else " ", str(text)).replace("\t", " ")
    if keep_newlines:
        return "\n".join(_REMOVE.sub("", line) for line in value.split("\n"))
    return _REMOVE.sub("", value)


def csv_cell(value: object) -> object:
    """`value` for a CSV cell: a string a spreadsheet would run as a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def md_code(text: object) -> str:
    """`text` as a markdown inline code span on one line; "" for empty text (an empty span is not code).

    The fence is one backtick longer than the longest run of backticks inside; a space pads the content
    when it starts or ends with a backtick, or starts and ends with a space (CommonMark strips one).
    """
    value = clean(text)
    if not value:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(value)), default=0) + 1)
    if value[0] == "`" or value[-1] == "`" or (value[0] == value[-1] == " " and value.strip(" ")):
        value = f" {value} "
    return f"{fence}{value}{fence}"


def md_cell(text: object) -> str:
    """`text` for a markdown table cell: inline code on one line, with `|` escaped so it stays in the cell.

    GFM splits a row at every unescaped `|`, even inside a code span, and drops the backslash of `\\|`
    before it reads the cell, so the code span shows the pipe itself.
    """
    return md_code(text).replace("|", "\\|")


def md_text(text: object) -> str:
    """`text` as plain markdown on one line (a heading, a cell): every inline markup character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean(text))
