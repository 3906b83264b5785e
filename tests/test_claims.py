"""The claims lab: the statistics against tabulated and hand-computed values, every claim's rule
on hand-made measurements for all three verdicts, the smoke budget of every claim end to end on
tiny data (resumable, recorded, reported), and the HTML report rendered in headless Chromium."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from cnnzoo.claims import stats
from cnnzoo.claims.core import Finding, Job, get_claim, list_claims
from cnnzoo.claims.runner import _with_data, analyse, load_record, record_path, run_claims
from cnnzoo.claims.stats import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Interval,
    decide,
    exact,
    mean_interval,
)
from cnnzoo.cli import main
from test_train import make_folder

# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (5, 2.5706), (10, 2.2281), (30, 2.0423)],
)
def test_t_quantile_matches_the_table(df: int, expected: float) -> None:
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)
    assert stats.t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-4)


def test_t_quantile_other_levels() -> None:
    assert stats.t_quantile(0.95, 4) == pytest.approx(2.1318, abs=1e-4)
    assert stats.t_quantile(0.995, 9) == pytest.approx(3.2498, abs=1e-4)
    assert stats.t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        stats.t_quantile(1.0, 3)


def test_mean_interval_by_hand() -> None:
    iv = mean_interval([1.0, 2.0, 3.0])  # sd 1, t(0.975, 2) = 4.3027
    half = 4.302653 / math.sqrt(3)
    assert iv.value == pytest.approx(2.0)
    assert (iv.low, iv.high) == pytest.approx((2 - half, 2 + half), abs=1e-5)
    one = mean_interval([0.7])
    assert one.value == 0.7 and not one.known
    with pytest.raises(ValueError, match="finite"):
        mean_interval([1.0, math.nan])


def test_paired_difference_uses_common_seeds() -> None:
    iv = stats.paired_difference({0: 1.0, 1: 2.0, 2: 4.0, 7: 9.0}, {2: 2.0, 0: 0.0, 1: 1.0})
    # differences 1, 1, 2: sd 0.57735, t(0.975, 2) = 4.3027
    half = 4.302653 * math.sqrt(1 / 3) / math.sqrt(3)
    assert iv.n == 3 and iv.value == pytest.approx(4 / 3)
    assert (iv.low, iv.high) == pytest.approx((4 / 3 - half, 4 / 3 + half), abs=1e-5)
    with pytest.raises(ValueError, match="no seed"):
        stats.paired_difference({0: 1.0}, {1: 1.0})


def test_ratio_interval() -> None:
    iv = stats.ratio_interval([2.0, 4.0, 8.0], [1.0, 2.0, 4.0])
    assert (iv.value, iv.low, iv.high) == pytest.approx((2.0, 2.0, 2.0))
    noisy = stats.ratio_interval([2.0, 3.0, 2.5], [1.0, 1.0, 1.0])
    assert noisy.low < 2.5 < noisy.high and noisy.value == pytest.approx((2 * 3 * 2.5) ** (1 / 3))


def test_spearman_by_hand() -> None:
    assert stats.spearman([(1, 10), (2, 20), (3, 30)]) == pytest.approx(1.0)
    assert stats.spearman([(1, 30), (2, 20), (3, 10)]) == pytest.approx(-1.0)
    # ties share their mean rank: x ranks 1, 2.5, 2.5, 4; y ranks 1, 3, 2, 4 -> 4.5 / sqrt(22.5)
    got = stats.spearman([(1, 1), (2, 3), (2, 2), (3, 4)])
    assert got == pytest.approx(4.5 / math.sqrt(22.5))
    assert math.isnan(stats.spearman([(1, 5), (2, 5), (3, 5)]))


def test_bootstrap_interval_holds_the_statistic() -> None:
    xs = list(range(1, 21))
    iv = stats.bootstrap_interval(lambda v: sum(v) / len(v), xs, resamples=500, seed=3)
    assert iv.low < 10.5 < iv.high and iv.value == pytest.approx(10.5)
    assert iv == stats.bootstrap_interval(lambda v: sum(v) / len(v), xs, resamples=500, seed=3)


@pytest.mark.parametrize(
    ("interval", "claimed", "verdict"),
    [
        (Interval(1.0, 0.5, 1.5, 3), ">", REPRODUCED),
        (Interval(-1.0, -1.5, -0.5, 3), ">", NOT_REPRODUCED),
        (Interval(0.2, -0.3, 0.7, 3), ">", INCONCLUSIVE),
        (Interval(-0.5, -1.0, 0.0, 3), ">", NOT_REPRODUCED),  # touching counts as the other side
        (Interval(0.5, 0.0, 1.0, 3), ">", INCONCLUSIVE),  # not wholly on the claimed side
        (Interval(-0.5, -1.0, 0.0, 3), "<", INCONCLUSIVE),
        (Interval(-1.0, -1.5, -0.5, 3), "<", REPRODUCED),
        (Interval(1.0, 0.5, 1.5, 3), "<", NOT_REPRODUCED),
        (Interval(0.2, -0.3, 0.7, 3), "<", INCONCLUSIVE),
        (Interval(5.0, -math.inf, math.inf, 1, "none"), ">", INCONCLUSIVE),  # one seed
        (exact(2.0), ">", REPRODUCED),
    ],
)
def test_decide(interval: Interval, claimed: str, verdict: str) -> None:
    assert decide(interval, 0.0, claimed) == verdict


def test_combine() -> None:
    assert stats.combine([REPRODUCED, REPRODUCED]) == REPRODUCED
    assert stats.combine([REPRODUCED, INCONCLUSIVE]) == INCONCLUSIVE
    assert stats.combine([INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED]) == NOT_REPRODUCED
    assert stats.combine([]) == INCONCLUSIVE


# --------------------------------------------------------------------------- rules

# For each claim, how good each group is by the claim (higher: claimed better). The fabricated
# measurements follow these qualities (direction +1), their reverse (-1) or noise alone (0).
QUALITY = {
    "alexnet-techniques": lambda g: 1.0 if g == "modern" else 0.0,
    "vgg-small-kernels": lambda g: 1.0 if g.startswith("3x3") else 0.0,
    "nin-params": lambda g: 1.0 if g.startswith("NiN") else 0.0,
    "nin-gap-shift": lambda g: 1.0 if g.startswith("GAP") else 0.0,
    "googlenet-cost": lambda g: 1.0 if g.startswith("GoogLeNet") else 0.0,
    "batchnorm": lambda g: 1.0 if g.startswith("lenet5_bn") else 0.0,
    # resnet8 below plain14 (nothing claims otherwise): a finding that compares the wrong
    # pair of networks then comes out wrong
    "resnet-degradation": lambda g: {"resnet14": 2, "resnet8": -2, "plain8": 0, "plain14": -1}[g],
    "resnext-groups": lambda g: 1.0 if g.startswith("ResNeXt") else 0.0,
    "densenet": lambda g: 1.0 if g.startswith("DenseNet") else 0.0,
    "d2l-table": lambda g: {"lenet5": 0.0, "lenet5_bn": 1.0, "regnetx32_d2l": 2.0}[g],
}


def fabricate(claim_id: str, job: Job, direction: int, rng: random.Random) -> dict:
    """A finished job's result with measurements that favour the claim (+1), contradict it
    (-1) or carry noise only (0)."""
    noise = 0.08 if direction == 0 else 0.0003
    if job.kind == "probe" and job.probe == "gradient_norms":
        # +1: the plain network's gradients fade towards the input, the ResNet's do not;
        # -1: the other way round; 0: both tilted at random
        tilted = job.group == ("plain" if direction >= 0 else "resnet")
        tilt = 2.0 if tilted and direction else 0.0
        tilt += rng.gauss(0, 1.5) if direction == 0 else 0.0
        norms = [10 ** (tilt * (i / 19 - 1)) for i in range(20)]
        return {"at_init": norms, "after": norms, "losses": [2.3], "layers": 20}
    if job.kind == "probe":  # train_speed
        names = [v["name"] for v in job.args["variants"]]
        variants = {}
        for i, name in enumerate(names):
            favoured = i == 0 if claim_id in ("densenet",) else i == 1
            per_thread = {}
            for t in job.args["threads"] + [2]:
                base = 100.0 * (1.8 ** (direction * (int(t) - 1)) if claim_id == "alexnet-parallel"
                                else 1.0)  # fmt: skip
                if claim_id != "alexnet-parallel" and favoured:
                    base *= 0.7**direction  # the favoured network is slower per multiply-add
                per_thread[str(t)] = [base * (1 + rng.gauss(0, noise * 3)) for _ in range(4)]
            variants[name] = {
                "mult_adds": 1e6 * (2 if i == 0 else 1) if claim_id == "alexnet-parallel" else 1e6,
                "params": 1000,
                "saved_bytes_per_image": 1e6 * (3.0 ** (direction or 1) if favoured else 1.0),
                "images_per_s": per_thread,
            }
        out = {"variants": variants, "device": "cpu", "precision": "fp32", "batch_size": 4,
               "input_size": [1, 28, 28]}  # fmt: skip
        if claim_id == "alexnet-parallel":  # the two-group network does fewer multiply-adds
            first, second = names
            variants[first]["mult_adds"], variants[second]["mult_adds"] = 2e6, 1.5e6
            if direction == 1:  # a machine with a GPU: its own column, not a thread count
                for v in variants.values():
                    v["images_per_s"]["cuda"] = [5000.0, 5100.0, 4900.0, 5050.0]
                out["gpu"] = {"name": "Fake GPU", "precision": "bf16"}
        return out
    q = QUALITY[claim_id](job.group.split("@")[0] if claim_id == "batchnorm" else job.group)
    acc = 0.7 + 0.05 * direction * q + rng.gauss(0, noise)
    res = {
        "status": "finished",
        "test_acc": acc,
        "history": [{"epoch": 1, "train_acc": acc, "test_acc": acc}],
    }
    if claim_id == "nin-gap-shift":
        lost = 0.02 * (1 - 0.5 * direction * q)
        shifted = {str(k): acc - k * lost + (rng.gauss(0, noise) if k else 0) for k in (0, 2)}
        res["probes"] = {"shifted_accuracy": {"accuracy": shifted}}
    if claim_id == "d2l-table":
        res["test_acc"] = 0.5 + 0.1 * direction * q + rng.gauss(0, 0.3 if direction == 0 else 0)
    return res


def fabricated_results(claim_id: str, direction: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    out = {}
    for job in get_claim(claim_id).jobs("smoke"):
        out[job.key] = {
            "group": job.group,
            "seed": job.seed,
            "kind": job.kind,
            "status": "finished",
            "result": fabricate(claim_id, job, direction, rng),
        }
    return out


ALL_CLAIMS = [c.id for c in list_claims()]

#: the design-space claims have their own rule tests (test_claims_anynet.py)
ANYNET = ("anynet-progression", "partial-metrics", "small-to-large", "regnet-rule")


def test_the_twelve_claims_are_there() -> None:
    assert len(ALL_CLAIMS) >= 12
    for c in list_claims():
        assert c.sentence and c.paper and c.measured
        for budget in ("smoke", "cpu", "paper"):
            jobs = c.jobs(budget)
            assert jobs, (c.id, budget)
            # the budget changes the experiment: the cpu budget is never the smoke one
        assert [j.spec() for j in c.jobs("smoke")] != [j.spec() for j in c.jobs("cpu")], c.id


def test_the_claims_are_listed_in_the_order_of_the_seeds_networks() -> None:
    # `cnnzoo claims list` and the report follow the registration order (core.CLAIM_MODULES)
    assert ALL_CLAIMS == [
        "alexnet-techniques", "alexnet-parallel", "vgg-small-kernels", "nin-params",
        "nin-gap-shift", "googlenet-cost", "batchnorm", "resnet-degradation", "resnet-gradients",
        "resnext-groups", "densenet", "d2l-table",
        "anynet-progression", "partial-metrics", "small-to-large", "regnet-rule",
    ]  # fmt: skip


COMMITTED = Path(__file__).resolve().parents[1] / "benchmarks" / "claims"


@pytest.mark.parametrize("claim_id", [c for c in ALL_CLAIMS if c not in ANYNET])
def test_the_committed_cpu_records_are_the_claims_jobs(claim_id: str) -> None:
    # the committed results are reused only while each job's spec is unchanged: a change to a
    # claim's jobs (a recipe, a variant, a helper) must come with new records
    jobs = {j.key: j.spec_hash() for j in get_claim(claim_id).jobs("cpu")}
    recorded = load_record(COMMITTED, "cpu", claim_id)["jobs"]
    assert {k: r.get("spec_hash") for k, r in recorded.items()} == jobs


def test_every_group_of_a_claim_is_a_different_experiment() -> None:
    # a copy-paste slip (two variants with the same network and settings) measures nothing
    for claim in list_claims():
        seen: dict[str, str] = {}
        for job in claim.jobs("cpu"):
            if job.seed != 0:
                continue
            key = json.dumps(job.spec(), sort_keys=True)
            assert key not in seen, f"{claim.id}: {job.group} is {seen.get(key)} again"
            seen[key] = job.group


@pytest.mark.parametrize(
    "claim_id", [c for c in ALL_CLAIMS if c != "resnet-gradients" and c not in ANYNET]
)
@pytest.mark.parametrize(
    ("direction", "verdict"), [(1, REPRODUCED), (-1, NOT_REPRODUCED), (0, INCONCLUSIVE)]
)
def test_rule_gives_all_three_verdicts(claim_id: str, direction: int, verdict: str) -> None:
    claim = get_claim(claim_id)
    results = fabricated_results(claim_id, direction)
    analysis = claim.rule(claim.setting("smoke"), results)
    assert analysis.findings and all(isinstance(f, Finding) for f in analysis.findings)
    assert analysis.verdict == verdict, [(f.statement, f.verdict) for f in analysis.findings]
    assert analysis.rows, "the rule makes a table of the numbers"
    if claim_id == "alexnet-parallel" and direction == 1:
        assert analysis.columns[-1] == "images/s, GPU (Fake GPU)"
        assert any("On the GPU (Fake GPU" in n for n in analysis.notes)


@pytest.mark.parametrize(
    ("direction", "verdict"), [(1, REPRODUCED), (-1, NOT_REPRODUCED), (0, INCONCLUSIVE)]
)
def test_gradient_rule_gives_all_three_verdicts(direction: int, verdict: str) -> None:
    claim = get_claim("resnet-gradients")
    setting = claim.setting("smoke") | {"seeds": 2}
    analysis = claim.rule(setting, fabricated_results("resnet-gradients", direction, seed=1))
    assert analysis.verdict == verdict, [(f.describe(), f.verdict) for f in analysis.findings]


def test_rule_with_missing_results_is_inconclusive() -> None:
    claim = get_claim("alexnet-techniques")
    results = fabricated_results("alexnet-techniques", 1)
    results = {k: v for k, v in results.items() if not k.startswith("sigmoid")}
    analysis = claim.rule(claim.setting("smoke"), results)
    relu = next(f for f in analysis.findings if "ReLU" in f.statement)
    assert relu.verdict == INCONCLUSIVE and analysis.verdict == INCONCLUSIVE


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 8, "test": 4})


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("claims")
    lines: list[str] = []
    run_claims(ALL_CLAIMS, "smoke", root, workers=2, threads=1, data=str(data), log=lines.append)
    return root, lines


def test_smoke_budget_of_every_claim_runs_end_to_end(smoke_run, data: Path) -> None:
    root, lines = smoke_run
    for claim in list_claims():
        rec = load_record(root, "smoke", claim.id)
        jobs = [_with_data(j, str(data), None) for j in claim.jobs("smoke")]
        assert set(rec["jobs"]) == {j.key for j in jobs}, claim.id
        for job in jobs:
            r = rec["jobs"][job.key]
            assert r["status"] in ("finished", "diverged"), (claim.id, job.key, r["message"])
            assert r["spec_hash"] == job.spec_hash()
            if job.kind == "train":
                run = Path(r["run_dir"])
                assert (run / "eval.json").exists() and (run / "checkpoints").exists()
                assert r["result"]["history"], "the per-epoch metrics are recorded"
        assert analyse(claim, "smoke", root).verdict in stats.VERDICTS
    # each training went through the trainer and is in the runs store
    from cnnzoo.store import RunStore

    runs = RunStore(root / "smoke" / "runs.sqlite").runs()
    trainings = {j.spec_hash() for c in list_claims() for j in c.jobs("smoke") if j.kind == "train"}
    assert len(runs) == len(trainings), "a job that several claims share is trained once"
    shared = load_record(root, "smoke", "regnet-rule")["jobs"]
    ran = load_record(root, "smoke", "anynet-progression")["jobs"]
    assert set(shared) == set(ran)
    for key, entry in shared.items():
        assert entry["shared_from"] == "anynet-progression" and "shared_from" not in ran[key]
        assert entry["result"] == ran[key]["result"] and entry["run_dir"] == ran[key]["run_dir"]
    timing = [ln for ln in lines if "timing job(s) alone" in ln]
    assert timing, "the timings run alone, after the trainings"


def test_a_rerun_reuses_finished_jobs_and_reruns_only_missing_ones(smoke_run, data) -> None:
    root, _ = smoke_run
    lines: list[str] = []
    run_claims(["batchnorm"], "smoke", root, data=str(data), log=lines.append)
    assert any("8 already done" in ln for ln in lines) and not any("start" in ln for ln in lines)
    # a job whose result is lost (killed before it was recorded) runs again, alone
    path = record_path(root, "smoke", "batchnorm")
    rec = json.loads(path.read_text())
    lost = sorted(rec["jobs"])[0]
    before = rec["jobs"].pop(lost)
    path.write_text(json.dumps(rec))
    partial = analyse("batchnorm", "smoke", root)
    assert partial.headline == "incomplete (7 of 8 jobs)" and not partial.complete
    lines.clear()
    run_claims(["batchnorm"], "smoke", root, data=str(data), log=lines.append)
    started = [ln for ln in lines if ln.strip().startswith("start")]
    assert len(started) == 1 and lost in started[0]
    after = load_record(root, "smoke", "batchnorm")["jobs"][lost]
    assert after["status"] == "finished" and after["run_dir"] == before["run_dir"]
    # another data set is another experiment: nothing is reused
    other = make_folder(Path(root) / "other-data", {"train": 8, "test": 4}, seed=5)
    lines.clear()
    run_claims(["batchnorm"], "smoke", root, data=str(other), log=lines.append)
    assert any("0 already done, 8 to run" in ln for ln in lines)


def test_a_job_another_claim_ran_is_taken_from_its_record(smoke_run, data) -> None:
    root, _ = smoke_run
    path = record_path(root, "smoke", "regnet-rule")
    path.unlink()  # as if the RegNet rule had never run: its networks are the progression's
    lines: list[str] = []
    analysis = run_claims(["regnet-rule"], "smoke", root, data=str(data), log=lines.append)
    assert not any(ln.strip().startswith("start") for ln in lines), lines
    n = len(get_claim("regnet-rule").jobs("smoke"))
    assert f"regnet-rule: {n} job(s), {n} already done ({n} by another claim)" in lines
    assert analysis["regnet-rule"].complete
    jobs = load_record(root, "smoke", "regnet-rule")["jobs"]
    assert {e["shared_from"] for e in jobs.values()} == {"anynet-progression"}


def test_a_corrupt_record_is_refused_not_overwritten(tmp_path: Path, data: Path) -> None:
    path = record_path(tmp_path, "smoke", "batchnorm")
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    with pytest.raises(ValueError, match="not a claim record"):
        run_claims(["batchnorm"], "smoke", tmp_path, data=str(data), log=lambda m: None)
    assert path.read_text() == "{ not json"


def test_unknown_claim_is_a_clear_error(capsys) -> None:
    assert main(["claims", "run", "resnet-degredation", "--budget", "smoke"]) == 2
    err = capsys.readouterr().err
    assert "unknown claim 'resnet-degredation'" in err and "resnet-degradation" in err


def test_report_has_every_claim_with_numbers_and_figures(smoke_run, capsys) -> None:
    root, _ = smoke_run
    assert main(["claims", "report", "--budget", "smoke", "--out", str(root)]) == 0
    md = (root / "smoke" / "report.md").read_text()
    page = (root / "smoke" / "report.html").read_text()
    for claim in list_claims():
        verdict = analyse(claim, "smoke", root).verdict
        assert f"{claim.title} — **{verdict}**" in md
        assert f"cnnzoo claims run {claim.id} --budget smoke --out {root}" in md
        assert f'id="{claim.id}"' in page
        assert (root / "smoke" / "figures" / f"{claim.id}.png").stat().st_size > 1000
    assert page.count("data:image/png;base64,") == len(ALL_CLAIMS)
    assert "http://" not in page and "https://" not in page  # self-contained
    assert main(["claims", "list", "--budget", "smoke", "--out", str(root)]) == 0
    out = capsys.readouterr().out
    assert "not run" not in out and "batchnorm" in out


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_report_renders_in_headless_chromium(smoke_run, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine: `make browser` installs it (Debian: chromium)")
    root, _ = smoke_run
    page = root / "smoke" / "report.html"
    shot = tmp_path / "report.png"
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the browser parsed the whole page: a section per claim, a figure per section
    assert dom.stdout.count("<section") == len(ALL_CLAIMS)
    assert dom.stdout.count("<img") == len(ALL_CLAIMS)
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1000,2400", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    from PIL import Image

    with Image.open(shot) as im:
        lo, hi = im.convert("L").getextrema()
    assert hi - lo > 100, "the rendered page is blank"


def test_claims_run_on_ray(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray", reason="Ray is optional: pip install 'cnnzoo[ray]'")
    # a stale address from an earlier cluster (nothing listens there): the local path starts
    # its own instance all the same
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    lines: list[str] = []
    out = run_claims(["resnet-gradients", "nin-params"], "smoke", tmp_path, executor="ray",
                     workers=2, threads=1, data=str(data), log=lines.append)  # fmt: skip
    assert any("Ray on a local Ray instance" in ln for ln in lines)
    for cid in ("resnet-gradients", "nin-params"):
        rec = load_record(tmp_path, "smoke", cid)
        assert rec["jobs"] and all(j["status"] == "finished" for j in rec["jobs"].values())
        assert out[cid].verdict in stats.VERDICTS
    grads = load_record(tmp_path, "smoke", "resnet-gradients")["jobs"]["plain/seed0"]["result"]
    assert len(grads["at_init"]) == grads["layers"] > 10  # every weight layer of plain-20


def test_two_runs_on_one_directory_and_missing_data_are_refused(
    tmp_path: Path, data: Path, capsys
) -> None:
    from cnnzoo.locking import directory_lock

    with directory_lock(tmp_path / "smoke", "claims"), pytest.raises(RuntimeError, match="another"):
        run_claims(["batchnorm"], "smoke", tmp_path, data=str(data), log=lambda m: None)
    missing = tmp_path / "no-such-folder"
    args = ["claims", "run", "batchnorm", "--budget", "smoke", "--out", str(tmp_path)]
    assert main([*args, "--data", str(missing)]) == 2
    assert "no-such-folder" in capsys.readouterr().err
    assert not record_path(tmp_path, "smoke", "batchnorm").exists()
