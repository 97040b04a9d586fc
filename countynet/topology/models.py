"""The topology schema: what a user may write in `topology/*.yaml`.

pydantic v2 models with `extra="forbid"`, so every unknown key is an error (the loader adds "did you mean").
Each file kind has its own root model, so a diagnostic always points into the file that holds the mistake.
`countynet schema` exports these models as JSON Schema for editor completion.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Generator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from countynet import platforms
from countynet.topology.text import Banner, Description, DomainName, Label, Note

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,40}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="lower-case name: a-z, 0-9, -")]
Source = Literal["sourced", "chosen", "placeholder"]
SecretRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$",
                                 description="secret reference, resolved at push time")]
PortName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/.:{}-]{0,63}$", description=(
    "interface name, e.g. GigabitEthernet0/0/1; 'GigabitEthernet0/0/{1..8}' expands to a range"))]
IfTemplate = Annotated[str, Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9/.{}-]{0,63})?$",
                                  description="interface name, with {n} where the number goes")]
GroupName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,40}$", description="port group name, e.g. uplink")]
Endpoint = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}(:[A-Za-z0-9][A-Za-z0-9/.:-]{0,63})?$",
                                description="'device', 'device:port-group' or 'device:Interface0/0/1'")]

def _pattern(t: Any) -> str:
    return str(next(m.pattern for f in t.__metadata__ for m in f.metadata if hasattr(m, "pattern")))


PATTERN_HINTS = {  # the fix for a value that does not match one of the patterns above
    NAME_PATTERN: "use lower-case letters, digits and '-' only, at most 41 characters",
    _pattern(SecretRef): "write a secret reference: lower-case letters, digits, '_', '.' and '-'",
    _pattern(PortName): "write an interface name such as GigabitEthernet0/0/1 (a range: GigabitEthernet0/0/{1..8})",
    _pattern(IfTemplate): "write an interface name with {n} where the number goes, e.g. Eth-Trunk{n}",
    _pattern(GroupName): "write a port group name: lower-case letters, digits, '_' and '-', e.g. uplink",
    _pattern(Endpoint): "write 'device', 'device:port-group' or 'device:Interface0/0/1'",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _net(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 prefix with host bits zero ({exc})") from None


def _iface(value: str) -> str:
    try:
        ipaddress.IPv4Interface(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 address with prefix length, e.g. 10.0.0.1/30 ({exc})"
                         ) from None
    if "/" not in value:
        raise ValueError(f"{value!r} needs a prefix length, e.g. {value}/30")
    return value


def _host(value: str) -> str:
    """A host pin: 'a.b.c.d' or 'a.b.c.d/len' (the length is the zone's or /32) -> 'a.b.c.d/32'."""
    try:
        return f"{ipaddress.IPv4Interface(value).ip}/32"
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 address, e.g. 10.30.17.50 ({exc})") from None


Prefix = Annotated[str, Field(description="IPv4 prefix, e.g. 10.30.0.0/16")]
IfAddress = Annotated[str, Field(description="IPv4 address with length, e.g. 10.30.4.1/30")]


# --------------------------------------------------------------------------- county.yaml

class CountyInfo(Strict):
    name: Name
    name_zh: Label
    admin_code: str = Field(pattern=r"^\d{6}$")
    seat_zh: Label = ""
    city: Label
    city_zh: Label = ""
    domain: DomainName
    prefix: Name = Field(description="short host-name prefix, e.g. yx")


class Pool(Strict):
    """An address pool; `within` makes it a sub-pool carved from each owner's block of another pool."""

    prefix: Prefix | None = None
    within: str | None = Field(None, pattern=r"^[a-z_]+$", description="name of the parent pool")
    length: int = Field(ge=8, le=32, description="prefix length of each allocation")
    reserve_first: int = Field(0, ge=0, description="addresses at the start of each container kept free")
    source: Source = "chosen"

    _p = field_validator("prefix")(lambda v: _net(v) if v is not None else v)

    @model_validator(mode="after")
    def _one_parent(self) -> Pool:
        if (self.prefix is None) == (self.within is None):
            raise ValueError("give exactly one of 'prefix' (a top-level pool) or 'within' (a sub-pool)")
        if self.prefix is not None and ipaddress.IPv4Network(self.prefix).prefixlen > self.length:
            raise ValueError(f"pool {self.prefix} is smaller than one /{self.length} allocation")
        return self


class Pools(Strict):
    loopback: Pool
    p2p: Pool
    tunnel: Pool
    broadband: Pool = Field(description="modelled ISP access addresses for VPN villages (DHCP in reality)")
    centre_zone: Pool
    zone_host: Pool = Field(description="host addresses inside each centre zone")
    unit_lan: Pool
    township_lan_block: Pool = Field(description="one block per township for its government/station LANs")
    township_lan: Pool
    township_link_block: Pool = Field(description="one block per township for its village leased lines")
    township_link: Pool
    village_block: Pool = Field(description="one block per township for its village LANs")
    village_lan: Pool
    hosting: Pool | None = Field(None, description=(
        "one segment per unit hosting extranet servers in the machine room (docs/hosting.md)"))
    hosting_host: Pool | None = Field(None, description="hosted servers' addresses inside their unit's segment")
    intranet_hosting: Pool | None = Field(None, description=(
        "intranet (政务内网) segments per unit: a separate plane, kept out of the county's aggregates"))
    intranet_host: Pool | None = Field(None, description="intranet servers' addresses inside their unit's segment")
    inbound_nat: Pool | None = Field(None, description=(
        "inbound source NAT: one block per internet firewall after the first, the inside source of the "
        "connections it publishes (docs/design.md 'Dual ISP'); absent: no inbound source NAT"))

    def __iter__(self) -> Generator[tuple[str, Any], None, None]:
        """(name, pool) of every pool given: the optional pools only when present."""
        for name, value in super().__iter__():
            if value is not None:
                yield name, value


class User(Strict):
    name: Name
    role: Literal["admin", "operator", "auditor"]
    secret: SecretRef


class SnmpUser(Strict):
    name: Name
    auth_secret: SecretRef
    priv_secret: SecretRef


class Management(Strict):
    users: list[User] = Field(min_length=1)
    ntp_servers: list[Name] = Field(min_length=1, description="server names in the management zone")
    syslog_servers: list[Name] = Field(min_length=1)
    snmp_managers: list[Name] = Field(min_length=1)
    snmp_users: list[SnmpUser] = Field(min_length=1)
    aaa_servers: list[Name] = []
    aaa_protocol: Literal["hwtacacs"] = Field("hwtacacs", description=(
        "HWTACACS (TACACS+): per-command authorization and accounting; docs/security.md says why not RADIUS"))
    aaa_key: SecretRef | None = Field(None, description="shared key between the devices and the AAA servers")
    jump_hosts: list[Name] = []
    banner: Banner
    login_attempts: int = Field(5, ge=1, le=10)
    lockout_minutes: int = Field(15, ge=1)
    idle_timeout_minutes: int = Field(10, ge=1, le=30)
    timezone: str = Field("+08:00", pattern=r"^[+-]\d\d:\d\d$")


class RoutingKey(Strict):
    """One routing-protocol key: its key id (sent in every packet) and the secret reference of its value."""

    id: int = Field(ge=1, le=255, description="key id, 1-255 (the same on both ends of a link)")
    secret: SecretRef


class Routing(Strict):
    asn: int = Field(ge=1, le=4294967295, description="the county's BGP AS (private range, chosen)")
    ospf_process: int = Field(1, ge=1, le=65535)
    ospf_hello: int = Field(10, ge=1)
    ospf_dead: int = Field(40, ge=1)
    township_area_type: Literal["normal", "stub", "totally-stub", "nssa"] = "totally-stub"
    unit_area: int = Field(ge=1, description="OSPF area shared by the county-direct units")
    village_routing: Literal["ospf", "static"] = "ospf"
    ospf_keys: list[RoutingKey] = Field(default_factory=list, max_length=2, description=(
        "OSPF authentication keys (HMAC-SHA-256 where the platform has it); two only during a rotation"))
    ospf_send_key: int | None = Field(None, ge=1, le=255, description=(
        "the key id devices send with (default: the first key); during a rotation the new key's id"))
    bgp_key: SecretRef | None = Field(None, description="TCP MD5 password of the city eBGP session")
    bgp_max_prefixes: int = Field(100, ge=1, le=100000, description="the city session drops above this")
    bgp_ttl_hops: int = Field(1, ge=1, le=254, description="GTSM: accept the city's packets from this many hops")

    @model_validator(mode="after")
    def _send_key_known(self) -> Routing:
        ids = [k.id for k in self.ospf_keys]
        if len(set(ids)) != len(ids):
            raise ValueError("ospf_keys: two keys with the same id; give the new key another id")
        if self.ospf_send_key is not None and self.ospf_send_key not in ids:
            raise ValueError(f"ospf_send_key {self.ospf_send_key} is not the id of a key in ospf_keys {ids}")
        return self


class Vpn(Strict):
    ike_version: Literal[1, 2] = 2
    ike_proposal: str = Field("aes256-sha256-modp2048", pattern=r"^[a-z0-9]+-[a-z0-9]+-[a-z0-9]+$")
    esp_proposal: str = Field("aes256-sha256-modp2048", pattern=r"^[a-z0-9]+-[a-z0-9]+-[a-z0-9]+$")
    psk_secret_prefix: str = Field("vpn-psk", pattern=r"^[a-z0-9][a-z0-9_.-]{0,40}$",
                                   description="each village's PSK is <prefix>-<township>-<village>")


class Vlans(Strict):
    township_gov: int = Field(ge=2, le=4094)
    township_stations: int = Field(ge=2, le=4094)
    village_lan: int = Field(ge=2, le=4094)
    unit_lan: int = Field(ge=2, le=4094)
    transit_first: int = Field(ge=2, le=4094, description="VLANs for routed links on switches")
    transit_last: int = Field(ge=2, le=4094)


class Wave(Strict):
    number: int = Field(ge=0)
    name: Label
    description: Description = ""


class CountyFile(Strict):
    """Root of `topology/county.yaml`."""

    county: CountyInfo
    pools: Pools
    vlans: Vlans
    management: Management
    routing: Routing
    vpn: Vpn
    waves: list[Wave] = Field(min_length=1)
    notes: list[Note] = []


# --------------------------------------------------------------------------- catalog.yaml

class PortGroup(Strict):
    ports: list[PortName] = Field(min_length=1, description="names; 'GigabitEthernet0/0/{1..8}' expands to a range")


def _flavour_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = sorted(platforms.flavours())  # editors complete the flavour names


class Hardware(Strict):
    flavour: str = Field(description="platform flavour (countynet/platforms/<flavour>.yaml), e.g. huawei_vrp8_ce",
                         json_schema_extra=_flavour_enum)
    vendor: Label
    description: Description = ""
    ports: dict[GroupName, list[PortName]] = Field(description="port groups (uplink, downlink, lan, wan...) -> ports")
    kind: Literal["router", "switch", "firewall", "server"]
    lag_name: IfTemplate = Field("",
                                 description="aggregate interface name with {n}; empty: the flavour's (Eth-Trunk{n})")
    loopback_name: IfTemplate = Field("",
                                      description="name of the loopback interface; empty: the flavour's (LoopBack0)")
    vlan_if: IfTemplate = Field("", description="SVI name with {n}, e.g. Vlanif{n}; empty if none")

    @field_validator("flavour")
    @classmethod
    def _known_flavour(cls, v: str) -> str:
        return platforms.flavour(v).name  # an unknown or abstract name: did-you-mean and the list

    @property
    def spec(self) -> platforms.Flavour:
        """The platform flavour this model runs."""
        return platforms.flavour(self.flavour)


class Kit(Strict):
    """A named device preset so a site takes one line."""

    hardware: Name
    description: Description = ""


class CatalogFile(Strict):
    """Root of `topology/catalog.yaml`: hardware models and kits."""

    hardware: dict[Name, Hardware]
    kits: dict[Name, Kit]


# --------------------------------------------------------------------------- centre.yaml

Role = Literal["core", "wan", "firewall", "city_edge", "vpn_hub", "access_switch"]


class Zone(Strict):
    name: Name
    vlan: int = Field(ge=2, le=4094)
    description: Description
    prefix: Prefix | None = Field(None, description="pin; otherwise allocated from pools.centre_zone")
    security_zone: Name

    _p = field_validator("prefix")(lambda v: _net(v) if v is not None else v)


class CentreDevice(Strict):
    name: Name
    role: Role
    kit: Name
    wave: int = Field(0, ge=0)
    description: Description = ""
    loopback: IfAddress | None = Field(None, description="pin; otherwise from pools.loopback")

    _lo = field_validator("loopback")(lambda v: _host(v) if v is not None else v)


class Link(Strict):
    """A cable in the machine room. Ends are 'device' or 'device:port-group' or 'device:Interface0/0/1'."""

    a: Endpoint
    b: Endpoint
    type: Literal["routed", "trunk", "lag"] = "routed"
    vlans: list[Name] = Field([], description="zones carried on a trunk or lag")
    members: int = Field(2, ge=2, le=8, description="member ports of a lag")
    prefix: Prefix | None = Field(None, description="pin for a routed link; otherwise from pools.p2p")
    ospf_cost: int = Field(10, ge=1, le=65535)

    _p = field_validator("prefix")(lambda v: _net(v) if v is not None else v)

    @model_validator(mode="after")
    def _vlans_only_l2(self) -> Link:
        if self.type == "routed" and self.vlans:
            raise ValueError("'vlans' only applies to type trunk or lag")
        if self.type != "routed" and not self.vlans:
            raise ValueError(f"a {self.type} link needs 'vlans' (the zones it carries)")
        return self


class Server(Strict):
    name: Name
    zone: Name
    function: Description
    services: list[Name] = Field([], description="service names from policy.yaml that this server offers")
    switch: Name = Field(description="access switch the server is cabled to")
    address: IfAddress | None = Field(None, description="pin; otherwise from pools.zone_host")
    kit: Name = "server"

    _a = field_validator("address")(lambda v: _host(v) if v is not None else v)


class Uplink(Strict):
    """An external hand-off: the ISP or the Ji'an city e-government network."""

    name: Name
    kind: Literal["internet", "city"]
    device: Endpoint
    address: IfAddress = Field(description="our side, given by the provider")
    peer: str = Field(pattern=r"^[0-9.]{7,15}$", description="provider's address (no length)")
    peer_asn: int | None = Field(None, ge=1, le=4294967295)
    receive: list[Prefix] = Field([], description="prefixes accepted from the city network")
    source: Source = "chosen"

    _a = field_validator("address")(_iface)

    @model_validator(mode="after")
    def _city_bgp(self) -> Uplink:
        if self.kind == "city" and self.peer_asn is None:
            raise ValueError("a city uplink needs 'peer_asn' for eBGP")
        ipaddress.IPv4Address(self.peer)
        if ipaddress.IPv4Address(self.peer) not in ipaddress.IPv4Interface(self.address).network:
            raise ValueError(f"peer {self.peer} is not inside {self.address}")
        return self


class Rack(Strict):
    """A rack in the machine room: its space, power budget and the switch ports its servers are cabled to."""

    name: Name
    plane: Literal["intranet", "extranet"] = Field(description=(
        "extranet (政务外网, the network countynet builds) or intranet (政务内网, physically separate)"))
    units: int = Field(42, ge=4, le=60, description="height in rack units (U)")
    first_u: int = Field(1, ge=1, description="lowest U servers may take (below it: switch, patch panel, PDU)")
    power_watts: int = Field(ge=100, le=50000, description="power budget of the rack's feeds for servers")
    switch: Name = Field(description=(
        "access switch of the rack: a centre access switch (extranet), or the intranet switch's name (intranet; "
        "never a device of the extranet)"))
    ports: list[PortName] = Field(min_length=1, description="switch ports for servers, e.g. GigabitEthernet1/0/{1..20}")
    description: Description = ""

    @model_validator(mode="after")
    def _space(self) -> Rack:
        if self.first_u > self.units:
            raise ValueError(f"first_u {self.first_u} is above the rack's {self.units} U")
        return self


class PlatformAccess(Strict):
    """One grant of the hosted segments towards the centre's platform (exchange, databases)."""

    to: Name = Field(description="policy zone of the platform, e.g. servers")
    services: list[Name] = Field(min_length=1)
    hosts: list[Name] = Field(min_length=1, description="servers of that zone")


class Hosting(Strict):
    """The hosting machine room (托管机房): racks, and the VLANs of the units' hosting segments."""

    vlan_first: int = Field(ge=2, le=4094, description="first VLAN of the units' hosting segments")
    vlan_last: int = Field(ge=2, le=4094)
    racks: list[Rack] = Field(min_length=1)
    platform: list[PlatformAccess] = Field([], description=(
        "what every unit's extranet hosting segment may open on the centre's platform (generated rules)"))

    @model_validator(mode="after")
    def _range(self) -> Hosting:
        if self.vlan_first > self.vlan_last:
            raise ValueError(f"vlan_first {self.vlan_first} is above vlan_last {self.vlan_last}")
        return self


class CentreFile(Strict):
    """Root of `topology/centre.yaml`: the information centre's machine room and the compound."""

    zones: list[Zone] = Field(min_length=1)
    devices: list[CentreDevice] = Field(min_length=1)
    links: list[Link] = []
    servers: list[Server] = []
    uplinks: list[Uplink] = []
    hosting: Hosting | None = Field(None, description="racks of the hosting machine room (docs/hosting.md)")


# --------------------------------------------------------------------------- units.yaml

class ServerSize(Strict):
    """What a hosted server takes in its rack."""

    u: int = Field(1, ge=1, le=10, description="height in rack units")
    watts: int = Field(300, ge=1, le=5000, description="rated power draw")
    ports: int = Field(1, ge=1, le=4, description="switch ports (the first carries its address)")


class HostedServer(Strict):
    """A unit's server hosted in the centre's machine room (各单位内外网服务器放在县信息中心机房托管)."""

    name: Name = Field(description="host name: one DNS label (lower-case letters, digits, '-')")
    plane: Literal["intranet", "extranet"] = Field(description=(
        "intranet (政务内网, physically separate) or extranet (政务外网, this network)"))
    function: Description
    services: list[Name] = Field([], description="service names from policy.yaml that this server offers")
    reach_from: list[Name] = Field([], description=(
        "policy zones that may open its services besides the unit's own LAN (extranet only)"))
    publish: list[Name] = Field([], description="services published to the internet through the firewalls' NAT "
                                                "(extranet only)")
    size: ServerSize = ServerSize()
    rack: Name | None = Field(None, description="pin a rack; otherwise placed in the first rack with room")
    address: IfAddress | None = Field(None, description="pin; otherwise from its plane's host pool in its segment")
    kit: Name = "server"

    _a = field_validator("address")(lambda v: _host(v) if v is not None else v)

    @model_validator(mode="after")
    def _plane(self) -> HostedServer:
        if self.name.endswith("-"):
            raise ValueError(f"host name {self.name!r} ends with '-'; a DNS label ends with a letter or digit")
        if self.plane == "intranet" and (self.reach_from or self.publish):
            raise ValueError("an intranet server sits on the physically separate 政务内网: it takes no reach_from "
                             "or publish (nothing of the extranet or the internet reaches it)")
        extra = sorted(set(self.publish) - set(self.services))
        if extra:
            raise ValueError(f"publish names {', '.join(extra)}, which the server does not offer; add them to "
                             "services or remove them from publish")
        return self


class Unit(Strict):
    id: Name
    name_zh: Label
    name_en: Label
    kit: Name | None = None
    wave: int | None = Field(None, ge=0)
    superior: Label = Field("", description="superior department in the city network, reached via the centre")
    lan_prefix: Prefix | None = Field(None, description="pin; otherwise from pools.unit_lan")
    hosted: list[HostedServer] = Field([], description="servers the unit hosts in the centre's machine room")

    _p = field_validator("lan_prefix")(lambda v: _net(v) if v is not None else v)


class UnitsFile(Strict):
    """Root of `topology/units.yaml`: county-direct units, each a small LAN on a leased line."""

    default_kit: Name
    default_wave: int = Field(ge=0)
    attach_to: Name = Field(description="centre device terminating the units' leased lines")
    source: Note = ""
    units: list[Unit] = Field(min_length=1)


# --------------------------------------------------------------------------- townships/*.yaml

VillageCode = Annotated[str, Field(pattern=r"^[0-9]{12}$", description=(
    "official 12-digit statistical division code (国家统计局 统计用区划代码), e.g. \"360830101208\"; quote it"))]
TownshipCode = Annotated[str, Field(pattern=r"^[0-9]{9}$", description=(
    "official 9-digit township code (乡镇级统计用区划代码), e.g. \"360830101\"; quote it"))]
VillagePinyin = Annotated[str, Field(pattern=r"^[a-z]+( [a-z]+){0,5}$", description=(
    "lower-case ASCII pinyin without tones or the final cun, words separated by one space, e.g. bailu"))]


class Village(Strict):
    id: Name = Field(description="short, stable id; the host name is <prefix>-<township>-<id> (docs/naming.md)")
    name_zh: Label = ""
    code: VillageCode | None = None
    pinyin: VillagePinyin | None = None
    attach: Literal["leased", "vpn"] = Field(description=(
        "every village needs an uplink: attach: leased (line to the township) or attach: vpn "
        "(IPsec over broadband)"))
    kit: Name | None = None
    source: Source = "placeholder"


class Rollout(Strict):
    township: int = Field(ge=2004, le=2030)
    villages: int = Field(ge=2004, le=2030)
    source: Source


class TownshipFile(Strict):
    """Root of one `topology/townships/<id>.yaml`."""

    id: Name
    name_zh: Label
    pinyin: str
    kind: Literal["town", "township"]
    code: TownshipCode | None = None
    name_in_plan_zh: Label = ""
    area: int = Field(ge=1, le=999, description="OSPF area of the township (stable; chosen)")
    rollout: Rollout
    wave: int = Field(ge=0)
    router_kit: Name
    switch_kit: Name
    village_kit: Name
    attach_to: Name = Field(description="centre device terminating the township's leased line")
    villages_source: Source = Field(description="is the number of villages sourced or chosen?")
    villages_note: Note = ""
    villages: list[Village] = Field(min_length=1)

    @model_validator(mode="after")
    def _village_codes(self) -> TownshipFile:
        """Every village code lies in this township (its first 9 digits are the township's code), once each."""
        seen: dict[str, str] = {}
        for i, v in enumerate(self.villages):
            if v.code is None:
                continue
            if self.code is not None and not v.code.startswith(self.code):
                raise ValueError(f"villages[{i}] ({v.id}): code {v.code} belongs to township {v.code[:9]}, "
                                 f"not to {self.id} ({self.code}); take the village's code from the 2023 "
                                 "statistical division codes of this township, or move it to its township's file")
            if v.code in seen:
                raise ValueError(f"villages[{i}] ({v.id}): code {v.code} is also village {seen[v.code]}'s; "
                                 "each village has its own code")
            seen[v.code] = v.id
        return self

    @field_validator("pinyin")
    @classmethod
    def _ascii(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z' ]{0,40}", v):
            raise ValueError("pinyin is written in Latin letters without tones, e.g. Litian")
        return v


FILE_MODELS: dict[str, type[BaseModel]] = {
    "county": CountyFile,
    "catalog": CatalogFile,
    "centre": CentreFile,
    "units": UnitsFile,
    "township": TownshipFile,
}
