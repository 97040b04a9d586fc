"""Per-platform push drivers: how to read the running config, apply with an automatic rollback armed,
confirm, roll back, save and run post-check commands. One class per driver name; a platform flavour's
`deploy.driver` (countynet/platforms) names the one its devices use."""

from __future__ import annotations

from countynet import platforms
from countynet.deploy.drivers.base import Driver
from countynet.deploy.drivers.linux import LinuxDriver
from countynet.deploy.drivers.netcli import ComwareDriver, IosDriver, Vrp5Driver, Vrp8Driver

# by class name: a platform flavour's `deploy.driver` names one of these classes
DRIVERS: dict[str, type[Driver]] = {cls.__name__: cls for cls in (Vrp5Driver, Vrp8Driver, ComwareDriver, IosDriver,
                                                                 LinuxDriver)}


def driver_for(device_type: str) -> type[Driver]:
    """The driver class for a flavour name or a Netmiko device_type (what the Nornir inventory carries);
    ValueError naming the known ones otherwise."""
    try:
        return DRIVERS[platforms.lookup(device_type).deploy.driver]
    except platforms.UnknownFlavour as exc:
        raise ValueError(f"no push driver for device type {device_type!r}: {exc}") from None
