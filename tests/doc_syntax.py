"""Match a command form against a command's syntax as a vendor command reference prints it.

Huawei, H3C and HPE references give each command's Format / Syntax line in one notation: keywords as words,
parameters in italics (written here as `<parameter-name>`), `[ ... ]` optional, `{ a | b }` exactly one of,
and `*` right after a closing bracket or brace for "one or more of the group, in any order". The register
(`docs/vendor-evidence.yaml`) quotes that line as a `vendor-doc` source's `syntax:`; the test checks that the
form the build renders is one of the commands the quoted line allows, so a cited manual page that does not
cover the form is caught rather than trusted.

The check is a regular expression over the form's tokens, built by a small recursive-descent parser (no library
parses this notation; the shared vendor-syntax checker implements its own for its JSONL grammars and is only
present beside the repository). Limits, as in that checker: a parameter matches any one token (a form's typed
placeholder or a literal value); `<interface-type> <interface-number>` may match one token (`<if>`, as in
`GigabitEthernet0/0`); `*` allows repeats, which the devices refuse but which no rendered form contains.
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["SyntaxNotationError", "compile_syntax", "form_matches_syntax"]

_TOKEN = re.compile(r"<[^<>\s]+>|[\[\]{}|*]|[^\s\[\]{}|*]+")
_OPTIONAL_PARAM = re.compile(r"<(?:[a-z0-9]+-)?interface-num(?:ber)?>")


class SyntaxNotationError(ValueError):
    """The quoted syntax is not well formed (unbalanced brackets, a stray `|` or `*`)."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _TOKEN.findall(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def fail(self, what: str) -> SyntaxNotationError:
        return SyntaxNotationError(f"{what} at token {self.pos + 1} of {self.text!r}")

    def sequence(self, closers: tuple[str, ...]) -> str:
        parts: list[str] = []
        while (tok := self.peek()) is not None and tok not in closers and tok != "|":
            parts.append(self.item())
        return "".join(parts)

    def alternatives(self, closer: str) -> str:
        alts = [self.sequence((closer,))]
        while self.peek() == "|":
            self.take()
            alts.append(self.sequence((closer,)))
        if self.peek() != closer:
            raise self.fail(f"expected {closer!r}")
        self.take()
        return "|".join(alts)

    def item(self) -> str:
        tok = self.take()
        if tok in ("[", "{"):
            inner = self.alternatives("]" if tok == "[" else "}")
            repeat = self.peek() == "*"
            if repeat:
                self.take()
            if tok == "[":
                return f"(?:{inner})*" if repeat else f"(?:{inner})?"
            return f"(?:{inner})+" if repeat else f"(?:{inner})"
        if tok in ("]", "}", "|", "*"):
            raise self.fail(f"unexpected {tok!r}")
        if tok.startswith("<") and tok.endswith(">"):
            return r"(?:\S+ )?" if _OPTIONAL_PARAM.fullmatch(tok) else r"\S+ "
        return re.escape(tok) + " "

    def parse(self) -> str:
        body = self.sequence(())
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return body


@cache
def compile_syntax(syntax: str) -> re.Pattern[str]:
    """The regular expression of the commands `syntax` allows, over space-joined tokens each followed by a space.

    Raises SyntaxNotationError when the notation is not well formed."""
    return re.compile(_Parser(syntax).parse())


def form_matches_syntax(form: str, syntax: str | list[str]) -> bool:
    """Whether the command form (tests/vendor_forms.py) is one of the commands the quoted syntax line(s) allow.

    >>> form_matches_syntax("ospf timer hello <int>", "ospf timer hello <seconds>")
    True
    >>> form_matches_syntax("ospf timer hello <int>", "ospf timer dead <seconds>")
    False
    """
    lines = [syntax] if isinstance(syntax, str) else syntax
    subject = " ".join(form.split()) + " "
    return any(compile_syntax(line).fullmatch(subject) is not None for line in lines)
