"""Safe rollout of intended configs: backup, diff, apply with the platform's automatic rollback armed,
post-checks, confirm or roll back, save; in canary-first waves with a failure budget, resumable.

Entry points: :func:`countynet.deploy.engine.deploy`, :func:`countynet.deploy.engine.rollback` and the CLI in
:mod:`countynet.cli.deploy`.
"""
