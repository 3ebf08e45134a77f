"""The runner's fast sweep (conformance/strategies/fast.py): the shared strategies, drawn
without Hypothesis's engine, give valid, varied and reproducible cases."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.ops import OPS
from conformance.strategies.fast import FastDraw, NotFastDrawable, draw_cases
from reference import SpecError
from reference.output_size import resolve_padding

ROOT = Path(__file__).resolve().parent.parent


def _fingerprint(cases: list) -> str:
    h = hashlib.sha256()
    for c in cases:
        h.update(c.describe().encode())
        for a in c.arrays.values():
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.clause("SIZE-4")
@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_is_drawn_fast_and_the_reference_accepts_every_case(op):
    cases = draw_cases(OPS[op].strategy(), 40, 0, op)
    assert len(cases) == 40 and all(c.op == op.removesuffix("_uint8") for c in cases)
    for case in cases:
        try:
            OPS[op].measure(case)
        except SpecError as exc:  # valid by construction, under the fast draw as under Hypothesis
            pytest.fail(f"the reference rejects a fast-drawn case: {exc} on {case.describe()}")


def test_a_sweep_is_reproducible_from_its_seed_and_op_across_processes():
    code = ("from conformance.ops import OPS; from conformance.strategies.fast import draw_cases; "
            "from tests.test_fast_draw import _fingerprint; "
            "print(_fingerprint(draw_cases(OPS['conv2d'].strategy(), 30, 7, 'conv2d')))")
    outs = set()
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout.strip())
    assert outs == {_fingerprint(draw_cases(OPS["conv2d"].strategy(), 30, 7, "conv2d"))}
    assert _fingerprint(draw_cases(OPS["conv2d"].strategy(), 30, 8, "conv2d")) not in outs
    # each op has its own stream: adding an op to a run does not change another op's cases
    assert _fingerprint(draw_cases(OPS["conv2d"].strategy(), 30, 7, "conv2d_backward")) not in outs


@pytest.mark.clause("CONV-3", "CONV-5", "CONV-6", "SIZE-1", "SIZE-2")
def test_a_default_sweep_of_conv2d_varies_every_dimension_and_option():
    cases = draw_cases(OPS["conv2d"].strategy(), 60, 0, "conv2d")
    x = [c.arrays["x"].shape for c in cases]
    w = [c.arrays["w"].shape for c in cases]
    p = [c.params for c in cases]
    assert any(s[0] > 1 for s in x) and any(s[2] != s[3] for s in x)
    assert any(q["groups"] > 1 for q in p) and any(q["groups"] > 1 and s[1] > 1 for q, s in zip(p, w))
    strides = [q["stride"] for q in p]
    assert any(isinstance(s, tuple) and s[0] != s[1] for s in strides) and any(isinstance(s, int) for s in strides)
    assert any(s[2] != s[3] for s in w)
    assert any(q["dilation"] not in (1, (1, 1)) for q in p)
    kinds = {type(q["padding"]).__name__ if not isinstance(q["padding"], str) else q["padding"] for q in p}
    assert kinds >= {"int", "tuple", "valid", "same", "same_lower"}, kinds
    assert any(isinstance(q["padding"], tuple) and isinstance(q["padding"][0], tuple)
               and (q["padding"][0][0] != q["padding"][0][1]) for q in p)  # asymmetric explicit padding
    assert {c.exact for c in cases} == {True, False}
    assert {"b" in c.arrays for c in cases} == {True, False}


def test_the_first_case_of_a_sweep_is_the_simplest():
    first = draw_cases(OPS["conv2d"].strategy(), 3, 5, "conv2d")[0]
    assert first.arrays["x"].shape[:2] == (1, 1) and first.arrays["w"].shape == (1, 1, 1, 1)
    assert first.params["groups"] == 1 and "b" not in first.arrays
    pads = resolve_padding(first.params["padding"], first.arrays["x"].shape[2:], (1, 1), (1, 1), (1, 1))
    assert pads == ((0, 0), (0, 0))


def test_integer_boolean_and_element_draws_stay_in_range_and_reach_both_ends():
    d = FastDraw(np.random.default_rng(0))
    ints = [d(st.integers(-3, 9)) for _ in range(400)]
    assert set(ints) == set(range(-3, 10))
    assert {d(st.booleans()) for _ in range(50)} == {True, False}
    picked = [d(st.sampled_from(["a", "b", "c"]).map(str.upper).filter(lambda s: s != "B")) for _ in range(100)]
    assert set(picked) == {"A", "C"}
    assert {d(st.none() | st.just(3)) for _ in range(50)} == {None, 3}
    sizes = {len(d(st.lists(st.integers(0, 1), min_size=2, max_size=4))) for _ in range(100)}
    assert sizes == {2, 3, 4}
    assert sorted(d(st.permutations(range(5)))) == list(range(5))


def test_float_draws_stay_in_their_bounds_and_meet_the_bounds_and_zero():
    d = FastDraw(np.random.default_rng(1))
    vals = np.array([d(st.floats(-2.5, 4.0)) for _ in range(600)])
    assert vals.min() == -2.5 and vals.max() == 4.0 and (vals == 0).any()
    assert np.all((vals >= -2.5) & (vals <= 4.0)) and len(np.unique(vals)) > 300
    nan_ok = [d(st.floats(allow_nan=True)) for _ in range(600)]
    assert any(np.isnan(v) for v in nan_ok) and any(np.isinf(v) for v in nan_ok)
    assert not any(np.isnan(d(st.floats(0, 1))) for _ in range(200))


def test_array_draws_have_the_strategy_s_shape_dtype_and_elements():
    d = FastDraw(np.random.default_rng(2))
    a = d(arrays(np.uint8, (2, 3, 4), elements=st.integers(10, 20)))
    assert a.shape == (2, 3, 4) and a.dtype == np.uint8 and a.min() >= 10 and a.max() <= 20
    b = d(arrays(np.float64, (5, 6), elements=st.floats(-1, 1)))
    assert b.dtype == np.float64 and np.all(np.abs(b) <= 1) and len(np.unique(b)) > 10
    c = d(arrays(np.int64, (7,), elements=st.sampled_from([3, 5])))
    assert set(c.tolist()) <= {3, 5}


def test_a_strategy_the_sweep_does_not_know_is_refused_not_guessed():
    d = FastDraw(np.random.default_rng(3))
    with pytest.raises(NotFastDrawable, match="no fast draw"):
        d(st.text())
    def never(value: int) -> bool:
        return False

    with pytest.raises(NotFastDrawable, match="rejected"):
        d(st.integers(0, 5).filter(never))
    with pytest.raises(NotFastDrawable, match="rejected"):
        d(st.sampled_from([1, 2]).filter(never))
    with pytest.raises(NotFastDrawable, match="unique"):
        d(arrays(np.int64, (3,), elements=st.integers(0, 9), unique=True))
