"""`countynet review [--against REF]`: the change review page (HTML + Markdown) of the build against git REF.

The current side is the build directory (`--build`, read through its manifest, refused when stale or
hand-edited unless `--allow-modified`) with the lock beside its topology; the reference side is the
topology at REF built into a temporary directory with the CLI's build path (as `verify --against` does).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from countynet.cli.common import err, out
from countynet.review.compare import EXHAUSTIVE_PENDING


def _lock(topology: Path) -> dict[str, Any]:
    path = topology / "addresses.lock.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _regions(before: Any, after: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The exhaustive policy diff from the verifier (`countynet.verify.offline_run.offline_diff`): every region
    of admitted traffic added or removed per zone pair. (None, why) when it cannot run on these builds: the
    page then says the policy diff is not exhaustive, never that nothing changed."""
    from countynet.outputs.build_reader import BuildError

    try:
        from countynet.verify.offline_run import offline_diff
    except ImportError as exc:
        return None, f"穷举差异不可用 The exhaustive diff is not available here ({exc}); {EXHAUSTIVE_PENDING}"
    try:
        rows = offline_diff(after, before)
    except (BuildError, ValueError) as exc:
        why = exc.render() if isinstance(exc, BuildError) else str(exc)
        return None, (f"穷举差异未能运行 The exhaustive diff could not run: {why.splitlines()[0]}. "
                      f"{EXHAUSTIVE_PENDING}")
    regions = [dict(r) for r in rows if r.get("change") in ("added", "removed")]
    note = ("穷举差异：countynet verify 的符号引擎比较了两次构建中每对端点之间的全部报文，下表列出每个区域对"
            "新增或失去的允许流量。Exhaustive difference: countynet verify's symbolic engine compared every packet "
            "between every pair of endpoints of both builds; the table lists, per zone pair, the admitted traffic "
            "added or removed.")
    return regions, note


def register(app: typer.Typer) -> None:
    @app.command()
    def review(
        directory: Annotated[Path | None, typer.Argument(
            help="topology directory the build was made from (default: topology/ beside the build)")] = None,
        against: Annotated[str, typer.Option("--against", help="git ref to review the change against")] = "HEAD",
        build: Annotated[Path, typer.Option("--build", help="build directory (written by `countynet build`)")
                         ] = Path("build"),
        allow_modified: Annotated[bool, typer.Option("--allow-modified",
                                                     help="use build files that differ from manifest.json")] = False,
        out_dir: Annotated[Path | None, typer.Option("--out", help="where review.html/.md/.json and diagrams/ go "
                                                     "(default: <build>/reports/review)")] = None,
        exhaustive: Annotated[bool, typer.Option("--exhaustive/--no-exhaustive",
                                                 help="diff every packet's fate with verify's symbolic engine "
                                                      "(slower; without it the policy diff is rule-level)")] = True,
        as_json: Annotated[bool, typer.Option("--json", help="print the review's data as JSON")] = False,
    ) -> None:
        """Write the change review (HTML page, Markdown, diagrams) of the build against git REF. Exit 0 written,
        2 cannot run (bad input, no build, REF does not build)."""
        from countynet.cli.verify import build_failed, open_build, reference_build, warn_accepted
        from countynet.outputs.build_reader import BuildError
        from countynet.review import diagram, page
        from countynet.review.compare import compare

        topology = directory or build.resolve().parent / "topology"
        reader = open_build(build, allow_modified, directory)
        target = out_dir or build / "reports" / "review"
        with tempfile.TemporaryDirectory(prefix="countynet-review-") as tmp:
            try:
                ref = reference_build(topology, against, Path(tmp), as_json)
                ref_lock = _lock(Path(tmp) / "src" / _rel(topology))
                regions, note = _regions(ref, reader) if exhaustive else (None, None)
                rev = compare(ref, reader, ref_lock, _lock(topology), before_label=against,
                              after_label=f"{build}", regions=regions, policy_note=note)
            except BuildError as exc:
                build_failed(exc)
            except typer.BadParameter as exc:
                err.print(f"error: review --against {against}: {exc.message}", markup=False)
                raise typer.Exit(2) from None
        why = diagram.available()
        diags: list[Any] = []
        note = ""
        if why:
            note = f"拓扑图未生成 Diagrams not drawn: {why}"
            err.print(f"warning: {note}", markup=False)
        else:
            diags = diagram.diagrams(rev)
        paths = page.write(rev, target, diags, note)
        warn_accepted(reader)
        if as_json:
            print(page.as_json(rev), end="")
            return
        s = rev.summary()
        out.print(f"review against {against}: {s['added']} added, {s['removed']} removed, {s['moved']} moved, "
                  f"{s['changed']} changed device(s); {s['addresses']} address change(s) ({s['reused']} reused); "
                  f"{s['rules']} rule(s), {s['flows']} probe flow(s) change", markup=False, highlight=False)
        out.print(f"wrote {paths['html']} and {paths['md']}", markup=False, highlight=False)


def _rel(topology: Path) -> Path:
    """The topology directory relative to its git checkout (where the reference copy is extracted)."""
    import subprocess

    top = subprocess.run(["git", "-C", str(topology), "rev-parse", "--show-toplevel"], capture_output=True,
                         text=True).stdout.strip()
    return topology.resolve().relative_to(Path(top)) if top else Path(topology.name)
