"""Generate a province-sized network: N counties shaped like Yongxin, each with its own names and pools.

Every county is a full topology directory (a province runs one countynet topology per county); names and
address pools are rewritten so that no two counties share an address or a host name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(dest: Path, counties: int = 100) -> list[Path]:
    out = []
    src = ROOT / "topology"
    for n in range(counties):
        d = dest / f"county{n:03d}" / "topology"
        shutil.copytree(src, d)
        (d / "addresses.lock.yaml").unlink(missing_ok=True)
        second = 40 + n  # 10.40.0.0/16 ... one /16 per county; the city keeps 10.36.0.0/16
        for f in [*d.glob("*.yaml"), *d.glob("townships/*.yaml")]:
            text = f.read_text(encoding="utf-8")
            text = text.replace("10.30.", f"10.{second}.").replace("yx-", f"c{n:03d}-")
            text = text.replace("prefix: yx", f"prefix: c{n:03d}").replace("name: yongxin", f"name: county{n:03d}")
            f.write_text(text, encoding="utf-8")
        out.append(d)
    return out
