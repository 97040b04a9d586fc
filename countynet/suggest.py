"""Did-you-mean hints, shared by every stage that names something a user (or a caller) may mistype."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'did you mean 'x'?' for the closest of `choices`, or '' when none is close enough."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def hint_choices(word: str, choices: Iterable[str], limit: int = 12) -> str:
    """The did-you-mean hint, or else the first `limit` choices in sorted order."""
    names = list(choices)
    return did_you_mean(word, names) or f"choose one of: {', '.join(sorted(names)[:limit])}"
