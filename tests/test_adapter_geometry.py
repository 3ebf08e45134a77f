"""The adapters' own geometry (conformance/targets/_geometry.py) against the spec's formulas,
written out here once more: adapters never borrow the reference's arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.targets import _geometry as g


@pytest.mark.clause("SIZE-5", "SIZE-6")
@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 3), lower=st.booleans())
def test_same_padding_is_the_spec_formula(n, k, s, d, lower):
    total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)  # SIZE-5
    head, tail = (total - total // 2, total // 2) if lower else (total // 2, total - total // 2)
    assert g.same_pads(n, k, s, d, lower) == (head, tail)
    out = (n + head + tail - d * (k - 1) - 1) // s + 1
    assert out == math.ceil(n / s)  # "same" keeps ceil(n / s) outputs


@pytest.mark.clause("SIZE-3", "SIZE-7")
@given(n=st.integers(1, 30), k=st.integers(1, 5), s=st.integers(1, 4), d=st.integers(1, 3),
       p=st.tuples(st.integers(0, 3), st.integers(0, 3)), ceil=st.booleans())
def test_output_length_is_the_spec_formula(n, k, s, d, p, ceil):
    span = n + p[0] + p[1] - d * (k - 1) - 1
    if span < 0:
        return
    out = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + p[0]:  # SIZE-7: a window starting in the end padding is dropped
        out -= 1
    assert g.out_len(n, k, s, p[0], p[1], d, ceil) == out


@pytest.mark.clause("SIZE-2")
def test_every_numeric_padding_form_becomes_explicit_pads():
    assert g.explicit_pads(2) == ((2, 2), (2, 2))
    assert g.explicit_pads((1, 3)) == ((1, 1), (3, 3))
    assert g.explicit_pads(((0, 1), (2, 3))) == ((0, 1), (2, 3))
    assert g.explicit_pads("same") is None
    assert g.resolve_pads("valid", (5, 6), (3, 3), (1, 1), (1, 1)) == ((0, 0), (0, 0))
    assert g.resolve_pads("same", (5, 6), (2, 3), (1, 2), (1, 1)) == ((0, 1), (0, 1))


@pytest.mark.clause("BOX-2", "BOX-3")
def test_box_formats_convert_by_the_spec_formulas():
    xyxy = np.array([[1.0, 2.0, 5.0, 8.0], [0.0, 0.0, 0.0, 0.0]])
    want = {"xyxy": xyxy, "xywh": np.array([[1.0, 2.0, 4.0, 6.0], [0, 0, 0, 0]]),
            "cxcywh": np.array([[3.0, 5.0, 4.0, 6.0], [0, 0, 0, 0]]), "yxyx": np.array([[2.0, 1.0, 8.0, 5.0],
                                                                                    [0, 0, 0, 0]])}
    for fmt, boxes in want.items():
        np.testing.assert_array_equal(g.convert_boxes(xyxy, "xyxy", fmt), boxes)
        np.testing.assert_array_equal(g.convert_boxes(boxes, fmt, "xyxy"), xyxy)
    assert g.convert_boxes(np.empty((0, 4)), "xywh", "xyxy").shape == (0, 4)
