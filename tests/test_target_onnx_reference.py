"""The onnx-reference target: ONNX's Python reference evaluator on the onnxruntime target's models.

Where it agrees with the spec, cases pass; its divergences (ConvTranspose with groups, pooling with
'same' and a stride above the kernel, NonMaxSuppression with the scalar inputs ONNX specifies, …)
are findings recorded in conformance/expectations/onnx-reference.toml and checked by
tests/test_expectations.py. Here: the adapter runs the real evaluator and its conforming paths pass.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="onnx is not installed")

from conformance.runner import in_process  # noqa: E402
from conformance.targets import load_target  # noqa: E402
from conformance.types import Case  # noqa: E402


@pytest.fixture(scope="module")
def target():
    t = load_target("onnx-reference")
    t.setup("float32", "cpu")
    return t


def _check(target, case):
    return in_process(target, "float32", [case.op]).check(case.op, case, "corpus")


@pytest.mark.clause("CONV-1", "CONV-5", "CONV-6")
def test_a_plain_convolution_by_the_onnx_reference_evaluator_conforms(target):
    rng = np.random.default_rng(0)
    case = Case("conv2d", {"x": rng.integers(-2, 3, (2, 3, 6, 5)).astype(np.float64),
                           "w": rng.integers(-2, 3, (4, 3, 3, 2)).astype(np.float64)},
                {"stride": (2, 1), "padding": ((1, 0), (0, 1)), "dilation": (1, 2)}, True)
    rec = _check(target, case)
    assert rec.status == "pass", rec.message
    assert target.version() and target.name == "onnx-reference"


@pytest.mark.clause("CONVT-2")
def test_the_evaluator_fails_a_grouped_transposed_convolution(target):
    case = Case("conv_transpose2d", {"x": np.ones((1, 4, 3, 3)), "w": np.ones((4, 3, 2, 2))}, {"groups": 2}, True)
    rec = _check(target, case)
    assert rec.status == "fail" and rec.kind == "raised" and "reshape" in rec.reason, rec.message
