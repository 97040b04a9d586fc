"""Per-platform push drivers: how to read the running config, apply with an automatic rollback armed,
confirm, roll back, save and run post-check commands. One class per platform, chosen by Netmiko type."""

from __future__ import annotations

from countynet.deploy.drivers.base import Driver
from countynet.deploy.drivers.linux import LinuxDriver
from countynet.deploy.drivers.netcli import ComwareDriver, IosDriver, Vrp5Driver, Vrp8Driver

DRIVERS: dict[str, type[Driver]] = {
    "huawei": Vrp5Driver,
    "huawei_vrp": Vrp5Driver,
    "huawei_vrpv8": Vrp8Driver,
    "hp_comware": ComwareDriver,
    "h3c_comware": ComwareDriver,
    "cisco_ios": IosDriver,
    "cisco_xe": IosDriver,
    "linux": LinuxDriver,
}


def driver_for(device_type: str) -> type[Driver]:
    try:
        return DRIVERS[device_type]
    except KeyError:
        raise ValueError(f"no push driver for device type {device_type!r}; known: {', '.join(DRIVERS)}") from None
