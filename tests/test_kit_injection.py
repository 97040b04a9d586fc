"""Text from YAML never becomes a shell command in the township kit (issue 10: shell injection)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from countynet.outputs.kits import township_script

HOSTILE = ["澧田镇$(touch PWNED)", "澧田镇`touch PWNED`", "x'; touch PWNED; '", "a\ntouch PWNED\n#", "$HOME ${IFS}"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_township_name_stays_text(bundled, tmp_path: Path, name: str) -> None:
    switch = next(d for d in bundled.intents.values() if d.role == "township_switch")
    script = township_script(switch.township or "t", name, switch, "192.0.2.1", [("portal", "192.0.2.1", 443)],
                             "192.0.2.2", "example.gov.cn")
    path = tmp_path / "check-network.sh"
    path.write_text(script, encoding="utf-8")
    # the script stops at step 1 on this machine (no address in the township LAN); its header runs first
    proc = subprocess.run(["sh", str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert not (tmp_path / "PWNED").exists(), "a name in the topology ran as a command"
    header = proc.stdout.splitlines()[0]
    assert header == f"== {name.replace(chr(10), ' ')} 网络自检 / network self-check =="
    assert proc.returncode == 1 and "E01" in proc.stdout
