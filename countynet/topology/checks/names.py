"""Generated names: every host name the intent stage composes (`<prefix>-<township>-<village>` ...) is one DNS
label of at most 63 characters, and its FQDN (`<host>.<domain>`) at most 253; each problem is reported at the
topology line whose id made the name too long or invalid."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from countynet.errors import Diagnostic
from countynet.topology import naming
from countynet.topology.text import FQDN_CHARS, HOSTNAME_CHARS, hostname_problem

if TYPE_CHECKING:
    from countynet.topology.validated import Topology


def host_names(t: Topology) -> Iterator[tuple[str, str, list[Any]]]:
    """(host name, source key, path) for every device and server, composed by `countynet.topology.naming`
    as the intent stage names them."""
    prefix = t.county.county.prefix
    for i, d in enumerate(t.centre.devices):
        yield d.name, "centre", ["devices", i, "name"]
    for i, s in enumerate(t.centre.servers):
        yield s.name, "centre", ["servers", i, "name"]
    for i, unit in enumerate(t.units.units):
        yield naming.unit_router(prefix, unit.id), "units", ["units", i, "id"]
        for j, hs in enumerate(unit.hosted):
            yield hs.name, "units", ["units", i, "hosted", j, "name"]
    for tw in t.townships:
        key = f"township:{tw.id}"
        yield naming.township_router(prefix, tw.id), key, ["id"]
        yield naming.township_switch(prefix, tw.id), key, ["id"]
        for i, v in enumerate(tw.villages):
            yield naming.village_cpe(prefix, tw.id, v.id), key, ["villages", i, "id"]


def check(t: Topology) -> Iterator[Diagnostic]:
    """Every composed host name is a DNS label of at most 63 characters with an FQDN of at most 253."""
    domain = t.county.county.domain
    prefix = t.county.county.prefix
    for name, key, path in host_names(t):
        problem = hostname_problem(name)
        if problem:
            hint = (f"shorten this id (or county.prefix {prefix!r}): the generated name must fit "
                    f"{HOSTNAME_CHARS} characters" if len(name) > HOSTNAME_CHARS else
                    "use lower-case letters, digits and '-' (not at the start or end)")
            yield t.diag(key, path, f"generated {problem}", hint)
        elif len(name) + 1 + len(domain) > FQDN_CHARS:
            yield t.diag(key, path, f"the FQDN {name}.{domain} is over {FQDN_CHARS} characters",
                         "shorten this id or county.domain")
