"""Typed text: every free-text field of the topology says what it may hold, so no text becomes a command.

Text written in the topology reaches device configurations (Huawei VRP, H3C Comware, Cisco IOS-XE), the
strongSwan `swanctl.conf`, shell scripts (the township kit) and documents. Each type below refuses what one of
those targets would read as something other than text:

* line breaks and control or format characters (a new line is a new command; bidi overrides hide text);
* `?` (VRP's and Comware's CLI answer it with help instead of taking it as text);
* `"` and `\\` (quoting in VRP's `header`, in `swanctl.conf` and in shell), `` ` `` and `$` (shell);
* `^` (the Cisco banner delimiter the templates use: `banner login ^C`);
* lengths over what the devices accept (`description`: 242 characters on VRP, 255 on Comware, 240 on IOS,
  counted here in UTF-8 bytes because VRP counts a Chinese character as more than one).

Rendering escapes as a second layer; these types are the first. Each refusal says what is wrong and how to
fix it; the loader turns it into `file:line:column`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

DESCRIPTION_BYTES = 240  # IOS-XE interface description (VRP 242, Comware 255)
LABEL_BYTES = 100  # names that the intent composes into descriptions ("leased line <name_en>")
BANNER_CHARS = 2000  # VRP `header` and IOS `banner` bodies stay well below their limits
HOSTNAME_CHARS = 63  # one DNS label (RFC 1035), also the VRP `sysname` and IOS `hostname` limit
FQDN_CHARS = 253

# Unicode categories refused in any text: control, format (bidi overrides, zero-width), surrogate, private
# use, unassigned, line and paragraph separators.
_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_SPECIAL = {
    "?": "VRP's and Comware's CLI treat '?' as a request for help",
    '"': "a double quote ends a quoted string in VRP, swanctl.conf and shell",
    "\\": "a backslash escapes the next character in swanctl.conf and shell",
    "`": "a backquote runs a command in shell",
    "$": "'$' expands a variable or runs a command in shell",
    "^": "'^' is the Cisco banner delimiter (banner login ^C ... ^C)",
}


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def _bad_char(value: str, allow_newline: bool) -> str | None:
    """The first refused character of `value` with the reason, or None."""
    for i, ch in enumerate(value):
        if ch == "\n" and allow_newline:
            continue
        if ch in ("\n", "\r"):
            return (f"the text holds a line break at character {i + 1}; a new line would become a new "
                    f"command on the device")
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            return f"the text holds the control or format character {_char_name(ch)} at character {i + 1}"
        if ch in _SPECIAL:
            return f"the text holds {ch!r} at character {i + 1}: {_SPECIAL[ch]}"
    return None


def _check(value: str, *, limit: int, unit: str = "bytes", allow_newline: bool = False, what: str) -> str:
    problem = _bad_char(value, allow_newline)
    if problem:
        raise ValueError(f"{problem}; write {what}" + ("" if allow_newline else " on one line")
                         + " without control characters or ? \" \\ ` $ ^")
    size = len(value.encode("utf-8")) if unit == "bytes" else len(value)
    if size > limit:
        raise ValueError(f"{what} is {size} {unit} long, over the {limit} the devices accept; shorten it")
    if value != value.strip(" \t"):
        raise ValueError(f"{what} starts or ends with spaces, which the devices drop; remove them")
    return value


def _label(value: str) -> str:
    return _check(value, limit=LABEL_BYTES, what="a name")


def _description(value: str) -> str:
    return _check(value, limit=DESCRIPTION_BYTES, what="a description")


def _note(value: str) -> str:
    return _check(value, limit=1000, what="a note")


def _banner(value: str) -> str:
    _check(value, limit=BANNER_CHARS, unit="characters", allow_newline=True, what="the banner")
    for n, line in enumerate(value.split("\n"), 1):
        if line.strip() == ".":
            raise ValueError(f"banner line {n} is only '.', which ends the text in some CLIs; write more on it")
        if line.strip().lower() in ("end", "return", "quit", "exit"):
            raise ValueError(f"banner line {n} is only {line.strip()!r}, a CLI command word; write more on it")
    return value


_LABEL_RE = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_RE = re.compile(rf"^(?=.{{1,{FQDN_CHARS}}}$){_LABEL_RE}(\.{_LABEL_RE})*$")
HOSTNAME_RE = re.compile(rf"^{_LABEL_RE}$")


def _domain(value: str) -> str:
    if not DOMAIN_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS domain: use lower-case labels of letters, digits and '-' "
                         f"(at most 63 each, not starting or ending with '-') joined by '.', no spaces or ';', "
                         f"e.g. yx.egov.local")
    return value


def hostname_problem(name: str) -> str | None:
    """Why `name` is not a valid host name (one DNS label, at most 63 characters), or None."""
    if len(name) > HOSTNAME_CHARS:
        return f"host name {name!r} is {len(name)} characters long, over the {HOSTNAME_CHARS} of a DNS label"
    if not HOSTNAME_RE.fullmatch(name):
        return f"host name {name!r} is not a DNS label (a-z, 0-9 and '-', not starting or ending with '-')"
    return None


Label = Annotated[str, AfterValidator(_label), Field(
    description=f"a name on one line, at most {LABEL_BYTES} UTF-8 bytes, without ? \" \\ ` $ ^")]
Description = Annotated[str, AfterValidator(_description), Field(
    description=f"one line, at most {DESCRIPTION_BYTES} UTF-8 bytes, without ? \" \\ ` $ ^")]
Note = Annotated[str, AfterValidator(_note), Field(
    description="one line of documentation, without control characters or ? \" \\ ` $ ^")]
Banner = Annotated[str, AfterValidator(_banner), Field(
    description=f"login banner: at most {BANNER_CHARS} characters, line breaks allowed, without ? \" \\ ` $ ^")]
DomainName = Annotated[str, AfterValidator(_domain), Field(
    description="DNS domain used in device FQDNs, e.g. yx.egov.local")]
