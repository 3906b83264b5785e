"""Design-space trials per hour: the trial as it was against the trial as the AnyNet claims run it.

A trial trains one sampled AnyNetX_A network (6M-12M multiply-adds at 1x28x28) for the short
budget (2 epochs on 5,000 images, batch 128) and measures its error on the 10,000 test images.
Profiling one trial (cProfile) showed where the time went: the test split was evaluated after
each epoch and once more at the end — 30,000 forward passes against 10,000 training images'
forward and backward — and every trial decoded the data set files again.

- ``before``: what a trial did (per-epoch test evaluations, the final evaluation run again on
  the same weights, the IDX files decoded for every trial);
- ``after``: what a claim's trial does now: ``epoch_eval=False`` (one test evaluation, at the
  end), the last evaluation reused when it is of the final weights, the decoded data set kept
  by the worker process.

Both arms train the same networks, interleaved (before, after, before, ...), with one thread in
this process; the final test errors must agree (the changes only skip repeated work). Then the
``after`` trials with every core busy: one worker process per core with one thread each (the
executors' default) against one worker with all the threads.

    .venv/bin/python benchmarks/trial_rate.py [--networks 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from cnnzoo.claims.anynet_common import budget_setting, sampled_networks, trial_job
from cnnzoo.data.entries import _decoded_idx_split
from cnnzoo.train import TrainConfig
from cnnzoo.train.trainer import Trainer


class _Before(Trainer):
    """The trainer as it was: the final test evaluation never reuses the last epoch's."""

    def _finish(self) -> dict:
        self._last_test = None
        return super()._finish()


def trial(train: dict, out: Path, before: bool) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    if before:
        _decoded_idx_split.cache_clear()  # every trial decoded the files again
    t0 = time.perf_counter()
    cls = _Before if before else Trainer
    trainer = cls(TrainConfig.from_dict(train), out, quiet=True, plots=False,
                  epoch_eval=before)  # fmt: skip
    result = trainer.fit()
    return time.perf_counter() - t0, 1.0 - result["test_acc"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", type=int, default=4, help="networks per arm (default 4)")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    s = budget_setting("cpu")
    nets = sampled_networks(s, "anynetx_a", args.networks)
    jobs = [trial_job(f"A/{i}", "a", i, c, s).train for i, c in enumerate(nets)]
    tmp = Path(tempfile.mkdtemp(prefix="trial-rate-"))
    torch.set_num_threads(1)
    trial(jobs[0], tmp / "warm", before=False)  # imports, first allocations
    times: dict[str, list[float]] = {"before": [], "after": []}
    print(f"{args.networks} AnyNetX_A networks, 2 epochs on 5,000 images, 1 thread each")
    for i, train in enumerate(jobs):
        tb, eb = trial(train, tmp / f"b{i}", before=True)
        ta, ea = trial(train, tmp / f"a{i}", before=False)
        times["before"].append(tb)
        times["after"].append(ta)
        flops = nets[i].cost.flops / 1e6
        same = "same error" if abs(eb - ea) < 1e-9 else f"ERRORS DIFFER ({eb:.4f} vs {ea:.4f})"
        print(f"  network {i} ({flops:.1f}M): before {tb:6.1f} s   after {ta:6.1f} s   {same}")
    mb = sum(times["before"]) / len(jobs)
    ma = sum(times["after"]) / len(jobs)
    print(f"mean trial: before {mb:.1f} s, after {ma:.1f} s: {mb / ma:.2f}x faster")
    print(f"trials/hour per core: before {3600 / mb:,.0f}, after {3600 / ma:,.0f}")
    if cores > 1:
        # every core busy: one worker per core (1 thread each) against one worker with them all
        import multiprocessing as mp

        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(cores, initializer=torch.set_num_threads,
                                          initargs=(1,)) as pool:  # fmt: skip
            pool.starmap(trial, [(t, tmp / f"p{i}", False) for i, t in enumerate(jobs)])
        per_worker = time.perf_counter() - t0
        torch.set_num_threads(cores)
        t0 = time.perf_counter()
        for i, train in enumerate(jobs):
            trial(train, tmp / f"t{i}", before=False)
        all_threads = time.perf_counter() - t0
        print(
            f"the same {len(jobs)} trials, every core busy: {cores} workers x 1 thread "
            f"{len(jobs) * 3600 / per_worker:,.0f} trials/hour, 1 worker x {cores} threads "
            f"{len(jobs) * 3600 / all_threads:,.0f} trials/hour"
        )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
