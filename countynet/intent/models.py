"""Per-device intent: one vendor-neutral structure per device, the single input of every output.

Templates, inventories, Batfish snapshots, the lab and the push engine all read these models and nothing
else; none of them goes back to the raw topology. Interface names are the device's own (they come from
the hardware catalog and the platform flavour), everything else is vendor-neutral. `flavour` names the
device's platform flavour in :mod:`countynet.platforms`; `platform` is its template family. A rendering
of the intent in another family (the lab's Linux rendering, Batfish's Cisco one) changes `platform` only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from countynet import platforms


class M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Peer(M):
    host: str
    interface: str


class OspfIf(M):
    area: str = Field(description="dotted area id, e.g. 0.0.0.0")
    cost: int = 10
    passive: bool = False
    network_type: Literal["point-to-point", "broadcast"] = "point-to-point"
    auth: Literal["hmac-sha256", "md5"] = Field("hmac-sha256", description=(
        "authentication algorithm: md5 on a link to an FRR 8.4 router (it has no HMAC-SHA for OSPF)"))


class Vrrp(M):
    group: int
    vip: str
    priority: int


class Tunnel(M):
    source: str = Field(description="interface the tunnel leaves from")
    source_address: str = Field(description="our public address")
    destination: str = Field(description="peer's public address")
    vpn_peer: str = Field(description="name of the VPN peer entry this tunnel carries")


class Interface(M):
    name: str
    kind: Literal["routed", "svi", "access", "trunk", "lag", "lag_member", "loopback", "tunnel"]
    description: str = ""
    address: str | None = Field(None, description="address/length, e.g. 10.30.4.1/30")
    vlan: int | None = Field(None, description="access VLAN, or the VLAN of an SVI")
    vlans: list[int] = Field(default_factory=list, description="VLANs allowed on a trunk or lag")
    lag: str | None = Field(None, description="the aggregate this port is a member of")
    lag_id: int | None = None
    peer: Peer | None = None
    zone: str | None = Field(None, description="security zone the interface faces")
    ospf: OspfIf | None = None
    vrrp: Vrrp | None = None
    tunnel: Tunnel | None = None
    nat_outside: bool = False
    dhcp_relay: list[str] = Field(default_factory=list)
    acl_in: str | None = None
    acl_out: str | None = None
    link: str | None = Field(None, description="id of the topology link this interface belongs to")


class Vlan(M):
    id: int
    name: str


class OspfArea(M):
    id: str
    type: Literal["normal", "stub", "totally-stub", "nssa"] = "normal"
    ranges: list[str] = Field(default_factory=list, description="summaries advertised by this ABR")
    export_filter: list[str] = Field(default_factory=list, description=(
        "ABR only: what this area may announce into other areas (type-3), each prefix or a longer one inside "
        "it; empty: no filter"))


class RouteFilterRule(M):
    """OSPF routes through one neighbour: accepted only for the prefixes behind it (docs/security.md)."""

    peer: str = Field(description="host name of the neighbour (names the prefix lists, read in reports)")
    next_hops: list[str] = Field(description="the neighbour's addresses on its links to this device")
    prefixes: list[str] = Field(description="what it may announce: each prefix or any longer one inside it")


class AuthKey(M):
    """A routing key: the id both ends send and the secret reference of its value (never the value)."""

    id: int
    secret: str


class Ospf(M):
    process: int
    router_id: str
    areas: list[OspfArea]
    hello: int = 10
    dead: int = 40
    default_originate: bool = False
    default_metric: int | None = Field(None, description="metric of the originated default (lowest wins)")
    redistribute: list[Literal["static", "connected", "bgp"]] = Field(default_factory=list)
    redistribute_prefixes: list[str] = Field(default_factory=list, description="only these are redistributed")
    auth_keys: list[AuthKey] = Field(default_factory=list, description=(
        "keys on every OSPF interface; the send key first (platforms with one key per interface use it)"))
    import_filter: list[RouteFilterRule] = Field(default_factory=list, description=(
        "routes through these neighbours enter the routing table only for their own prefixes; routes through "
        "any other neighbour are kept"))


class StaticRoute(M):
    prefix: str
    next_hop: str | None = None
    interface: str | None = None
    description: str = ""
    distance: int | None = None


class BgpNeighbor(M):
    address: str
    remote_as: int
    description: str
    update_source: str | None = None
    import_prefixes: list[str] = Field(default_factory=list, description="accept only these (le 32)")
    export_prefixes: list[str] = Field(default_factory=list, description="advertise only these")
    auth_secret: str | None = Field(None, description="TCP MD5 password (secret reference)")
    max_prefixes: int | None = Field(None, description="tear the session down above this many prefixes")
    ttl_hops: int | None = Field(None, description="GTSM: the peer is at most this many hops away")


class Bgp(M):
    asn: int
    router_id: str
    neighbors: list[BgpNeighbor]
    networks: list[str] = Field(default_factory=list)


class Routing(M):
    ospf: Ospf | None = None
    static: list[StaticRoute] = Field(default_factory=list)
    bgp: Bgp | None = None


class VpnPeer(M):
    name: str
    local_address: str = Field(description="our public address (no length)")
    remote_address: str | None = Field(None, description="peer's public address; None = any (dynamic spoke)")
    local_id: str
    remote_id: str
    psk_secret: str = Field(description="secret reference for the pre-shared key")
    tunnel_interface: str | None = Field(None, description="route-based tunnel, where the platform has one")
    local_networks: list[str]
    remote_networks: list[str]


class Vpn(M):
    role: Literal["hub", "spoke"]
    ike_version: int
    ike_proposal: str
    esp_proposal: str
    peers: list[VpnPeer]


class DhcpPool(M):
    name: str
    interface: str
    network: str
    gateway: str
    range_start: str
    range_end: str
    dns: list[str]
    lease_days: int = 1


class StaticNat(M):
    name: str
    inside: str
    outside: str
    protocol: Literal["tcp", "udp"]
    port: int


class InboundNat(M):
    """Connections from the outside to the published services leave the inside port with a source from
    `first`..`last` (PAT), so the servers' replies return to this firewall by routing: `pool` is a null route
    announced into OSPF."""

    pool: str = Field(description="the IPAM block (county.yaml pools.inbound_nat)")
    first: str
    last: str


class Nat(M):
    outside_interface: str
    inside_networks: list[str] = Field(description="source-NAT (PAT) to the outside address")
    static: list[StaticNat] = Field(default_factory=list)
    inbound: InboundNat | None = Field(None, description=(
        "inbound source NAT of the published services (`static`): docs/design.md 'Dual ISP'"))


class User(M):
    name: str
    role: str
    privilege: int
    secret: str = Field(description="secret reference; the value is resolved at push time, never stored")


class SnmpUser(M):
    name: str
    auth_secret: str
    priv_secret: str


class Management(M):
    address: str = Field(description="the address engineers and the push engine connect to")
    source_interface: str = Field(description="source of NTP, syslog and SNMP traffic")
    allowed_sources: list[str] = Field(description="prefixes allowed to reach the management plane")
    users: list[User]
    ntp_servers: list[str]
    syslog_servers: list[str]
    snmp_managers: list[str]
    snmp_users: list[SnmpUser]
    aaa_servers: list[str] = Field(default_factory=list)
    aaa_protocol: Literal["hwtacacs"] = "hwtacacs"
    aaa_key: str | None = Field(None, description="secret reference of the AAA shared key")
    banner: str
    timezone: str
    login_attempts: int
    lockout_minutes: int
    idle_timeout_minutes: int
    domain: str


class ServiceIntent(M):
    name: str
    protocol: Literal["tcp", "udp", "icmp"]
    port_min: int = 0
    port_max: int = 0
    icmp_type: int | None = Field(None, description="icmp: the type the service grants (None: every type)")
    icmp_code: int | None = Field(None, description="icmp: the code (None: every code)")


class Server(M):
    function: str
    zone: str
    gateway: str
    services: list[ServiceIntent]


class AclRule(M):
    seq: int
    action: Literal["permit", "deny"]
    protocol: Literal["ip", "tcp", "udp", "icmp"]
    source: str = Field(description="prefix; 0.0.0.0/0 is any")
    destination: str = Field(description="prefix; 0.0.0.0/0 is any")
    port_min: int | None = Field(None, description="destination port range (tcp/udp)")
    port_max: int | None = None
    source_port_min: int | None = Field(None, description="source port range (tcp/udp): replies of a service")
    source_port_max: int | None = None
    established: bool = Field(False, description="match return traffic only (tcp established / ct state)")
    icmp_type: int | None = Field(None, description="icmp: the type matched, echo-reply on a reply line (None: every)")
    icmp_code: int | None = Field(None, description="icmp: the code matched (None: every code)")
    remark: str = Field("", description="policy rule this line comes from")


class Filter(M):
    """A compiled ACL, bound to interfaces by Interface.acl_in / acl_out (the filter's name)."""

    name: str
    number: int = Field(description="ACL number for platforms that number ACLs (3000-3999 advanced)")
    rules: list[AclRule]


class Stp(M):
    """Spanning tree on a switch: MSTP, one region for the county, every VLAN in the CIST (instance 0).

    Ports: `edge_ports` face hosts (edge port; BPDU protection shuts one that hears a BPDU when
    `bpdu_protection`); `off_ports` are the access ports of routed links (a transit VLAN that exists on that
    one port only, so it cannot loop) and stay outside STP, so that a BPDU-speaking peer (the other core) cannot
    make STP block the routed link as a second path. Every other switched port runs STP."""

    mode: Literal["mstp"] = "mstp"
    region: str = Field(description="MST region name, the same on every switch")
    root: Literal["primary", "secondary"] | None = Field(None, description="root bridge role of instance 0")
    bpdu_protection: bool = False
    edge_ports: list[str] = Field(default_factory=list)
    off_ports: list[str] = Field(default_factory=list)


class AccessSecurity(M):
    """Access-layer protection of a switch that faces hosts (issue 10 part 6, docs/security.md "Access layer").

    `untrusted_ports` face hosts: DHCP snooping drops DHCP server replies arriving there, port security admits
    at most `max_macs` source MAC addresses. `trusted_ports` are the switched ports towards network devices
    (uplinks): DHCP replies are accepted there. `source_guard_interfaces` are the VLAN interfaces of LANs this
    switch serves with its own DHCP pools, on a flavour whose IP source guard binds from its DHCP server: packets
    whose source IP + MAC no lease matches are dropped (static hosts have none: server VLANs are never listed).
    `unused_ports` are the model's ports the intent does not use: shut, described "unused"."""

    trusted_ports: list[str] = Field(default_factory=list)
    untrusted_ports: list[str] = Field(default_factory=list)
    source_guard_interfaces: list[str] = Field(default_factory=list)
    max_macs: int = Field(4, description="port security: source MAC addresses admitted per host port")
    unused_ports: list[str] = Field(default_factory=list)


class DeviceIntent(M):
    hostname: str
    fqdn: str
    role: str
    platform: str = Field(description="template family (platform registry), e.g. huawei_vrp")
    flavour: str = Field(description="platform flavour (platform registry), e.g. huawei_vrp8_ce")
    os: str
    vendor: str
    model: str
    hardware: Literal["router", "switch", "firewall", "server", ""] = Field("", description=(
        "the model's kind from the hardware catalog (empty in intents written before it was recorded)"))
    site: str = Field(description="'centre', 'unit:<id>' or 'township:<id>'")
    site_name: str = Field("", description="the site's name for people, Chinese first")
    township: str | None = None
    unit: str | None = None
    wave: int
    loopback: str | None = Field(None, description="loopback address/32 (router id, management)")
    interfaces: list[Interface]
    vlans: list[Vlan] = Field(default_factory=list)
    routing: Routing = Field(default_factory=Routing)
    vpn: Vpn | None = None
    dhcp: list[DhcpPool] = Field(default_factory=list)
    nat: Nat | None = None
    management: Management
    server: Server | None = None
    filters: list[Filter] = Field(default_factory=list, description="compiled ACLs (security policy)")
    stp: Stp | None = Field(None, description="spanning tree (switches)")
    access_security: AccessSecurity | None = Field(None, description="access-layer protection (host-facing switches)")

    @model_validator(mode="before")
    @classmethod
    def _flavour_of_old_intents(cls, data: Any) -> Any:
        """An intent written without a flavour (hand-written, or from a build before flavours) gets the most
        general flavour of its platform and os."""
        if isinstance(data, dict) and "flavour" not in data and "platform" in data and "os" in data:
            return {**data, "flavour": platforms.for_platform(data["platform"], data["os"]).name}
        return data

    @field_validator("platform")
    @classmethod
    def _known_family(cls, v: str) -> str:
        if v not in platforms.families():
            raise platforms.UnknownFlavour(v, platforms.families(), what="platform family")
        return v

    @field_validator("flavour")
    @classmethod
    def _known_flavour(cls, v: str) -> str:
        return platforms.flavour(v).name

    def interface(self, name: str) -> Interface:
        for i in self.interfaces:
            if i.name == name:
                return i
        raise KeyError(name)
