"""Golden vectors: a portable, versioned corpus of reference outputs (spec/golden.md, GOLD-*).

    cnnspec golden write OUT_DIR [--ops ...] [--dtype ...] [--profile quick|default|thorough]
                                 [--examples N] [--seed S] [--force]
    cnnspec golden check DIR --target TARGET [--ops ...] [--dtype ...] [--json PATH] [--timeout S]
    cnnspec golden verify DIR [--json PATH]

(``python -m reference golden ...`` is the same command.) A corpus is one folder per case
holding its inputs, expected outputs and error scales as ``.npy`` files, one
``manifest.json`` that describes every case (GOLD-2, schema in
conformance/golden_manifest_schema.json) and a plain-text index of the conv2d cases for
readers without a JSON parser (GOLD-12, used by conformance/golden_reader.c).

``check`` runs a target on the stored inputs (in a worker process, as the runner does) and
judges it as the runner does (conformance.tally.judge, with the stored tolerance data); it
needs neither the reference nor Hypothesis. ``write`` draws the generated cases with the
runner's seeded sweep (conformance.strategies.fast), which nothing outside the seed
changes. ``verify`` recomputes every case with the reference and lists each output that is
not bit-identical.

Exit status: 0 pass (or clean), 1 a case failed / drifted or nothing was checked,
2 a usage error or a refused corpus (missing or tampered files, a path out of the
folder, an empty or truncated corpus: GOLD-7, GOLD-8).

Only the standard library and NumPy are imported at module level; the reference, the op
table and Hypothesis are imported by the functions that need them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .tally import Tally

FORMAT = "cnnspec-golden"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONV2D_INDEX = "conv2d_cases.txt"
INDEX_FORMAT = "cnnspec-golden-conv2d"
INDEX_VERSION = 1
#: Generated cases per op and dtype for each --profile; the curated corpus is always added.
PROFILES = {"quick": 2, "default": 8, "thorough": 60}
DTYPES = ("float32", "float64", "float16", "bfloat16")
DTYPE_TAG = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}
#: The golden grid (GOLD-5): real data keep GRID_BITS significant bits (fewer if the dtype
#: has fewer), magnitudes below 2**GRID_MIN_EXP become 0 and above GRID_MAX are clipped.
GRID_BITS = 11
GRID_MIN_EXP = -6
GRID_MAX = 16.0
#: The ops whose real data go onto the grid: their results are sums of products of the inputs
#: (the reference sums some through BLAS, whose order differs between machines).
GRID_OPS = frozenset({"conv2d", "conv2d_backward", "conv_transpose2d", "max_pool2d", "avg_pool2d",
                      "max_pool2d_backward", "avg_pool2d_backward", "im2col", "col2im"})
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,159}$")
#: Failing case ids printed by ``check`` (the JSON report lists all of them).
PRINT_FAILURES = 200


class CorpusError(ValueError):
    """A corpus that ``check`` and ``verify`` refuse (GOLD-7, GOLD-8): nothing is checked."""


# --- plain forms ----------------------------------------------------------------------------------

def plain(value: Any, where: str = "param") -> Any:
    """``value`` as JSON-plain data: tuples become lists; ints, floats, str, bool, None stay."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise TypeError(f"{where}={value!r}: a golden parameter must be finite (GOLD-2)")
        return float(value)
    if isinstance(value, (tuple, list)):
        return [plain(v, where) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "iufb":
        return plain(value.tolist(), where)
    raise TypeError(f"{where}={value!r}: a golden parameter must be an int, float, str, bool, None or a "
                    f"list of them, not {type(value).__name__} (GOLD-2)")


def unplain(value: Any) -> Any:
    """The call form of a stored parameter: every JSON list becomes a tuple (GOLD-2)."""
    if isinstance(value, list):
        return tuple(unplain(v) for v in value)
    return value


def _canon(a: np.ndarray) -> np.ndarray:
    """NaN as the one canonical quiet NaN, -0 as +0 (GOLD-4); other arrays unchanged."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return a
    a = a.copy()
    a[np.isnan(a)] = np.nan
    a[a == 0] = 0
    return a


def npy_bytes(a: np.ndarray) -> bytes:
    """``a`` as a .npy file, format 1.0, little-endian, C order, never pickled (GOLD-1)."""
    a = np.asarray(a, order="C")  # not ascontiguousarray: it makes a 0-d array (a size, a mean) 1-d
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, version=(1, 0), allow_pickle=False)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _storage(a: np.ndarray) -> str:
    return a.dtype.newbyteorder("<").str


# --- the golden grid --------------------------------------------------------------------------------

def on_grid(a: np.ndarray, dtype: str) -> np.ndarray:
    """Real data moved onto the golden grid of ``dtype`` (GOLD-5), in float64.

    q = min(GRID_BITS, significand bits of dtype) significant bits; |v| < 2**GRID_MIN_EXP -> 0;
    |v| > GRID_MAX -> ±GRID_MAX; NaN and ±inf unchanged. Every product of two grid values is a
    multiple of 2**(2*(GRID_MIN_EXP - q + 1)) below GRID_MAX**2, so any float64 sum of fewer
    than 2**13 such products is exact, whatever its order.
    """
    from .dtypes import round_to
    from .tolerance import SIGNIFICAND_BITS

    a = np.asarray(a, dtype=np.float64)
    fin = np.isfinite(a)
    v = np.where(fin, np.clip(a, -GRID_MAX, GRID_MAX), 0.0)
    q = min(GRID_BITS, SIGNIFICAND_BITS[dtype])
    v = np.asarray(round_to(v, "bfloat16" if q == 8 else "float16"), dtype=np.float64)
    v = np.where(np.abs(v) < 2.0**GRID_MIN_EXP, 0.0, v)
    return np.where(fin, v, a)


def is_on_grid(a: np.ndarray, dtype: str) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return bool(np.array_equal(on_grid(a, dtype), a, equal_nan=True))


# --- case ids ---------------------------------------------------------------------------------------

_ABBREV = {"kernel_size": "k", "stride": "s", "padding": "p", "output_padding": "o", "dilation": "d",
           "groups": "g", "divisor_override": "div"}
_ORDER = ("kernel_size", "stride", "padding", "output_padding", "dilation", "groups", "ceil_mode",
          "count_include_pad", "divisor_override")
_SILENT: set[str] = set()


def _fmt(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v).replace("-", "m")
    if isinstance(v, float):
        return repr(v).replace(".", "p").replace("-", "m").replace("+", "")
    if isinstance(v, str):
        return re.sub(r"[^a-z0-9]", "", v.lower()) or "s"
    if isinstance(v, (list, tuple)):
        if any(isinstance(x, (list, tuple)) for x in v):
            return "x".join("-".join(_fmt(y) for y in x) if isinstance(x, (list, tuple)) else _fmt(x)
                            for x in v)
        return "x".join(_fmt(x) for x in v)
    return re.sub(r"[^a-z0-9]", "", str(v).lower())


def descriptor(op: str, shapes: dict[str, tuple[int, ...]], params: dict[str, Any], data: str,
               dtype: str) -> str:
    """The readable part of a case id (GOLD-3), e.g. ``conv2d_n2c6h9w7_m4k3x2_s2x1_p1x0_d1g2_int_f32``."""
    tokens = [op]
    x = shapes.get("x")
    shown: set[str] = set()
    if x is not None and len(x) == 4:
        shown = {"x", "dy"}
        tokens.append("n{}c{}h{}w{}".format(*x))
    w = shapes.get("w")
    if w is not None and len(w) == 4:
        m = w[1] * int(params.get("groups", 1)) if "transpose" in op else w[0]
        tokens.append(f"m{m}k{w[2]}x{w[3]}")
        shown.add("w")
    for name, shape in shapes.items():
        if name not in shown and name != "b":
            tokens.append(_fmt(name) + ("x".join(str(d) for d in shape) or "0d"))
    keys = [k for k in _ORDER if k in params] + sorted(k for k in params if k not in _ORDER)
    for key in keys:
        if key in _SILENT:
            continue
        v = params[key]
        if key == "return_indices":
            if not v:
                tokens.append("noidx")
        elif key == "ceil_mode":
            if v:
                tokens.append("ceil")
        elif key == "count_include_pad":
            tokens.append("cip1" if v else "cip0")
        elif key == "divisor_override":
            if v is not None:
                tokens.append(f"div{_fmt(v)}")
        elif key == "groups" and tokens[-1].startswith("d"):
            tokens[-1] += f"g{_fmt(v)}"
        elif key == "stride" and v is None:
            tokens.append("snone")
        else:
            tokens.append(_ABBREV.get(key, _fmt(key)) + _fmt(v))
    if "b" in shapes:
        tokens.append("bias")
    tokens += [data, DTYPE_TAG.get(dtype, _fmt(dtype))]
    text = "_".join(t for t in tokens if t)
    return text[:140].rstrip("_-")


def content_hash(op: str, dtype: str, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([op, dtype, params], sort_keys=True).encode())
    for name, a in arrays.items():
        h.update(name.encode() + b"\0" + npy_bytes(a))
    return h.hexdigest()


# --- writing ----------------------------------------------------------------------------------------

@dataclass
class _Pending:
    op: str
    call_op: str
    dtype: str
    source: str
    note: str
    params: dict[str, Any]  # plain form
    call_params: dict[str, Any]
    inputs: dict[str, np.ndarray]  # carrier dtype, canonical
    outputs: list[tuple[str, np.ndarray, np.ndarray | None, int]]
    exact: bool
    exact_data: bool
    grid: bool
    divides: bool
    size_clause: str
    clauses: list[str]
    ambiguity: bool
    descriptor: str = ""
    digest: str = ""
    id: str = ""


def generate(op: str, dtype: str, examples: int, seed: int) -> list[Any]:
    """The first ``examples`` cases of the op's seeded sweep (GOLD-4).

    conformance.strategies.fast walks the op's strategy with a NumPy generator seeded by
    ``(seed, "op:dtype")``. Hypothesis's own engine is not used: its draws also depend on the
    constants it harvests from the modules loaded in the process, so the same seed gave other
    cases inside a long pytest session than in a fresh process. The sweep depends on nothing
    but the seed, the op and the dtype.
    """
    from .ops import OPS
    from .strategies.fast import NotFastDrawable, draw_cases

    if examples <= 0:
        return []
    try:
        return draw_cases(OPS[op].strategy(), examples, seed, f"{op}:{dtype}")
    except NotFastDrawable as exc:  # a new strategy the sweep cannot walk: refuse, never guess
        raise ValueError(f"golden: the {op} strategy cannot be drawn reproducibly ({exc})") from exc


def _clauses(spec: Any, case: Any, outputs: list[Any], exact: bool) -> list[str]:
    found = list(spec.clauses)
    arrays = case.arrays.values()
    if any(not np.isfinite(a).all() for a in arrays):
        found += ["SPEC-6", "TOL-5"]
    if any(a.ndim and a.shape[0] == 0 for a in arrays):
        found.append("SPEC-7")
    if any(scale is None for _, _, scale, _ in outputs):
        found.append("TOL-4")
    if any(scale is not None for _, _, scale, _ in outputs):
        found += ["TOL-1"] if exact else ["TOL-2", "TOL-3"]
    found.append("TOL-6")
    return sorted(set(found), key=found.index)


def _is_int(a: np.ndarray) -> bool:
    return a.dtype.kind in "iub"


def _prepare(op: str, case: Any, dtype: str, source: str) -> _Pending:
    """One case as stored: inputs rounded to ``dtype`` (integer arrays, such as uint8 images,
    unchanged), real data on the golden grid where the op has one, outputs by ``measure``."""
    from reference import SpecError

    from .dtypes import round_to
    from .ops import OPS
    from .strategies.conv import Case

    spec = OPS[op]
    grid = not case.exact and op in GRID_OPS
    candidates = []
    if grid:
        candidates.append({k: v if _is_int(v) else on_grid(v, dtype) for k, v in case.arrays.items()})
    candidates.append(dict(case.arrays))
    last: Exception | None = None
    for i, arrays in enumerate(candidates):
        sent = {k: v if _is_int(v) else _canon(round_to(np.asarray(v, dtype=np.float64), dtype))
                for k, v in arrays.items()}
        mine = Case(case.op, {k: v if _is_int(v) else v.astype(np.float64) for k, v in sent.items()},
                    dict(case.params), case.exact, case.note)
        try:
            measured = spec.measure(mine)
        except SpecError as exc:  # the grid made a case invalid: keep its raw data instead
            last = exc
            continue
        except Exception as exc:
            raise RuntimeError(f"{op}: the op table's measure failed on a {source} case "
                               f"({type(exc).__name__}: {exc}): {case.describe()}") from exc
        outputs = [(name, _canon(np.asarray(ref)), None if scale is None else _canon(np.asarray(scale)),
                    int(terms)) for name, ref, scale, terms in measured]
        exact = bool(case.exact and spec.exact_capable)
        size_clause = "SIZE-7" if case.params.get("ceil_mode") else spec.size_clause
        params = {k: plain(v, k) for k, v in case.params.items()}
        return _Pending(op, case.op, dtype, source, case.note, params, dict(case.params), sent, outputs,
                        exact, bool(case.exact), grid and i == 0, spec.divides, size_clause,
                        _clauses(spec, mine, outputs, exact), getattr(spec, "ambiguous", None) is not None)
    raise ValueError(f"the reference rejects a {source} {op} case: {last} — {case.describe()}")


def _with_fallback(op: str, pending: _Pending, case: Any, dtype: str) -> list[_Pending]:
    """The case, and the reduced case the op table falls back to for a target that cannot run
    the full one (max pooling without indices), stored as a case of its own (GOLD-9)."""
    from .ops import OPS

    fallback = getattr(OPS[op], "fallback", None)
    reduced = fallback(case) if fallback else None
    if reduced is None:
        return [pending]
    extra = _prepare(op, reduced, dtype, pending.source)
    extra.note = (pending.note + " " if pending.note else "") + "(reduced: for targets without the full form)"
    return [pending, extra]


def _cases_for(op: str, cases: list[Any], dtype: str, source: str) -> list[_Pending]:
    out: list[_Pending] = []
    for case in cases:
        out += _with_fallback(op, _prepare(op, case, dtype, source), case, dtype)
    return out


def _pair(v: Any) -> list[Any]:
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def features(params: dict[str, Any], dtype: str, exact_data: bool) -> set[str]:
    """The option values a case exercises (GOLD-11): padding form, stride_h != stride_w,
    stride None, dilation > 1, groups > 1, output_padding > 0, each boolean and divisor
    option value, the dtype and the kind of data. ``params`` in plain (JSON) form."""
    found = {f"dtype={dtype}", "data=exact" if exact_data else "data=real"}
    if "padding" in params:
        pad = params["padding"]
        form = pad if isinstance(pad, str) else "int" if isinstance(pad, int) else \
            "pair" if all(isinstance(v, int) for v in pad) else "explicit"
        found.add(f"padding={form}")
    if "stride" in params:
        st = params["stride"]
        if st is None:
            found.add("stride=None")
        elif _pair(st)[0] != _pair(st)[1]:
            found.add("stride_h!=stride_w")
    if "dilation" in params and max(_pair(params["dilation"])) > 1:
        found.add("dilation>1")
    if params.get("groups", 1) > 1:
        found.add("groups>1")
    if "output_padding" in params and max(_pair(params["output_padding"])) > 0:
        found.add("output_padding>0")
    for key in ("ceil_mode", "count_include_pad"):
        if key in params:
            found.add(f"{key}={bool(params[key])}")
    if "divisor_override" in params:
        found.add("divisor_override=" + ("None" if params["divisor_override"] is None else "int"))
    return found


#: The option values GOLD-11 asks every op to reach, per parameter the op has.
OPTION_VALUES = {
    "padding": {"padding=int", "padding=pair", "padding=explicit", "padding=valid", "padding=same",
                "padding=same_lower"},
    "stride": {"stride_h!=stride_w"},
    "dilation": {"dilation>1"},
    "groups": {"groups>1"},
    "output_padding": {"output_padding>0"},
    "ceil_mode": {"ceil_mode=True", "ceil_mode=False"},
    "count_include_pad": {"count_include_pad=True", "count_include_pad=False"},
    "divisor_override": {"divisor_override=None", "divisor_override=int"},
}
#: Top-up draws come in batches of this size, at most TOP_UP_BATCHES of them per op.
TOP_UP_BATCH = 12
TOP_UP_BATCHES = 15
_STRING_PADDING = {"padding=valid", "padding=same", "padding=same_lower"}


def wanted_features(params_seen: set[str], features_seen: set[str], pooling: bool) -> set[str]:
    """The option values an op should reach (GOLD-11), from the parameters its cases have:
    string padding only for an op some case of which pads with a string (conv_transpose2d
    has none), stride None only for pooling (the kernel size, POOL-1), and neither explicit
    ((t, b), (l, r)) padding nor stride_h != stride_w for the one-axis helpers (a ``size``
    parameter: conv_output_size, conv_transpose_output_size, same_padding), whose one axis takes
    an int or (before, after) (SIZE-2)."""
    want = {"data=exact", "data=real"}
    for key in params_seen:
        want |= OPTION_VALUES.get(key, set())
    if not features_seen & _STRING_PADDING:
        want -= _STRING_PADDING
    if "size" in params_seen:  # a one-axis helper (conv_output_size …): one padding pair, one stride
        want -= {"padding=explicit", "stride_h!=stride_w"}
    if pooling and "stride" in params_seen:
        want.add("stride=None")
    return want


def draws_exact_data(spec: Any) -> bool:
    """Whether an op's cases come in exact data too: its results are then exact (``exact_capable``)
    and its strategy takes an ``exact`` argument (the convolution and pooling strategies do)."""
    import inspect

    try:
        takes = "exact" in inspect.signature(spec.strategy).parameters
    except (TypeError, ValueError):
        takes = False
    return bool(spec.exact_capable and takes)


def _top_up(op: str, dtypes: list[str], have: list[_Pending], seed: int) -> list[_Pending]:
    """Generated cases that add an option value the op's cases lack (GOLD-11).

    Drawn in batches from fixed seeds; a candidate is kept when it adds an option value, and
    the kept ones go to the dtypes in turn. Drawing stops once the op reaches every value of
    :func:`wanted_features`, or after TOP_UP_BATCHES batches.
    """
    from .ops import OPS

    def feats(params: dict[str, Any], exact: bool) -> set[str]:
        return features(params, "", exact) - {"dtype="}

    seen: set[str] = set()
    keys: set[str] = set()
    for p in have:
        seen |= feats(p.params, p.exact_data)
        keys |= set(p.params)
    want = wanted_features(keys, seen, "pool" in op)
    if not draws_exact_data(OPS[op]):
        want.discard("data=exact")
    extra: list[_Pending] = []
    for batch in range(TOP_UP_BATCHES):
        if want <= seen:
            break
        for case in generate(op, f"coverage-{batch}", TOP_UP_BATCH, seed):
            new = feats({k: plain(v, k) for k, v in case.params.items()}, bool(case.exact))
            if new - seen:
                extra += _cases_for(op, [case], dtypes[len(extra) % len(dtypes)], "generated")
                seen |= new
    return extra


def _data_kind(p: _Pending) -> str:
    if any(not np.isfinite(a).all() for a in p.inputs.values()):
        return "nan"
    return "int" if p.exact_data else "real"


def _assign_ids(pending: list[_Pending]) -> list[_Pending]:
    """Descriptor ids, with an 8-hex content hash where a descriptor is shared (GOLD-3)."""
    unique: dict[str, _Pending] = {}
    for p in pending:
        p.descriptor = descriptor(p.op, {k: tuple(v.shape) for k, v in p.inputs.items()}, p.params,
                                  _data_kind(p), p.dtype)
        p.digest = content_hash(p.op, p.dtype, p.params, p.inputs)
        unique.setdefault(p.digest, p)  # identical cases are written once
    kept = list(unique.values())
    count: dict[str, int] = {}
    for p in kept:
        count[p.descriptor] = count.get(p.descriptor, 0) + 1
    for p in kept:
        p.id = p.descriptor if count[p.descriptor] == 1 else f"{p.descriptor}_{p.digest[:8]}"
        assert ID_PATTERN.match(p.id), p.id
    return kept


def _versions() -> dict[str, str]:
    import hypothesis

    import reference

    return {"cnnspec": reference.__version__,
            "spec": str(getattr(reference, "__spec_version__", reference.__version__)),
            "numpy": np.__version__, "hypothesis": hypothesis.__version__}


def _conv2d_index_line(p: _Pending, entry: dict[str, Any]) -> str:
    from reference.output_size import resolve_padding

    from .tolerance import C_SAFETY, SIGNIFICAND_BITS, UNIT_ROUNDOFF

    def pair(v: Any) -> tuple[int, int]:
        return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))

    x, w = p.inputs["x"], p.inputs["w"]
    kw = p.call_params
    s, d = pair(kw.get("stride", 1)), pair(kw.get("dilation", 1))
    (pt, pb), (pl, pr) = resolve_padding(kw.get("padding", 0), x.shape[2:], w.shape[2:], s, d)
    files = {a["name"]: a["file"] for a in entry["inputs"]}
    out = entry["outputs"][0]
    fields = [entry["id"], p.dtype, SIGNIFICAND_BITS[p.dtype], float.hex(UNIT_ROUNDOFF[p.dtype]),
              float.hex(C_SAFETY), int(p.exact), out["terms"], *x.shape, w.shape[0], *w.shape[2:],
              *s, pt, pb, pl, pr, *d, int(kw.get("groups", 1)), files["x"], files["w"], files.get("b", "-"),
              out["file"], out["scale_file"]]
    return " ".join(str(f) for f in fields)


INDEX_HEADER = (
    "# cnnspec golden vectors: the conv2d cases as plain text (GOLD-12).\n"
    "# manifest.json is the source of truth.\n"
    "# first record: cnnspec-golden-conv2d VERSION COUNT RMS_LIMIT; then COUNT records, one per line:\n"
    "# id dtype bits u c exact terms N C H W M KH KW stride_h stride_w\n"
    "#   pad_top pad_bottom pad_left pad_right dilation_h dilation_w groups\n"
    "#   x_file w_file b_file(- for none) y_file scale_file\n"
    "# u, c and RMS_LIMIT are C99 hexadecimal floats (strtod reads them);\n"
    "# files are relative to this folder.\n"
)


def write(out_dir: str | os.PathLike[str], *, ops: list[str] | None = None, dtypes: list[str] | None = None,
          profile: str = "default", examples: int | None = None, seed: int = 0, force: bool = False,
          progress: Any = None) -> dict[str, Any]:
    """Write a corpus to ``out_dir`` (GOLD-1 ... GOLD-6) and return its manifest.

    ``out_dir`` must not exist or be empty; with ``force`` an existing golden corpus there is
    replaced. The corpus is built in a sibling folder and renamed into place, so a crash never
    leaves a half-written corpus behind a manifest.
    """
    from .corpus import CORPUS
    from .ops import OPS
    from .tolerance import C_SAFETY, RMS_LIMIT, SIGNIFICAND_BITS, UNIT_ROUNDOFF

    ops = list(OPS) if not ops else [o for o in OPS if o in ops]
    dtypes = list(DTYPES) if not dtypes else [d for d in DTYPES if d in dtypes]
    n_gen = PROFILES[profile] if examples is None else examples
    out = Path(out_dir)
    _check_target_dir(out, force)

    pending: list[_Pending] = []
    for op in ops:
        mine: list[_Pending] = []
        for dtype in dtypes:
            if progress:
                progress(f"{op} {dtype}")
            mine += _cases_for(op, CORPUS.get(op, []), dtype, "corpus")
            mine += _cases_for(op, generate(op, dtype, n_gen, seed), dtype, "generated")
        pending += mine + _top_up(op, dtypes, mine, seed)
    cases = _assign_ids(pending)
    if not cases:
        raise ValueError("nothing to write: no case for these ops and dtypes")

    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        entries, index_lines = [], []
        for p in cases:
            entry = _write_case(tmp, p)
            entries.append(entry)
            if p.op == "conv2d":
                index_lines.append(_conv2d_index_line(p, entry))
        indexes = {}
        if "conv2d" in ops:
            text = INDEX_HEADER + \
                f"{INDEX_FORMAT} {INDEX_VERSION} {len(index_lines)} {float.hex(RMS_LIMIT)}\n"
            text += "".join(line + "\n" for line in index_lines)
            data = text.encode("ascii")
            (tmp / CONV2D_INDEX).write_bytes(data)
            indexes["conv2d"] = {"file": CONV2D_INDEX, "sha256": sha256(data), "cases": len(index_lines)}
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "versions": _versions(),
            "generator": {"seed": seed, "profile": profile, "examples_per_op_and_dtype": n_gen,
                          "ops": ops, "dtypes": dtypes},
            "tolerance": {"c": C_SAFETY, "u": {d: UNIT_ROUNDOFF[d] for d in DTYPES},
                          "significand_bits": {d: SIGNIFICAND_BITS[d] for d in DTYPES},
                          "rms_limit": RMS_LIMIT,
                          "bound": "c * terms * u[dtype] * |scale| + u[dtype] * |expected| (TOL-2)"},
            "grid": {"bits": GRID_BITS, "min_exponent": GRID_MIN_EXP, "max_abs": GRID_MAX},
            "indexes": indexes,
            "case_count": len(entries),
            "cases_sha256": cases_digest(entries),
            "cases": entries,
        }
        (tmp / MANIFEST).write_bytes(manifest_bytes(manifest))
        if out.exists():
            shutil.rmtree(out) if any(out.iterdir()) else out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _check_target_dir(out: Path, force: bool) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise FileExistsError(f"{out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    if not force:
        raise FileExistsError(f"{out} is not empty; choose a new folder or pass --force to replace the "
                              f"golden corpus there")
    try:
        kind = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind != FORMAT:
        raise FileExistsError(f"{out} is not empty and holds no golden corpus; --force replaces only a "
                              f"golden corpus")


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
            ).encode("ascii")


def cases_digest(entries: list[dict[str, Any]]) -> str:
    return sha256(json.dumps(entries, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())


def _output_array(ref: np.ndarray) -> np.ndarray:
    """Expected outputs: floating ones in float64, integer and boolean ones in their own dtype."""
    ref = np.asarray(ref)
    if ref.dtype.kind in "iub":
        return ref
    return ref.astype(np.float64)


def _write_case(root: Path, p: _Pending) -> dict[str, Any]:
    folder = root / p.id
    folder.mkdir()

    def put(name: str, a: np.ndarray) -> tuple[str, str]:
        data = npy_bytes(a)
        (folder / name).write_bytes(data)
        return f"{p.id}/{name}", sha256(data)

    inputs = []
    for name, a in p.inputs.items():
        rel, digest = put(f"in_{name}.npy", a)
        inputs.append({"name": name, "file": rel, "sha256": digest, "shape": list(a.shape),
                       "dtype": str(a.dtype) if _is_int(a) else p.dtype, "storage": _storage(a)})
    outputs = []
    for name, ref, scale, terms in p.outputs:
        ref = _output_array(ref)
        rel, digest = put(f"out_{name}.npy", ref)
        item: dict[str, Any] = {"name": name, "file": rel, "sha256": digest, "shape": list(ref.shape),
                                "dtype": str(ref.dtype), "storage": _storage(ref), "terms": terms,
                                "scale_file": None, "scale_sha256": None}
        if scale is not None:
            item["scale_file"], item["scale_sha256"] = put(f"scale_{name}.npy", scale.astype(np.float64))
        outputs.append(item)
    from .tolerance import C_SAFETY, UNIT_ROUNDOFF

    return {"id": p.id, "op": p.op, "call_op": p.call_op, "ambiguity": p.ambiguity, "dtype": p.dtype,
            "source": p.source, "note": p.note,
            "params": p.params, "clauses": p.clauses, "exact": p.exact, "exact_data": p.exact_data,
            "grid": p.grid, "divides": p.divides, "size_clause": p.size_clause,
            "c": C_SAFETY, "u": UNIT_ROUNDOFF[p.dtype], "content_sha256": p.digest,
            "inputs": inputs, "outputs": outputs}


# --- loading ----------------------------------------------------------------------------------------

@dataclass
class Corpus:
    """A corpus that passed every integrity check (GOLD-7, GOLD-8)."""

    root: Path
    manifest: dict[str, Any]
    cases: list[dict[str, Any]] = field(default_factory=list)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # every listed .npy, read and checked

    def array(self, rel: str, **_: Any) -> np.ndarray:
        """One stored array, as read and checked by :func:`load_corpus` (a fresh copy)."""
        return self.arrays[rel].copy()

    def inputs(self, case: dict[str, Any]) -> dict[str, np.ndarray]:
        return {i["name"]: self.array(i["file"]) for i in case["inputs"]}

    def expected(self, case: dict[str, Any]) -> list[tuple[str, np.ndarray, np.ndarray | None, int]]:
        out = []
        for o in case["outputs"]:
            ref = self.array(o["file"], storage=o["storage"], shape=o["shape"])
            scale = None if o["scale_file"] is None else \
                self.array(o["scale_file"], storage="<f8", shape=o["shape"])
            out.append((o["name"], ref, scale, int(o["terms"])))
        return out


_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def safe_path(root: Path, rel: Any) -> Path:
    """``root/rel`` if ``rel`` is a plain relative path that stays inside ``root`` (GOLD-8)."""
    bad = (not isinstance(rel, str) or not _PATH.match(rel)
           or any(part in (".", "..") for part in rel.split("/")))
    if bad:
        raise CorpusError(f"manifest path {rel!r} points outside the corpus folder; only plain relative "
                          f"paths are allowed (GOLD-8)")
    path = root / PurePosixPath(rel)
    real, top = path.resolve(), root.resolve()
    if real != top and top not in real.parents:
        raise CorpusError(f"manifest path {rel!r} leads outside the corpus folder (through a symlink, to "
                          f"{real}) (GOLD-8)")
    return path


def _reject_constant(name: str) -> Any:
    raise CorpusError(f"manifest.json holds {name}, which is not JSON (GOLD-2)")


_SHA = re.compile(r"^[0-9a-f]{64}$")
_INPUT = {"name": str, "file": str, "sha256": "sha", "shape": "shape", "dtype": str, "storage": str}
_OUTPUT = {"name": str, "file": str, "sha256": "sha", "shape": "shape", "dtype": str, "storage": str,
           "terms": int, "scale_file": (str, type(None)), "scale_sha256": ("sha", type(None))}
_CASE = {"id": str, "op": str, "call_op": str, "ambiguity": bool, "dtype": str, "source": str, "note": str,
         "params": dict, "clauses": list,
         "exact": bool, "exact_data": bool, "grid": bool, "divides": bool, "size_clause": str,
         "c": (int, float), "u": (int, float), "content_sha256": "sha", "inputs": list, "outputs": list}
_TOP = {"versions": dict, "generator": dict, "tolerance": dict, "grid": dict, "indexes": dict,
        "case_count": int, "cases_sha256": "sha", "cases": list}


def _shape_errors(obj: Any, fields: dict[str, Any], where: str) -> str | None:
    """The first field of ``obj`` missing or of the wrong JSON type, as "at PATH: why"."""
    if not isinstance(obj, dict):
        return f"at {where}: not an object"
    for key, kind in fields.items():
        if key not in obj:
            return f"at {where}: {key!r} is missing"
        v = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = False
        for k in kinds:
            if k == "sha":
                ok = ok or (isinstance(v, str) and bool(_SHA.match(v)))
            elif k == "shape":
                ok = ok or (isinstance(v, list) and all(type(d) is int and d >= 0 for d in v))
            elif k is int:
                ok = ok or type(v) is int
            elif k is bool:
                ok = ok or type(v) is bool
            else:
                ok = ok or (isinstance(v, k) and not isinstance(v, bool))
        if not ok:
            return f"at {where}/{key}: {v!r:.60} has the wrong type"
    return None


def _schema_errors(manifest: dict[str, Any]) -> str | None:
    """What the loader relies on, checked fast (golden_manifest_schema.json says it all; the tests
    validate written manifests against it with jsonschema, too slow to run on every load)."""
    problem = _shape_errors(manifest, _TOP, "(top)")
    if problem:
        return problem
    for i, case in enumerate(manifest["cases"]):
        problem = _shape_errors(case, _CASE, f"cases/{i}")
        if problem:
            return problem
        for kind, fields in (("inputs", _INPUT), ("outputs", _OUTPUT)):
            for j, item in enumerate(case[kind]):
                problem = _shape_errors(item, fields, f"cases/{i}/{kind}/{j}")
                if problem:
                    return problem
        if not case["outputs"]:
            return f"at cases/{i}/outputs: no output"
    for name, idx in manifest["indexes"].items():
        problem = _shape_errors(idx, {"file": str, "sha256": "sha", "cases": int}, f"indexes/{name}")
        if problem:
            return problem
    return None


def load_corpus(root: str | os.PathLike[str]) -> Corpus:
    """Open a corpus, refusing it (CorpusError) unless every check of GOLD-7 and GOLD-8 passes."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root}: no such folder (GOLD-7)")
    mpath = root / MANIFEST
    if not mpath.is_file():
        what = "an empty folder" if not any(root.iterdir()) else "not a golden corpus"
        raise CorpusError(f"{root}: no {MANIFEST}: {what}; an empty corpus is an error, never a pass "
                          f"(GOLD-7)")
    safe_path(root, MANIFEST)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, CorpusError):
            raise
        raise CorpusError(f"{mpath}: not valid JSON ({exc}); a truncated manifest? (GOLD-7)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorpusError(f"{mpath}: not a cnnspec golden manifest (format must be {FORMAT!r}) (GOLD-2)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CorpusError(f"{mpath}: format_version {manifest.get('format_version')!r}; this cnnspec reads "
                          f"version {FORMAT_VERSION} (GOLD-2)")
    problem = _schema_errors(manifest)
    if problem:
        raise CorpusError(f"{mpath} does not match golden_manifest_schema.json {problem} (GOLD-2)")
    cases = manifest["cases"]
    declared = manifest.get("case_count")
    if not cases or not declared:
        raise CorpusError(f"{root}: the corpus holds no case; an empty corpus is an error, never a pass "
                          f"(GOLD-7)")
    if len(cases) != declared:
        raise CorpusError(f"{root}: the manifest lists {len(cases)} cases but says it holds {declared}: a "
                          f"truncated or edited manifest (GOLD-7)")
    if cases_digest(cases) != manifest.get("cases_sha256"):
        raise CorpusError(f"{root}: the manifest's case list does not match its cases_sha256: an edited or "
                          f"truncated manifest (GOLD-7)")
    ids = [c["id"] for c in cases]
    if len(set(ids)) != len(ids):
        raise CorpusError(f"{root}: duplicate case ids in the manifest (GOLD-3)")
    arrays: dict[str, np.ndarray] = {}
    for case in cases:
        if not ID_PATTERN.match(case["id"]):
            raise CorpusError(f"case id {case['id']!r} is not a plain name (GOLD-3)")
        files = [(i["file"], i["sha256"], i["storage"], i["shape"]) for i in case["inputs"]]
        for o in case["outputs"]:
            files.append((o["file"], o["sha256"], o["storage"], o["shape"]))
            if o["scale_file"] is not None:
                files.append((o["scale_file"], o["scale_sha256"], "<f8", o["shape"]))
        for rel, digest, storage, shape in files:
            path = safe_path(root, rel)
            if PurePosixPath(rel).parts[0] != case["id"]:
                raise CorpusError(f"case {case['id']}: file {rel!r} lies outside the case's folder (GOLD-1)")
            data = _check_file(root, case["id"], rel, path, digest)
            arrays[rel] = _parse_npy(rel, data, storage, shape)
    for name, idx in sorted(manifest.get("indexes", {}).items()):
        _check_file(root, f"index {name}", idx["file"], safe_path(root, idx["file"]), idx["sha256"])
    listed = set(ids)
    extra = sorted(p.name for p in root.iterdir()
                   if p.is_dir() and not p.name.startswith(".") and p.name not in listed)
    if extra:
        raise CorpusError(f"{root}: folder(s) {extra[:5]} are not in the manifest: the corpus holds more "
                          f"cases than its manifest lists, so the manifest was truncated or replaced "
                          f"(GOLD-7)")
    return Corpus(root, manifest, cases, arrays)


def _check_file(root: Path, who: str, rel: str, path: Path, digest: str) -> bytes:
    if not path.is_file():
        raise CorpusError(f"{who}: missing file {rel} (the manifest lists it; the corpus is incomplete) "
                          f"(GOLD-7)")
    data = path.read_bytes()
    if sha256(data) != digest:
        raise CorpusError(f"{who}: {rel} fails its SHA-256 checksum (tampered or corrupted) (GOLD-7)")
    return data


def _parse_npy(rel: str, data: bytes, storage: str, shape: list[int]) -> np.ndarray:
    """A .npy file's array, never unpickled (GOLD-8), checked against its manifest entry (GOLD-7)."""
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CorpusError(f"{rel}: not a plain .npy array ({exc}); loading never unpickles (GOLD-8)") from exc
    if not isinstance(a, np.ndarray) or a.dtype.str != storage or list(a.shape) != list(shape):
        raise CorpusError(f"{rel}: holds {getattr(a, 'dtype', '?')} {getattr(a, 'shape', '?')}, the "
                          f"manifest says {storage} {tuple(shape)} (GOLD-7)")
    return a


# --- check --------------------------------------------------------------------------------------------

def judge(case: dict[str, Any], expected: list[tuple[str, np.ndarray, np.ndarray | None, int]], reply: Any,
          ambiguity: Any = None) -> dict[str, Any]:
    """One target reply against the stored outputs (GOLD-9): the runner's judgement
    (conformance.tally.judge), as one result row of the check report.

    ``ambiguity(outs)``, for an op whose spec leaves a choice open, gives the reason a differing
    answer is allowed (the case is then "ambiguous", as in the runner), or None.
    """
    from .tally import judge as judge_reply

    j = judge_reply(expected, reply, op=case["op"], source="stored", case=None,
                    dtype=case["dtype"], exact=case["exact"], divides=case["divides"], ambiguous=ambiguity,
                    size_clause=case["size_clause"])
    reason = j.reason.splitlines()[0] if j.reason and j.status not in ("pass", "fail", "ambiguous") else j.reason
    return {"id": case["id"], "op": case["op"], "dtype": case["dtype"], "status": j.status, "clause": j.clause,
            "reason": reason, "output": j.output, "worst": j.worst, "sumsq": j.sumsq, "count": j.count,
            "first_differences": [{"index": list(i), "expected": _num(e), "got": _num(g)} for i, e, g in j.diffs]}


def _ambiguity(case: dict[str, Any], arrays: dict[str, np.ndarray], params: dict[str, Any]) -> Any:
    """The op table's ``ambiguous`` hook for a stored case (it needs the reference; called only
    when an answer differs)."""
    def hook(outs: tuple[Any, ...]) -> str | None:
        from .ops import OPS
        from .strategies.conv import Case

        fn = getattr(OPS.get(case["op"]), "ambiguous", None)
        if fn is None:
            return None
        f64 = {k: v if _is_int(v) else v.astype(np.float64) for k, v in arrays.items()}
        mine = Case(case["call_op"], f64, dict(params), case["exact_data"], case["note"])
        return fn(mine, outs, dtype=case["dtype"])  # the runner's call: the run dtype always passed
    return hook


def _num(v: float) -> float | str:
    return v if np.isfinite(v) else repr(v)


def check(root: str | os.PathLike[str], target: str, *, ops: list[str] | None = None,
          dtypes: list[str] | None = None, device: str = "cpu", timeout: float = 60.0,
          progress: Any = None) -> dict[str, Any]:
    """Run ``target`` on every stored case and judge it against the stored outputs (GOLD-9).

    Returns the report (the form ``--json`` writes). Raises CorpusError for a refused corpus,
    and for filters that leave no case.
    """
    from .tally import MAX_BAD, Tally  # the runner's crash budget and per-op tally
    from .worker import Reply, Worker

    corpus = load_corpus(root)
    cases = [c for c in corpus.cases if (not ops or c["op"] in ops) and (not dtypes or c["dtype"] in dtypes)]
    if not cases:
        raise CorpusError(f"{root}: no case matches --ops/--dtype (the corpus has ops "
                          f"{sorted({c['op'] for c in corpus.cases})}, dtypes "
                          f"{sorted({c['dtype'] for c in corpus.cases})})")
    rows: dict[tuple[str, str], Tally] = {}  # the runner's per-op tally, one per (op, dtype)
    firsts: dict[tuple[str, str], dict[str, str]] = {}  # the first failing clause, the first refusal
    results: list[dict[str, Any]] = []
    version = ""
    for dtype in [d for d in DTYPES if any(c["dtype"] == d for c in cases)] + \
            sorted({c["dtype"] for c in cases} - set(DTYPES)):
        worker = Worker(target, dtype, device, timeout)
        start = worker.start()
        version = version or worker.version
        try:
            for case in (c for c in cases if c["dtype"] == dtype):
                row = rows.setdefault((case["op"], dtype), Tally(case["op"]))
                if progress:
                    progress(case["id"])
                if start.kind != "ready":
                    reply = Reply("unsupported" if start.kind == "unsupported" else "error",
                                  detail=f"target did not start: {start.detail}")
                    if reply.kind == "error":
                        res = {"id": case["id"], "op": case["op"], "dtype": dtype, "status": "error",
                               "clause": "", "reason": reply.detail, "output": "", "worst": 0.0, "sumsq": 0.0,
                               "count": 0, "first_differences": []}
                    else:
                        res = judge(case, [], reply)
                elif row.crashes + row.timeouts >= MAX_BAD:
                    res = judge(case, [], Reply("unsupported",
                                                detail=f"not run after {MAX_BAD} crashes/timeouts"))
                    res["status"] = "abandoned"
                else:
                    arrays = corpus.inputs(case)
                    params = {k: unplain(v) for k, v in case["params"].items()}
                    reply = worker.call(case["op"], list(arrays.values()), params)
                    res = judge(case, corpus.expected(case), reply,
                                _ambiguity(case, arrays, params) if case["ambiguity"] else None)
                _tally(row, res, firsts.setdefault((case["op"], dtype), {}))
                results.append(res)
        finally:
            worker.close()
    table = []
    op_order = list(dict.fromkeys(c["op"] for c in corpus.cases))  # the manifest's (the op table's) order
    def order(key: tuple[str, str]) -> tuple[int, int]:
        return op_order.index(key[0]), DTYPES.index(key[1]) if key[1] in DTYPES else 99

    for (op, dtype), row in sorted(rows.items(), key=lambda kv: order(kv[0])):
        status = row.status
        first = firsts[(op, dtype)]
        clause = first.get("clause") or ("TOL-3" if status == "fail" else "")
        table.append({"op": op, "dtype": dtype, "status": status, "cases": row.cases, "passed": row.passed,
                      "failed": row.failed, "unsupported": row.unsupported,
                      "not_implemented": row.not_implemented, "errors": row.errors, "crashes": row.crashes,
                      "timeouts": row.timeouts, "ambiguous": row.ambiguous,
                      "worst_error": None if not np.isfinite(row.worst) else round(row.worst, 6),
                      "rms_error": round(row.rms, 6), "clause": clause, "detail": first.get("detail", "")})
    failures = [{k: v for k, v in r.items() if k not in ("sumsq", "count", "worst")}
                | {"worst_error": None if not np.isfinite(r["worst"]) else r["worst"]}
                for r in results if r["status"] not in ("pass", "ambiguous", "unsupported",
                                                        "not-implemented")]
    checked = sum(r["status"] in ("pass", "fail", "ambiguous") for r in results)
    bad = any(t["status"] in ("fail", "crash", "timeout", "error") for t in table)
    return {"format": "cnnspec-golden-check", "corpus": str(Path(root)),
            "versions": corpus.manifest["versions"], "target": target, "target_version": version,
            "device": device, "cases": len(results),
            "checked": checked, "results": table, "failures": failures,
            "exit_status": 1 if bad or checked == 0 else 0,
            "note": "" if checked else "no case was checked: nothing is a pass (GOLD-9)"}


def _tally(row: Tally, res: dict[str, Any], first: dict[str, str]) -> None:
    row.cases += 1
    attr = {"pass": "passed", "ambiguous": "ambiguous", "fail": "failed", "unsupported": "unsupported",
            "abandoned": "unsupported",
            "not-implemented": "not_implemented", "error": "errors", "crash": "crashes",
            "timeout": "timeouts", "adapter-error": "adapter_errors"}[res["status"]]
    setattr(row, attr, getattr(row, attr) + 1)
    if res["status"] in ("pass", "fail"):
        row.worst = max(row.worst, res["worst"])
    row.sumsq += res["sumsq"]
    row.count += res["count"]
    if res["status"] == "fail":
        first.setdefault("clause", res["clause"])
    if res["status"] in ("unsupported", "error"):
        first.setdefault("detail", res["reason"][:120])


def render_check(report: dict[str, Any]) -> str:
    from tabulate import tabulate

    v = report["versions"]
    head = (f"cnnspec golden check — corpus {report['corpus']} (cnnspec {v['cnnspec']}, spec {v['spec']}) "
            f"— target {report['target']} {report['target_version']}".rstrip())
    rows = [[r["op"], r["dtype"], r["status"] if r["status"] == "pass" else r["status"].upper(), r["cases"],
             r["passed"] + r["ambiguous"], r["failed"], r["unsupported"] + r["not_implemented"],
             r["crashes"] + r["timeouts"] + r["errors"], _worst(r), r["clause"]] for r in report["results"]]
    headers = ["op", "dtype", "status", "cases", "passed", "failed", "unsupp.", "crashed", "worst error",
               "clause"]
    parts = [head, "", tabulate(rows, headers=headers)]
    for r in report["results"]:
        if r["status"] == "fail" and not r["failed"]:
            parts.append(f"── {r['op']} {r['dtype']}: RMS error {r['rms_error']:.3g}× the bound (TOL-3)")
    fails = report["failures"]
    if fails:
        parts += ["", f"failing cases ({len(fails)}):"]
        for f in fails[:PRINT_FAILURES]:
            where = f" in output {f['output']!r}" if f["output"] else ""
            clause = f" [{f['clause']}]" if f["clause"] else ""
            parts.append(f"  {f['id']}: {f['status']}{where}: {f['reason']}{clause}")
        if len(fails) > PRINT_FAILURES:
            parts.append(f"  ... and {len(fails) - PRINT_FAILURES} more (see --json)")
    if report["note"]:
        parts += ["", report["note"]]
    return "\n".join(parts)


def _worst(r: dict[str, Any]) -> str:
    if r["worst_error"] is None:
        return "exact mismatch"
    return f"{r['worst_error']:.3g}× bound" if r["passed"] or r["failed"] else ""


# --- verify -------------------------------------------------------------------------------------------

def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(_canon(a)).tobytes()


def verify(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Recompute every case with the reference; list each output that is not bit-identical (GOLD-10)."""
    from reference import SpecError

    from .ops import OPS
    from .strategies.conv import Case

    corpus = load_corpus(root)
    drift: list[dict[str, Any]] = []
    for case in corpus.cases:
        def note(what: str, output: str = "", case: dict[str, Any] = case) -> None:
            drift.append({"id": case["id"], "op": case["op"], "dtype": case["dtype"], "output": output,
                          "detail": what})

        spec = OPS.get(case["op"])
        if spec is None:
            note(f"op {case['op']!r} is not in this cnnspec's op table")
            continue
        arrays = {k: v if _is_int(v) else v.astype(np.float64) for k, v in corpus.inputs(case).items()}
        params = {k: unplain(v) for k, v in case["params"].items()}
        try:
            measured = spec.measure(Case(case["call_op"], arrays, params, case["exact_data"], case["note"]))
        except SpecError as exc:
            note(f"the reference now rejects the case: {exc}")
            continue
        stored = corpus.expected(case)
        if [m[0] for m in measured] != [s[0] for s in stored]:
            note(f"outputs are now {[m[0] for m in measured]}, stored {[s[0] for s in stored]}")
            continue
        flags = (spec.divides, bool(case["exact_data"] and spec.exact_capable))
        if (case["divides"], case["exact"]) != flags:
            note("the tolerance flags (exact, divides) changed")
        for (name, ref, scale, terms), (_, s_ref, s_scale, s_terms) in zip(measured, stored, strict=True):
            ref = _output_array(ref)
            if ref.shape != s_ref.shape or ref.dtype != s_ref.dtype:
                note(f"now {ref.dtype} {ref.shape}, stored {s_ref.dtype} {s_ref.shape}", name)
            elif _bits(ref) != _bits(s_ref):
                note(_drift_detail(ref, s_ref, case["dtype"]), name)
            if (scale is None) != (s_scale is None):
                note("the output changed between exact and measured (scale)", name)
            elif scale is not None and s_scale is not None and \
                    _bits(np.asarray(scale, dtype=np.float64)) != _bits(s_scale):
                note("its error scale (scale file) changed", name)
            if int(terms) != s_terms:
                note(f"terms now {terms}, stored {s_terms}", name)
    versions = corpus.manifest["versions"]
    now = _versions()
    changed = {k: [versions.get(k), now[k]] for k in now if versions.get(k) != now[k]}
    return {"format": "cnnspec-golden-verify", "corpus": str(Path(root)), "cases": len(corpus.cases),
            "versions": versions, "versions_now": now, "versions_changed": changed, "drift": drift,
            "exit_status": 1 if drift else 0}


def _drift_detail(now: np.ndarray, stored: np.ndarray, dtype: str) -> str:
    from .tolerance import UNIT_ROUNDOFF

    a, b = _canon(now).astype(np.float64), _canon(stored).astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    n = int((~same).sum())
    with np.errstate(invalid="ignore"):
        fin = ~same & np.isfinite(a) & np.isfinite(b)
        rel = float(np.max(np.abs(a[fin] - b[fin]) / np.maximum(np.abs(b[fin]), np.finfo(float).tiny))) \
            if fin.any() else float("inf")
    ulps = rel / UNIT_ROUNDOFF["float64"] if np.isfinite(rel) else float("inf")
    return f"{n} of {a.size} elements differ, up to {rel:.3g} relative (about {ulps:.3g} float64 units)"


def render_verify(report: dict[str, Any]) -> str:
    lines = [f"cnnspec golden verify — corpus {report['corpus']}: {report['cases']} cases recomputed with "
             f"the reference {report['versions_now']['cnnspec']}"]
    for k, (was, now) in report["versions_changed"].items():
        lines.append(f"  note: written with {k} {was}, now {now}")
    if not report["drift"]:
        lines.append("no drift: every output and error scale is bit-identical")
    else:
        lines.append(f"DRIFT in {len({d['id'] for d in report['drift']})} case(s):")
        for d in report["drift"]:
            out = f" output {d['output']!r}" if d["output"] else ""
            lines.append(f"  {d['id']}{out}: {d['detail']}")
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------------------

def add_arguments(p: Any) -> None:
    """The ``golden`` subcommand's own subcommands (wired into conformance/cli.py)."""
    sub = p.add_subparsers(dest="golden_command", required=True)
    w = sub.add_parser("write", help="write a corpus of reference inputs and outputs")
    w.add_argument("out_dir")
    w.add_argument("--ops", default="", help="comma-separated ops (default: every op)")
    w.add_argument("--dtype", default=",".join(DTYPES), help="comma-separated dtypes (default: all four)")
    w.add_argument("--profile", default="default", choices=list(PROFILES),
                   help="generated cases per op and dtype: "
                   + ", ".join(f"{k} {v}" for k, v in PROFILES.items()))
    w.add_argument("--examples", type=int, default=None,
                   help="generated cases per op and dtype (overrides --profile)")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--force", action="store_true", help="replace a golden corpus already in OUT_DIR")
    c = sub.add_parser("check", help="check a target against a stored corpus (no reference needed)")
    c.add_argument("corpus")
    c.add_argument("--target", required=True,
                   help="a built-in target (see `cnnspec targets`), pkg.module[:obj] or path/to/file.py")
    c.add_argument("--ops", default="", help="only these ops (comma-separated)")
    c.add_argument("--dtype", default="", help="only these dtypes (comma-separated)")
    c.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    c.add_argument("--timeout", type=float, default=60.0,
                   help="seconds per case before it counts as a timeout")
    c.add_argument("--json", metavar="PATH", help="write the results as JSON")
    v = sub.add_parser("verify", help="recompute a corpus with the reference and report any drift")
    v.add_argument("corpus")
    v.add_argument("--json", metavar="PATH", help="write the drift report as JSON")


def _split(text: str, known: list[str], what: str, cmd: str) -> list[str] | None:
    items = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in items if t not in known]
    if unknown:
        print(f"cnnspec golden {cmd}: error: unknown {what} {unknown}; known: {', '.join(known)}",
              file=sys.stderr)
        return None
    return items


def main(args: Any) -> int:
    """Dispatch ``cnnspec golden ...``; returns the exit status (module docstring)."""
    cmd = args.golden_command
    try:
        if cmd == "write":
            from .ops import OPS

            ops = _split(args.ops, list(OPS), "op(s)", cmd)
            dtypes = _split(args.dtype, list(DTYPES), "dtype(s)", cmd)
            if ops is None or dtypes is None:
                return 2
            if args.examples is not None and args.examples < 0:
                print("cnnspec golden write: error: --examples must be >= 0", file=sys.stderr)
                return 2
            manifest = write(args.out_dir, ops=ops, dtypes=dtypes, profile=args.profile,
                             examples=args.examples, seed=args.seed, force=args.force)
            size = sum(f.stat().st_size for f in Path(args.out_dir).rglob("*") if f.is_file())
            g = manifest["generator"]
            print(f"wrote {manifest['case_count']} cases ({len(g['ops'])} ops × {len(g['dtypes'])} dtypes, "
                  f"profile {g['profile']}, seed {g['seed']}) to {args.out_dir}: {size / 1e6:.2f} MB")
            return 0
        if cmd == "check":
            ops = [o.strip() for o in args.ops.split(",") if o.strip()]  # filters: unknown ones match no case
            dtypes = _split(args.dtype, list(DTYPES), "dtype(s)", cmd)
            if ops is None or dtypes is None:
                return 2
            target = _resolve_target(args.target)
            if target is None:
                return 2
            report = check(args.corpus, target, ops=ops, dtypes=dtypes, device=args.device,
                           timeout=args.timeout)
            print(render_check(report))
            _dump(args.json, report)
            return int(report["exit_status"])
        report = verify(args.corpus)
        print(render_verify(report))
        _dump(args.json, report)
        return int(report["exit_status"])
    except CorpusError as exc:
        print(f"cnnspec golden {cmd}: refused: {exc}", file=sys.stderr)
        return 2
    except (FileExistsError, ValueError, TypeError) as exc:
        if cmd != "write":
            raise
        print(f"cnnspec golden write: error: {exc}", file=sys.stderr)
        return 2


def _resolve_target(target: str) -> str | None:
    from .targets import BUILTIN

    if target not in BUILTIN and (target.partition(":")[0].endswith(".py") or "/" in target):
        path = Path(target.partition(":")[0])
        if not path.is_file():
            print(f"cnnspec golden check: error: --target {target}: no such file", file=sys.stderr)
            return None
        return str(path.resolve()) + (":" + target.partition(":")[2] if ":" in target else "")
    return target


def _dump(path: str | None, report: dict[str, Any]) -> None:
    if path:
        text = json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
        Path(path).write_text(text, encoding="utf-8")
