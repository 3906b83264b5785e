"""Running claims: their jobs on the design-space executors, resumable, one record per claim.

A claims directory holds, per budget::

    <root>/<budget>/results/<claim>.json   the record: every finished job's result (compact;
                                           this is what a report is made from, and what is
                                           committed for the cpu budget)
    <root>/<budget>/runs/<claim>/<job>/    each training's run directory (trainer output)
    <root>/<budget>/runs.sqlite            the runs store of those trainings

Running a claim again reuses every job whose record is there with the same spec (see
:meth:`~cnnzoo.claims.core.Job.spec_hash`): kill it and rerun, and only the unfinished jobs run
(an interrupted training resumes from its last checkpoint). A job whose spec changed (another
setting, another data set, a changed recipe) runs again. A job that another claim of the same
budget has run with the same spec (e.g. the networks of a design-space sample that several
claims judge) runs once and is recorded in each claim's record (``shared_from`` names the
claim that ran it). A lock keeps two processes off the same budget directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from cnnzoo.claims.core import Analysis, Claim, Job, get_claim
from cnnzoo.errors import StateError
from cnnzoo.locking import directory_lock

__all__ = [
    "DEFAULT_ROOT",
    "analyse",
    "load_record",
    "record_path",
    "run_claims",
    "run_job",
]

DEFAULT_ROOT = Path("runs") / "claims"
RECORD_VERSION = 1
REUSABLE = ("finished", "diverged")  # a diverged training is a measurement too

Log = Callable[[str], None]


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)


def record_path(root: str | Path, budget: str, claim_id: str) -> Path:
    return Path(root) / budget / "results" / f"{claim_id}.json"


def load_record(root: str | Path, budget: str, claim_id: str) -> dict:
    """The claim's record (``{"claim", "budget", "jobs": {key: {...}}}``); an empty one when
    there is none yet. A record that is not valid JSON is refused, not overwritten."""
    path = record_path(root, budget, claim_id)
    if not path.exists():
        return {"version": RECORD_VERSION, "claim": claim_id, "budget": budget, "jobs": {}}
    try:
        rec = json.loads(path.read_text())
        if not isinstance(rec, dict) or not isinstance(rec.get("jobs"), dict):
            raise ValueError("it has no 'jobs' table")
    except (json.JSONDecodeError, ValueError) as e:
        raise StateError(
            f"{path} is not a claim record ({e}); move it away to start the claim afresh"
        ) from None
    if rec.get("claim") != claim_id or rec.get("budget") != budget:
        raise StateError(
            f"{path} holds claim {rec.get('claim')!r} at budget {rec.get('budget')!r}, not "
            f"{claim_id!r} at {budget!r}; move it away"
        )
    return rec


def _save_record(root: str | Path, budget: str, claim_id: str, rec: dict) -> None:
    path = record_path(root, budget, claim_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rec, indent=1, sort_keys=True, allow_nan=False) + "\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- one job


_EVAL_KEYS = (
    "status", "diagnosis", "data", "test_acc", "test_loss", "best_val_acc", "epochs", "steps",
    "wall_time", "images_per_s", "params", "precision", "threads", "chance_loss",
)  # fmt: skip
_EPOCH_KEYS = ("epoch", "step", "train_loss", "train_acc", "val_acc", "test_acc", "test_loss",
               "images_per_s", "time")  # fmt: skip


def _compact(out_dir: Path) -> dict:
    ev = json.loads((out_dir / "eval.json").read_text())
    res = {k: ev.get(k) for k in _EVAL_KEYS}
    history = []
    path = out_dir / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                history.append({k: row[k] for k in _EPOCH_KEYS if k in row})
    res["history"] = history
    res["train_loss_curve"] = ev.get("train_loss_curve")
    return res


def _train_job(job: dict, out_dir: Path, store: str | None, spec_hash: str) -> dict:
    from cnnzoo.train import TrainConfig, train

    marker = out_dir / "claim_job.json"
    same = marker.exists() and json.loads(marker.read_text()).get("spec_hash") == spec_hash
    if not same and out_dir.exists():
        shutil.rmtree(out_dir)  # another spec's leftovers: start afresh
    out_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"spec_hash": spec_hash, "key": job["key"]}))
    if not (same and (out_dir / "eval.json").exists()):
        (out_dir / "eval.json").unlink(missing_ok=True)
        config = TrainConfig.from_dict(job["train"])
        epoch_eval = bool(job.get("args", {}).get("epoch_eval", True))
        train(config, out_dir, resume=True, quiet=True, store=store, plots=False,
              epoch_eval=epoch_eval)  # fmt: skip
    result = _compact(out_dir)
    if job.get("after"):
        from cnnzoo.claims.probes import run_probe

        result["probes"] = {
            a["probe"]: run_probe(a["probe"], dict(a.get("args", {})), run_dir=out_dir)
            for a in job["after"]
        }
    return result


def run_job(task: dict) -> dict:
    """Run one claim job (``task["job"]``, see :class:`~cnnzoo.claims.core.Job`) in this
    process; never raises: a crash comes back as ``status="failed"`` with the reason."""
    t0 = time.perf_counter()
    job = task["job"]
    try:
        threads = int(task.get("threads") or 0)
        if threads > 0:
            import torch

            torch.set_num_threads(threads)
        if job["kind"] == "train":
            result = _train_job(job, Path(task["out_dir"]), task.get("store"), task["spec_hash"])
            status = result.get("status") or "failed"
        else:
            from cnnzoo.claims.probes import run_probe

            result = run_probe(job["probe"], dict(job.get("args", {})))
            status = "finished"
        from cnnzoo.train.results import json_safe as _json_safe

        return {
            "status": status,
            "result": _json_safe(result),
            "wall_time": time.perf_counter() - t0,
            "message": result.get("diagnosis") if isinstance(result, dict) else None,
        }
    except Exception as e:
        tb = traceback.format_exc(limit=4)
        return {
            "status": "failed",
            "result": None,
            "wall_time": time.perf_counter() - t0,
            "message": f"{type(e).__name__}: {e}\n{tb}"[-4000:],
        }


# --------------------------------------------------------------------------- claims


def _with_data(job: Job, data: str | None, data_dir: str | None) -> Job:
    """The job on another data set: its training, or a probe that reads data (``args["data"]``)."""
    from dataclasses import replace

    if data is None and data_dir is None:
        return job
    change = {k: v for k, v in (("data", data), ("data_dir", data_dir)) if v is not None}
    if job.kind == "train":
        return replace(job, train=dict(job.train or {}) | change)
    if "data" in job.args:
        return replace(job, args=dict(job.args) | change)
    return job


def _summary(claim: Claim, job: Job, out: dict) -> str:
    res = out.get("result") or {}
    if out["status"] == "failed":
        first = (out.get("message") or "").strip().splitlines()
        return f"FAILED: {first[0] if first else 'no reason given'}"
    bits = []
    if res.get("test_acc") is not None:
        bits.append(f"test acc {res['test_acc']:.4f}")
    if out["status"] == "diverged":
        bits.append("DIVERGED")
    for k, v in res.items():
        if len(bits) >= 3:
            break
        if isinstance(v, float) and k not in ("test_acc", "test_loss", "wall_time"):
            bits.append(f"{k} {v:.4g}")
    return ", ".join(bits) + f" ({out.get('wall_time') or 0:.0f} s)"


def run_claims(
    claim_ids: Sequence[str],
    budget: str = "cpu",
    root: str | Path = DEFAULT_ROOT,
    *,
    executor: str = "local",
    workers: int | None = None,
    threads: int | None = None,
    address: str | None = None,
    data: str | None = None,
    data_dir: str | None = None,
    log: Log = print,
) -> dict[str, Analysis]:
    """Run the claims' jobs that have no result yet and return each claim's analysis.

    Trainings and other shareable jobs go to the executor (``local``: a pool of processes
    splitting the cores; ``ray``: Ray tasks, on the cluster at ``address`` or a local instance);
    exclusive jobs (timings) then run one by one in this process with every core.
    """
    from cnnzoo.designspace.executors import make_executor

    claims = [get_claim(c) for c in claim_ids]
    if data is not None or data_dir is not None:
        # a wrong data set fails here, once, not in every training
        from cnnzoo.data import load_dataset

        load_dataset(data or "fashion-mnist", "test", data_dir, progress=False)
    base = Path(root) / budget
    with directory_lock(base, "claims"):
        records: dict[str, dict] = {}
        todo: list[tuple[Claim, Job]] = []
        elsewhere = _finished_elsewhere(root, budget)
        for claim in claims:
            rec = load_record(root, budget, claim.id)
            jobs = [_with_data(j, data, data_dir) for j in claim.jobs(budget)]
            keep, shared = {}, 0
            for job in jobs:
                old = rec["jobs"].get(job.key)
                h = job.spec_hash()
                if old and old.get("spec_hash") == h and old["status"] in REUSABLE:
                    keep[job.key] = old
                elif h in elsewhere:
                    # another claim ran the very same job: take its result, do not train again
                    other, entry = elsewhere[h]
                    keep[job.key] = entry | {
                        "group": job.group, "seed": job.seed, "shared_from": other
                    }  # fmt: skip
                    shared += 1
                else:
                    todo.append((claim, job))
            rec["jobs"] = keep  # results of jobs the claim no longer has are dropped
            rec["setting"] = claim.setting(budget)
            records[claim.id] = rec
            _save_record(root, budget, claim.id, rec)
            reused = len(keep)
            log(
                f"{claim.id}: {len(jobs)} job(s), {reused} already done"
                + (f" ({shared} by another claim)" if shared else "")
                + (f", {len(jobs) - reused} to run" if len(jobs) > reused else "")
            )
        count = [0]

        def task_of(claim: Claim, job: Job) -> dict:
            return {
                "runner": "cnnzoo.claims.runner:run_job",
                "claim": claim.id,
                "job": {"key": job.key, **job.spec()},
                "spec_hash": job.spec_hash(),
                "out_dir": str(base / "runs" / claim.id / _safe(job.key)),
                "store": str(base / "runs.sqlite"),
            }

        jobs_of: dict[tuple[str, str], tuple[Claim, Job]] = {}
        twins: dict[str, list[tuple[Claim, Job]]] = {}  # the same job in several claims
        tasks: list[dict] = []
        exclusive: list[dict] = []
        for claim, job in todo:
            jobs_of[(claim.id, job.key)] = (claim, job)
            h = job.spec_hash()
            if h in twins:  # run once, recorded for every claim that has it
                twins[h].append((claim, job))
                continue
            twins[h] = [(claim, job)]
            (exclusive if job.exclusive else tasks).append(task_of(claim, job))
        total = len(tasks) + len(exclusive)

        def on_start(task: dict, worker: str) -> None:
            log(f"  start {task['claim']} {task['job']['key']} on {worker}")

        def on_done(task: dict, out: dict) -> None:
            claim, job = jobs_of[(task["claim"], task["job"]["key"])]
            count[0] += 1
            entry = {
                "kind": job.kind,
                "spec_hash": job.spec_hash(),
                "status": out.get("status", "failed"),
                "message": out.get("message"),
                "run_dir": task["out_dir"] if job.kind == "train" else None,
                "result": out.get("result"),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            for c, j in twins[job.spec_hash()]:
                rec = records[c.id]
                rec["jobs"][j.key] = {"group": j.group, "seed": j.seed} | entry
                if c.id != claim.id:
                    rec["jobs"][j.key]["shared_from"] = claim.id
                _save_record(root, budget, c.id, rec)
            log(f"[{count[0]}/{total}] {claim.id} {job.key}: {_summary(claim, job, out)}")

        if tasks:
            ex = make_executor(executor, workers, threads, address)
            log(f"running {len(tasks)} job(s) on {ex.describe()}")
            ex.run(tasks, on_start, on_done)
        if exclusive:
            import torch

            saved = torch.get_num_threads()
            log(f"running {len(exclusive)} timing job(s) alone, in this process")
            try:
                for t in exclusive:
                    on_start(t, "this process")
                    on_done(t, run_job(t))
            finally:
                torch.set_num_threads(saved)
        return {c.id: analyse(c, budget, root) for c in claims}


def _finished_elsewhere(root: str | Path, budget: str) -> dict[str, tuple[str, dict]]:
    """Every reusable job result of every claim's record at this budget, by spec hash (a
    record that cannot be read is left to its own claim, which refuses it)."""
    out: dict[str, tuple[str, dict]] = {}
    folder = Path(root) / budget / "results"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            rec = load_record(root, budget, path.stem)
        except ValueError:
            continue
        for entry in rec["jobs"].values():
            h = entry.get("spec_hash")
            if h and entry.get("status") in REUSABLE:
                out.setdefault(h, (path.stem, entry))
    return out


def analyse(claim: Claim | str, budget: str, root: str | Path = DEFAULT_ROOT) -> Analysis:
    """The claim's analysis of the results recorded so far (jobs without a result are
    missing from it; the rule says what that means for the verdict)."""
    claim = get_claim(claim) if isinstance(claim, str) else claim
    rec = load_record(root, budget, claim.id)
    analysis = claim.rule(claim.setting(budget), rec["jobs"])
    expected = {j.key for j in claim.jobs(budget)}
    have = {k for k, v in rec["jobs"].items() if v["status"] in REUSABLE} & expected
    analysis.progress = (len(have), len(expected))
    if len(have) < len(expected):
        failed = [k for k, v in rec["jobs"].items() if v["status"] == "failed"]
        note = f"{len(have)} of {len(expected)} jobs have results"
        if failed:
            note += f"; failed: {', '.join(sorted(failed)[:6])}"
        analysis.notes.insert(0, note + ".")
    return analysis
