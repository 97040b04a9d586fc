#!/usr/bin/python
"""Ansible module: run countynet's deploy engine for one host (check mode = dry-run).

A thin wrapper: backup, diff, armed rollback, post-checks, confirm and audit are the engine's, so a
playbook gets exactly the safety of `countynet deploy`. Runs on the controller (connection: local) with
the interpreter that has countynet installed (`ansible_python_interpreter: "{{ ansible_playbook_python }}"`).

Per host it reads the build's manifest and that one host's files (checked against their sha256), never the
whole county: its cost does not grow with the size of the build.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: countynet_deploy
short_description: Safe push of one device's intended config with countynet's engine
options:
  host: {description: inventory host name, required: true, type: str}
  project_dir: {description: countynet project directory, type: path, default: "."}
  build_dir: {description: the `countynet build` output directory, type: path, default: build}
  allow_modified: {description: push build files that differ from manifest.json, type: bool, default: false}
  inventory_dir: {description: a Nornir inventory overriding the build's addresses/ports/data, type: path}
  backup_dir: {type: path, default: backups}
  audit_log: {type: path, default: audit/deploy.jsonl}
  state_dir: {type: path, default: .countynet/ansible}
  known_hosts: {type: path}
  insecure: {type: bool, default: false}
  rollback_timer: {type: int, default: 300}
  change_id: {type: str}
  vault_file: {type: path}
  vault_password_file: {type: path}
notes:
  - Credentials come from COUNTYNET_USERNAME / COUNTYNET_PASSWORD or COUNTYNET_SSH_KEY in the environment.
  - Check mode (--check) maps to the engine's dry-run; --diff shows the masked remediation.
"""

import os  # noqa: E402
from pathlib import Path  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "project_dir": {"type": "path", "default": "."},
            "build_dir": {"type": "path", "default": "build"},
            "allow_modified": {"type": "bool", "default": False},
            "inventory_dir": {"type": "path", "default": None},
            "backup_dir": {"type": "path", "default": "backups"},
            "audit_log": {"type": "path", "default": "audit/deploy.jsonl"},
            "state_dir": {"type": "path", "default": ".countynet/ansible"},
            "known_hosts": {"type": "path", "default": None},
            "insecure": {"type": "bool", "default": False},
            "rollback_timer": {"type": "int", "default": 300},
            "change_id": {"type": "str", "default": None},
            "vault_file": {"type": "path", "default": None},
            "vault_password_file": {"type": "path", "default": None},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        from countynet.deploy.engine import UsageError, deploy
        from countynet.deploy.model import Options, Outcome
        from countynet.deploy.secrets import SecretError, SecretStore
    except ImportError as exc:
        module.fail_json(msg=f"countynet is not importable by {os.sys.executable}: {exc}; set "
                             "ansible_python_interpreter to the countynet venv's python")
        return
    root = Path(p["project_dir"])

    def at(x: str | None) -> Path | None:
        return None if x is None else (Path(x) if os.path.isabs(x) else root / x)

    opts = Options(build_dir=at(p["build_dir"]), allow_modified=p["allow_modified"],
                   inventory_dir=at(p["inventory_dir"]), backup_dir=at(p["backup_dir"]), audit_log=at(p["audit_log"]),
                   state_file=at(p["state_dir"]) / f"{p['host']}.json",
                   known_hosts=at(p["known_hosts"]) or Path.home() / ".ssh" / "known_hosts",
                   insecure=p["insecure"], commit=not module.check_mode, limit=p["host"], canary=0,
                   max_fail="0", workers=1, rollback_timer=p["rollback_timer"], change_id=p["change_id"])
    try:
        store = SecretStore.from_options(at(p["vault_file"]), at(p["vault_password_file"]))
        rep = deploy(opts, store)
    except (UsageError, SecretError) as exc:
        module.fail_json(msg=str(exc))
        return
    r = rep.results[p["host"]]
    for note in rep.warnings:
        module.warn(note)
    result = {"changed": r.outcome in (Outcome.COMMITTED, Outcome.WOULD_CHANGE), "outcome": r.outcome.value,
              "detail": r.detail, "backup": r.backup, "checks": r.checks, "change_id": rep.change_id,
              "diff_sha256": r.diff_sha256}
    if module._diff and r.diff:
        result["diff"] = {"prepared": r.diff}
    if r.outcome.is_failure:
        module.fail_json(msg=f"{p['host']}: {r.outcome.value}: {r.detail}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
