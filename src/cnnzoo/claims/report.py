"""The claims report: ``report.md`` and a self-contained ``report.html`` (figures inlined).

For each claim: the sentence, the paper, the setting (budget, seeds, length, data), what is
measured, the findings with their intervals and verdicts, the table of numbers, one figure,
notes and the command that reruns it. Everything is recomputed from the claim records by the
claims' rules; nothing in the report is typed in by hand.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
import time
from pathlib import Path

from cnnzoo.claims.core import Analysis, Claim, list_claims
from cnnzoo.claims.runner import DEFAULT_ROOT, REUSABLE, analyse, load_record, record_path
from cnnzoo.claims.stats import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
from cnnzoo.fmt import md_table

__all__ = ["write_report"]

_COLOURS = {REPRODUCED: "#1a7f37", NOT_REPRODUCED: "#cf222e", INCONCLUSIVE: "#9a6700"}


def _setting_text(setting: dict, data: list[str]) -> str:
    bits = [f"budget **{setting.get('budget')}**"]
    if setting.get("seeds") is not None:
        bits.append(f"{setting['seeds']} seed(s)")
    if setting.get("epochs") is not None:
        bits.append(f"{setting['epochs']} epoch(s)")
    if setting.get("train_subset"):
        bits.append(f"{setting['train_subset']:,} training images")
    elif "train_subset" in setting:
        bits.append("the whole training set")
    if setting.get("max_steps"):
        bits.append(f"at most {setting['max_steps']} steps")
    extra = {
        k: v
        for k, v in setting.items()
        if k not in ("budget", "seeds", "epochs", "train_subset", "max_steps")
    }
    for k, v in extra.items():
        bits.append(f"{k.replace('_', ' ')} {v}")
    if data:
        bits.append(f"data: {', '.join(data)}")
    return "; ".join(bits)


def _command(claim: Claim, budget: str, root: Path, data: list[str]) -> str:
    cmd = ["cnnzoo", "claims", "run", claim.id, "--budget", budget]
    if Path(root) != DEFAULT_ROOT:
        cmd += ["--out", str(root)]
    if data and data != ["fashion-mnist"]:
        cmd += ["--data", data[0]]
    return shlex.join(cmd)


def _figure(analysis: Analysis, path: Path) -> Path | None:
    if analysis.plot is None:
        return None
    from cnnzoo.report import pyplot, save_figure

    plt = pyplot()
    fig = plt.figure(figsize=(8, 4))
    try:
        analysis.plot(fig)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        save_figure(fig, path)
    finally:
        plt.close(fig)
    return path


def _html_table(cols: list[str], rows: list[list[str]]) -> str:
    def cell(c: object) -> str:
        text = str(c)
        return (
            _badge(text) if text in _COLOURS or text.startswith("incomplete") else html.escape(text)
        )

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(verdict: str) -> str:
    colour = _COLOURS.get(verdict, "#57606a")  # grey: incomplete
    return f'<span class="badge" style="background:{colour}">{html.escape(verdict)}</span>'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:980px;
margin:2em auto;padding:0 1em;color:#1f2328;line-height:1.45}
h1{border-bottom:1px solid #d0d7de;padding-bottom:.3em}
section{border:1px solid #d0d7de;border-radius:8px;padding:0 1.2em 1em;margin:1.5em 0}
blockquote{margin:0;padding:.2em 1em;color:#57606a;border-left:.25em solid #d0d7de}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
th{background:#f6f8fa}
.badge{color:#fff;border-radius:1em;padding:.1em .7em;font-size:.85em;font-weight:600}
code{background:#f6f8fa;padding:.1em .3em;border-radius:4px}
img{max-width:100%;border:1px solid #eee}
.note{color:#57606a;font-size:.92em}
"""


def write_report(
    root: str | Path = DEFAULT_ROOT,
    budget: str = "cpu",
    out_dir: str | Path | None = None,
    claim_ids: list[str] | None = None,
    md_path: str | Path | None = None,
) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html`` and ``figures/`` for the claims that have a record
    at ``budget`` under ``root`` (into ``root/budget`` unless ``out_dir``; the Markdown to
    ``md_path`` when given, its figure links relative to it); returns the two paths."""
    root = Path(root)
    out = Path(out_dir) if out_dir else root / budget
    out.mkdir(parents=True, exist_ok=True)
    md_path = Path(md_path) if md_path else out / "report.md"
    fig_link = Path(os.path.relpath(out / "figures", md_path.parent)).as_posix()
    claims = list_claims()
    if claim_ids:
        wanted = set(claim_ids)
        claims = [c for c in claims if c.id in wanted]
    md: list[str] = []
    hs: list[str] = []
    summary: list[tuple[Claim, str, str]] = []
    for n, claim in enumerate(claims, 1):
        if not record_path(root, budget, claim.id).exists():
            summary.append((claim, "not run", ""))
            continue
        rec = load_record(root, budget, claim.id)
        analysis = analyse(claim, budget, root)
        verdict = analysis.headline
        data = sorted(_data_names(rec))
        runs = sum(1 for j in rec["jobs"].values() if j["status"] in REUSABLE)
        summary.append((claim, verdict, f"{runs} job(s)"))
        fig = _figure(analysis, out / "figures" / f"{claim.id}.png")
        setting = _setting_text(rec.get("setting") or claim.setting(budget), data)
        command = _command(claim, budget, root, data)
        fcols = ["finding", "measured", "estimate [95% interval]", "claimed", "verdict"]
        frows = [
            [
                f.statement,
                f.quantity,
                f.interval.format(f.digits, f.scale, f.unit),
                f"{f.claimed} {f.threshold * f.scale:.{f.digits}f}{f.unit}",
                f.verdict,
            ]
            for f in analysis.findings
        ]
        notes = list(analysis.notes)
        if verdict != REPRODUCED and claim.why_it_may_fail:
            notes.append(f"Why it may not reproduce here: {claim.why_it_may_fail}.")
        anchor = claim.id
        md += [
            f"## {n}. {claim.title} — **{verdict}**",
            "",
            f"> {claim.sentence}",
            "",
            f"*{claim.paper}.* Setting: {setting}.",
            "",
            f"Measured: {claim.measured}.",
            "",
            md_table(fcols, frows),
            "",
        ]
        if analysis.rows:
            md += [md_table(analysis.columns, analysis.rows), ""]
        if fig is not None:
            md += [f"![{claim.id}]({fig_link}/{fig.name})", ""]
        md += [f"- {x}" for x in notes] + ([""] if notes else [])
        md += [f"Rerun: `{command}`", ""]
        img = ""
        if fig is not None:
            b64 = base64.b64encode(fig.read_bytes()).decode()
            img = f'<img alt="{html.escape(claim.id)}" src="data:image/png;base64,{b64}">'
        hs.append(
            f'<section id="{html.escape(anchor)}"><h2>{n}. {html.escape(claim.title)} '
            f"{_badge(verdict)}</h2>"
            f"<blockquote><p>{html.escape(claim.sentence)}</p></blockquote>"
            f"<p><em>{html.escape(claim.paper)}.</em> Setting: "
            f"{html.escape(setting).replace('**', '')}.</p>"
            f"<p>Measured: {html.escape(claim.measured)}.</p>"
            f"{_html_table(fcols, frows)}"
            + (_html_table(analysis.columns, analysis.rows) if analysis.rows else "")
            + img
            + "".join(f'<p class="note">{html.escape(x)}</p>' for x in notes)
            + f"<p>Rerun: <code>{html.escape(command)}</code></p></section>"
        )
    stamp = time.strftime("%Y-%m-%d %H:%M")
    srows = [[c.id, c.title, v, r] for c, v, r in summary]
    scols = ["claim", "title", "verdict", "results"]
    head_md = [
        f"# Claims report — budget `{budget}`",
        "",
        f"Written {stamp} by `{_report_command(root, budget)}` from the records in "
        f"`{root / budget / 'results'}`. Each verdict is computed by the claim's rule from "
        f"the runs: *reproduced* when the 95% interval lies wholly on the claimed side of the "
        f"threshold, *not reproduced* when it lies wholly on the other side, *inconclusive* "
        f"when it straddles it.",
        "",
        md_table(scols, srows),
        "",
    ]
    html_path = out / "report.html"
    _atomic(md_path, "\n".join(head_md + md))
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>cnnzoo claims — {html.escape(budget)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Claims report — budget <code>{html.escape(budget)}</code></h1>"
        f"<p>Written {stamp}. Each verdict is computed by the claim's rule from the runs: "
        f"<em>reproduced</em> when the 95% interval lies wholly on the claimed side of the "
        f"threshold, <em>not reproduced</em> when wholly on the other side, "
        f"<em>inconclusive</em> when it straddles it.</p>"
        + _html_table(scols, srows)
        + "".join(hs)
        + "</body></html>"
    )
    _atomic(html_path, page)
    return md_path, html_path


def _report_command(root: Path, budget: str) -> str:
    cmd = ["cnnzoo", "claims", "report", "--budget", budget]
    if Path(root) != DEFAULT_ROOT:
        cmd += ["--out", str(root)]
    return shlex.join(cmd)


def _data_names(rec: dict) -> set[str]:
    names = set()
    for j in rec["jobs"].values():
        res = j.get("result") or {}
        if j.get("kind") == "train" and res.get("data"):
            names.add(str(res["data"]))
    return names


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def records_summary(root: str | Path, budget: str) -> dict[str, str]:
    """``{claim id: verdict}`` of the claims with a record (for ``cnnzoo claims list``)."""
    out = {}
    for claim in list_claims():
        if record_path(root, budget, claim.id).exists():
            try:
                out[claim.id] = analyse(claim, budget, root).headline
            except (ValueError, KeyError, json.JSONDecodeError) as e:
                out[claim.id] = f"unreadable record: {e}"
    return out
