"""Strategies for box_convert and box_area (spec/boxes.md, BOX-1 ... BOX-4).

Boxes are the clustered boxes of conformance/strategies/boxes.py (multiples of 1/4, zero-width
and zero-height boxes included, N from 0), given in any of the four formats; a third of the
time they are scaled and shifted by arbitrary floats ("real" data, whose conversions round).
Valid by construction. Shrinks towards no boxes in ``xyxy``, exact coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from reference.boxes import FORMATS, box_convert

from ..types import Case
from . import floats, integers
from .boxes import box_arrays


@st.composite
def _boxes(draw: Any) -> tuple[np.ndarray, bool]:
    """(xyxy boxes, real): clustered quarter-grid boxes, or those scaled and shifted by floats."""
    b = draw(box_arrays((0, 12), "xyxy"))
    real = draw(integers(0, 2)) == 2
    scale = draw(floats(0.01, 100.0))
    ox, oy = draw(floats(-1000.0, 1000.0)), draw(floats(-1000.0, 1000.0))
    if real:
        b = b * scale + np.array([ox, oy, ox, oy])
    return b, real


@st.composite
def box_convert_cases(draw: Any) -> Case:
    """box_convert(boxes, in_fmt, out_fmt) over every pair of formats (identity included)."""
    b, real = draw(_boxes())
    in_fmt, out_fmt = draw(st.sampled_from(FORMATS)), draw(st.sampled_from(FORMATS))
    given = b if in_fmt == "xyxy" else box_convert(b, "xyxy", in_fmt)
    return Case("box_convert", {"boxes": given}, {"in_fmt": in_fmt, "out_fmt": out_fmt}, not real,
                "real data" if real else "")


@st.composite
def box_area_cases(draw: Any) -> Case:
    """box_area(boxes, fmt): zero-area boxes included."""
    b, real = draw(_boxes())
    fmt = draw(st.sampled_from(FORMATS))
    given = b if fmt == "xyxy" else box_convert(b, "xyxy", fmt)
    return Case("box_area", {"boxes": given}, {"fmt": fmt}, not real,
                "real data" if real else "")


CASES = {"box_convert": box_convert_cases, "box_area": box_area_cases}

__all__ = ["CASES", "box_convert_cases", "box_area_cases"]
