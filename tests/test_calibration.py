"""Platt calibration of prediction confidence and the expected calibration error it is judged by."""

import math
import random

import pytest

from graph.predictions import calibration
from graph.predictions.calibration import (
    ECE_BINS,
    MIN_SAMPLES,
    CalibrationReport,
    PlattModel,
    calibrated_confidence,
    expected_calibration_error,
    fit_platt,
    report,
)

GRID = [0.0, 1e-9, 0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 1 - 1e-9, 1.0]


def synthetic_history(
    n: int, seed: int, distort: float = 1.0, decimals: int | None = None
) -> tuple[list[float], list[bool]]:
    """True probability p; the model states p ** distort; the outcome is right with chance p.

    `distort` < 1 pushes the stated confidence towards 1: systematic over-confidence.
    """
    rng = random.Random(seed)
    raw: list[float] = []
    outcomes: list[bool] = []
    for _ in range(n):
        p = rng.random()
        stated = p**distort
        raw.append(stated if decimals is None else round(stated, decimals))
        outcomes.append(rng.random() < p)
    return raw, outcomes


def reference_ece(confidences: list[float], outcomes: list[bool], bins: int = ECE_BINS) -> float:
    """Textbook ECE, written independently of the module: explicit bins, means and weights."""
    total = len(confidences)
    error = 0.0
    for i in range(bins):
        low, high = i / bins, (i + 1) / bins
        members = [
            (c, o)
            for c, o in zip(confidences, outcomes, strict=True)
            if low <= c < high or (i == bins - 1 and c == 1.0)
        ]
        if not members:
            continue
        mean_confidence = sum(c for c, _ in members) / len(members)
        accuracy = sum(1 for _, o in members if o) / len(members)
        error += len(members) / total * abs(mean_confidence - accuracy)
    return error


def platt_gradient(
    model: PlattModel, raw: list[float], outcomes: list[bool]
) -> tuple[float, float]:
    """Per-sample gradient of Platt's objective (smoothed targets) at the model's (a, b)."""
    positives = sum(outcomes)
    negatives = len(outcomes) - positives
    target_right = (positives + 1) / (positives + 2)
    target_wrong = 1 / (negatives + 2)
    grad_a = grad_b = 0.0
    for value, outcome in zip(raw, outcomes, strict=True):
        clamped = min(max(value, 1e-6), 1 - 1e-6)
        x = math.log(clamped / (1 - clamped))
        p = 1 / (1 + math.exp(-(model.a * x + model.b)))
        residual = p - (target_right if outcome else target_wrong)
        grad_a += residual * x
        grad_b += residual
    return grad_a / len(raw), grad_b / len(raw)


def assert_finite_and_bounded(model: PlattModel) -> None:
    assert math.isfinite(model.a)
    assert math.isfinite(model.b)
    for value in GRID:
        assert 0.0 <= model.apply(value) <= 1.0


# --- the requirement -------------------------------------------------------------------


def test_over_confident_history_calibration_halves_the_ece() -> None:
    raw, outcomes = synthetic_history(4000, seed=7, distort=0.3)

    result = report(raw, outcomes)
    model = fit_platt(raw, outcomes)

    assert model is not None
    assert result.fitted
    assert result.samples == 4000
    assert result.ece_raw is not None
    assert result.ece_calibrated is not None
    # The test's own ECE agrees with the module's, before and after.
    calibrated = [model.apply(value) for value in raw]
    ece_raw = reference_ece(raw, outcomes)
    ece_calibrated = reference_ece(calibrated, outcomes)
    assert result.ece_raw == pytest.approx(ece_raw, abs=1e-9)
    assert result.ece_calibrated == pytest.approx(ece_calibrated, abs=1e-9)
    assert ece_raw > 0.15  # the synthetic model really is badly over-confident
    assert ece_calibrated < ece_raw / 2
    assert ece_calibrated < 0.05
    # Over-confidence is corrected downwards where the model claims to be sure.
    assert model.a > 0
    assert model.apply(0.9) < 0.9
    assert model.apply(0.99) < 0.99


def test_a_prediction_after_fitting_carries_raw_and_calibrated_confidence() -> None:
    raw, outcomes = synthetic_history(500, seed=3, distort=0.3)
    stated = 0.92

    before = {"raw_confidence": stated, "confidence": calibrated_confidence(None, stated)}
    model = fit_platt(raw, outcomes)
    after = {"raw_confidence": stated, "confidence": calibrated_confidence(model, stated)}

    assert before == {"raw_confidence": 0.92, "confidence": 0.92}  # not fitted: raw as is
    assert model is not None
    assert after["raw_confidence"] == 0.92
    assert after["confidence"] == model.apply(stated)
    # p ** 0.3 == 0.92 means p is about 0.76: the calibrated value is close to that
    assert after["confidence"] == pytest.approx(0.92 ** (1 / 0.3), abs=0.08)


# --- fitting -----------------------------------------------------------------------------------


def test_well_calibrated_history_stays_calibrated() -> None:
    raw, outcomes = synthetic_history(4000, seed=11, distort=1.0)

    result = report(raw, outcomes)
    model = fit_platt(raw, outcomes)

    assert model is not None
    assert result.ece_raw is not None
    assert result.ece_calibrated is not None
    assert result.ece_calibrated <= result.ece_raw + 0.01
    assert model.a == pytest.approx(1.0, abs=0.15)  # close to the identity map
    assert model.b == pytest.approx(0.0, abs=0.15)
    for value in (0.1, 0.5, 0.9):
        assert model.apply(value) == pytest.approx(value, abs=0.04)


def test_under_confident_history_is_pushed_outwards() -> None:
    raw, outcomes = synthetic_history(3000, seed=5, distort=3.0)

    result = report(raw, outcomes)

    assert result.ece_raw is not None
    assert result.ece_calibrated is not None
    assert result.ece_calibrated < result.ece_raw / 2


@pytest.mark.parametrize(
    ("n", "distort", "decimals"),
    [(20, 0.3, None), (200, 0.5, None), (3000, 0.3, None), (3000, 0.3, 2), (5000, 2.0, None)],
)
def test_fit_is_platts_optimum(n: int, distort: float, decimals: int | None) -> None:
    raw, outcomes = synthetic_history(n, seed=n, distort=distort, decimals=decimals)

    model = fit_platt(raw, outcomes)

    assert model is not None
    assert model.samples == n
    grad_a, grad_b = platt_gradient(model, raw, outcomes)
    assert abs(grad_a) < 1e-5
    assert abs(grad_b) < 1e-5


@pytest.mark.parametrize("decimals", [None, 2])
def test_order_of_the_history_does_not_matter(decimals: int | None) -> None:
    """The fit is of the whole history (the thinned-out first pass is only a starting point)."""
    raw, outcomes = synthetic_history(5000, seed=4, distort=0.4, decimals=decimals)
    pairs = list(zip(raw, outcomes, strict=True))
    random.Random(0).shuffle(pairs)

    ordered = fit_platt(raw, outcomes)
    shuffled = fit_platt([r for r, _ in pairs], [o for _, o in pairs])

    assert ordered is not None
    assert shuffled is not None
    assert shuffled.a == pytest.approx(ordered.a, abs=1e-5)
    assert shuffled.b == pytest.approx(ordered.b, abs=1e-5)


def test_fewer_than_min_samples_is_not_fitted() -> None:
    raw, outcomes = synthetic_history(MIN_SAMPLES - 1, seed=1, distort=0.3)

    assert MIN_SAMPLES == 20
    assert fit_platt(raw, outcomes) is None
    result = report(raw, outcomes)
    assert result == CalibrationReport(
        fitted=False,
        samples=MIN_SAMPLES - 1,
        ece_raw=pytest.approx(reference_ece(raw, outcomes)),
        ece_calibrated=None,
    )
    assert calibrated_confidence(None, 0.83) == 0.83


def test_exactly_min_samples_is_fitted() -> None:
    raw, outcomes = synthetic_history(MIN_SAMPLES, seed=1, distort=0.3)

    model = fit_platt(raw, outcomes)

    assert model is not None
    assert model.samples == MIN_SAMPLES
    assert report(raw, outcomes).fitted


def test_empty_history_reports_nothing() -> None:
    assert fit_platt([], []) is None
    assert report([], []) == CalibrationReport(
        fitted=False, samples=0, ece_raw=None, ece_calibrated=None
    )


def _all_right() -> tuple[list[float], list[bool]]:
    return [i / 40 for i in range(40)], [True] * 40


def _all_wrong() -> tuple[list[float], list[bool]]:
    return [i / 40 for i in range(40)], [False] * 40


def _identical() -> tuple[list[float], list[bool]]:
    return [0.9] * 50, [i % 5 == 0 for i in range(50)]


def _nearly_identical() -> tuple[list[float], list[bool]]:
    return [0.9 if i % 2 else math.nextafter(0.9, 1.0) for i in range(50)], [
        i % 5 == 0 for i in range(50)
    ]


def _only_zero_and_one() -> tuple[list[float], list[bool]]:
    return [float(i % 2) for i in range(60)], [i % 3 == 0 for i in range(60)]


def _zero_and_one_backwards() -> tuple[list[float], list[bool]]:
    # stated 0 is always right, stated 1 always wrong: saturated at the identity start
    return [float(i % 2) for i in range(60)], [i % 2 == 0 for i in range(60)]


def _perfectly_separated() -> tuple[list[float], list[bool]]:
    return [i / 40 for i in range(40)], [i >= 20 for i in range(40)]


def _all_certain_and_right() -> tuple[list[float], list[bool]]:
    return [1.0] * 30, [True] * 30


@pytest.mark.parametrize(
    "history",
    [
        _all_right,
        _all_wrong,
        _identical,
        _nearly_identical,
        _only_zero_and_one,
        _zero_and_one_backwards,
        _perfectly_separated,
        _all_certain_and_right,
    ],
)
def test_degenerate_histories_give_a_finite_bounded_model(history) -> None:
    raw, outcomes = history()

    model = fit_platt(raw, outcomes)

    assert model is not None
    assert_finite_and_bounded(model)
    grad_a, grad_b = platt_gradient(model, raw, outcomes)
    assert abs(grad_a) < 1e-4
    assert abs(grad_b) < 1e-4
    result = report(raw, outcomes)
    assert result.ece_calibrated is not None
    assert 0.0 <= result.ece_calibrated <= 1.0


@pytest.mark.parametrize(
    "history",
    [
        _all_right,
        _all_wrong,
        _nearly_identical,
        _only_zero_and_one,
        _zero_and_one_backwards,
        _perfectly_separated,
    ],
)
def test_degenerate_histories_converge_in_a_few_passes(history, monkeypatch) -> None:
    """Saturated starts (a stated 0 or 1 that is the wrong way round) must not make the fit
    crawl back through dozens of halved steps: refitting on every piece of feedback has to
    stay cheap. Counts the passes over the history through the private evaluator."""
    evaluate = calibration._evaluate
    passes = 0

    def counting(*args):
        nonlocal passes
        passes += 1
        return evaluate(*args)

    monkeypatch.setattr(calibration, "_evaluate", counting)

    assert fit_platt(*history()) is not None
    assert passes <= 20


def test_all_right_maps_to_the_smoothed_base_rate() -> None:
    raw, outcomes = _all_right()

    model = fit_platt(raw, outcomes)

    assert model is not None
    for value in GRID:
        assert model.apply(value) == pytest.approx(41 / 42, abs=1e-4)  # (N+ + 1) / (N+ + 2)


def test_all_wrong_maps_to_the_smoothed_base_rate() -> None:
    raw, outcomes = _all_wrong()

    model = fit_platt(raw, outcomes)

    assert model is not None
    for value in GRID:
        assert model.apply(value) == pytest.approx(1 / 42, abs=1e-4)  # 1 / (N- + 2)


@pytest.mark.parametrize("history", [_identical, _nearly_identical])
def test_identical_raw_values_map_to_roughly_the_base_rate(history) -> None:
    raw, outcomes = history()

    model = fit_platt(raw, outcomes)

    assert model is not None
    assert model.apply(raw[0]) == pytest.approx(sum(outcomes) / len(outcomes), abs=0.02)


def test_zero_and_one_backwards_learns_the_reversal() -> None:
    raw, outcomes = _zero_and_one_backwards()

    model = fit_platt(raw, outcomes)

    assert model is not None
    assert model.a < 0
    assert model.apply(0.0) == pytest.approx(31 / 32, abs=1e-3)
    assert model.apply(1.0) == pytest.approx(1 / 32, abs=1e-3)


def test_large_history_fits() -> None:
    """Speed sanity only (no timing asserted): 10,000 continuous values fit and apply."""
    raw, outcomes = synthetic_history(10_000, seed=42, distort=0.3)

    model = fit_platt(raw, outcomes)

    assert model is not None
    assert model.samples == 10_000
    assert_finite_and_bounded(model)


# --- applying ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        PlattModel(a=2.5, b=-1.0, samples=20),
        PlattModel(a=0.3, b=0.7, samples=20),
        PlattModel(a=1e-9, b=3.0, samples=20),
        PlattModel(a=40.0, b=0.0, samples=20),
    ],
)
def test_apply_is_non_decreasing_when_a_is_positive(model: PlattModel) -> None:
    grid = sorted({*GRID, *(i / 1000 for i in range(1001))})

    values = [model.apply(value) for value in grid]

    assert all(0.0 <= value <= 1.0 for value in values)
    assert values == sorted(values)


def test_fitted_over_confidence_model_is_monotonic() -> None:
    raw, outcomes = synthetic_history(2000, seed=9, distort=0.3)
    model = fit_platt(raw, outcomes)
    assert model is not None
    assert model.a > 0

    values = [model.apply(i / 200) for i in range(201)]

    assert values == sorted(values)


def test_identity_model_returns_the_raw_value() -> None:
    model = PlattModel(a=1.0, b=0.0, samples=20)

    for value in (0.01, 0.25, 0.5, 0.75, 0.99):
        assert model.apply(value) == pytest.approx(value, abs=1e-12)
    # 0 and 1 are clamped to 1e-6 away from the ends before the logit
    assert model.apply(0.0) == pytest.approx(1e-6)
    assert model.apply(1.0) == pytest.approx(1 - 1e-6)


def test_extreme_model_stays_in_bounds() -> None:
    model = PlattModel(a=1e6, b=-1e6, samples=20)

    assert model.apply(0.0) == 0.0
    assert model.apply(1.0) == 1.0


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf])
def test_confidences_outside_the_unit_interval_are_refused(bad: float) -> None:
    model = PlattModel(a=1.0, b=0.0, samples=20)
    raw, outcomes = synthetic_history(30, seed=1)

    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        model.apply(bad)
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        calibrated_confidence(None, bad)
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        fit_platt([*raw, bad], [*outcomes, True])
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        expected_calibration_error([0.5, bad], [True, False])


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        fit_platt([0.5] * 20, [True] * 19)
    with pytest.raises(ValueError, match="same length"):
        expected_calibration_error([0.5], [])


# --- expected calibration error ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidences", "outcomes", "expected"),
    [
        # one bin (0.9-1.0): mean 0.95, accuracy 0.5
        ([0.95, 0.95], [True, False], 0.45),
        # bins 1 and 8, half the weight each: 0.5 * |0.15 - 0| + 0.5 * |0.85 - 1|
        ([0.15, 0.15, 0.85, 0.85], [False, False, True, True], 0.15),
        # 1.0 shares the last bin with 0.9: mean 0.95, accuracy 0.5 (a bin of its own gives 0.55)
        ([1.0, 0.9], [False, True], 0.45),
        # 0.0 is in the first bin: mean 0.025, accuracy 0
        ([0.0, 0.05], [False, False], 0.025),
        # exactly calibrated bin
        ([0.25, 0.25, 0.25, 0.25], [True, False, False, False], 0.0),
        # three bins: 0.25 * |0.05 - 0| + 0.25 * |0.55 - 1| + 0.5 * |0.75 - 0.5|
        ([0.05, 0.55, 0.75, 0.75], [False, True, True, False], 0.0125 + 0.1125 + 0.125),
        # a single certain mistake
        ([1.0], [False], 1.0),
    ],
)
def test_ece_known_values(confidences: list[float], outcomes: list[bool], expected: float) -> None:
    assert expected_calibration_error(confidences, outcomes) == pytest.approx(expected, abs=1e-12)
    assert reference_ece(confidences, outcomes) == pytest.approx(expected, abs=1e-12)


def test_ece_with_one_bin_is_the_gap_between_mean_confidence_and_accuracy() -> None:
    assert expected_calibration_error([0.2, 0.8], [True, True], bins=1) == pytest.approx(0.5)


def test_ece_of_nothing_is_none() -> None:
    assert expected_calibration_error([], []) is None


def test_ece_needs_a_bin() -> None:
    with pytest.raises(ValueError, match="bins"):
        expected_calibration_error([0.5], [True], bins=0)


def test_ece_matches_the_reference_on_random_data() -> None:
    rng = random.Random(123)
    confidences = [rng.random() for _ in range(2000)] + [0.0, 1.0, 0.5, 0.1, 0.9]
    outcomes = [rng.random() < 0.6 for _ in confidences]

    for bins in (1, 3, 10, 15):
        assert expected_calibration_error(confidences, outcomes, bins) == pytest.approx(
            reference_ece(confidences, outcomes, bins), abs=1e-12
        )
