"""The ``onnx-reference`` target: the same one-node ONNX models as the onnxruntime target, run by
ONNX's own Python reference evaluator (``onnx.reference.ReferenceEvaluator``).

Converters and runtimes take that evaluator as ground truth for ONNX's operators, so its kernels
(pure NumPy, written from the operator documents) are an implementation worth checking on their own.
Everything but the session is the onnxruntime adapter's: the models (opset 22, from
:mod:`conformance.targets._onnx_models`), the mapping of the spec's parameters to node attributes
and inputs, the per-plane mapping of MaxPool's Indices, the NMS inputs. The cases that adapter
declares unsupported because ONNX Runtime refuses them (a pooling pad >= the kernel, "same" with a
dilated Conv, output_padding >= stride) stay unsupported here too: fewer cases, never a wrong verdict.
"""

from __future__ import annotations

from typing import Any

from .onnxruntime_target import OnnxRuntimeTarget


class _Evaluator:
    """The part of an onnxruntime InferenceSession the adapter uses: ``run(outputs, feeds)``."""

    def __init__(self, model: Any) -> None:
        from onnx.reference import ReferenceEvaluator

        self._ev = ReferenceEvaluator(model)

    def run(self, outputs: list[str], feeds: dict[str, Any]) -> list[Any]:
        return list(self._ev.run(outputs, feeds))


class OnnxReferenceTarget(OnnxRuntimeTarget):
    name = "onnx-reference"
    requires = ("onnx",)
    install_hint = "pip install 'cnnspec[onnxruntime]' (the onnx package)"

    def version(self) -> str:
        import onnx

        return onnx.__version__

    @classmethod
    def installed_version(cls) -> str:
        from importlib import metadata

        try:
            return metadata.version("onnx")
        except metadata.PackageNotFoundError:
            return "?"

    def _session(self, spec: Any) -> Any:
        key = (spec, "reference")
        sess = self._sessions.get(key)
        if sess is None:
            sess = self._sessions[key] = _Evaluator(spec.build())
            if len(self._sessions) > 64:
                self._sessions.popitem(last=False)
        return sess

    def _require_kernel(self, op_type: str) -> None:
        return None  # the evaluator computes every dtype with NumPy


TARGET = OnnxReferenceTarget
