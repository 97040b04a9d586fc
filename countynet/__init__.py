"""countynet: the Yongxin County e-government network as code.

The public API is one function per stage, in the order data flows (in the manner of pyavd):

>>> import countynet
>>> topo = countynet.load("topology")                 # validated model (raises TopologyError on bad input)
>>> result = countynet.build_intents("topology")      # + addresses (lock) + per-device intent + policy
>>> result = countynet.render_configs(result)         # + configuration files per device
>>> manifest = countynet.write_build(result, "build") # build/ and inventory/ written atomically, lock updated

Names resolve lazily, so importing one stage (for example `countynet.deploy`) never loads the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from countynet.outputs.pipeline import BuildResult
    from countynet.topology.loader import Topology

__all__ = ["build_intents", "load", "render_configs", "write_build"]


def load(topology_dir: str | Path) -> Topology:
    """Load and validate a topology directory; raise `countynet.errors.TopologyError` with every problem."""
    from pathlib import Path

    from countynet.topology.loader import load as _load

    return _load(Path(topology_dir))


def build_intents(topology_dir: str | Path) -> BuildResult:
    """Validate, allocate addresses against the lock and build every device's intent (policy compiled in)."""
    from pathlib import Path

    from countynet.outputs.pipeline import compile_topology

    return compile_topology(Path(topology_dir))


def render_configs(result: BuildResult) -> BuildResult:
    """Render every device's configuration files from its intent; returns the same result, configs filled."""
    from countynet.outputs.pipeline import render as _render

    return _render(result)


def write_build(result: BuildResult, out: str | Path = "build") -> dict[str, Any]:
    """Write the build directory, the inventories and the lock file atomically; return the manifest."""
    from pathlib import Path

    from countynet.outputs.pipeline import write_build as _write

    return _write(result, Path(out))

