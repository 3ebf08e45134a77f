"""Every named variant the runner can diagnose really differs from the spec somewhere.

A variant that computed the same as the spec on every case could never be diagnosed; one
that raised would hide a failing target. Each variant is run on the curated corpus of its
op and must differ from the spec's result on at least one case.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.corpus import CORPUS
from conformance.ops import OPS
from conformance.strategies.conv import Case
from conformance.variants import VARIANTS

# The convolution family; detection and augmentation check their variants' witnesses in their own tests.
CONV_FAMILY = {"conv2d", "conv2d_backward", "conv_transpose2d", "max_pool2d", "avg_pool2d",
               "max_pool2d_backward", "avg_pool2d_backward", "im2col"}


def _differs(a: list, b: list) -> bool:
    for (_, x, _, _), (_, y, _, _) in zip(a, b):
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
            return True
    return len(a) != len(b)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.op in CONV_FAMILY],
                         ids=lambda v: f"{v.op}-{v.name}")
@pytest.mark.clause("CONV-1", "SIZE-5", "CONVT-1", "POOL-MAX-1", "POOL-MAX-2", "POOL-MAX-3", "POOL-MAX-4",
                    "SIZE-7", "POOL-AVG-2", "POOL-AVG-5", "IM2COL-1")
def test_each_variant_differs_from_the_spec_on_some_curated_case(variant):
    cases: list[Case] = list(CORPUS[variant.op])
    assert cases, f"no curated case for {variant.op}"
    assert any(_differs(OPS[variant.op].measure(c), variant.compute(c)) for c in cases), \
        f"variant {variant.name} of {variant.op} is indistinguishable from the spec on the corpus"


def test_every_variant_named_in_the_runner_appears_in_the_spec():
    from pathlib import Path

    text = "\n".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "spec").glob("*.md"))
    # a combined variant ("a+b", a library following two conventions at once) names its parts
    missing = sorted({part for v in VARIANTS for part in v.name.split("+") if f"`{part}`" not in text})
    assert not missing, f"variants the spec does not name: {missing}"
