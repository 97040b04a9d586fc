"""The review as one self-contained HTML page and as Markdown (Chinese first, English second).

The HTML page needs no network: CSS and the Graphviz SVG diagrams are inline, there is no script, no web
font and no external reference, and a Content-Security-Policy (`default-src 'none'`) makes a browser refuse
anything that would try. Text is escaped by Jinja2's autoescape; only the SVG that Graphviz wrote is
inserted as markup. The Markdown carries the same sections for a merge-request comment or a GitHub job
summary (diagrams are linked as SVG files beside it; configuration diffs are capped, the page has them all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from countynet.review.compare import AddressChange, DeviceChange, Review, RuleChange
from countynet.review.diagram import COLOURS, LEGEND, MARKS, Diagram

KIND_ZH = {"added": "新增 added", "removed": "删除 removed", "moved": "迁移 moved", "changed": "配置变更 changed",
           "freed": "释放 freed", "new": "新分配 new", "allowed": "允许 allowed", "denied": "拒绝 denied",
           "absent": "不再探测 not probed", "hold-ended": "保留期满 hold ended"}
FIELD_ZH = {"services": "服务 services", "ports": "端口 ports", "destination_hosts": "目的主机 hosts",
            "from": "源区域 from", "to": "目的区域 to", "scope": "范围 scope", "owner": "负责人 owner",
            "reason": "理由 reason", "expires": "到期 expires"}
REGION_ZH = {"change": "变化 change", "from": "源区域 from", "to": "目的区域 to", "packets": "报文数 packets",
             "example": "示例 example", "rule": "规则 rule", "regions": "地址/端口区域 regions"}
MD_DIFF_LINES = 120      # per device in the Markdown (the HTML page has every line)
MD_DIFF_TOTAL = 4000     # in all; a GitHub job summary holds 1 MiB
MD_ROWS = 300            # rows per table in the Markdown (the HTML page and review.json have them all)

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:1.5rem auto;
max-width:1200px;padding:0 1rem;color:#24292f;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.25rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;width:100%}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f6f8fa}
code,pre{font-family:"DejaVu Sans Mono",monospace;font-size:.82rem}pre{background:#f6f8fa;padding:.5rem;overflow:auto}
.k-added{color:#1a7f37}.k-removed{color:#cf222e}.k-moved{color:#9a6700}.k-changed{color:#0969da}
.tag{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.8rem;border:1px solid currentColor}
.add{color:#1a7f37;background:#dafbe1;display:block}.del{color:#cf222e;background:#ffebe9;display:block}
.hunk{color:#8250df;display:block}.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem}
.legend span{margin-right:1rem}.swatch{display:inline-block;width:.9rem;height:.9rem;vertical-align:middle;
margin-right:.25rem;border:2px solid}.diagram svg{max-width:100%;height:auto}details{margin:.3rem 0}
summary{cursor:pointer}.gained{color:#1a7f37}.lost{color:#cf222e}.muted{color:#57606a}
"""

PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>变更审查 Change review: {{ r.before_label }} → {{ r.after_label }}</title>
<style>{{ css }}</style>
</head>
<body>
<h1>变更审查 Change review</h1>
<p>基线 Before: <code>{{ r.before_label }}</code> → 变更后 After: <code>{{ r.after_label }}</code></p>
<h2 id="summary">摘要 Summary</h2>
<table id="summary-table"><tr>
<th>新增设备 added</th><th>删除设备 removed</th><th>迁移设备 moved</th><th>配置变更 changed</th>
<th>地址变更 address changes</th><th>同批复用 reused at once</th><th>规则变更 rules</th><th>流变化 flows</th></tr>
<tr>{% for k in ["added","removed","moved","changed","addresses","reused","rules","flows"] %}
<td data-count="{{ k }}">{{ s[k] }}</td>{% endfor %}</tr></table>

<h2 id="devices">设备变更 Devices added, removed and moved</h2>
{% if not moves %}<p class="muted">无设备新增、删除或迁移。No device added, removed or moved.</p>{% else %}
<table id="device-changes"><tr><th>变更 change</th><th>设备 device</th><th>角色 role</th><th>名称 name</th>
<th>位置 site</th><th>配置行 config lines</th></tr>
{% for c in moves %}<tr class="k-{{ c.kind }}" data-host="{{ c.host }}" data-kind="{{ c.kind }}">
<td><span class="tag">{{ kind_zh[c.kind] }}</span></td>
<td><code>{{ c.host }}</code>{% if c.old_host %}<br>
<span class="muted">原名 was <code>{{ c.old_host }}</code></span>{% endif %}</td>
<td>{{ c.role }}</td><td>{{ label(c) }}</td><td>{{ c.where }}</td><td>+{{ c.added }} −{{ c.removed }}</td></tr>
{% endfor %}</table>{% endif %}

<h2 id="addresses">地址变更 Address changes</h2>
{% if reused %}<p class="warn" id="reuse-warning">⚠ 本次变更中释放的地址被立即复用 An address freed in this change is
taken by another owner in the same change: {% for a in reused %}<code>{{ a.key }}</code> ({{ a.after }}) ←
{{ a.reuses|join(", ") }}{% if not loop.last %}; {% endif %}{% endfor %}. 请确认旧设备已下线，ARP/路由缓存已清除。
Make sure the old device is gone and caches have expired before the new one comes up.</p>{% endif %}
{% if not r.addresses %}<p class="muted">地址锁文件无变化。The lock file does not change.</p>{% else %}
<table id="address-changes"><tr><th>变更 change</th><th>所有者 owner</th><th>之前 before</th><th>之后 after</th>
<th>复用 reuse</th></tr>
{% for a in r.addresses %}<tr data-key="{{ a.key }}" data-kind="{{ a.kind }}"><td>{{ kind_zh.get(a.kind, a.kind) }}</td>
<td><code>{{ a.key }}</code></td><td>{{ a.before or "" }}</td><td>{{ a.after or "" }}</td>
<td>{% if a.reused_by %}由 taken by {{ a.reused_by|join(", ") }}{% endif %}{% if a.reuses %}复用 reuses
{{ a.reuses|join(", ") }}{% endif %}{% if a.same_device %}同一设备迁移 same device, moved:
<code>{{ a.same_device }}</code>{% endif %}{% if a.held_until %}保留至 held until {{ a.held_until }}
（期间不会分配给他人 not given to another owner before）{% endif %}</td></tr>
{% endfor %}</table>{% endif %}

<h2 id="policy">策略变更 Policy change</h2>
{% if r.policy_note %}<p class="muted" id="policy-note">{{ r.policy_note }}</p>{% endif %}
{% if not r.rules %}<p class="muted">规则无变化。No rule changes.</p>{% else %}
<table id="rule-changes"><tr><th>规则 rule</th><th>变更 change</th><th>负责人 owner</th><th>理由 reason</th>
<th>到期 expires</th><th>获得 gained</th><th>失去 lost</th></tr>
{% for c in r.rules %}<tr data-rule="{{ c.name }}" data-kind="{{ c.kind }}"><td><code>{{ c.name }}</code></td>
<td>{{ kind_zh[c.kind] }}</td><td>{{ c.owner }}</td><td>{{ c.reason }}</td><td>{{ c.expires or "—" }}</td>
<td class="gained">{% for f, vs in c.gained.items() %}<div>{{ field_zh[f] }}: {{ vs|join(", ") }}</div>
{% endfor %}</td>
<td class="lost">{% for f, vs in c.lost.items() %}<div>{{ field_zh[f] }}: {{ vs|join(", ") }}</div>
{% endfor %}</td></tr>
{% endfor %}</table>
{% for c in r.rules if c.permits_gained or c.permits_lost %}<details open class="permits" data-rule="{{ c.name }}">
<summary>规则 <code>{{ c.name }}</code> 的许可 permits: 获得 gained {{ c.permits_gained|length }}, 失去 lost
{{ c.permits_lost|length }}</summary><ul>{% for p in c.permits_gained %}
<li class="gained" data-permit="gained">+ {{ p }}</li>
{% endfor %}{% for p in c.permits_lost %}<li class="lost" data-permit="lost">− {{ p }}</li>{% endfor %}</ul></details>
{% endfor %}{% endif %}
{% if r.regions %}<h3>穷举差异 Exhaustive difference ({{ r.regions|length }})</h3><table id="region-changes"><tr>
{% for k in region_cols %}<th>{{ region_zh.get(k, k) }}</th>{% endfor %}</tr>
{% for row in r.regions %}<tr data-change="{{ row.get('change', '') }}" data-rule="{{ row.get('rule', '') }}">
{% for k in region_cols %}<td>
{{ kind_zh.get(row.get(k, ""), row.get(k, "")) if k == "change" else row.get(k, "") }}</td>
{% endfor %}</tr>{% endfor %}</table>{% endif %}
<h3>探测流变化 Probe flows whose verdict changes ({{ r.flows|length }})</h3>
<p class="muted">探测流是样本：“不再探测”表示变更后的探测矩阵不含此流，其结果以上方规则许可为准。
Probe flows are samples: "not probed" means the new probe matrix has no such flow; the rule permits above say
what is allowed.</p>
{% if r.flows %}<table id="flow-changes">
<tr><th>流 flow</th><th>规则 rule</th><th>之前 before</th><th>之后 after</th></tr>
{% for f in r.flows %}<tr data-flow="{{ f.flow }}"><td><code>{{ f.flow }}</code></td>
<td>{{ f.rule_after or f.rule_before }}</td><td>{{ kind_zh.get(f.before, f.before) }}</td>
<td>{{ kind_zh.get(f.after, f.after) }}</td></tr>{% endfor %}</table>{% else %}<p class="muted">无。None.</p>{% endif %}

<h2 id="diagrams">拓扑图 Topology diagrams</h2>
<p class="legend">{% for k, text in legend %}<span><span class="swatch" style="border-color:{{ colours[k] }}"></span>
{{ marks[k] }} {{ text }}</span>{% endfor %}</p>
{% if diagrams_note %}<p class="warn">{{ diagrams_note }}</p>{% endif %}
{% for d in diagrams if d.changed or d.kind == "county" %}
<details open class="diagram" data-diagram="{{ d.kind }}:{{ d.key }}"><summary>{{ d.title }}</summary>
{{ svg(d) }}</details>
{% endfor %}
{% if unchanged %}<details><summary>未变的图 Unchanged diagrams ({{ unchanged|length }})</summary>
{% for d in unchanged %}<details class="diagram" data-diagram="{{ d.kind }}:{{ d.key }}">
<summary>{{ d.title }}</summary>
{{ svg(d) }}</details>{% endfor %}</details>{% endif %}

<h2 id="configs">配置差异 Configuration diffs ({{ with_diffs|length }})</h2>
{% for c in with_diffs %}<details class="config-diff" data-host="{{ c.host }}"><summary><span class="k-{{ c.kind }}">
{{ marks[c.kind] }}</span> <code>{{ c.host }}</code> {{ c.where }} (+{{ c.added }} −{{ c.removed }})</summary>
{% for name, text in c.diffs.items() %}<pre data-file="{{ name }}">{{ colour_diff(text) }}</pre>{% endfor %}</details>
{% endfor %}
<p class="muted">由 countynet review 生成。Written by countynet review; this page loads nothing from the network.</p>
</body>
</html>
"""


def _label(c: DeviceChange) -> str:
    d = c.after or c.before
    return d.label if d else ""


def _colour_diff(text: str) -> Markup:
    out = []
    for line in text.splitlines():
        esc = Markup.escape(line)
        if line.startswith("+") and not line.startswith("+++"):
            out.append(Markup('<span class="add">{}</span>').format(esc))
        elif line.startswith("-") and not line.startswith("---"):
            out.append(Markup('<span class="del">{}</span>').format(esc))
        elif line.startswith("@@"):
            out.append(Markup('<span class="hunk">{}</span>').format(esc))
        else:
            out.append(Markup("{}\n").format(esc))
    return Markup("").join(out)


def html(review: Review, diagrams: Iterable[Diagram] = (), diagrams_note: str = "") -> str:
    """The review as one self-contained HTML page."""
    diags = list(diagrams)
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    cols: list[str] = []
    for row in review.regions:
        cols += [k for k in row if k not in cols]
    return env.from_string(PAGE).render(
        r=review, s=review.summary(), css=Markup(CSS), kind_zh=KIND_ZH, field_zh=FIELD_ZH,
        moves=[c for c in review.devices if c.kind != "changed"], label=_label,
        reused=[a for a in review.addresses if a.reuses], legend=LEGEND, colours=COLOURS, marks=MARKS,
        diagrams=diags, unchanged=[d for d in diags if not d.changed and d.kind != "county"],
        svg=lambda d: Markup(d.svg), diagrams_note=diagrams_note, region_cols=cols, region_zh=REGION_ZH,
        with_diffs=[c for c in review.devices if c.diffs], colour_diff=_colour_diff)


# ------------------------------------------------------------------------------------------------ Markdown


def _cell(v: Any) -> str:
    return str(v if v is not None else "").replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: Iterable[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    all_rows = list(rows)
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in all_rows[:MD_ROWS]]
    if len(all_rows) > MD_ROWS:
        out += ["", f"... {len(all_rows) - MD_ROWS} more row(s): 完整列表见 HTML 页面 see the HTML page or review.json"]
    return out


def _fields(d: dict[str, list[str]]) -> str:
    return "; ".join(f"{FIELD_ZH[f]}: {', '.join(vs)}" for f, vs in d.items())


def _rule_row(c: RuleChange) -> list[Any]:
    return [f"`{c.name}`", KIND_ZH[c.kind], c.owner, c.reason, c.expires or "—", _fields(c.gained), _fields(c.lost)]


def _addr_row(a: AddressChange) -> list[Any]:
    reuse = (f"由 taken by {', '.join(a.reused_by)}" if a.reused_by else "") + (
        f"复用 reuses {', '.join(a.reuses)}" if a.reuses else "") + (
        f"同一设备迁移 same device, moved: `{a.same_device}`" if a.same_device else "") + (
        f"保留至 held until {a.held_until}" if a.held_until else "")
    return [KIND_ZH.get(a.kind, a.kind), f"`{a.key}`", a.before or "", a.after or "", reuse]


def markdown(review: Review, diagrams: Iterable[Diagram] = (), diagram_dir: str = "", diagrams_note: str = "") -> str:
    """The same review in Markdown (for a merge request or a GitHub job summary)."""
    s = review.summary()
    lines = [f"# 变更审查 Change review: `{review.before_label}` → `{review.after_label}`", ""]
    lines += _table(["新增 added", "删除 removed", "迁移 moved", "配置变更 changed", "地址变更 addresses",
                     "同批复用 reused", "规则 rules", "流 flows"],
                    [[s["added"], s["removed"], s["moved"], s["changed"], s["addresses"], s["reused"], s["rules"],
                      s["flows"]]])
    lines += ["", "## 设备变更 Devices added, removed and moved", ""]
    moves = [c for c in review.devices if c.kind != "changed"]
    if moves:
        lines += _table(["变更 change", "设备 device", "角色 role", "名称 name", "位置 site", "配置行 lines"],
                        [[KIND_ZH[c.kind], f"`{c.host}`" + (f" (原名 was `{c.old_host}`)" if c.old_host else ""),
                          c.role, _label(c), c.where, f"+{c.added} −{c.removed}"] for c in moves])
    else:
        lines.append("无设备新增、删除或迁移。No device added, removed or moved.")
    lines += ["", "## 地址变更 Address changes", ""]
    reused = [a for a in review.addresses if a.reuses]
    if reused:
        lines.append("> ⚠ 本次变更中释放的地址被立即复用 An address freed in this change is taken by another owner "
                     "in the same change: " + "; ".join(f"`{a.key}` ({a.after}) ← {', '.join(a.reuses)}"
                                                        for a in reused))
        lines.append("")
    lines += (_table(["变更 change", "所有者 owner", "之前 before", "之后 after", "复用 reuse"],
                     [_addr_row(a) for a in review.addresses]) if review.addresses
              else ["地址锁文件无变化。The lock file does not change."])
    lines += ["", "## 策略变更 Policy change", ""]
    if review.policy_note:
        lines += [f"_{review.policy_note}_", ""]
    lines += (_table(["规则 rule", "变更 change", "负责人 owner", "理由 reason", "到期 expires", "获得 gained",
                      "失去 lost"], [_rule_row(c) for c in review.rules]) if review.rules
              else ["规则无变化。No rule changes."])
    for c in review.rules:
        if c.permits_gained or c.permits_lost:
            lines += ["", f"规则 `{c.name}` 的许可 permits: 获得 gained {len(c.permits_gained)}, 失去 lost "
                      f"{len(c.permits_lost)}", ""]
            listed = [f"- \\+ {p}" for p in c.permits_gained] + [f"- − {p}" for p in c.permits_lost]
            lines += listed[:MD_ROWS]
            if len(listed) > MD_ROWS:
                lines.append(f"- ... {len(listed) - MD_ROWS} more: 完整列表见 HTML 页面 see the HTML page")
    if review.regions:
        cols: list[str] = []
        for row in review.regions:
            cols += [k for k in row if k not in cols]
        lines += ["", f"### 穷举差异 Exhaustive difference ({len(review.regions)})", ""]
        lines += _table([REGION_ZH.get(k, k) for k in cols], [[row.get(k, "") for k in cols] for row in review.regions])
    lines += ["", f"### 探测流变化 Probe flows whose verdict changes ({len(review.flows)})", ""]
    lines += (_table(["流 flow", "规则 rule", "之前 before", "之后 after"],
                     [[f"`{f.flow}`", f.rule_after or f.rule_before, KIND_ZH.get(f.before, f.before),
                       KIND_ZH.get(f.after, f.after)] for f in review.flows]) if review.flows else ["无。None."])
    lines += ["", "## 拓扑图 Topology diagrams", "",
              "图例 Legend: " + ", ".join(f"{MARKS[k] or '·'} {text}" for k, text in LEGEND), ""]
    if diagrams_note:
        lines += [f"> {diagrams_note}", ""]
    for d in diagrams:
        if not d.changed and d.kind != "county":
            continue
        changed = ", ".join(f"{MARKS[k]} {n}" for n, k in sorted(d.marks.items()) if k)
        link = f"[{d.title}]({diagram_dir}{d.kind}-{d.key or 'county'}.svg)" if diagram_dir else d.title
        lines.append(f"- {link}: {changed or '无变化 no change'}")
    lines += ["", "## 配置差异 Configuration diffs", ""]
    budget = MD_DIFF_TOTAL
    for dc in review.devices:
        if not dc.diffs:
            continue
        text = "".join(dc.diffs.values()).splitlines()
        cut = text[:max(0, min(MD_DIFF_LINES, budget))]
        budget -= len(cut)
        lines += [f"<details><summary>{MARKS[dc.kind]} <code>{dc.host}</code> {dc.where} (+{dc.added} −{dc.removed})"
                  "</summary>", "", "```diff", *cut]
        if len(cut) < len(text):
            lines.append(f"... {len(text) - len(cut)} more line(s): 完整差异见 HTML 页面 see the HTML page")
        lines += ["```", "", "</details>"]
    return "\n".join(lines) + "\n"


def as_json(review: Review) -> str:
    """The review's data as JSON (for tools), without the diagrams."""
    from dataclasses import asdict

    data = asdict(review)
    data.pop("devices_before")
    data.pop("devices_after")
    data["summary"] = review.summary()
    return json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n"


def write(review: Review, out: Path, diagrams: list[Diagram], diagrams_note: str = "") -> dict[str, Path]:
    """Write review.html, review.md, review.json and diagrams/*.svg under `out`; return the paths."""
    from countynet.fileio import atomic_write_text

    paths = {"html": out / "review.html", "md": out / "review.md", "json": out / "review.json"}
    for d in diagrams:
        atomic_write_text(out / "diagrams" / f"{d.kind}-{d.key or 'county'}.svg", d.svg)
    atomic_write_text(paths["html"], html(review, diagrams, diagrams_note))
    atomic_write_text(paths["md"], markdown(review, diagrams, "diagrams/", diagrams_note))
    atomic_write_text(paths["json"], as_json(review))
    return paths
