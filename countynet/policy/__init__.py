"""Security policy as code: zone membership, compilation into per-device filters, probe matrix, checks."""
