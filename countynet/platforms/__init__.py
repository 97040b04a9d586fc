"""Platform flavours: one data file each (``<flavour>.yaml``), loaded by :mod:`countynet.platforms.registry`."""

from countynet.platforms.registry import (
    Flavour,
    RegistryError,
    UnknownFlavour,
    abstract_flavours,
    batfish_target,
    configured_by_files,
    families,
    family_flavour,
    flavour,
    flavours,
    for_platform,
    lookup,
)

__all__ = ["Flavour", "RegistryError", "UnknownFlavour", "abstract_flavours", "batfish_target", "configured_by_files",
           "families", "family_flavour", "flavour", "flavours", "for_platform", "lookup"]
