"""The management plane: the address engineers and the push engine use, users with the flavour's privilege
levels, NTP, syslog, SNMPv3, AAA, banner and login limits.

Local users are the fallback when the AAA servers do not answer; their secret references, and the AAA shared
key's, are derived per device (`<secret>.<host>`), so the credentials read off one stolen village router open no
other device (the AAA server holds one key per client).
SSH and SNMP are accepted from the jump hosts and the SNMP managers only (docs/security.md)."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Management, SnmpUser, User
from countynet.intent.parts import Layout
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import ip


def management(dev: DevicePlan, facts: Facts, layout: Layout) -> Management:
    """Reached on the loopback, else the management interface, else the first address; sourced from the
    management interface (device-mgmt zone), else the first interface."""
    m = facts.topo.county.management
    lo = facts.loopback(dev.name)
    ifaces = layout.interfaces
    mgmt_if = next((i for i in ifaces if i.zone == "device-mgmt"), None)
    src_if = mgmt_if.name if mgmt_if else (ifaces[0].name if ifaces else "eth0")
    address = ip(lo) if lo else ip(mgmt_if.address) if mgmt_if and mgmt_if.address else \
        ip(next((i.address for i in ifaces if i.address), "0.0.0.0/32"))

    def servers(names: list[str]) -> list[str]:
        return [ip(facts.address("zone_host", n)) for n in names]

    privilege = dev.flavour.privilege
    return Management(
        address=address, source_interface=src_if, allowed_sources=allowed_sources(facts),
        users=[User(name=u.name, role=u.role, privilege=privilege[u.role], secret=local_secret(u.secret, dev.name))
               for u in m.users],
        ntp_servers=servers(m.ntp_servers), syslog_servers=servers(m.syslog_servers),
        snmp_managers=servers(m.snmp_managers),
        snmp_users=[SnmpUser(name=s.name, auth_secret=s.auth_secret, priv_secret=s.priv_secret) for s in m.snmp_users],
        aaa_servers=servers(m.aaa_servers), aaa_protocol=m.aaa_protocol,
        aaa_key=local_secret(m.aaa_key, dev.name) if m.aaa_key else None,
        banner=m.banner, timezone=m.timezone, login_attempts=m.login_attempts,
        lockout_minutes=m.lockout_minutes, idle_timeout_minutes=m.idle_timeout_minutes, domain=facts.domain)


def local_secret(secret: str, host: str) -> str:
    """The per-device secret reference of a local (fallback) user: `<secret>.<host>`."""
    return f"{secret}.{host}"


def allowed_sources(facts: Facts) -> list[str]:
    """Host prefixes (/32) that may open the management plane: the jump hosts (SSH) and the SNMP managers,
    sorted; the whole management zone when the topology names neither."""
    m = facts.topo.county.management
    hosts = sorted({ip(facts.address("zone_host", n)) for n in [*m.jump_hosts, *m.snmp_managers]},
                   key=lambda a: tuple(int(x) for x in a.split(".")))
    return [f"{h}/32" for h in hosts] or [facts.address("centre_zone", "management")]
