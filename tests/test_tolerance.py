"""The comparison model, conformance.tolerance.compare (TOL-1 ... TOL-6), and the op table's use of it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, note

import reference as ref
from conformance.ops import OPS
from conformance.strategies.conv import Case, conv2d_cases
from conformance.tolerance import C_SAFETY, UNIT_ROUNDOFF, compare

U32, U16 = UNIT_ROUNDOFF["float32"], UNIT_ROUNDOFF["float16"]


def _bound(ref_, scale, terms, dtype):
    u = UNIT_ROUNDOFF[dtype]
    return C_SAFETY * terms * u * np.abs(scale) + u * np.abs(ref_)


def _float32_conv2d(case):
    """An honest float32 target: inputs cast to float32, each product and partial sum rounded
    to float32 in one fixed order (bias first, then taps). Returns (target, reference on the
    float32 inputs, scale, terms) as the runner would measure them."""
    arrays32 = {k: v.astype(np.float32) for k, v in case.arrays.items()}
    x, w = arrays32["x"], arrays32["w"]
    b = arrays32.get("b")
    g = case.params["groups"]
    p = {k: v for k, v in case.params.items() if k != "groups"}
    cg, mg = x.shape[1] // g, w.shape[0] // g
    parts = []
    for gi in range(g):
        cols = ref.im2col(x[:, gi * cg:(gi + 1) * cg], w.shape[2:], **p).astype(np.float32)  # exact copies
        wm = w[gi * mg:(gi + 1) * mg].reshape(mg, -1)
        acc = (np.zeros((cols.shape[0], mg), np.float32) if b is None
               else np.tile(b[gi * mg:(gi + 1) * mg], (cols.shape[0], 1)))  # bias first
        for k in range(cols.shape[1]):
            acc = acc + cols[:, k:k + 1] * wm[None, :, k]  # float32 * float32 -> float32
        parts.append(acc)
    arrays64 = {k: v.astype(np.float64) for k, v in arrays32.items()}  # the inputs as the target got them
    (_, want, scale, terms), = OPS["conv2d"].measure(Case("conv2d", arrays64, case.params))
    n, _, oh, ow = want.shape
    got = np.concatenate(parts, axis=1).reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(got), want, scale, terms


# --- TOL-2 ---------------------------------------------------------------------------------------


@pytest.mark.clause("TOL-2", "TOL-3")
@given(conv2d_cases(exact=False))
def test_an_honest_float32_convolution_is_within_the_bound(case):
    note(case.describe())
    got, want, scale, terms = _float32_conv2d(case)
    assert got.dtype == np.float32
    verdict = compare(want, got, dtype="float32", scale=scale, terms=terms)
    assert verdict.ok, verdict
    assert verdict.worst <= 1.0 and verdict.rms <= 0.5


@pytest.mark.clause("TOL-2")
@given(conv2d_cases(exact=False))
def test_a_result_ten_times_outside_the_bound_is_rejected(case):
    got, want, scale, terms = _float32_conv2d(case)
    bound = _bound(want, scale, terms, "float32")
    worst = int(np.argmax(bound))
    bad = want.copy()
    bad.flat[worst] += 10 * bound.flat[worst]
    verdict = compare(want, bad, dtype="float32", scale=scale, terms=terms)
    assert not verdict.ok and verdict.clause == "TOL-2"
    assert 9.9 < verdict.worst < 10.1


@pytest.mark.clause("TOL-2")
@pytest.mark.parametrize("dtype, terms", [("float32", 1), ("float32", 27), ("float16", 9), ("float16", 1)])
def test_the_bound_is_c_n_u_a_plus_u_ref(dtype, terms):
    # 200 elements; one sits just inside or just outside its bound, the rest are exact
    rng = np.random.default_rng(0)
    want = rng.standard_normal(200)
    scale = np.abs(want) + rng.random(200)
    bound = C_SAFETY * terms * UNIT_ROUNDOFF[dtype] * scale + UNIT_ROUNDOFF[dtype] * np.abs(want)
    inside, outside = want.copy(), want.copy()
    inside[7] += 0.99 * bound[7]
    outside[7] -= 1.01 * bound[7]
    v_in = compare(want, inside, dtype=dtype, scale=scale, terms=terms)
    v_out = compare(want, outside, dtype=dtype, scale=scale, terms=terms)
    assert v_in.ok and 0.98 < v_in.worst <= 1.0
    assert not v_out.ok and v_out.clause == "TOL-2" and v_out.worst > 1.0


@pytest.mark.clause("TOL-2")
def test_an_element_whose_terms_are_all_zero_must_be_exactly_zero():
    want, scale = np.zeros(4), np.zeros(4)
    assert compare(want, np.zeros(4), dtype="float32", scale=scale, terms=9).ok
    verdict = compare(want, np.array([0.0, 1e-300, 0.0, 0.0]), dtype="float32", scale=scale, terms=9)
    assert not verdict.ok and verdict.clause == "TOL-2" and verdict.worst == np.inf


# --- TOL-3 ---------------------------------------------------------------------------------------


@pytest.mark.clause("TOL-3")
@pytest.mark.parametrize("fraction, ok", [(0.9, False), (0.6, False), (0.4, True), (0.0, True)])
def test_a_systematic_error_within_the_bound_is_caught_by_the_rms(fraction, ok):
    # every element errs by the same fraction of its bound, in the same direction: TOL-2 passes
    rng = np.random.default_rng(1)
    want = rng.standard_normal((4, 8, 5, 5))
    scale = np.abs(want) * 3 + 1
    got = want + fraction * _bound(want, scale, 27, "float32")
    verdict = compare(want, got, dtype="float32", scale=scale, terms=27)
    assert verdict.worst <= 1.0
    assert verdict.ok is ok and (ok or verdict.clause == "TOL-3")
    assert verdict.rms == pytest.approx(fraction, rel=1e-6, abs=1e-12)


def _pooled_rms(verdicts):
    return float(np.sqrt(sum(v.sumsq for v in verdicts) / sum(v.count for v in verdicts)))


@pytest.mark.clause("TOL-3")
def test_one_unlucky_element_of_a_small_output_does_not_decide_the_pooled_rms():
    # TOL-3 pools the RMS over all real-data cases of an op and dtype "so that one small output
    # with one unlucky element cannot decide it": with check_rms=False (the runner's pooled
    # mode) a one-element output at 0.6x its bound passes and reports its share of the sum
    want, scale = np.array([1.0]), np.array([1.0])
    got = want + 0.6 * _bound(want, scale, 1, "float32")
    lone = compare(want, got, dtype="float32", scale=scale, terms=1, check_rms=False)
    assert lone.ok and lone.count == 1 and lone.sumsq == pytest.approx(0.36)
    clean = np.random.default_rng(5).standard_normal(99)
    rest = compare(clean, clean.copy(), dtype="float32", scale=np.abs(clean), terms=1, check_rms=False)
    assert rest.ok and rest.count == 99 and rest.sumsq == 0.0
    assert _pooled_rms([lone, rest]) == pytest.approx(0.06)


@pytest.mark.clause("TOL-3")
def test_a_systematic_error_spread_over_many_cases_fails_the_pooled_rms():
    verdicts = []
    for seed in range(6):
        want = np.random.default_rng(seed).standard_normal(7)
        scale = np.abs(want) + 1
        got = want - 0.8 * _bound(want, scale, 9, "float32")
        v = compare(want, got, dtype="float32", scale=scale, terms=9, check_rms=False)
        assert v.ok and v.worst <= 1.0  # no case fails on its own
        verdicts.append(v)
    assert _pooled_rms(verdicts) == pytest.approx(0.8, rel=1e-6) and _pooled_rms(verdicts) > 0.5


# --- TOL-1 ---------------------------------------------------------------------------------------


@pytest.mark.clause("TOL-1")
def test_exact_data_requires_an_exact_result_even_within_the_bound():
    # exact data: integer results; a target off by far less than the TOL-2 bound is still wrong
    want = np.array([3.0, -7.0, 12.0, 0.0])
    scale = np.array([9.0, 9.0, 20.0, 4.0])
    nudged = want + np.array([0.0, 0.0, 12.0 * 2.0**-22, 0.0])  # 2 float32 ulps of 12
    assert compare(want, nudged, dtype="float32", scale=scale, terms=27).ok  # within TOL-2
    verdict = compare(want, nudged, dtype="float32", scale=scale, terms=27, exact=True)
    assert not verdict.ok and verdict.clause == "TOL-1"
    assert compare(want, want.astype(np.float32), dtype="float32", scale=scale, terms=27, exact=True).ok


@pytest.mark.clause("TOL-1")
def test_exactness_is_required_only_below_two_to_the_significand_bits():
    # float16 has p = 11: an element with A = 4096 >= 2**11 is judged by TOL-2 alone
    want = np.array([4096.0, 1000.0])
    scale = np.array([4096.0, 1000.0])
    got = np.array([4100.0, 1000.0])  # the first off by 4; the bound there is 2*u*4096 + u*4096 = 6
    assert compare(want, got, dtype="float16", scale=scale, terms=1, exact=True).ok
    got2 = np.array([4096.0, 1000.5])  # A = 1000 < 2**11: must be exact
    verdict = compare(want, got2, dtype="float16", scale=scale, terms=1, exact=True)
    assert not verdict.ok and verdict.clause == "TOL-1"


@pytest.mark.clause("TOL-1")
@given(conv2d_cases(exact=True))
def test_an_honest_float32_convolution_of_exact_data_is_exact(case):
    got, want, scale, terms = _float32_conv2d(case)
    verdict = compare(want, got, dtype="float32", scale=scale, terms=terms, exact=True)
    assert verdict.ok, verdict


@pytest.mark.clause("TOL-1", "POOL-AVG-1")
def test_average_pooling_on_exact_data_may_differ_by_the_rounding_of_its_one_division():
    # x (2, 3, 5, 5) of small integers, kernel 3: window sums are exact, each divided by 9 once.
    # A float32 target rounds that quotient to float32: TOL-1 allows 2*u*|ref| for average pooling.
    x = np.random.default_rng(2).integers(-2, 3, (2, 3, 5, 5)).astype(np.float64)
    case = Case("avg_pool2d", {"x": x}, {"kernel_size": 3, "stride": 1}, exact=True)
    (_, want, scale, terms), = OPS["avg_pool2d"].measure(case)
    sums32 = ref.avg_pool2d(x, 3, stride=1, divisor_override=1).astype(np.float32)  # exact sums
    got = sums32 / np.float32(9)
    assert np.any(got != want)  # the float32 quotient is not the float64 one
    assert np.all(np.abs(got - want) <= 2 * U32 * np.abs(want))
    divides = OPS["avg_pool2d"].divides
    verdict = compare(want, got, dtype="float32", scale=scale, terms=terms, exact=True, divides=divides)
    assert verdict.ok, verdict
    # dividing by 8 instead of 9 is a semantic error and must still fail TOL-1
    wrong = sums32 / np.float32(8)
    verdict = compare(want, wrong, dtype="float32", scale=scale, terms=terms, exact=True, divides=divides)
    assert not verdict.ok and verdict.clause == "TOL-1"
    # without the division allowance the honest quotient would be a TOL-1 failure
    assert compare(want, got, dtype="float32", scale=scale, terms=terms, exact=True).clause == "TOL-1"


# --- TOL-4 ---------------------------------------------------------------------------------------


@pytest.mark.clause("TOL-4")
def test_exact_outputs_admit_no_difference():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6))
    y, idx = ref.max_pool2d(x, 2, return_indices=True)
    assert compare(y, y.copy()).ok and compare(idx, idx.copy()).ok
    one_ulp = y.copy()
    one_ulp[1, 2, 0, 0] = np.nextafter(one_ulp[1, 2, 0, 0], np.inf)
    verdict = compare(y, one_ulp)
    assert not verdict.ok and verdict.clause == "TOL-4"
    moved = idx.copy()
    moved[0, 0, 1, 1] += 1
    verdict = compare(idx, moved)
    assert not verdict.ok and verdict.clause == "TOL-4"


@pytest.mark.clause("TOL-4")
@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint16, np.int64])
def test_indices_may_come_back_in_any_integer_dtype(dtype):
    idx = np.array([[[[0, 5], [27, -1]]]], dtype=np.int64)
    if np.dtype(dtype).kind == "u":
        idx = np.abs(idx)
    assert compare(idx, idx.astype(dtype)).ok


@pytest.mark.clause("TOL-4", "TOL-5")
def test_exact_outputs_match_nan_and_inf_by_position():
    want = np.array([np.nan, -np.inf, 1.0, np.inf])
    assert compare(want, want.copy()).ok
    for got in ([0.0, -np.inf, 1.0, np.inf], [np.nan, np.inf, 1.0, np.inf],
                [np.nan, -np.inf, np.nan, np.inf]):
        assert not compare(want, np.array(got)).ok


# --- TOL-5 ---------------------------------------------------------------------------------------


@pytest.mark.clause("TOL-5")
@pytest.mark.parametrize("want, got, ok", [
    ([np.nan, 1.0], [np.nan, 1.0], True),
    ([np.inf, -np.inf], [np.inf, -np.inf], True),
    ([0.0, 1.0], [-0.0, 1.0], True),  # -0 and +0 are equal
    ([1.0, 2.0], [np.nan, 2.0], False),  # NaN where the reference is finite
    ([np.nan, 2.0], [1.0, 2.0], False),  # a number where the reference is NaN
    ([np.inf, 2.0], [-np.inf, 2.0], False),  # the wrong infinity
    ([np.inf, 2.0], [1e308, 2.0], False),  # a finite value where the reference is infinite
    ([1e30, 2.0], [np.inf, 2.0], False),  # overflow where the reference is finite
    ([np.inf, 2.0], [np.nan, 2.0], False),
])
def test_nan_and_inf_must_sit_exactly_where_the_reference_has_them(want, got, ok):
    want, got = np.array(want), np.array(got)
    scale = np.where(np.isfinite(want), np.abs(want), 1.0)
    verdict = compare(want, got, dtype="float32", scale=scale, terms=3)
    assert verdict.ok is ok
    if not ok:
        assert verdict.clause == "TOL-5"


@pytest.mark.clause("TOL-5", "TOL-3")
def test_non_finite_elements_are_left_out_of_the_bound_and_the_rms():
    want = np.array([np.nan, np.inf, 1.0, 2.0])
    scale = np.array([np.nan, np.inf, 1.0, 2.0])
    verdict = compare(want, want.copy(), dtype="float32", scale=scale, terms=1)
    assert verdict.ok and verdict.worst == 0.0 and verdict.rms == 0.0


# --- TOL-6 ---------------------------------------------------------------------------------------


@pytest.mark.clause("TOL-6")
def test_the_shape_must_match_exactly():
    want = np.zeros((1, 4, 3, 3))
    for got in (np.zeros((4, 3, 3)), np.zeros((1, 4, 3, 3, 1)), np.zeros((1, 4, 9)), np.zeros((4, 1, 3, 3))):
        for scale in (None, np.ones(want.shape)):
            verdict = compare(want, got, dtype="float32", scale=scale)
            assert not verdict.ok and verdict.clause == "TOL-6"


@pytest.mark.clause("TOL-6")
@pytest.mark.parametrize("got", [[0.0, 1.0], (0.0, 1.0), 1.0, None], ids=["list", "tuple", "scalar", "none"])
def test_a_result_that_is_not_an_array_fails(got):
    for scale in (None, np.ones(2)):
        verdict = compare(np.array([0.0, 1.0]), got, dtype="float32", scale=scale)
        assert not verdict.ok and verdict.clause == "TOL-6"


@pytest.mark.clause("TOL-6")
@pytest.mark.parametrize("dtype, out, ok", [
    ("float32", np.float32, True), ("float32", np.float64, True), ("float16", np.float16, True),
    ("float16", np.float64, True), ("float64", np.float64, True),
    ("float16", np.float32, False),  # computed in float32, returned in a dtype it was not asked for
    ("float32", np.float16, False),
])
def test_a_floating_result_comes_in_the_input_dtype_or_float64(dtype, out, ok):
    want = np.array([1.0, 2.0, 0.5])
    verdict = compare(want, want.astype(out), dtype=dtype, scale=np.abs(want), terms=1)
    assert verdict.ok is ok
    if not ok:
        assert verdict.clause == "TOL-6"


@pytest.mark.clause("TOL-6")
@pytest.mark.parametrize("got", [np.array([1 + 0j, 2 + 0j]), np.array([True, True]), np.array(["1", "2"]),
                                 np.array([1, 2], dtype=object)], ids=["complex", "bool", "str", "object"])
def test_a_non_numeric_result_fails_on_every_path(got):
    want = np.array([1.0, 1.0]) if got.dtype == np.bool_ else np.array([1.0, 2.0])
    for scale in (None, np.abs(want)):
        verdict = compare(want, got, dtype="float64", scale=scale, terms=1)
        assert not verdict.ok and verdict.clause == "TOL-6", (scale is None, verdict)


# --- the op table measures each output as TOL-2 prescribes -----------------------------------------


def _op_table_cases():
    rng = np.random.default_rng(4)
    r = rng.standard_normal
    # groups 2: C = 4, M = 6; kernel (2, 3); stride (2, 1); padding 1; with a bias
    yield Case("conv2d", {"x": r((2, 4, 5, 6)), "w": r((6, 2, 2, 3)), "b": r(6)},
               {"stride": (2, 1), "padding": 1, "dilation": 1, "groups": 2}), {"y": 2 * 2 * 3 + 1}
    yield Case("conv2d_backward", {"dy": r((2, 6, 3, 6)), "x": r((2, 4, 5, 6)), "w": r((6, 2, 2, 3))},
               {"stride": (2, 1), "padding": 1, "dilation": 1, "groups": 2}), \
        {"dx": 3 * 2 * 3, "dw": 2 * 3 * 6, "db": 2 * 3 * 6}
    yield Case("conv_transpose2d", {"x": r((2, 4, 3, 3)), "w": r((4, 5, 2, 3)), "b": r(10)},
               {"stride": 2, "padding": 1, "output_padding": 1, "dilation": 1, "groups": 2}), \
        {"y": 2 * 2 * 3 + 1}
    yield Case("avg_pool2d", {"x": r((2, 3, 6, 6))},
               {"kernel_size": (2, 3), "stride": None, "padding": 1, "ceil_mode": True,
                "count_include_pad": False, "divisor_override": None}), {"y": 2 * 3}
    yield Case("avg_pool2d_backward", {"dy": r((2, 3, 4, 3)), "x": r((2, 3, 6, 6))},
               {"kernel_size": (2, 3), "stride": None, "padding": 1, "ceil_mode": True,
                "count_include_pad": False, "divisor_override": None}), {"dx": 2 * 3}
    yield Case("max_pool2d", {"x": r((2, 3, 6, 6))},
               {"kernel_size": 2, "stride": None, "padding": 1, "ceil_mode": False, "dilation": 1,
                "return_indices": True}), {"y": None, "indices": None}
    yield Case("im2col", {"x": r((2, 3, 6, 6))},
               {"kernel_size": 2, "stride": 1, "padding": 0, "dilation": 1}), {"col": None}


@pytest.mark.clause("TOL-2", "TOL-4")
@pytest.mark.parametrize("case, terms", list(_op_table_cases()), ids=lambda v: getattr(v, "op", ""))
def test_the_op_table_measures_each_output_with_the_tol_2_term_count_and_scale(case, terms):
    measured = OPS[case.op].measure(case)
    assert [m[0] for m in measured] == list(terms)
    fn = getattr(ref, case.op)
    abs_arrays = [np.abs(v) for v in case.arrays.values()]
    params = {k: v for k, v in case.params.items() if k != "return_indices"}
    abs_out = fn(*abs_arrays, **params)
    abs_out = list(abs_out) if isinstance(abs_out, tuple) else [abs_out]
    abs_out += [None] * (len(measured) - len(abs_out))
    for (name, _, scale, n), want_n, a in zip(measured, terms.values(), abs_out, strict=True):
        assert n == want_n or want_n is None, (name, n, want_n)
        if want_n is None:  # exact outputs (TOL-4) carry no scale
            assert scale is None, name
        else:  # A: the same op on absolute values (TOL-2)
            np.testing.assert_array_equal(scale, a, err_msg=name)
