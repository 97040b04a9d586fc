"""One pure function per feature of a device's intent.

A *layout* feature ``f(dev, facts) -> Part`` gives the interfaces, VLANs, static routes, OSPF areas, DHCP
pools, VPN or BGP that one feature puts on one device; it reads only the device's plan and the county facts
and never writes into another device. A *section* feature ``f(dev, facts, layout) -> section`` derives one
section of the intent (OSPF, management, NAT, server) from the device's concatenated layout. The order of
both kinds is stated once, in :mod:`countynet.intent.assemble`.
"""
