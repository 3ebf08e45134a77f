"""The ``jax`` target adapter, checked against the reference on the runner's own cases.

Every op draws cases from the shared strategies (conformance.ops.OPS), runs them through
conformance/targets/jax_target.py and compares with the reference through
conformance.tolerance.compare, or accepts Unsupported; each test also requires that some of
its cases were supported. Where JAX disagrees with the spec, a strict xfail test below
documents the disagreement on a minimal case.

JAX compiles every new shape (about 0.2 to 0.7 s of CPU each), so the example counts here
are small; the runner itself draws many more.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

pytest.importorskip("jax", reason="jax is not installed")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from spec_helpers import assert_agrees, scaled_examples  # noqa: E402

import reference as ref  # noqa: E402
from conformance.dtypes import round_to  # noqa: E402
from conformance.ops import OPS  # noqa: E402
from conformance.strategies.conv import Case, special_values  # noqa: E402
from conformance.targets import Unsupported, load_target  # noqa: E402
from conformance.targets.jax_target import JaxTarget  # noqa: E402
from conformance.tolerance import compare  # noqa: E402


def _target(dtype: str) -> JaxTarget:
    t = JaxTarget()
    t.setup(dtype, "cpu")
    return t


@pytest.fixture(scope="module")
def f64() -> JaxTarget:
    return _target("float64")


@pytest.fixture(scope="module")
def f32() -> JaxTarget:
    return _target("float32")


# --- one case ------------------------------------------------------------------------------------

def run_case(target: JaxTarget, case: Case, dtype: str = "float64", **overrides) -> str:
    """Run one case on the target and check every output it returns; "ok" or "unsupported"."""
    params = {**case.params, **overrides}
    arrays = {k: round_to(v, dtype) for k, v in case.arrays.items()}
    ref_case = Case(case.op, {k: v.astype(np.float64) for k, v in arrays.items()}, dict(case.params),
                    case.exact)
    try:
        got = getattr(target, case.op)(*arrays.values(), **params)
    except Unsupported:
        return "unsupported"
    got = got if isinstance(got, tuple) else (got,)
    expected = OPS[case.op].measure(ref_case)
    if case.op == "max_pool2d":
        expected = expected[:1]  # JAX has no indices: values only (return_indices=False)
    assert len(got) == len(expected), f"{case.describe()}: {len(got)} outputs, expected {len(expected)}"
    for (name, r, scale, terms), g in zip(expected, got, strict=True):
        assert_agrees(case, name, r, g, dtype, scale, terms)
    return "ok"


def run_op(target: JaxTarget, op: str, examples: int, dtype: str = "float64",
           **overrides) -> collections.Counter:
    counts: collections.Counter = collections.Counter()

    @settings(max_examples=scaled_examples(examples))
    @given(case=OPS[op].strategy())
    def check(case: Case) -> None:
        counts[run_case(target, case, dtype, **overrides)] += 1

    check()
    print(f"jax {op} [{dtype}]: {dict(counts)}")
    assert counts["ok"] > 0, f"jax supported none of the {op} cases: {dict(counts)}"
    return counts


# --- agreement on the runner's cases ----------------------------------------------------------
# Example counts (per test, on the ci profile) keep the file near 30 s of CPU time: each
# supported case compiles; unsupported ones are cheap.

@pytest.mark.clause("CONV-1", "CONV-2", "CONV-3", "CONV-4", "CONV-5", "CONV-6", "SIZE-3", "SIZE-5",
                    "SIZE-6", "SIZE-9", "TOL-1", "TOL-2")
def test_jax_conv_general_dilated_agrees_with_the_reference_conv2d(f64):
    counts = run_op(f64, "conv2d", 12)
    assert counts["unsupported"] == 0  # every conv2d option maps onto conv_general_dilated


@pytest.mark.clause("CONV-7")
def test_jax_vjp_of_the_convolution_gives_the_reference_dx_dw_and_db(f64):
    counts = run_op(f64, "conv2d_backward", 6)
    assert counts["unsupported"] == 0


@pytest.mark.clause("CONVT-1", "CONVT-2", "CONVT-3", "CONVT-4", "CONVT-5", "SIZE-8")
def test_jax_conv_transpose_agrees_with_the_reference_for_one_group(f64):
    run_op(f64, "conv_transpose2d", 16)


@pytest.mark.clause("POOL-1", "POOL-2", "POOL-MAX-1", "POOL-MAX-5", "SIZE-5", "SIZE-6", "SIZE-7", "TOL-4")
def test_jax_reduce_window_max_values_agree_with_the_reference(f64):
    run_op(f64, "max_pool2d", 12, return_indices=False)


@pytest.mark.clause("POOL-MAX-4")
def test_jax_vjp_of_max_pooling_routes_dy_to_the_reference_maxima(f64):
    # Most cases are dilated (unsupported by JAX's VJP), so many are drawn to get some.
    run_op(f64, "max_pool2d_backward", 40)


@pytest.mark.clause("POOL-1", "POOL-2", "POOL-AVG-1", "POOL-AVG-2", "POOL-AVG-3", "POOL-AVG-4")
def test_jax_windowed_sum_over_divisor_agrees_with_the_reference_avg_pool2d(f64):
    run_op(f64, "avg_pool2d", 12)


@pytest.mark.clause("POOL-AVG-5")
def test_jax_vjp_of_average_pooling_agrees_with_the_reference(f64):
    run_op(f64, "avg_pool2d_backward", 10)


@pytest.mark.clause("IM2COL-1")
def test_jax_conv_general_dilated_patches_reshaped_is_the_reference_im2col(f64):
    counts = run_op(f64, "im2col", 10)
    assert counts["unsupported"] == 0


@pytest.mark.clause("TOL-1", "TOL-2", "TOL-3")
@pytest.mark.parametrize("op, examples", [("conv2d", 4), ("conv2d_backward", 2), ("conv_transpose2d", 6),
                                          ("avg_pool2d", 4)])
def test_jax_float32_results_agree_within_the_float32_bound(f32, op, examples):
    run_op(f32, op, examples, dtype="float32")


@pytest.mark.clause("POOL-MAX-2", "TOL-5")
def test_jax_max_pooling_values_propagate_nan_and_infinities(f64):
    counts: collections.Counter = collections.Counter()

    @settings(max_examples=scaled_examples(8))
    @given(case=OPS["max_pool2d"].strategy(exact=False), data=st.data())
    def check(case: Case, data) -> None:
        case = special_values(case, data.draw)
        params = {**case.params, "return_indices": False}
        try:
            got = f64.max_pool2d(case.arrays["x"], **params)
        except Unsupported:
            counts["unsupported"] += 1
            return
        v = compare(ref.max_pool2d(case.arrays["x"], **params), got)
        assert v.ok, f"{case.describe()}: {v.clause} {v.reason}; {v.diffs}"
        counts["ok"] += 1

    check()
    assert counts["ok"] > 0, dict(counts)


# --- mapping details and what JAX cannot express ----------------------------------------------

X = np.arange(2 * 3 * 6 * 7, dtype=np.float64).reshape(2, 3, 6, 7) % 5 - 2


@pytest.mark.clause("IM2COL-1")
def test_jax_patches_columns_come_in_the_spec_channel_then_kernel_row_then_column_order(f64):
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)  # every value distinct
    np.testing.assert_array_equal(f64.im2col(x, (2, 3), stride=(1, 2)), ref.im2col(x, (2, 3), stride=(1, 2)))


@pytest.mark.clause("POOL-MAX-3", "SIZE-7", "CONVT-2")
@pytest.mark.parametrize("op, args, params", [
    ("max_pool2d", (X, 2), {"return_indices": True}),
    ("max_pool2d", (X, 2), {"ceil_mode": True}),               # W = 7: ceil_mode adds a window
    ("avg_pool2d", (X, 2), {"ceil_mode": True}),
    ("max_pool2d_backward", (np.ones((2, 3, 5, 6)), X, 2), {"stride": 1, "dilation": (1, 1)}),
    ("conv_transpose2d", (X, np.ones((3, 2, 2, 2))), {"groups": 3}),
])
def test_jax_reports_what_its_api_cannot_express_as_unsupported(f64, op, args, params):
    if op == "max_pool2d_backward":  # the undilated case runs; a dilated one is unsupported
        getattr(f64, op)(*args, **params)
        params = {**params, "dilation": (2, 1)}
        args = (np.ones((2, 3, 4, 6)),) + args[1:]
    with pytest.raises(Unsupported):
        getattr(f64, op)(*args, **params)


@pytest.mark.clause("SIZE-7")
def test_jax_runs_a_ceil_mode_that_does_not_change_the_output_size(f64):
    x = X[:, :, :, :6]  # 6 x 6 with kernel 2, stride 2: ceil and floor give 3 windows
    np.testing.assert_array_equal(f64.max_pool2d(x, 2, ceil_mode=True), ref.max_pool2d(x, 2, ceil_mode=True))


def test_jax_target_is_a_builtin_and_reports_its_version():
    import jax

    t = load_target("jax")
    assert isinstance(t, JaxTarget) and t.version() == jax.__version__


def test_jax_setup_reports_a_missing_gpu_as_unsupported():
    import jax

    try:
        jax.devices("gpu")
        pytest.skip("a GPU is available here")
    except RuntimeError:
        pass
    with pytest.raises(Unsupported):
        JaxTarget().setup("float32", "cuda")


@pytest.mark.clause("TOL-6")
def test_jax_returns_bfloat16_results_as_float32(f64):
    t = _target("bfloat16")
    w = np.ones((4, 3, 3, 2), dtype=np.float32)
    y = t.conv2d(round_to(X, "bfloat16"), w)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, ref.conv2d(X, w))  # small integers: exact in bfloat16


# --- disagreements with the spec (strict xfail: they pass the day JAX conforms) ----------------

X_NAN = np.array([[[[np.nan, 1.0], [np.nan, 1.0]]]])
X_MINUS_INF = np.array([[[[-np.inf]]]])  # kernel 2, padding 1: four windows, each with x as one tap


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-2")
def test_jax_max_pool_values_of_the_disagreement_cases_below_conform(f64):
    np.testing.assert_array_equal(f64.max_pool2d(X_NAN, 2).ravel(), [np.nan])
    np.testing.assert_array_equal(f64.max_pool2d(X_MINUS_INF, 2, stride=1, padding=1),
                                  np.full((1, 1, 2, 2), -np.inf))


@pytest.mark.clause("POOL-MAX-2", "POOL-MAX-4")
@pytest.mark.xfail(strict=True, reason="jax.vjp of reduce_window max sends a NaN window's dy to a non-NaN "
                   "element (here the last 1); POOL-MAX-4 says to its first NaN")
def test_jax_max_pool_backward_sends_a_nan_windows_gradient_to_its_first_nan(f64):
    np.testing.assert_array_equal(f64.max_pool2d_backward(np.ones((1, 1, 1, 1)), X_NAN, 2).ravel(),
                                  [1.0, 0.0, 0.0, 0.0])


@pytest.mark.clause("POOL-MAX-1", "POOL-MAX-3", "POOL-MAX-4")
@pytest.mark.xfail(strict=True, reason="jax pads max pooling with its -inf init value, and in an all -inf "
                   "window its VJP picks a padding tap first and drops dy; POOL-MAX-3/4 say padding is "
                   "never a candidate, so dy goes to the window's first input tap")
def test_jax_max_pool_backward_sends_an_all_minus_infinity_windows_gradient_to_its_first_input_tap(f64):
    np.testing.assert_array_equal(f64.max_pool2d_backward(np.ones((1, 1, 2, 2)), X_MINUS_INF, 2, stride=1,
                                                          padding=1), [[[[4.0]]]])
