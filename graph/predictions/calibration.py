"""Per-user calibration of a prediction's confidence: Platt scaling plus the error it removes.

A model's stated confidence is only useful to an agent if "0.8" means right about 80% of the
time; language models tend to be over-confident, and by different amounts for different people.
So each candidate keeps the model's number as `raw_confidence`, and `confidence` is that number
passed through a two-parameter logistic map fitted on the user's own history of predictions
with known outcomes. Until the history is long enough to fit (`MIN_SAMPLES`), the raw value is
used as is: a map fitted on a handful of outcomes would be noise, not calibration.

Everything here is pure (no I/O, no clock, no randomness) and pure Python, so the caller can
refit on every new piece of feedback: one fit over 10,000 outcomes takes about ten milliseconds.
"""

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SAMPLES = 20  # fewer known outcomes than this and the confidence stays raw
ECE_BINS = 10  # equal-width bins over [0, 1] for the expected calibration error

# logit(0) and logit(1) are infinite: raw values are clamped into [_EPS, 1 - _EPS] first, so a
# stated 0 or 1 becomes a large but finite feature (|logit| <= ~13.8) and the fit stays finite.
_EPS = 1e-6
_MAX_ITERATIONS = 100
_ARMIJO = 1e-4  # sufficient-decrease constant of the backtracking line search
_MIN_STEP = 1e-10  # give up shrinking a Newton step below this fraction
_RIDGE = 1e-9  # relative damping of the Hessian, so a near-singular one still gives a step
_DECREMENT_TOLERANCE = 1e-12  # per sample: a Newton step predicted to gain less is not taken
_LAST_STEP_DECREMENT = 1e-6  # per sample: a Newton step predicted to gain less is the last one
_MAX_REACH = 8.0  # first bound on the change of any point's logit in one step (trust region)
_LAST_STEP_REACH = 1.0  # an unchecked last step may move no point's logit further than this
_LOSS_NOISE = 1e-13  # relative: loss differences this small are rounding, not progress
_COARSE_POINTS = 1024  # larger histories get a first fit on a thinned-out subset


@dataclass(frozen=True)
class PlattModel:
    """A fitted calibration map: `calibrated = sigmoid(a * logit(raw) + b)`.

    Working on the logit of the raw confidence (rather than on the raw value itself) makes the
    identity map a member of the family (a = 1, b = 0), so a model that is already calibrated
    is left nearly alone, and `a < 1` expresses over-confidence as a pull towards the middle.
    `samples` is how many outcomes the map was fitted on, for reporting.
    """

    a: float
    b: float
    samples: int

    def apply(self, raw: float) -> float:
        """The calibrated confidence for a raw one, in [0, 1].

        Non-decreasing in `raw` whenever `a > 0`; a negative `a` (only fitted when the user's
        history says higher stated confidence means *less* often right) reverses the order.
        """
        _check_probability(raw, "raw confidence")
        return _sigmoid(self.a * _logit(raw) + self.b)


def calibrated_confidence(model: PlattModel | None, raw: float) -> float:
    """The `confidence` to store next to `raw_confidence`: the raw value until a model exists."""
    if model is None:
        _check_probability(raw, "raw confidence")
        return raw
    return model.apply(raw)


def fit_platt(raw: Sequence[float], outcomes: Sequence[bool]) -> PlattModel | None:
    """Fit Platt scaling on one user's history, or None while it is shorter than MIN_SAMPLES.

    Minimises the cross-entropy of `sigmoid(a * x + b)` with `x = logit(clamp(raw))` against
    Platt's smoothed targets (`(N+ + 1) / (N+ + 2)` for a right prediction, `1 / (N- + 2)` for
    a wrong one) rather than hard 0/1 labels: the smoothing is what keeps the optimum finite
    when the history is all right, all wrong or perfectly separated, and it is Platt's
    out-of-sample correction for small histories.

    Newton's method with a damped Hessian and an Armijo backtracking line search (the recipe of
    Lin, Lin & Weng, 2007), plus a trust region on how far one step may move any logit,
    converges in a handful of passes and never increases the loss, so it does not diverge.
    Large histories are first fitted on an evenly thinned-out subset, which only picks the
    starting point: the result is the optimum over the whole history. Identical raw values
    are summed into one weighted point first, which is exact and makes the common case of
    rounded confidences (0.8, 0.85, ...) cheaper still. If every raw value is the same, the
    history says nothing about how confidence relates to being right, so the map is flat at
    the (smoothed) base rate.
    """
    if len(raw) != len(outcomes):
        raise ValueError("raw confidences and outcomes must have the same length")
    total = len(raw)
    if total < MIN_SAMPLES:
        return None

    # One weighted point per distinct raw value (exact, and much smaller for rounded values).
    counts: dict[float, int] = {}
    rights: dict[float, int] = {}
    for value, outcome in zip(raw, outcomes, strict=True):
        if not 0.0 <= value <= 1.0:
            _check_probability(value, "raw confidence")
        counts[value] = counts.get(value, 0) + 1
        if outcome:
            rights[value] = rights.get(value, 0) + 1
    positives = sum(rights.values())
    target_right = (positives + 1.0) / (positives + 2.0)
    target_wrong = 1.0 / (total - positives + 2.0)
    xs = [_logit(value) for value in counts]
    weights = [float(n) for n in counts.values()]
    targets: list[float] = []
    for value, n in counts.items():
        right = rights.get(value, 0)
        targets.append(right * target_right + (n - right) * target_wrong)

    if len(set(xs)) == 1:
        base_rate = sum(targets) / total
        return PlattModel(a=0.0, b=math.log(base_rate / (1.0 - base_rate)), samples=total)

    a, b = 1.0, 0.0  # the identity map: an already calibrated model needs next to no steps
    if len(xs) > _COARSE_POINTS:
        # Most of the Newton steps happen far from the optimum, where a thinned-out history
        # points the same way: get close on every k-th point, then polish on all of them.
        stride = -(-len(xs) // _COARSE_POINTS)
        coarse = _Points.of(xs[::stride], weights[::stride], targets[::stride])
        a, b = _minimise(coarse, a, b)
    a, b = _minimise(_Points.of(xs, weights, targets), a, b)
    return PlattModel(a=a, b=b, samples=total)


def expected_calibration_error(
    confidences: Sequence[float], outcomes: Sequence[bool], bins: int = ECE_BINS
) -> float | None:
    """Expected calibration error: how far stated confidence is from the observed hit rate.

    Equal-width bins over [0, 1] (a confidence of exactly 1.0 goes in the last bin); the result
    is the sum over bins of `(n_bin / N) * |mean confidence - accuracy|`, so 0 is perfectly
    calibrated and it is on the same 0..1 scale as the confidences. None for an empty input,
    where there is nothing to measure (not the same as "perfectly calibrated").
    """
    if len(confidences) != len(outcomes):
        raise ValueError("confidences and outcomes must have the same length")
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if not confidences:
        return None
    confidence_sums = [0.0] * bins
    hits = [0] * bins
    for confidence, outcome in zip(confidences, outcomes, strict=True):
        _check_probability(confidence, "confidence")
        index = min(int(confidence * bins), bins - 1)
        confidence_sums[index] += confidence
        if outcome:
            hits[index] += 1
    # (n_bin / N) * |sum_conf / n_bin - hits / n_bin| == |sum_conf - hits| / N
    return sum(abs(s - h) for s, h in zip(confidence_sums, hits, strict=True)) / len(confidences)


@dataclass(frozen=True)
class CalibrationReport:
    """What `stats.calibration` shows: whether a map is in use and what it buys.

    Both errors are in-sample (measured on the history the map was fitted on), so
    `ece_calibrated` is optimistic; it is there to show the map is doing something sensible,
    not as a held-out estimate.
    """

    fitted: bool
    samples: int
    ece_raw: float | None
    ece_calibrated: float | None  # None when not fitted


def report(raw: Sequence[float], outcomes: Sequence[bool]) -> CalibrationReport:
    """Fit on a user's history and report the calibration error before and after."""
    model = fit_platt(raw, outcomes)
    ece_raw = expected_calibration_error(raw, outcomes)
    if model is None:
        return CalibrationReport(
            fitted=False, samples=len(raw), ece_raw=ece_raw, ece_calibrated=None
        )
    calibrated = [model.apply(value) for value in raw]
    return CalibrationReport(
        fitted=True,
        samples=len(raw),
        ece_raw=ece_raw,
        ece_calibrated=expected_calibration_error(calibrated, outcomes),
    )


def _check_probability(value: float, what: str) -> None:
    """Refuse NaN and values outside [0, 1]: a confidence outside them has no meaning, and
    silently clamping one would hide a bug in whatever produced it."""
    if not 0.0 <= value <= 1.0:  # also false for NaN
        raise ValueError(f"{what} must be within [0, 1], got {value!r}")


def _logit(p: float) -> float:
    """log(p / (1 - p)), with p clamped first so a stated 0 or 1 stays finite."""
    if not _EPS <= p <= 1.0 - _EPS:
        p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    """1 / (1 + exp(-z)), arranged so exp never overflows."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class _Points:
    """The weighted points of a fit plus the sums its loss and gradient need every pass."""

    xs: list[float]
    weights: list[float]  # how many samples share this feature value
    total: float  # sum of weights
    weight_x_sum: float  # sum of weight * x
    target_sum: float  # sum of (summed) targets
    target_x_sum: float  # sum of target * x
    max_abs_x: float

    @classmethod
    def of(cls, xs: list[float], weights: list[float], targets: list[float]) -> "_Points":
        return cls(
            xs=xs,
            weights=weights,
            total=math.fsum(weights),
            weight_x_sum=math.fsum(map(operator.mul, weights, xs)),
            target_sum=math.fsum(targets),
            target_x_sum=math.fsum(map(operator.mul, targets, xs)),
            max_abs_x=max(max(xs), -min(xs)),
        )


def _minimise(points: _Points, a: float, b: float) -> tuple[float, float]:
    """Newton's method with a damped Hessian and Armijo backtracking, from (a, b).

    Every accepted step lowers the (convex) loss, so the iterates cannot run away; the loop
    ends when the Newton decrement says a full step would gain next to nothing, or when no
    step along the direction lowers the loss beyond rounding noise.
    """
    loss, ga, gb, haa, hab, hbb = _evaluate(points, a, b)
    radius = _MAX_REACH
    for _ in range(_MAX_ITERATIONS):
        ridge = _RIDGE * (haa + hbb) + 1e-12
        haa_r, hbb_r = haa + ridge, hbb + ridge
        det = haa_r * hbb_r - hab * hab
        newton = det > 0.0 and math.isfinite(det)
        if newton:
            da = -(hbb_r * ga - hab * gb) / det
            db = -(haa_r * gb - hab * ga) / det
        else:
            da, db = -ga / haa_r, -gb / hbb_r  # a diagonally scaled gradient step instead
        slope = ga * da + gb * db  # -(Newton decrement squared): minus twice the predicted gain
        if slope >= 0.0:
            newton = False
            da, db, slope = -ga, -gb, -(ga * ga + gb * gb)
        if -slope <= _DECREMENT_TOLERANCE * points.total:
            break  # what a full step could still gain is below anything that matters
        # How far the step moves the logit of the farthest point: bounded like a trust region,
        # because where the sigmoid saturates the Hessian vanishes and an undamped step would
        # fly off to where it is even flatter, and halving back from there costs dozens of passes.
        reach = points.max_abs_x * abs(da) + abs(db)
        if newton and reach <= _LAST_STEP_REACH and -slope <= _LAST_STEP_DECREMENT * points.total:
            # Inside Newton's quadratic convergence: after this step the error is of the order
            # of the square of the (already tiny) current one, so take it without paying for
            # a pass over every point to check it.
            return a + da, b + db
        capped = reach > radius
        if capped:
            shrink = radius / reach
            da, db, slope = da * shrink, db * shrink, slope * shrink
        noise = _LOSS_NOISE * (1.0 + abs(loss))
        step = 1.0
        while step >= _MIN_STEP:
            new_a, new_b = a + step * da, b + step * db
            result = _evaluate(points, new_a, new_b)
            if result[0] <= loss + _ARMIJO * step * slope + noise:
                break
            step /= 2.0
        else:
            break  # no step lowers the loss any more: as converged as floats allow
        if capped and step == 1.0:
            radius *= 2.0  # the capped step was fine as it was: trust a longer one next time
        a, b = new_a, new_b
        loss, ga, gb, haa, hab, hbb = result
    return a, b


def _evaluate(
    points: _Points, a: float, b: float
) -> tuple[float, float, float, float, float, float]:
    """Loss, gradient (a, b) and Hessian (aa, ab, bb) of the weighted cross-entropy, in one pass.

    The target terms are linear in (a, b), so they come from the precomputed sums and the loop
    only handles the sigmoid. It is written branch-free around `e = exp(-z)`, which is exact
    for every z but overflows below z = -709; when |z| could get there (a huge `a`, never seen
    in practice) the slower branching form, built on `exp(-|z|)`, is used instead.
    """
    s_loss = s_p = s_px = haa = hab = hbb = 0.0
    exp, log1p = math.exp, math.log1p
    if points.max_abs_x * abs(a) + abs(b) < 700.0:
        for x, n in zip(points.xs, points.weights, strict=True):
            e = exp(-a * x - b)
            d = 1.0 + e
            np_ = n / d  # n * p
            w = np_ * e / d  # n * p * (1 - p)
            s_loss += n * log1p(e)
            s_p += np_
            s_px += np_ * x
            wx = w * x
            hbb += w
            hab += wx
            haa += wx * x
        # softplus(z) = z + log1p(exp(-z)): the z part summed in closed form
        s_loss += a * points.weight_x_sum + b * points.total
    else:
        for x, n in zip(points.xs, points.weights, strict=True):
            z = a * x + b
            if z >= 0.0:
                e = exp(-z)
                p = 1.0 / (1.0 + e)
                q = e * p
                s_loss += n * (z + log1p(e))
            else:
                e = exp(z)
                q = 1.0 / (1.0 + e)
                p = e * q
                s_loss += n * log1p(e)
            np_ = n * p
            w = np_ * q
            s_p += np_
            s_px += np_ * x
            wx = w * x
            hbb += w
            hab += wx
            haa += wx * x
    loss = s_loss - a * points.target_x_sum - b * points.target_sum
    return loss, s_px - points.target_x_sum, s_p - points.target_sum, haa, hab, hbb
