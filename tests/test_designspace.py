"""Design spaces, sampling under a cost window, and the statistics of the analysis, checked
against hand-computed values."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

import cnnzoo
from cnnzoo.cost import anynet_complexity
from cnnzoo.designspace import (
    AnyNetSampler,
    Draw,
    Ranges,
    SampleStats,
    anynet_stages,
    get_space,
    list_spaces,
    parse_window,
    ranges_for,
    register_space,
    sample_configs,
)
from cnnzoo.designspace.analysis import (
    block_widths,
    bootstrap_best,
    bootstrap_best_exact,
    complexity_bins,
    complexity_weights,
    dominance,
    edf,
    edf_curve,
    fit_regnet_widths,
    fit_widths,
    pareto_front,
    quantized_widths,
)
from cnnzoo.designspace.spaces import SPACES, ModelSpec
from cnnzoo.designspace.sweep import config_text, trial_config
from cnnzoo.models import anynet as anynet_module
from cnnzoo.models.anynet_config import (
    REGNET_PARAMS,
    AnyNetConfig,
    StageConfig,
    regnet_config,
    regnet_widths,
)

SMALL = (1, 28, 28)


# --------------------------------------------------------------------------- random source


def test_draw_follows_pycls_distributions() -> None:
    d = Draw(0)
    logs = [d.log_uniform(8, 1024, 8) for _ in range(20_000)]
    assert all(8 <= w <= 1024 and w % 8 == 0 and isinstance(w, int) for w in logs)
    # pycls's log-uniform: f in (8 - 4, 1024] log-uniformly, ceiled to 8, so
    # P(w <= 88) = P(f <= 88) = log(88 / 4) / log(1024 / 4)
    low = sum(w <= 88 for w in logs) / len(logs)
    assert low == pytest.approx(math.log(22) / math.log(256), abs=0.015)
    assert {8, 1024} <= set(logs)
    depths = [d.log_uniform(1, 16, 1) for _ in range(5000)]
    assert set(depths) == set(range(1, 17))
    uni = Counter(d.uniform(12, 28, 1) for _ in range(17_000))
    assert set(uni) == set(range(12, 29)) and max(uni.values()) < 1.25 * min(uni.values())
    p2 = Counter(d.power2_uniform(1, 32, 1) for _ in range(6000))
    assert set(p2) == {1, 2, 4, 8, 16, 32}
    wa = [d.log_uniform(8.0, 256.0, 0.1) for _ in range(1000)]
    assert all(8.0 <= x <= 256.0 and abs(x * 10 - round(x * 10)) < 1e-6 for x in wa)
    g = [d.power2_or_log_uniform(1, 32, 8) for _ in range(3000)]
    assert all(x in (1, 2, 4) or (x % 8 == 0 and 8 <= x <= 32) for x in g)
    # seeded: the same seed, the same values
    a, b = Draw(7), Draw(7)
    assert [a.random() for _ in range(10_000)] == [b.random() for _ in range(10_000)]


# --------------------------------------------------------------------------- spaces


def _draws(name: str, n: int = 300, r: Ranges | None = None) -> list[AnyNetConfig]:
    space, draw, r = get_space(name), Draw(1), r or Ranges()
    out = []
    while len(out) < n:
        s = space.sample(draw, r)
        if s is not None:
            out.append(s.config)
    return out


def test_anynet_spaces_apply_their_constraints() -> None:
    for name in ("anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e"):
        configs = _draws(name)
        assert all(len(c.stages) == 4 and c.se_ratio == 0 and c.is_compatible for c in configs)
        assert all(1 <= d <= 16 for c in configs for d in c.depths)
        assert all(w <= 1024 and w % 8 == 0 for c in configs for w in c.widths), name
        assert all(b in (1, 2, 4) for c in configs for b in c.bottleneck_ratios)
        shared_b = [len(set(c.bottleneck_ratios)) == 1 for c in configs]
        # one g for all stages, capped at each stage's bottleneck width by pycls's fit
        shared_g = [
            all(s.group_width in (max(c.group_widths), s.bottleneck_width) for s in c.stages)
            for c in configs
        ]
        sorted_w = [list(c.widths) == sorted(c.widths) for c in configs]
        sorted_d = [list(c.depths) == sorted(c.depths) for c in configs]
        assert all(shared_b) == (name != "anynetx_a")
        assert all(shared_g) == (name in ("anynetx_c", "anynetx_d", "anynetx_e"))
        assert all(sorted_w) == (name in ("anynetx_d", "anynetx_e"))
        assert all(sorted_d) == (name == "anynetx_e")
    # A is free: its per-stage values differ
    a = _draws("anynetx_a")
    assert sum(len(set(c.bottleneck_ratios)) > 1 for c in a) > 100


def test_regnet_spaces_follow_the_linear_rule() -> None:
    r = Ranges()
    for name, se in (("regnetx", 0.0), ("regnety", 0.25)):
        space = get_space(name)
        draw, n = Draw(3), 0
        while n < 50:
            s = space.sample(draw, r)
            if s is None:
                continue
            n += 1
            p = s.params
            assert 12 <= p["depth"] <= 28 and p["w0"] % 8 == 0 and 2.0 <= p["wm"] <= 3.0
            assert s.config.se_ratio == se and len(s.config.stages) == 4
            assert set(s.config.bottleneck_ratios) == {1.0}
            widths = regnet_widths(p["depth"], p["w0"], p["wa"], p["wm"])
            assert s.config.depths == widths.stage_depths
            expected = regnet_config(
                p["depth"], p["w0"], p["wa"], p["wm"], p["group_width"], se_ratio=se
            )
            assert s.config.adjusted() == expected


def test_ranges_scale_with_the_input() -> None:
    assert ranges_for((1, 28, 28)).num_stages == 3
    assert ranges_for((3, 32, 32)).num_stages == 4
    assert ranges_for((3, 224, 224)) == Ranges()
    assert ranges_for((1, 28, 28), num_stages=2, width=(8, 256)).width == (8, 256)
    assert Ranges.from_dict(Ranges().to_dict()) == Ranges()
    with pytest.raises(ValueError, match="multiples of 8"):
        Ranges(width=(10, 100))
    with pytest.raises(ValueError, match=r"unknown design space .anynetx_z.*anynetx_a"):
        get_space("anynetx_z")


def test_a_new_space_is_a_few_lines() -> None:
    try:

        @register_space("test_space_f", "E with b = 1")
        def space_f(draw: Draw, r: Ranges) -> AnyNetConfig:
            d = sorted(draw.log_uniform(*r.depth, 1) for _ in range(r.num_stages))
            w = sorted(draw.log_uniform(*r.width, 8) for _ in range(r.num_stages))
            g = draw.choice(r.group_widths)
            return anynet_stages(r, d, w, [1] * r.num_stages, [g] * r.num_stages)

        register_space("test_space_g", "declarative", AnyNetSampler(shared_b=True, se=True))
        assert "test_space_f" in [s.name for s in list_spaces()]
        cands = sample_configs("test_space_f", 20, "1M:30M", input_size=SMALL, num_classes=10)
        assert all(set(c.config.bottleneck_ratios) == {1.0} for c in cands)
        assert all(c.params["depth"] == c.config.depth for c in cands)
        ys = sample_configs("test_space_g", 5, "1M:30M", input_size=SMALL, num_classes=10)
        assert all(c.config.se_ratio == 0.25 for c in ys)
        with pytest.raises(ValueError, match="registered already"):
            register_space("test_space_f", "again", space_f)
    finally:
        SPACES.pop("test_space_f", None)
        SPACES.pop("test_space_g", None)


def test_a_sampler_may_return_configs_that_do_not_fit() -> None:
    # DesignSpace.sample fits what a sampler function returns with pycls's rule, stage by stage
    # (strides kept); the declarative samplers' draws come fitted already.
    raw = AnyNetConfig(32, (StageConfig(1, 40, group_width=16), StageConfig(2, 392, 1, 1, 16)))
    try:
        register_space("test_space_raw", "unfitted", lambda draw, r: raw)
        s = get_space("test_space_raw").sample(Draw(0), Ranges())
        assert not raw.is_compatible and s.config == raw.adjusted() and s.params == {}
        assert s.config.widths == (32, 384) and s.config.strides == (2, 1)
    finally:
        SPACES.pop("test_space_raw", None)


# --------------------------------------------------------------------------- sampling


def test_parse_window() -> None:
    assert parse_window("15M:25M") == (15e6, 25e6)
    assert parse_window("360MF:0.4G") == (360e6, 400e6)
    assert parse_window(":2.5e6") == (0.0, 2.5e6)
    assert parse_window("1k:") == (1e3, math.inf)
    for bad in ("15M", "a:b", "25M:15M"):
        with pytest.raises(ValueError):
            parse_window(bad)


@pytest.mark.parametrize("space", ["anynetx_a", "anynetx_e", "regnetx", "regnety"])
def test_sampling_under_a_window_is_distinct_seeded_and_exact(space: str) -> None:
    stats = SampleStats()
    cands = sample_configs(
        space, 30, "15M:25M", input_size=SMALL, num_classes=10, seed=5, stats=stats
    )
    assert len(cands) == 30 == stats.accepted
    assert len({c.config for c in cands}) == 30  # no duplicates
    assert stats.drawn == 30 + stats.out_of_window + stats.duplicates + stats.invalid
    for c in cands:
        assert 15e6 <= c.cost.flops <= 25e6
        assert c.config.is_compatible and len(c.config.stages) == 3
        assert c.cost == anynet_complexity(c.config, SMALL, 10)
    # the analytic cost is the built network's: measured on the meta device for a few
    for c in cands[:3]:
        measured = cnnzoo.complexity(
            "anynet", SMALL, method="measured", num_classes=10, config=c.config
        )
        assert (measured.flops, measured.params) == (c.cost.flops, c.cost.params)
    again = sample_configs(space, 30, "15M:25M", input_size=SMALL, num_classes=10, seed=5)
    assert [c.config for c in again] == [c.config for c in cands]
    other = sample_configs(space, 30, "15M:25M", input_size=SMALL, num_classes=10, seed=6)
    assert [c.config for c in other] != [c.config for c in cands]


def test_sampling_builds_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("a network was built while sampling")

    monkeypatch.setattr(anynet_module.AnyNet, "__init__", refuse)
    cands = sample_configs("anynetx_c", 50, "360M:400M", seed=0)
    assert len(cands) == 50


def test_sampling_rejects_duplicates_and_explains_an_impossible_window() -> None:
    # a space with only 4 distinct networks: asking for 5 finds 4, then says why it stopped
    tiny = Ranges(num_stages=1, depth=(1, 2), width=(8, 16), bottlenecks=(1,), group_widths=(8,))
    stats = SampleStats()
    with pytest.raises(ValueError, match=r"only 4 of 5 distinct .* duplicates"):
        sample_configs(
            "anynetx_a", 5, None, input_size=SMALL, ranges=tiny, max_draws=2000, stats=stats
        )
    assert stats.duplicates == 2000 - 4
    with pytest.raises(ValueError, match="outside the window"):
        sample_configs("anynetx_a", 1, "1:2", input_size=SMALL, max_draws=100)


def test_sampling_rate() -> None:
    # the target (>= 10,000 candidates/s) is benchmarks/designspace_sampling.py's; a test on a
    # busy shared machine only guards against a tenfold regression
    stats = SampleStats()
    sample_configs("anynetx_a", 100, "15M:25M", input_size=SMALL, num_classes=10, stats=stats)
    assert stats.rate > 1000, stats


# --------------------------------------------------------------------------- statistics


def test_edf_by_hand() -> None:
    e = [0.3, 0.1, 0.2, 0.2]
    # F(e) = (1/n) sum 1[e_i < e]: strictly below
    assert edf(e, 0.1) == 0.0
    assert edf(e, 0.2) == 0.25
    assert edf(e, 0.25) == 0.75
    assert edf(e, 0.31) == 1.0
    np.testing.assert_allclose(edf(e, [0.05, 0.15, 0.3]), [0.0, 0.25, 0.75])
    w = [0.1, 0.2, 0.3, 0.4]  # weights of 0.3, 0.1, 0.2, 0.2
    assert edf(e, 0.25, w) == pytest.approx(0.2 + 0.3 + 0.4)
    x, y = edf_curve(e)
    np.testing.assert_allclose(x, [0.1, 0.2, 0.2, 0.3])
    np.testing.assert_allclose(y, [0.25, 0.5, 0.75, 1.0])


def test_complexity_normalisation_by_hand() -> None:
    edges = complexity_bins([[1, 2], [3, 100]], 2)
    np.testing.assert_allclose(edges, [1, 10, 100])  # log-spaced over everything given
    # three models in the first bin, one in the last: 1/(2*3) each and 1/2
    w = complexity_weights([1, 2, 3, 100], edges)
    np.testing.assert_allclose(w, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    assert w.sum() == pytest.approx(1)
    # the normalised EDF of errors [0.1, 0.2, 0.3, 0.4]: F(0.35) = 3/6, F(0.45) = 1
    assert edf([0.1, 0.2, 0.3, 0.4], 0.35, w) == pytest.approx(0.5)
    # an empty bin is left out: k' = 1 non-empty bin of 3 models
    np.testing.assert_allclose(complexity_weights([1, 2, 3], [1, 10, 100]), [1 / 3] * 3)


def test_bootstrap_of_the_best_error_by_hand() -> None:
    e = [0.4, 0.1, 0.3, 0.2]
    # m = 4 draws with replacement: P(min >= e_(k)) = ((n - k + 1) / n)^m
    exact = bootstrap_best_exact(e, frac=1.0)
    expected = {0.1: 175 / 256, 0.2: 65 / 256, 0.3: 15 / 256, 0.4: 1 / 256}
    assert exact.keys() == expected.keys()
    for k, p in expected.items():
        assert exact[k] == pytest.approx(p)
    b = bootstrap_best(e, frac=1.0, n_boot=20_000, seed=0)
    assert (b.best, b.m, b.n_boot) == (0.1, 4, 20_000)
    # median: P(min = 0.1) = 68% > 50%; 2.5th percentile 0.1; 97.5th: P(min >= 0.3) = 6.25% >
    # 2.5% but P(min = 0.4) = 0.4% < 2.5%, so 0.3
    assert (b.median, b.low, b.high) == (0.1, 0.1, 0.3)
    # 25% of 8 models: m = 2; P(min = smallest) = 1 - (7/8)^2
    eight = [0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15]
    assert bootstrap_best_exact(eight)[0.15] == pytest.approx(1 - (7 / 8) ** 2)
    assert bootstrap_best(eight, n_boot=2000).m == 2
    # m = 2 of 8: P(min <= 0.2) = 1 - (6/8)^2 = 0.44 < 0.5 <= P(min <= 0.25) = 1 - (5/8)^2,
    # so the median is 0.25; P(min >= 0.45) = (2/8)^2 = 6.25% > 2.5% > P(min = 0.5) = 1.6%,
    # so the 97.5th percentile is 0.45; P(min = 0.15) = 23% > 2.5%, so the 2.5th is 0.15
    b2 = bootstrap_best(eight, n_boot=40_000, seed=1)
    assert (b2.low, b2.median, b2.high) == (0.15, 0.25, 0.45)


def test_width_fit_by_hand() -> None:
    fit = fit_widths([8, 8, 16, 16, 16, 32])
    # j = 0..5, mean j 2.5, mean w 16; S_xx = 17.5, S_xy = 20 + 12 + 40 = 72
    assert fit.w_a == pytest.approx(72 / 17.5)
    assert fit.w_0 == pytest.approx(16 - 72 / 17.5 * 2.5)
    assert fit.w_m == pytest.approx(2.0)  # stages 8, 16, 32
    pred = fit.w_0 + fit.w_a * np.arange(6)
    assert fit.e_fit == pytest.approx(
        np.mean(np.abs(np.log(np.array([8, 8, 16, 16, 16, 32]) / pred)))
    )
    # the continuous RegNet widths are exactly the line
    u = regnet_widths(13, 24, 36.44, 2.49).continuous
    exact = fit_widths(u)
    assert (exact.w_0, exact.w_a, exact.e_fit) == pytest.approx((24, 36.44, 0), abs=1e-9)
    # w_m from the stage widths of a RegNet: the geometric mean ratio of its stages
    cfg = regnet_config(13, 24, 36.44, 2.49, 8).to_dict()
    sw = [s["width"] for s in cfg["stages"]]
    got = fit_widths(block_widths(cfg), sw)
    assert got.w_m == pytest.approx((sw[-1] / sw[0]) ** (1 / (len(sw) - 1)))
    assert len(block_widths(cfg)) == 13
    one = fit_widths([64])
    assert (one.w_0, one.w_a, one.w_m) == (64, 0, 1)


def test_quantized_widths_are_pycls_regnet_widths() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        d, w_0 = int(rng.integers(1, 40)), 8 * int(rng.integers(1, 40))
        w_a, w_m = float(rng.choice([0.0, rng.uniform(0, 120)])), float(rng.uniform(1.05, 3.5))
        ks, ws = quantized_widths(d, w_0, w_a, w_m)
        ref = regnet_widths(d, w_0, w_a, w_m)
        assert tuple(ws.tolist()) == ref.quantized and tuple(ks.tolist()) == ref.exponents
    # arrays of parameters broadcast, the block axis last
    ks, ws = quantized_widths(13, np.array([24, 48]), np.array([36.44, 0.0]), np.array([2.49, 2]))
    assert ws.shape == (2, 13) and tuple(ws[0]) == regnet_widths(13, 24, 36.44, 2.49).quantized
    assert set(ws[1].tolist()) == {48} and not ks[1].any()


@pytest.mark.parametrize("name", [n for n, p in REGNET_PARAMS.items() if p.rounding == "pycls"])
def test_regnet_fit_recovers_regnets(name: str) -> None:
    p = REGNET_PARAMS[name]
    w = p.widths().quantized
    fit = fit_regnet_widths(w)
    assert fit.e_fit < 1e-12 and fit.fitted == w and fit.widths == w
    assert fit.w_0 == p.w_0
    # the staircase pins w_m down to a narrow band (its levels are w_0·w_m^k rounded to 8)
    assert fit.w_m == pytest.approx(p.w_m, abs=0.015)
    assert fit.w_a == pytest.approx(p.w_a, rel=0.1)
    assert tuple(quantized_widths(len(w), fit.w_0, fit.w_a, fit.w_m)[1].tolist()) == w


def test_regnet_fit_by_hand() -> None:
    # 8, 16, 32, 64: s_j = j with w_m ≈ 2 (levels 8·w_m^k round to 16, 32, 64 for w_m in
    # [1.957, 2.041]) and r = w_a / 8 with round(log(1 + r·j) / log w_m) = j for j = 1, 2, 3:
    # r in [(w_m^2.5 − 1) / 3, w_m^1.5 − 1), so w_a in [11.6, 15.4] over that band
    fit = fit_regnet_widths([8, 16, 32, 64])
    assert fit.fitted == (8, 16, 32, 64) and fit.e_fit == 0.0 and fit.w_0 == 8
    assert 1.957 <= fit.w_m <= 2.041 and 11.6 <= fit.w_a <= 15.4
    # one width: the nearest level of the w_0 grid (multiples of 8 up to 40, and 20 itself,
    # which rounds to 16): 24, e_fit = log(24 / 20) < log(20 / 16)
    one = fit_regnet_widths([20])
    assert one.fitted == (24,) and one.e_fit == pytest.approx(math.log(24 / 20))
    assert one.w_a == 0 and math.isnan(one.w_m)
    # equal widths: a flat staircase, w_a = 0 (the line through them), w_m undetermined
    flat = fit_regnet_widths([16, 16, 16, 16])
    assert (flat.w_0, flat.w_a, flat.e_fit, flat.fitted) == (16, 0, 0, (16,) * 4)
    assert math.isnan(flat.w_m)
    with pytest.raises(ValueError, match="positive"):
        fit_regnet_widths([8, 0, 16])
    # the widths in their order: a narrowing network is no RegNet (its staircase only climbs);
    # a fit is remembered, and the same widths as numpy floats are the same question
    down = fit_regnet_widths([64, 32, 16, 8])
    assert down.widths == (64, 32, 16, 8) and down.e_fit > 0.3
    assert fit_regnet_widths(np.array([8.0, 16.0, 32.0, 64.0])) is fit


def test_regnet_fit_beats_a_dense_grid_and_sees_perturbations() -> None:
    w = np.array([16, 16, 48, 48, 48, 320, 320, 320, 320, 320], dtype=float)
    fit = fit_regnet_widths(w)
    ws = quantized_widths(len(w), fit.w_0, fit.w_a, fit.w_m)[1]
    assert fit.fitted == tuple(ws.tolist())
    assert fit.e_fit == pytest.approx(np.mean(np.abs(np.log(w / ws))), abs=1e-12)
    # a brute force over a dense grid finds nothing better
    g0, ga, gm = np.meshgrid(
        np.arange(8, 33, 8.0), np.arange(0, 200, 0.5), np.arange(1.5, 3.0001, 0.01), indexing="ij"
    )
    brute = np.abs(np.log(w / quantized_widths(len(w), g0, ga, gm)[1])).mean(-1).min()
    assert 0.05 < fit.e_fit <= brute + 1e-12
    # the widths of a RegNet fit exactly; moving one stage off the staircase costs e_fit
    reg = list(regnet_widths(13, 24, 36.44, 2.49).quantized)  # 24, 56, 152 ×4, 368 ×7
    assert fit_regnet_widths(reg).e_fit < 1e-12
    bent = reg[:2] + [232] * 4 + reg[6:]
    assert fit_regnet_widths(bent).e_fit > 0.03
    # and a line fits the exact staircase worse than the staircase does
    assert fit_widths(reg).e_fit > 0.1


def test_dominance_by_hand() -> None:
    d = dominance([0.1, 0.2], [0.3, 0.4], ("E", "A"), points=301)
    # over [0.1, 0.4]: F_E > F_A for e in (0.1, 0.4]; equal at 0.1 only
    assert d.frac_above == pytest.approx(300 / 301)
    assert d.frac_below == 0
    assert d.max_gap == 1.0 and 0.2 < d.at <= 0.3 + 1e-12
    assert d.min_gap == 0.0 and d.mean_gap > 0
    assert (d.mean_a, d.mean_b) == pytest.approx((0.15, 0.35))


def test_the_registered_anynet_takes_a_json_config() -> None:
    import json

    import torch

    config = regnet_config(13, 24, 36.44, 2.49, 8, se_ratio=0.25)
    data = json.loads(json.dumps(config.to_dict()))
    assert AnyNetConfig.from_dict(data) == config
    model = cnnzoo.create_model("anynet", config=data, num_classes=10, in_channels=1)
    assert model.config == config
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert cnnzoo.create_model("anynet").config == cnnzoo.create_model("regnetx_200mf").config
    with pytest.raises(ValueError, match="unknown AnyNet config key"):
        AnyNetConfig.from_dict(data | {"depth": 3})
    with pytest.raises(ValueError, match="bad AnyNet stage"):
        AnyNetConfig.from_dict({"stem_width": 32, "stages": [{"depth": 1, "widht": 8}]})


# --------------------------------------------------------------------------- generic networks


def _speednet_by_hand(widths: list[int], convs: list[int], stem: int) -> tuple[int, int]:
    """(multiply-adds, parameters) of a SpeedNet at 1x28x28, 10 classes, counted by hand."""
    macs = params = 0
    c_in, side = 1, 28
    if stem:
        macs += side * side * 9 * stem
        params += 9 * stem + 2 * stem
        c_in = stem
    for w, n in zip(widths, convs, strict=True):
        macs += side * side * 9 * c_in * w  # the first convolution, before its pooling
        side //= 2
        macs += (n - 1) * side * side * 9 * w * w
        params += 9 * c_in * w + (n - 1) * 9 * w * w + 2 * w * n
        c_in = w
    return macs + 10 * c_in + 10, params + 10 * c_in + 10


def test_the_speednet_space_draws_options_costed_as_by_hand() -> None:
    stats = SampleStats()
    cands = sample_configs(
        "speednet", 12, "5M:30M", input_size=SMALL, num_classes=10, seed=3, stats=stats
    )
    assert len({c.config for c in cands}) == 12 and stats.drawn == 12 + stats.out_of_window + (
        stats.duplicates + stats.invalid
    )
    for c in cands:
        assert isinstance(c.config, ModelSpec) and c.config.model == "speednet"
        o = c.config.kwargs
        assert o["widths"] == sorted(o["widths"]) and len(o["widths"]) == 3  # 3 stages at 28x28
        assert all(16 <= w <= 256 and w % 8 == 0 for w in o["widths"])  # the space's ranges
        assert all(1 <= d <= 4 for d in o["convs"]) and o["stem"] in (0, 8, 16, 32)
        assert 5e6 <= c.cost.flops <= 30e6
        assert (c.cost.flops, c.cost.params) == _speednet_by_hand(**o)
        assert c.params["w2"] == o["widths"][1] and c.params["d3"] == o["convs"][2]
        assert c.params["depth"] == sum(o["convs"]) + (o["stem"] > 0)
    again = sample_configs("speednet", 12, "5M:30M", input_size=SMALL, num_classes=10, seed=3)
    assert [c.config for c in again] == [c.config for c in cands]
    # a range given by hand replaces the space's own default
    wide = sample_configs(
        "speednet", 5, None, input_size=SMALL, num_classes=10,
        ranges=get_space("speednet").ranges(SMALL, width=(264, 512)),
    )  # fmt: skip
    assert all(min(c.config.kwargs["widths"]) >= 264 for c in wide)


def test_a_generic_draw_trains_the_network_it_names() -> None:
    spec = ModelSpec.of("speednet", widths=[16, 32], convs=(1, 2), stem=8)
    assert spec == ModelSpec.of("speednet", stem=8, convs=[1, 2], widths=(16, 32))  # hashable
    nested = ModelSpec.of("anynet", config={"stages": [{"depth": 1, "width": 8}], "stem_width": 8})
    assert len({nested, nested}) == 1  # nested lists and dicts hash too, and come back as given
    assert nested.kwargs == {"config": {"stages": [{"depth": 1, "width": 8}], "stem_width": 8}}
    assert spec.to_dict() == {
        "model": "speednet", "options": {"convs": [1, 2], "stem": 8, "widths": [16, 32]}
    }  # fmt: skip
    cfg = trial_config(spec.to_dict(), data="fashion-mnist", epochs=1)
    assert cfg["model"] == "speednet" and cfg["model_options"] == spec.kwargs
    model = cnnzoo.create_model(cfg["model"], **cfg["model_options"])
    convs = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [8, 16, 32, 32]
    anynet = trial_config({"stem_width": 8, "stages": [{"depth": 1, "width": 8}]})
    assert anynet["model"] == "anynet" and anynet["model_options"]["zero_init_last_bn"]
    assert config_text(spec.to_dict()) == "convs=1-2 stem=8 widths=16-32"
    assert config_text(
        {"stem_width": 8, "stages": [
            {"depth": 1, "width": 8, "bottleneck_ratio": 1, "group_width": 8},
            {"depth": 2, "width": 16, "bottleneck_ratio": 1, "group_width": 8},
        ]}
    ) == "d=1-2 w=8-16 b=1-1 g=8-8"  # fmt: skip


def test_pareto_front_by_hand() -> None:
    # (error, seconds): c is beaten by b on both; e ties d's time with a higher error; f has no
    # time; a is the fastest, d the most accurate
    errors = [0.30, 0.20, 0.25, 0.10, 0.15, 0.01]
    times = [1.0, 2.0, 3.0, 5.0, 5.0, math.nan]
    assert pareto_front(errors, times) == [0, 1, 3]
    assert pareto_front([0.2, 0.2], [1.0, 2.0]) == [0]  # the same error, later: beaten
    assert pareto_front([], []) == []


def test_an_impossible_window_over_a_generic_space_gives_up_soon(monkeypatch) -> None:
    # a generic draw is costed by building the network (~50 ms): the AnyNet spaces' 100,000
    # draws would take over an hour before saying the window is empty
    from cnnzoo.designspace import sampling

    def huge(spec, size, classes):
        return sampling.Complexity(1, 10**9, 1, 10**9, size)

    monkeypatch.setattr(sampling, "spec_complexity", huge)
    stats = SampleStats()
    with pytest.raises(ValueError, match=r"only 0 of 3 distinct speednet networks .* outside"):
        sample_configs("speednet", 3, "1:2", input_size=SMALL, num_classes=10, stats=stats)
    assert stats.drawn == 1_000
