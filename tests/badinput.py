"""Shared helpers for the bad-input tests of every explorer (``tests/test_<study>_bad_input.py``).

A visitor's browser can send any value for any control, so these tests send what a client could:
the abuse values below, through ``send`` (as a comm update would arrive: traitlets may refuse it,
which leaves the control as it was), then start the control's job and check the widget's answer
with ``assert_clear_message``.
"""

from __future__ import annotations

import math

#: numbers a client can send for a numeric field (the issue's list)
BAD_NUMBERS = [-1, 0, 1e308, 2**64, math.nan, math.inf]
#: texts for a text field: empty, whitespace only, 100,000 characters, odd Unicode (combining marks,
#: right-to-left override, zero-width joiner emoji, a NUL, Cyrillic look-alikes, a lone high code point)
ODD_UNICODE = ("Z\u0351\u036b\u0343\u036a\u0302 \u202egnirts\u202c \U0001F469\u200d\U0001F469\u200d\U0001F467 "
               "nul\x00here \u0430\u0440\u0440\u04cf\u0435 \U0010FFFF \ufeff")
BAD_TEXTS = ["", "  \n\t  ", "word " * 20_000, ODD_UNICODE]
GENERIC = ("Something went wrong", "Traceback", "Error:")


def send(widget, value) -> bool:
    """Set ``widget.value`` as a client's comm message would. False if the widget refused it
    (a traitlets validation error), which is a safe outcome: the control keeps its old value."""
    from traitlets import TraitError

    try:
        widget.set_state({"value": value})
    except (TraitError, TypeError, ValueError, OverflowError):
        return False
    return True


def assert_clear_message(text: str, *field_words: str, allow_empty: bool = False) -> None:
    """``text`` (an error line or notice) is one short sentence naming the field (any of
    ``field_words``), never a generic error. ``allow_empty``: the value was accepted as valid."""
    import html
    import re

    plain = html.unescape(re.sub(r"<[^>]+>", "", text or "")).replace("⚠", "").strip()
    if not plain:
        assert allow_empty, "no message at all for a bad value"
        return
    assert not any(g in plain for g in GENERIC), plain
    assert len(plain) <= 300, f"message too long ({len(plain)} characters): {plain[:120]}…"
    assert plain.count(". ") <= 2, f"more than one or two sentences: {plain}"
    if field_words:
        assert any(w.lower() in plain.lower() for w in field_words), f"{plain!r} names none of {field_words}"
