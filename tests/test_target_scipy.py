"""The SciPy adapter (conformance/targets/scipy_target.py) against the reference.

conv2d is checked on cases drawn from the shared strategy (conformance.ops.OPS["conv2d"]): the
adapter must agree with the reference under the one tolerance model, or raise Unsupported. A
second run projects the drawn cases onto what ``scipy.signal.correlate2d`` can express (no
dilation; padding one of its modes) and requires every case to be supported, so a run can
never pass by being all Unsupported.

Where SciPy really disagrees with the spec, the conforming behaviour is asserted on the cases
SciPy gets right and the disagreement is a strict xfail naming the clause.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("scipy", reason="scipy is not installed")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import signal  # noqa: E402
from spec_helpers import Judged  # noqa: E402

import reference as ref  # noqa: E402
from conformance.ops import OPS  # noqa: E402
from conformance.strategies.conv import Case, special_values  # noqa: E402
from conformance.targets import Unsupported  # noqa: E402
from conformance.targets.scipy_target import TARGET  # noqa: E402
from conformance.tolerance import compare  # noqa: E402

#: The adapter loops over (n, m, c) planes in Python, so one case costs up to 3·9·3 correlate2d
#: calls; half the profile's examples per run keeps the file well under 40 s on ``ci``.
EXAMPLES = max(10, settings().max_examples // 2)

CONV_CLAUSES = ("CONV-1", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "SIZE-3", "SIZE-5", "SIZE-9",
                "TOL-1", "TOL-2", "TOL-3", "TOL-6")

_TARGETS: dict[str, Any] = {}


def target(dtype: str) -> Any:
    if dtype not in _TARGETS:
        t = TARGET()
        t.setup(dtype, "cpu")
        _TARGETS[dtype] = t
    return _TARGETS[dtype]


def run_property(strategy: Any, dtype: str) -> Judged:
    judged = Judged(target(dtype), dtype).run(strategy, EXAMPLES)
    judged.assert_rms()
    return judged


def _expressible(case: Case) -> Case:
    """The drawn case with dilation 1 and, unless it is zero padding, "same" at stride 1 (SciPy's
    'same' mode is the spec's "same" at stride 1); zero padding keeps its stride ('valid')."""
    p = dict(case.params, dilation=1)
    if p["padding"] not in ("valid", 0, (0, 0), ((0, 0), (0, 0))):
        p.update(padding="same", stride=1)
    return Case(case.op, case.arrays, p, case.exact)


@pytest.mark.clause(*CONV_CLAUSES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_drawn_conv2d_case_agrees_with_the_reference_or_is_unsupported(dtype: str) -> None:
    judged = run_property(OPS["conv2d"].strategy(), dtype)
    assert sum(judged.seen.values()) > 0


@pytest.mark.clause(*CONV_CLAUSES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_conv2d_case_correlate2d_can_express_is_supported_and_agrees(dtype: str) -> None:
    judged = run_property(OPS["conv2d"].strategy().map(_expressible), dtype)
    assert judged.seen["unsupported"] == 0, f"expressible cases reported Unsupported: {judged.seen}"


# --- the mapping, case by case ------------------------------------------------------------------------

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 4, 6, 7))
W = RNG.standard_normal((6, 2, 2, 3))  # even KH: 'same' centring matters
B = RNG.standard_normal(6)


def _agree(**kw: Any) -> None:
    got = target("float64").conv2d(X, W, B, groups=2, **kw)
    want = ref.conv2d(X, W, B, groups=2, **kw)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


MAPPED = [
    ("valid", dict(padding="valid")),
    ("zero padding is valid", dict(padding=0)),
    ("same is scipy's same, odd pad at the end", dict(padding="same")),
    ("explicit pads equal to same", dict(padding=((0, 1), (1, 1)))),
    ("full is K - 1 on each side", dict(padding=(1, 2))),
    ("valid with a stride takes every S-th output", dict(padding=0, stride=(2, 3))),
    ("same with a stride whose leading pad and length agree", dict(padding="same", stride=(1, 2))),
]


@pytest.mark.clause("CONV-5", "CONV-6", "SIZE-2", "SIZE-5", "SIZE-9")
@pytest.mark.parametrize("kw", [m[1] for m in MAPPED], ids=[m[0] for m in MAPPED])
def test_paddings_correlate2d_expresses_agree_with_the_reference(kw: dict) -> None:
    _agree(**kw)


@pytest.mark.clause("CONV-5", "SIZE-6")
def test_same_lower_with_odd_kernels_is_scipys_same() -> None:
    w = RNG.standard_normal((3, 4, 3, 5))
    got = target("float64").conv2d(X, w, padding="same_lower")
    np.testing.assert_allclose(got, ref.conv2d(X, w, padding="same_lower"), rtol=1e-12, atol=1e-12)


UNSUPPORTED = [
    ("dilation", dict(dilation=2), "dilation"),
    ("same_lower with an even kernel", dict(padding="same_lower"), "modes"),
    ("padding no mode gives", dict(padding=((2, 0), (0, 0))), "modes"),
    ("same with a stride whose leading pad differs", dict(padding="same", stride=(1, 4)), "modes"),
]


@pytest.mark.clause("CONV-6", "SIZE-2", "SIZE-6")
@pytest.mark.parametrize("kw,words", [u[1:] for u in UNSUPPORTED], ids=[u[0] for u in UNSUPPORTED])
def test_options_correlate2d_cannot_express_are_reported_unsupported(kw: dict, words: str) -> None:
    with pytest.raises(Unsupported, match=words):
        target("float64").conv2d(X, W, B, groups=2, **kw)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_dtypes_without_a_correlate2d_kernel_are_unsupported_at_setup(dtype: str) -> None:
    with pytest.raises(Unsupported):
        TARGET().setup(dtype, "cpu")


def test_there_is_no_cuda_path() -> None:
    assert TARGET.devices == ("cpu",)
    with pytest.raises(Unsupported):
        TARGET().setup("float32", "cuda")


def test_only_conv2d_is_offered() -> None:
    t = TARGET()
    assert t.implements("conv2d")
    from conformance.ops_augmentation import FLOAT_OPS, UINT8_OPS

    # Of the convolution family and detection only conv2d (augmentation has ops of its own here).
    assert not any(t.implements(op) for op in OPS if op != "conv2d" and op not in FLOAT_OPS + UINT8_OPS)


@pytest.mark.clause("TOL-6")
def test_float32_stays_float32() -> None:
    y = target("float32").conv2d(X.astype(np.float32), W.astype(np.float32), B.astype(np.float32), groups=2)
    assert y.dtype == np.float32


@pytest.mark.clause("CONV-1")
def test_convolve2d_would_be_the_flipped_kernel_variant() -> None:
    """Why the adapter uses correlate2d: convolve2d reads the kernel rotated by 180 degrees."""
    x, w = X[0, 0], W[0, 0]
    want = ref.conv2d(x[None, None], w[None, None])[0, 0]
    assert not np.allclose(signal.convolve2d(x, w, mode="valid"), want)
    np.testing.assert_allclose(signal.convolve2d(x, w[::-1, ::-1], mode="valid"), want, rtol=1e-12)


# --- special values -----------------------------------------------------------------------------------

@pytest.mark.clause("CONV-1", "TOL-5")
def test_nan_and_infinity_in_the_input_propagate() -> None:
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 0, 0] = np.inf
    w = np.ones((1, 1, 2, 2))
    got = target("float64").conv2d(x, w)
    want = ref.conv2d(x, w)
    assert compare(want, got, scale=ref.conv2d(np.abs(x), w), terms=4).ok


@pytest.mark.clause("CONV-1", "CONV-5", "TOL-5")
def test_an_infinite_weight_over_padding_gives_nan_as_zero_times_infinity() -> None:
    """correlate2d's 'fill' boundary multiplies the fill value in, as CONV-1 writes the padded taps."""
    w = np.ones((1, 1, 3, 3))
    w[0, 0, 0, 0] = np.inf
    y = target("float64").conv2d(np.ones((1, 1, 3, 3)), w, padding="same")
    assert np.isnan(y[0, 0, 0, :]).all() and np.isnan(y[0, 0, :, 0]).all()
    assert np.isinf(y[0, 0, 1:, 1:]).all()


@pytest.mark.clause("CONV-1", "TOL-5")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_drawn_cases_with_nan_and_infinities_agree_or_are_unsupported(dtype: str) -> None:
    specials = st.data()

    @settings(max_examples=max(10, EXAMPLES // 2))
    @given(case=OPS["conv2d"].strategy(), d=specials)
    def run(case: Case, d: Any) -> None:
        judged.check(special_values(case, d.draw))

    judged = Judged(target(dtype), dtype)
    run()
