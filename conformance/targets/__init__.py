"""Targets: the implementations the runner checks against the reference.

A target is a :class:`Target` whose methods carry the reference's public names and
keywords (``conv2d(x, w, b=None, *, stride=1, ...)``), take NumPy arrays in the
carrier dtype of the run (see conformance.dtypes) and return NumPy arrays. A method
that is missing means "not implemented"; one that cannot express an option raises
:class:`Unsupported` (a separate status: neither a pass nor a failure).

Built-in targets live in this package, one small adapter module each, and are named
in :data:`BUILTIN`. A user's module is loaded by :func:`load_target` from
``pkg.module``, ``pkg.module:obj`` or ``path/to/file.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

#: Built-in target name -> adapter module.
BUILTIN = {
    "reference": "conformance.targets.reference_target",
    "torch": "conformance.targets.torch_target",
    "onnxruntime": "conformance.targets.onnxruntime_target",
    "onnx-reference": "conformance.targets.onnx_reference_target",
    "jax": "conformance.targets.jax_target",
    "tensorflow": "conformance.targets.tensorflow_target",
    "scipy": "conformance.targets.scipy_target",
    "opencv": "conformance.targets.opencv_target",
    "pillow": "conformance.targets.pillow_target",
    "tensorflow-padded": "conformance.targets.tensorflow_padded_target",
    "torchvision": "conformance.targets.torchvision_target",
    # Surfaces: another public entry point of a library, checked as a target of its own (issue 13).
    "torch:nn": "conformance.targets.torch_nn_target",
    "tensorflow:depthwise": "conformance.targets.tensorflow_surfaces",
    "tensorflow:keras": "conformance.targets.tensorflow_surfaces:KerasTarget",
}


#: Import name -> the distributions that may provide it (for versions without importing).
_DISTRIBUTIONS = {
    "cv2": ("opencv-python-headless", "opencv-python", "opencv-contrib-python"),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
}


def library(name: str) -> str:
    """The library (and cnnspec extra) of a built-in target or surface: torch:nn -> torch."""
    return name.split(":")[0].split("-")[0]


def target_class(name: str) -> type[Target]:
    """The adapter class of a built-in target or surface (BUILTIN: "module" or "module:Class")."""
    mod_name, _, cls_name = BUILTIN[name].partition(":")
    module = importlib.import_module(mod_name)
    cls: type[Target] = getattr(module, cls_name) if cls_name else module.TARGET
    return cls


class Unsupported(Exception):
    """The target's library cannot express this case (e.g. PyTorch pooling with pad > k/2)."""


class TargetUnavailable(Exception):
    """The target's library is not installed (the run reports it as skipped)."""


class Target:
    """Base of every adapter. Subclasses set ``name`` and ``requires`` and define op methods."""

    name = "target"
    #: Import names the adapter needs; a missing one makes the target unavailable.
    requires: tuple[str, ...] = ()
    #: How to install the library, when no cnnspec extra does it (shown by `cnnspec targets`).
    install_hint = ""
    #: Devices the adapter can run on.
    devices: tuple[str, ...] = ("cpu",)
    #: Rejection conformance (issue 13): per op, the breaks of conformance/strategies/invalid.py (a
    #: keyword such as "stride", or an array break such as "x-3d", "nan-score") that this adapter hands
    #: to its library as they are, so that what the library does with them is the library's answer.
    #: Breaks an adapter absorbs itself (its own batching, padding or box conversion) are not sent.
    passes_invalid: dict[str, tuple[str, ...]] = {}

    def __init__(self) -> None:
        self.dtype = "float64"
        self.device = "cpu"

    @classmethod
    def missing(cls) -> str | None:
        """The first required module that is not installed, or None."""
        for mod in cls.requires:
            if importlib.util.find_spec(mod) is None:
                return mod
        return None

    def version(self) -> str:
        """The library's version string (read in the worker, after the import)."""
        if not self.requires:
            return ""
        mod = importlib.import_module(self.requires[0])
        return str(getattr(mod, "__version__", "?"))

    @classmethod
    def installed_version(cls) -> str:
        """The version from the package metadata, without importing the library."""
        from importlib import metadata

        if not cls.requires:
            return ""
        for dist in _DISTRIBUTIONS.get(cls.requires[0], (cls.requires[0],)):
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return "?"

    def setup(self, dtype: str, device: str) -> None:
        """Called once in the worker before any op. Raise Unsupported for a dtype/device it lacks."""
        if device not in self.devices:
            raise Unsupported(f"{self.name} has no {device} path")
        self.dtype, self.device = dtype, device

    def implements(self, op: str) -> bool:
        return callable(getattr(self, op, None))

    def invalid_keys(self, op: str) -> tuple[str, ...] | None:
        """The invalid-case breaks to send for ``op`` (None: every one)."""
        return tuple(self.passes_invalid.get(op, ()))


class ModuleTarget(Target):
    """A user's module or object exposing any subset of the reference's functions."""

    def __init__(self, obj: Any, name: str) -> None:
        super().__init__()
        self._obj = obj
        self.name = name

    def version(self) -> str:
        return str(getattr(self._obj, "__version__", ""))

    def setup(self, dtype: str, device: str) -> None:
        if device != "cpu":
            raise Unsupported("user targets run on the CPU")
        self.dtype, self.device = dtype, device

    def implements(self, op: str) -> bool:
        return callable(getattr(self._obj, op, None))

    def invalid_keys(self, op: str) -> tuple[str, ...] | None:
        return None  # a user's module is the implementation: every invalid case goes to it

    def __getattr__(self, op: str) -> Any:
        if op.startswith("_"):
            raise AttributeError(op)
        return getattr(self._obj, op)


def load_target(spec: str) -> Target:
    """A target from a built-in name, ``pkg.module[:obj]`` or ``path/to/file.py[:obj]``.

    Raises :class:`TargetUnavailable` when a built-in target's library is missing, and
    ValueError for a spec that names nothing loadable.
    """
    if spec in BUILTIN:
        mod_name, _, cls_name = BUILTIN[spec].partition(":")
        module = importlib.import_module(mod_name)
        cls = getattr(module, cls_name) if cls_name else module.TARGET
        missing = cls.missing()
        if missing:
            hint = getattr(cls, "install_hint", "") or f"pip install 'cnnspec[{library(spec)}]'"
            raise TargetUnavailable(f"{spec}: the Python module {missing!r} is not installed ({hint})")
        return cls()
    path_part, _, attr = spec.partition(":")
    if path_part.endswith(".py") or "/" in path_part:
        path = Path(path_part)
        if not path.is_file():
            raise ValueError(f"--target {spec}: no such file {path}")
        name = f"cnnspec_user_{path.stem}"
        mspec = importlib.util.spec_from_file_location(name, path)
        assert mspec is not None and mspec.loader is not None
        module = importlib.util.module_from_spec(mspec)
        sys.modules[name] = module
        mspec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(path_part)
        except ImportError as exc:
            raise ValueError(f"--target {spec}: cannot import {path_part!r} ({exc}); built-in targets "
                             f"are {', '.join(BUILTIN)}") from exc
    obj: Any = module
    if attr:
        try:
            obj = getattr(module, attr)
        except AttributeError as exc:
            raise ValueError(f"--target {spec}: {path_part} has no attribute {attr!r}") from exc
        if isinstance(obj, type):
            if issubclass(obj, Target) and obj.missing():
                raise TargetUnavailable(f"{spec}: the Python module {obj.missing()!r} is not installed")
            obj = obj()
    if isinstance(obj, Target):
        return obj
    return ModuleTarget(obj, spec)
