"""The emulated county network: one Linux network namespace per device, configured from its linux rendering.

See docs/lab.md. Entry points: `countynet.cli.lab` (typer sub-app) and `countynet.lab.api` (for tests).
"""
