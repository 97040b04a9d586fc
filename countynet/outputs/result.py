"""What a build computes before it is written: the compiled topology, every device's intent, its rendered
configs and the other output files. Shared by the pipeline and the output writers (derived files, policy data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from countynet.errors import Diagnostic
from countynet.intent.models import DeviceIntent
from countynet.topology.loader import Topology


@dataclass
class BuildResult:
    topology: Topology
    intents: dict[str, DeviceIntent]
    lock: dict[str, Any]
    old_lock: dict[str, Any]
    configs: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # other files: relative path -> text
    internal: list[str] = field(default_factory=list)  # the county's own aggregates
    warnings: list[Diagnostic] = field(default_factory=list)
    # the ACL number lock (countynet.intent.policy.numbering): host -> filter -> line key -> number
    acl_lock: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    old_acl_lock: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
