"""Surfaces: another public entry point of a library checked as a target of its own (issue 13).

``torch:nn`` (PyTorch's layer classes), ``tensorflow:depthwise`` (tf.nn.depthwise_conv2d) and
``tensorflow:keras`` (Keras layers) run the real libraries; their findings are in
conformance/expectations/<lib>@<surface>.toml and checked by tests/test_expectations.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.runner import in_process
from conformance.targets import BUILTIN, load_target
from conformance.types import Case


def _check(name: str, dtype: str, case: Case):
    t = load_target(name)
    t.setup(dtype, "cpu")
    return in_process(t, dtype, [case.op]).check(case.op, case, "corpus")


def _conv_case(groups: int = 1, **params) -> Case:
    rng = np.random.default_rng(1)
    c = 4
    x = rng.integers(-2, 3, (2, c, 7, 6)).astype(np.float64)
    w = rng.integers(-2, 3, (2 * c if groups == c else 2 * groups, c // groups, 3, 2)).astype(np.float64)
    return Case("conv2d", {"x": x, "w": w}, {"groups": groups, **params}, True)


@pytest.mark.clause("SPEC-1")
def test_the_surfaces_are_built_in_targets_listed_with_their_library():
    assert {"torch:nn", "tensorflow:depthwise", "tensorflow:keras"} <= set(BUILTIN)


@pytest.mark.clause("CONV-1", "CONV-3", "CONV-6")
def test_torch_layer_classes_conform_on_a_grouped_strided_convolution():
    pytest.importorskip("torch", reason="torch is not installed")
    rec = _check("torch:nn", "float64", _conv_case(groups=2, stride=(2, 1), padding=(1, 0), dilation=(1, 2)))
    assert rec.status == "pass", rec.message


@pytest.mark.clause("CONV-3")
def test_tensorflow_depthwise_conv2d_conforms_on_a_depthwise_case_and_refuses_other_groups():
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    assert _check("tensorflow:depthwise", "float32", _conv_case(groups=4, stride=(1, 2))).status == "pass"
    assert _check("tensorflow:depthwise", "float32", _conv_case(groups=1)).status == "unsupported"


@pytest.mark.clause("CONV-6")
def test_tensorflow_depthwise_conv2d_with_strides_and_dilations_is_a_finding():
    """tf.nn.depthwise_conv2d only warns when strides > 1 meet dilations > 1 and returns other values."""
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    rec = _check("tensorflow:depthwise", "float32", _conv_case(groups=4, stride=(2, 2), dilation=(2, 2)))
    assert rec.status == "fail", rec.message


@pytest.mark.clause("CONV-1", "POOL-MAX-1")
def test_keras_layers_conform_where_they_can_express_the_case():
    pytest.importorskip("keras", reason="keras is not installed")
    assert _check("tensorflow:keras", "float32", _conv_case(stride=(2, 1), padding="same")).status == "pass"
    x = np.random.default_rng(2).integers(-2, 3, (2, 3, 6, 5)).astype(np.float64)
    pool = Case("max_pool2d", {"x": x}, {"kernel_size": 2, "stride": (2, 1)}, True)
    assert _check("tensorflow:keras", "float32", pool).status == "pass"
