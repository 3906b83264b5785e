"""The AnyNet claims (cnnzoo.claims.anynet): the EDF statistics against hand-computed values,
each rule on hand-made errors for all three verdicts, and the sharing of networks between
claims. The smoke budget of these claims runs end to end, and a shared training is recorded in
every claim that judges it, with every other claim's in test_claims.py."""

from __future__ import annotations

import math
import random

import pytest

from cnnzoo.claims import stats
from cnnzoo.claims.anynet_common import mean_gap as _mean_gap
from cnnzoo.claims.anynet_common import sampled_networks as _networks
from cnnzoo.claims.core import get_claim
from cnnzoo.claims.regnet_rule import _fits, _growth
from cnnzoo.claims.stats import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

# --------------------------------------------------------------------------- statistics


def test_ks_area_and_share_by_hand() -> None:
    a, b = [0.1, 0.2, 0.3], [0.2, 0.4]
    # F_a: 1/3 at 0.1, 2/3 at 0.2, 1 at 0.3; F_b: 1/2 at 0.2, 1 at 0.4
    # gaps F_a - F_b at 0.1, 0.2, 0.3, 0.4: 1/3, 1/6, 1/2, 0
    assert stats.ks_distance(a, b) == pytest.approx(0.5)
    assert stats.ks_distance(b, a) == pytest.approx(0.5)
    assert stats.edf_area(a, b) == pytest.approx((1 / 3 + 1 / 6 + 1 / 2) * 0.1)
    assert stats.edf_area(b, a) == pytest.approx(-0.1)
    # the signed area is the difference of means, the other way round
    assert stats.edf_area(a, b) == pytest.approx(sum(b) / 2 - sum(a) / 3)
    assert _mean_gap(a, b) == pytest.approx(-stats.edf_area(a, b))
    assert stats.edf_share_above(a, b) == pytest.approx(1.0)  # above on [0.1, 0.4) wholly
    assert stats.edf_share_above(b, a) == 0.0
    c = [0.15, 0.35]  # F_c: 1/2 at 0.15, 1 at 0.35 — crosses F_a
    # on [0.1,0.15) F_a=1/3 > 0; [0.15,0.2) 1/3 < 1/2; [0.2,0.3) 2/3 > 1/2; [0.3,0.35) 1 > 1/2;
    # [0.35, 0.4]: no value of either beyond 0.35, the pooled range ends at 0.35
    assert stats.edf_share_above(a, c) == pytest.approx((0.05 + 0.1 + 0.05) / 0.25)
    assert stats.ks_distance(a, a) == 0.0 and stats.edf_area(a, a) == 0.0
    assert stats.ks_distance([0.1, 0.2], [0.5, 0.6]) == 1.0


def test_median_and_edf_at() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert stats.edf_at([0.1, 0.2, 0.2, 0.5], 0.2) == 0.75
    with pytest.raises(ValueError, match="finite"):
        stats.ks_distance([0.1, math.nan], [0.2])


def test_two_sample_bootstrap() -> None:
    rng = random.Random(1)
    same = [rng.gauss(0.3, 0.05) for _ in range(40)]
    other = [rng.gauss(0.3, 0.05) for _ in range(40)]
    better = [x - 0.1 for x in other]
    iv = stats.two_sample_bootstrap(_mean_gap, same, other)
    assert iv.value == pytest.approx(sum(same) / 40 - sum(other) / 40)
    assert iv.low < 0 < iv.high, "two samples of one distribution: the interval holds 0"
    iv = stats.two_sample_bootstrap(_mean_gap, better, same)
    assert iv.high < -0.05 and iv.low > -0.16
    # the resampling is on each side alone: a constant side adds no spread
    flat = stats.two_sample_bootstrap(_mean_gap, [0.2] * 5, [0.3] * 7)
    assert flat.low == flat.high == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="at least 2"):
        stats.two_sample_bootstrap(_mean_gap, [0.2], [0.3, 0.4])


# --------------------------------------------------------------------------- rules, made-up errors


def _results(claim_id: str, setting: dict, error_of) -> dict:
    """A finished result for every job of the claim, with the error ``error_of(job)``."""
    claim = get_claim(claim_id)
    out = {}
    for job in claim.experiment(setting):
        err = error_of(job)
        out[job.key] = {
            "group": job.group,
            "seed": job.seed,
            "kind": "train",
            "status": "finished",
            "result": {"test_acc": 1.0 - err},
        }
    return out


# (direction, verdict): +1 the data agree with the claim, -1 they contradict it, 0 pure noise
DIRECTIONS = [(1, REPRODUCED), (-1, NOT_REPRODUCED), (0, INCONCLUSIVE)]


@pytest.mark.parametrize(("direction", "verdict"), DIRECTIONS)
def test_progression_rule(direction: int, verdict: str) -> None:
    claim = get_claim("anynet-progression")
    s = claim.setting("smoke") | {"n": 30}
    # mean error per space: B and C as A, D and E better by 4 points each, RegNetX as E;
    # contradicted: B and C worse by 4, D and E worse, RegNetX worse
    step = {"anynetx_a": 0, "anynetx_b": 0, "anynetx_c": 0, "anynetx_d": 1, "anynetx_e": 2,
            "regnetx": 2}  # fmt: skip
    worse = {"anynetx_a": 0, "anynetx_b": 1, "anynetx_c": 2, "anynetx_d": 3, "anynetx_e": 4,
             "regnetx": 5}  # fmt: skip
    rng = random.Random(0)

    def error(job) -> float:
        if direction == 1:
            return 0.30 - 0.04 * step[job.group] + rng.gauss(0, 0.002)
        if direction == -1:
            return 0.30 + 0.04 * worse[job.group] + rng.gauss(0, 0.002)
        return 0.30 + rng.gauss(0, 0.08)

    analysis = claim.rule(s, _results(claim.id, s, error))
    assert len(analysis.findings) == 5
    assert analysis.verdict == verdict, [(f.describe(), f.verdict) for f in analysis.findings]
    assert [r[0] for r in analysis.rows] == ["A", "B", "C", "D", "E", "RegNetX"]
    # parameters drawn per space at 3 stages: A 4 per stage, B 3 + 1, C 2 + 2, RegNetX 5
    assert [r[1] for r in analysis.rows] == ["12", "10", "8", "8", "8", "5"]


def test_progression_rule_within_the_tolerance() -> None:
    # B a little worse than A, but less than the tolerance (1 point): it loses "nothing"
    claim = get_claim("anynet-progression")
    s = claim.setting("smoke") | {"n": 30, "spaces": ["anynetx_a", "anynetx_b"]}
    rng = random.Random(0)
    res = _results(
        claim.id, s,
        lambda j: 0.30 + (0.004 if j.group == "anynetx_b" else 0) + rng.gauss(0, 0.001),
    )  # fmt: skip
    (finding,) = claim.rule(s, res).findings
    assert finding.verdict == REPRODUCED and 0.002 < finding.interval.value < 0.006


@pytest.mark.parametrize(("direction", "verdict"), DIRECTIONS)
def test_partial_metrics_rule(direction: int, verdict: str) -> None:
    claim = get_claim("partial-metrics")
    s = claim.setting("smoke") | {"n": 30}
    rng = random.Random(2)
    quality = {i: rng.random() for i in range(30)}  # each network's true rank

    def error(job) -> float:
        q = quality[job.seed]
        if job.group == "short":
            return 0.2 + 0.2 * q + (rng.gauss(0, 0.06) if direction == 0 else 0.0)
        sign = 1 if direction >= 0 else -1  # -1: the long budget reverses the order
        return 0.15 + 0.1 * (q if sign > 0 else 1 - q) + rng.gauss(0, 0.0002)

    analysis = claim.rule(s, _results(claim.id, s, error))
    assert analysis.verdict == verdict, [f.describe() for f in analysis.findings]
    rows = dict((r[0], r[1]) for r in analysis.rows)
    assert rows["networks with both errors"] == "30"
    found = rows["top decile (best 3) by the long budget found by the short one"]
    assert found == {1: "3 of 3", -1: "0 of 3"}.get(direction, found)


@pytest.mark.parametrize(("direction", "verdict"), DIRECTIONS)
def test_small_to_large_rule(direction: int, verdict: str) -> None:
    claim = get_claim("small-to-large")
    s = claim.setting("smoke") | {"n": 20, "n_large": 20}
    rng = random.Random(3)

    def error(job) -> float:
        e_space = job.group.startswith("anynetx_e")
        large = "@" in job.group
        if direction == 0:
            return 0.3 + rng.gauss(0, 0.1)
        # -1: E better in the small window only, A better in the large one
        sign = 1 if (direction == 1 or not large) else -1
        return 0.3 - (0.05 * sign if e_space else 0.0) + rng.gauss(0, 0.005)

    analysis = claim.rule(s, _results(claim.id, s, error))
    assert analysis.verdict == verdict, [f.describe() for f in analysis.findings]
    if direction:  # E is better in the small window either way
        assert analysis.findings[0].verdict == REPRODUCED
    assert len(analysis.rows) == 4


@pytest.mark.parametrize(("direction", "verdict"), DIRECTIONS)
def test_regnet_rule(direction: int, verdict: str) -> None:
    claim = get_claim("regnet-rule")
    s = claim.setting("smoke") | {"n": 40}
    fits = _fits(s, s["free_widths"] + s["sorted_widths"])
    rng = random.Random(4)

    def error(job) -> float:
        if job.group == s["regnet"]:
            return 0.25 + rng.gauss(0, 0.01)
        f = fits[job.group][job.seed]
        if direction == 0:
            return 0.3 + rng.gauss(0, 0.05)
        # +1: growth lowers the error, a poor RegNet fit raises it; -1: the other way round
        if job.group in s["free_widths"]:
            return 0.3 - direction * 0.05 * _growth(f.line) + rng.gauss(0, 0.001)
        return 0.3 + direction * 0.5 * f.regnet.e_fit + rng.gauss(0, 0.001)

    analysis = claim.rule(s, _results(claim.id, s, error))
    assert analysis.verdict == verdict, [f.describe() for f in analysis.findings]
    assert analysis.rows and analysis.rows[0][1] == str(round(5 * 40 * 0.25))
    assert any("RegNetX's best" in n for n in analysis.notes)
    # the second finding is the quantised fit's e_fit, best − rest: its sign follows which
    # networks are best; the plain line's is a note
    gap = analysis.findings[1].interval.value
    assert "RegNet-fit" in analysis.findings[1].quantity
    if direction:
        assert direction * gap < 0
    assert any("plain least-squares line" in n for n in analysis.notes)
    assert any("top of its range" in n for n in analysis.notes)


def test_the_claims_share_their_networks() -> None:
    # the first n networks of a space are the same whatever n: every claim trains the same ones
    s = get_claim("anynet-progression").setting("cpu")
    few, many = _networks(s, "anynetx_a", 5), _networks(s, "anynetx_a", 30)
    assert [c.config for c in few] == [c.config for c in many[:5]]
    prog = {j.spec_hash() for j in get_claim("anynet-progression").jobs("cpu")}
    rule = {j.spec_hash() for j in get_claim("regnet-rule").jobs("cpu")}
    assert rule <= prog, "the RegNet rule is judged on the progression's networks"
    partial = get_claim("partial-metrics").jobs("cpu")
    short = {j.spec_hash() for j in partial if j.group == "short"}
    assert len(short) == 30 and short <= prog
    small = [j for j in get_claim("small-to-large").jobs("cpu") if "@" not in j.group]
    assert {j.spec_hash() for j in small} <= prog
