"""The ``tensorflow-padded`` target: the ``tensorflow`` target with ``nms`` mapped to
``tf.image.non_max_suppression_padded`` (see TensorFlowPaddedTarget in tensorflow_target.py)."""

from __future__ import annotations

from .tensorflow_target import TensorFlowPaddedTarget

TARGET = TensorFlowPaddedTarget
