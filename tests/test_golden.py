"""Golden vectors (spec/golden.md): writing, verifying, checking and refusing corpora, and reading
them from C.

Two corpora are written once per module: ``family``, the quick profile of the convolution and
pooling ops in all four dtypes (in this process), and ``small``, the conv2d cases in float32 (for
the tests that damage a copy). Commands run through ``python -m conformance`` in a subprocess, as
a user's would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance import golden
from conformance.golden import CorpusError, load_corpus

ROOT = Path(__file__).resolve().parent.parent
FAMILY = ["conv2d", "conv2d_backward", "conv_transpose2d", "max_pool2d", "avg_pool2d", "max_pool2d_backward",
          "avg_pool2d_backward", "im2col"]
DTYPES = ["float32", "float64", "float16", "bfloat16"]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def run(*args: str, module: str = "conformance", timeout: float = 300,
        **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=_env(**env))


@pytest.fixture(scope="module")
def family(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "family"
    golden.write(out, ops=FAMILY, dtypes=DTYPES, profile="quick", seed=0)
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "small"
    golden.write(out, ops=["conv2d"], dtypes=["float32"], examples=3, seed=0)
    return out


@pytest.fixture()
def damaged(small, tmp_path) -> Path:
    """A private copy of ``small`` to damage."""
    dst = tmp_path / "corpus"
    shutil.copytree(small, dst)
    return dst


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def rewrite(root: Path, mutate, *, recount: bool = True) -> None:
    """Edit the manifest and make it self-consistent again (count and case-list hash)."""
    m = manifest(root)
    mutate(m)
    if recount:
        m["case_count"] = len(m["cases"])
        m["cases_sha256"] = golden.cases_digest(m["cases"])
    (root / "manifest.json").write_bytes(golden.manifest_bytes(m))


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def real_case(root: Path, op: str = "conv2d") -> dict:
    return next(c for c in manifest(root)["cases"] if c["op"] == op and "_real_" in c["id"] and c["grid"])


# --- GOLD-1, GOLD-2, GOLD-10: write, then verify -------------------------------------------------------

@pytest.mark.clause("GOLD-1", "GOLD-2", "GOLD-10")
def test_write_then_verify_is_clean_and_the_manifest_follows_its_schema(family, small):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "conformance" / "golden_manifest_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(manifest(small))  # the family one: same code, 30x slower

    m = manifest(family)
    assert m["format"] == "cnnspec-golden" and m["case_count"] == len(m["cases"]) > 100
    import hypothesis

    import reference
    assert m["versions"] == {"cnnspec": reference.__version__, "spec": reference.__version__,
                             "numpy": np.__version__, "hypothesis": hypothesis.__version__}
    assert m["generator"] == {"seed": 0, "profile": "quick", "examples_per_op_and_dtype": 2, "ops": FAMILY,
                              "dtypes": DTYPES}
    # one folder per case, holding exactly the files the manifest lists, plus the manifest and the index
    listed = {f["file"] for c in m["cases"] for f in c["inputs"] + c["outputs"]} | \
        {o["scale_file"] for c in m["cases"] for o in c["outputs"] if o["scale_file"]}
    on_disk = set(files(family)) - {"manifest.json", "conv2d_cases.txt"}
    assert listed == on_disk
    assert {p.name for p in family.iterdir() if p.is_dir()} == {c["id"] for c in m["cases"]}
    text = (family / "manifest.json").read_text()
    assert not re.search(r"20\d\d-\d\d-\d\d|/tmp/|" + re.escape(str(family)), text)  # no date, no path
    # params are JSON-plain and call back as tuples
    case = next(c for c in m["cases"] if c["params"].get("padding") == [[1, 0], [2, 1]])
    assert golden.unplain(case["params"]["padding"]) == ((1, 0), (2, 1))

    proc = run("golden", "verify", str(family), "--json", str(family.parent / "verify.json"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "no drift" in proc.stdout
    report = json.loads((family.parent / "verify.json").read_text())
    assert report["drift"] == [] and report["cases"] == m["case_count"]


@pytest.mark.clause("GOLD-10")
def test_verify_lists_drift_in_an_output_and_exits_1(damaged):
    case = real_case(damaged)
    out = case["outputs"][0]
    y = np.load(damaged / out["file"])
    y.flat[0] = np.nextafter(y.flat[0], np.inf)  # one ulp: still within any bound, but not the reference's
    data = golden.npy_bytes(y)
    (damaged / out["file"]).write_bytes(data)

    def fix(m):
        c = next(c for c in m["cases"] if c["id"] == case["id"])
        c["outputs"][0]["sha256"] = golden.sha256(data)
    rewrite(damaged, fix)
    report = golden.verify(damaged)
    assert report["exit_status"] == 1
    assert [(d["id"], d["output"]) for d in report["drift"]] == [(case["id"], "y")]
    assert "1 of" in report["drift"][0]["detail"]
    proc = run("golden", "verify", str(damaged))
    assert proc.returncode == 1 and case["id"] in proc.stdout and "DRIFT" in proc.stdout


# --- GOLD-3: ids ----------------------------------------------------------------------------------------

def _tok(v) -> str:
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v.replace("_", "")
    if all(isinstance(x, int) for x in v):
        return "x".join(str(x) for x in v)
    return "x".join("-".join(str(y) for y in x) for x in v)


@pytest.mark.clause("GOLD-3")
def test_ids_are_unique_plain_and_describe_the_problem(family):
    m = manifest(family)
    ids = [c["id"] for c in m["cases"]]
    assert len(set(ids)) == len(ids)
    assert all(golden.ID_PATTERN.match(i) for i in ids)
    tag = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16"}
    for c in m["cases"]:
        shapes = {i["name"]: i["shape"] for i in c["inputs"]}
        p = c["params"]
        parts = c["id"].split("_")
        if re.fullmatch(r"[0-9a-f]{8}", parts[-1]):
            parts = parts[:-1]
        assert parts[-1] == tag[c["dtype"]], c["id"]
        assert parts[-2] in ("int", "real", "nan"), c["id"]
        n, ch, h, w = shapes["x"]
        assert f"_n{n}c{ch}h{h}w{w}_" in c["id"], c["id"]
        if c["op"] == "conv2d":
            m_, _, kh, kw = shapes["w"]
            assert f"_m{m_}k{kh}x{kw}" in c["id"], c["id"]
            assert ("_bias_" in c["id"]) == ("b" in shapes)
            for key, letter in (("stride", "s"), ("padding", "p")):
                if key in p:
                    assert f"_{letter}{_tok(p[key])}_" in c["id"], (c["id"], key, p[key])
            if "dilation" in p:
                groups = f"g{p['groups']}" if "groups" in p else ""
                assert f"_d{_tok(p['dilation'])}{groups}_" in c["id"], c["id"]
    # the example of the spec
    ex = "conv2d_n2c4h7w5_m6k3x2_s2x1_p1-0x2-1_d1x2g2_bias_int_f32"
    assert ex in ids


# --- GOLD-4: reproducible bytes ---------------------------------------------------------------------------

@pytest.mark.clause("GOLD-4")
def test_the_same_command_writes_byte_identical_files_in_any_process(tmp_path):
    # The command, run twice in fresh processes with different hash seeds, profiles and BLAS threads,
    # and the Python API inside this long pytest process, whose loaded modules differ (Hypothesis's
    # own engine draws differently with other modules loaded; the golden sweep must not).
    first, other, here = tmp_path / "first", tmp_path / "again", tmp_path / "here"
    proc = run("golden", "write", str(first), "--ops", ",".join(FAMILY), "--profile", "quick", "--seed", "0",
               PYTHONHASHSEED="7", OPENBLAS_NUM_THREADS="2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run("golden", "write", str(other), "--ops", ",".join(FAMILY), "--profile", "quick", "--seed", "0",
               PYTHONHASHSEED="123", HYPOTHESIS_PROFILE="dev", OPENBLAS_NUM_THREADS="1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    golden.write(here, ops=FAMILY, profile="quick", seed=0)
    a, b, c = files(first), files(other), files(here)
    assert sorted(a) == sorted(b) == sorted(c)
    differ = [k for k in a if not a[k] == b[k] == c[k]]
    assert not differ, differ[:5]


@pytest.mark.clause("GOLD-4")
def test_another_seed_draws_other_cases_and_the_curated_ones_stay(tmp_path):
    a = golden.write(tmp_path / "a", ops=["conv2d"], dtypes=["float64"], examples=3, seed=0)
    b = golden.write(tmp_path / "b", ops=["conv2d"], dtypes=["float64"], examples=3, seed=1)
    ids = {s: {c["id"] for c in m["cases"] if c["source"] == src} for s, m in (("a", a), ("b", b))
           for src in ["generated"]}
    assert ids["a"] != ids["b"]
    curated = [{c["id"] for c in m["cases"] if c["source"] == "corpus"} for m in (a, b)]
    assert curated[0] == curated[1] and len(curated[0]) >= 10


@pytest.mark.clause("GOLD-4", "GOLD-5")
def test_outputs_do_not_depend_on_summation_order(family):
    """On the grid the BLAS fast path and the definitional loops agree bit for bit."""
    from conformance.targets.reference_target import ReferenceTarget

    corpus = load_corpus(family)
    target = ReferenceTarget()
    done = 0
    for c in corpus.cases:
        if c["op"] not in ("conv2d", "conv2d_backward", "conv_transpose2d") or not c["grid"]:
            continue
        arrays = corpus.inputs(c)
        params = {k: golden.unplain(v) for k, v in c["params"].items()}
        got = getattr(target, c["op"])(*arrays.values(), **params)
        got = got if isinstance(got, tuple) else (got,)
        for (name, ref, _, _), g in zip(corpus.expected(c), got, strict=True):
            assert golden._bits(np.asarray(g, dtype=np.float64)) == golden._bits(ref), (c["id"], name)
        done += 1
    assert done >= 20


# --- GOLD-5, GOLD-6: stored data --------------------------------------------------------------------------

@pytest.mark.clause("GOLD-5")
def test_inputs_are_stored_in_their_dtype_and_real_data_lie_on_the_grid(family):
    from conformance.dtypes import round_to

    corpus = load_corpus(family)
    storage = {"float64": "<f8", "float32": "<f4", "float16": "<f2", "bfloat16": "<f4"}
    grid_cases = 0
    for c in corpus.cases:
        for i in c["inputs"]:
            assert i["dtype"] == c["dtype"] and i["storage"] == storage[c["dtype"]]
        arrays = corpus.inputs(c)
        for a in arrays.values():
            np.testing.assert_array_equal(round_to(a, c["dtype"]), a)  # bfloat16: float32 holding bf16 values
            if c["exact_data"]:
                assert np.array_equal(a, np.round(a))  # integers (the curated all-negative input: to -120)
        if c["grid"]:
            grid_cases += 1
            for a in arrays.values():
                assert golden.is_on_grid(a, c["dtype"]), c["id"]
                fin = np.abs(a[np.isfinite(a)])
                assert ((fin == 0) | ((fin >= 2.0**-6) & (fin <= 16))).all()
    assert grid_cases >= 40
    assert golden.on_grid(np.array([1e-3, 1 / 3, 100.0, np.nan, -np.inf]), "float32").tolist()[:3] == \
        [0.0, float(np.float16(1 / 3)), 16.0]


@pytest.mark.clause("GOLD-6", "TOL-2")
def test_a_checker_computes_the_bound_from_the_stored_data_alone(family):
    """The bound rebuilt from the manifest (c, terms, u, scale file) is the one compare applies."""
    from conformance.tolerance import compare

    m = manifest(family)
    corpus = load_corpus(family)
    checked = 0
    for c in m["cases"]:
        if c["exact"] or c["op"] not in ("conv2d", "conv_transpose2d", "avg_pool2d"):
            continue
        for (_, ref, scale, terms), out in zip(corpus.expected(c), c["outputs"], strict=True):
            assert scale is not None and out["terms"] == terms
            u, cc = m["tolerance"]["u"][c["dtype"]], m["tolerance"]["c"]
            assert (u, cc) == (c["u"], c["c"])
            bound = cc * max(terms, 1) * u * np.abs(scale) + u * np.abs(ref)
            fin = np.isfinite(ref)
            if not fin.any() or not (bound[fin] > 0).any():
                continue
            e = np.flatnonzero(fin & (bound > 0))[0]
            for factor, ok in ((0.9, True), (1.1, False)):
                got = ref.copy()
                got.flat[e] += factor * bound.flat[e]
                v = compare(ref, got, dtype=c["dtype"], scale=scale, terms=terms, exact=False,
                            divides=c["divides"], check_rms=False)
                assert v.ok is ok, (c["id"], factor, v)
            checked += 1
    assert checked >= 20


# --- GOLD-7, GOLD-8: refusals -----------------------------------------------------------------------------

def _first(root: Path, kind: str = "inputs") -> tuple[dict, dict]:
    case = manifest(root)["cases"][0]
    return case, case[kind][0]


def _tamper(root):
    _, f = _first(root)
    data = bytearray((root / f["file"]).read_bytes())
    data[-1] ^= 0x40
    (root / f["file"]).write_bytes(bytes(data))


def _missing_file(root):
    _, f = _first(root, "outputs")
    (root / f["file"]).unlink()


def _missing_case(root):
    case, _ = _first(root)
    shutil.rmtree(root / case["id"])


def _fewer_cases(root):
    rewrite(root, lambda m: m["cases"].pop(), recount=False)


def _edited_cases(root):
    m = manifest(root)
    m["cases"][0]["note"] = "edited"
    (root / "manifest.json").write_bytes(golden.manifest_bytes(m))


def _unlisted_folder(root):
    rewrite(root, lambda m: m["cases"].pop())


def _truncated_manifest(root):
    data = (root / "manifest.json").read_bytes()
    (root / "manifest.json").write_bytes(data[: len(data) // 2])


def _no_cases(root):
    for p in root.iterdir():
        if p.is_dir():
            shutil.rmtree(p)
    rewrite(root, lambda m: m.update(cases=[], indexes={}))


def _empty_folder(root):
    shutil.rmtree(root)
    root.mkdir()


def _dotdot(root):
    rewrite(root, lambda m: m["cases"][0]["inputs"][0].update(file=m["cases"][0]["id"] + "/../../x.npy"))


def _absolute(root):
    rewrite(root, lambda m: m["cases"][0]["inputs"][0].update(file="/etc/passwd"))


def _symlink_out(root):
    case, f = _first(root)
    outside = root.parent / "outside.npy"
    shutil.copy(root / f["file"], outside)  # same bytes: only the path gives it away
    (root / f["file"]).unlink()
    (root / f["file"]).symlink_to(outside)


def _pickled(root):
    case, f = _first(root)
    import io
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (root / f["file"]).write_bytes(buf.getvalue())

    def fix(m):
        m["cases"][0]["inputs"][0].update(sha256=golden.sha256(buf.getvalue()), storage="|O", shape=[1])
    rewrite(root, fix)


def _nan_in_json(root):
    text = (root / "manifest.json").read_text().replace('"c": 2.0', '"c": NaN', 1)
    (root / "manifest.json").write_text(text)


def _index_edited(root):
    path = root / "conv2d_cases.txt"
    path.write_text(path.read_text().replace(" float32 24 ", " float32 11 ", 1))


REFUSALS = [
    (_tamper, "fails its SHA-256"), (_missing_file, "missing file"), (_missing_case, "missing file"),
    (_fewer_cases, "lists .* cases but says it holds"), (_edited_cases, "cases_sha256"),
    (_unlisted_folder, "not in the manifest"), (_truncated_manifest, "not valid JSON"),
    (_no_cases, "holds no case"), (_empty_folder, "empty folder"), (_dotdot, "outside the corpus folder"),
    (_absolute, "outside the corpus folder"), (_symlink_out, "leads outside the corpus folder"),
    (_pickled, "never unpickles"), (_nan_in_json, "not JSON"), (_index_edited, "index conv2d.*SHA-256"),
]


@pytest.mark.parametrize("damage,message", REFUSALS, ids=[d.__name__.strip("_") for d, _ in REFUSALS])
@pytest.mark.clause("GOLD-7", "GOLD-8")
def test_a_damaged_corpus_is_refused_with_a_clear_message(damaged, damage, message):
    damage(damaged)
    with pytest.raises(CorpusError, match=message):
        load_corpus(damaged)
    with pytest.raises(CorpusError, match=message):
        golden.check(damaged, "reference")


@pytest.mark.clause("GOLD-7", "GOLD-9")
def test_the_commands_refuse_with_exit_2_and_an_empty_corpus_is_never_a_pass(damaged, tmp_path):
    _tamper(damaged)
    proc = run("golden", "verify", str(damaged))
    assert proc.returncode == 2 and "refused" in proc.stderr and "SHA-256" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run("golden", "check", str(empty), "--target", "reference")
    assert proc.returncode == 2 and "empty" in proc.stderr, proc.stderr


@pytest.mark.clause("GOLD-1")
def test_write_refuses_a_non_empty_folder_and_force_replaces_only_a_corpus(small, tmp_path, capsys):
    from conformance.cli import main

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    args = ["golden", "write", str(busy), "--ops", "im2col", "--dtype", "float32", "--examples", "1"]
    assert main(args) == 2 and "not empty" in capsys.readouterr().err
    assert main(args + ["--force"]) == 2 and "holds no golden corpus" in capsys.readouterr().err
    assert (busy / "notes.txt").exists()
    again = tmp_path / "again"
    shutil.copytree(small, again)
    assert main(["golden", "write", str(again), "--ops", "im2col", "--dtype", "float32", "--examples", "1",
                 "--force"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert {c["op"] for c in manifest(again)["cases"]} == {"im2col"}
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    assert main(["golden", "write", str(tmp_path / "x"), "--ops", "nope"]) == 2
    assert "unknown op" in capsys.readouterr().err
    assert main(["golden", "write", str(tmp_path / "x"), "--dtype", "float8"]) == 2
    assert main(["golden"]) == 2  # a subcommand is required


# --- GOLD-9: check ------------------------------------------------------------------------------------------

FLIPPED = '''
import numpy as np
import reference

def conv2d(x, w, b=None, **kw):
    return reference.conv2d(x, np.asarray(w)[:, :, ::-1, ::-1], b, **kw)
'''


CHECK_ALONE = """
import sys
from conformance import golden

if __name__ == "__main__":  # the target runs in a spawned worker: this module must import cleanly
    report = golden.check(sys.argv[1], "reference")
    loaded = [m for m in ("reference", "hypothesis", "conformance.ops", "conformance.runner") if m in sys.modules]
    print(report["exit_status"], report["checked"], loaded)
"""


@pytest.mark.clause("GOLD-9")
def test_check_itself_imports_neither_the_reference_nor_hypothesis(small, tmp_path):
    script = tmp_path / "check_alone.py"
    script.write_text(CHECK_ALONE)
    proc = subprocess.run([sys.executable, str(script), str(small)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=_env())
    assert proc.returncode == 0, proc.stderr
    status, checked, loaded = proc.stdout.strip().split(" ", 2)
    assert status == "0" and int(checked) > 0 and loaded == "[]", proc.stdout


@pytest.mark.clause("GOLD-9", "TOL-1", "TOL-2")
def test_check_passes_the_reference_and_fails_a_planted_fault_on_exactly_the_right_cases(family, tmp_path):
    out = tmp_path / "ref.json"
    proc = run("golden", "check", str(family), "--target", "reference", "--dtype", "bfloat16", "--json", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert {r["op"] for r in report["results"]} == set(FAMILY)
    assert all(r["status"] == "pass" and r["passed"] == r["cases"] for r in report["results"]), \
        report["results"]
    assert report["failures"] == [] and report["checked"] == report["cases"] > 80
    assert "conv2d" in proc.stdout and "worst error" in proc.stdout

    # the fault: a true convolution (flipped kernel); it fails where flipping changes the result
    target = tmp_path / "flipped.py"
    target.write_text(FLIPPED)
    import reference
    from conformance.tolerance import compare

    corpus = load_corpus(family)
    predicted = set()
    for c in corpus.cases:
        if c["op"] != "conv2d":
            continue
        a = corpus.inputs(c)
        got = reference.conv2d(a["x"], a["w"][:, :, ::-1, ::-1], a.get("b"),
                               **{k: golden.unplain(v) for k, v in c["params"].items()})
        (_, ref, scale, terms), = corpus.expected(c)
        if not compare(ref, got, dtype=c["dtype"], scale=scale, terms=terms, exact=c["exact"],
                       check_rms=False).ok:
            predicted.add(c["id"])
    n_conv = sum(c["op"] == "conv2d" for c in corpus.cases)
    assert 10 < len(predicted) < n_conv  # 1x1 kernels, N = 0, ... are unaffected

    out = tmp_path / "flipped.json"
    proc = run("golden", "check", str(family), "--target", str(target), "--json", str(out))
    assert proc.returncode == 1, proc.stdout[-3000:]
    report = json.loads(out.read_text())
    failing = {f["id"] for f in report["failures"]}
    assert failing == predicted
    assert {f["clause"] for f in report["failures"]} <= {"TOL-1", "TOL-2", "TOL-5"}
    rows = {(r["op"], r["dtype"]): r for r in report["results"]}
    assert all(rows[("conv2d", d)]["status"] == "fail" for d in DTYPES)
    assert all(r["status"] == "not-implemented" for (op, _), r in rows.items() if op != "conv2d")
    for case_id in sorted(predicted)[:3]:
        assert case_id in proc.stdout  # the failing ids are printed


@pytest.mark.clause("GOLD-9")
def test_check_with_no_case_checked_is_not_a_pass(small, tmp_path):
    target = tmp_path / "nothing.py"
    target.write_text("def im2col(x, *a, **k):\n    return x\n")
    proc = run("golden", "check", str(small), "--target", str(target))
    assert proc.returncode == 1 and "no case was checked" in proc.stdout
    proc = run("golden", "check", str(small), "--target", "reference", "--ops", "im2col")
    assert proc.returncode == 2 and "no case matches" in proc.stderr


@pytest.mark.clause("GOLD-9")
def test_a_difference_the_spec_allows_is_ambiguous_not_failed():
    from conformance.worker import Reply

    case = {"id": "c", "op": "rotate", "dtype": "float32", "exact": False, "divides": False,
            "size_clause": "AUG-1"}
    ref, scale = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    reply = Reply("ok", np.array([1.0, 7.0]))
    assert golden.judge(case, [("y", ref, scale, 4)], reply)["status"] == "fail"
    allowed = golden.judge(case, [("y", ref, scale, 4)], reply, lambda outs: "a nearest-neighbour tie")
    assert allowed["status"] == "ambiguous" and "tie" in allowed["reason"]
    same = golden.judge(case, [("y", ref, scale, 4)], Reply("ok", ref.copy()), lambda outs: "x")
    assert same["status"] == "pass"


@pytest.mark.clause("GOLD-9")
def test_python_m_reference_golden_is_an_alias(small):
    proc = run("golden", "check", str(small), "--target", "reference", module="reference")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "conv2d" in proc.stdout
    proc = run(module="reference")
    assert proc.returncode == 2 and "usage" in proc.stderr


# --- GOLD-11: coverage and size ---------------------------------------------------------------------------

@pytest.mark.clause("GOLD-11")
def test_every_op_reaches_every_option_value_in_every_dtype_and_the_corpus_is_small(tmp_path):
    from conformance.corpus import CORPUS
    from conformance.ops import OPS

    out = tmp_path / "all"
    m = golden.write(out, profile="quick")
    ops = {c["op"] for c in m["cases"]}
    assert ops == set(OPS)
    seen: dict[str, set[str]] = {}
    for c in m["cases"]:
        seen.setdefault(c["op"], set()).update(golden.features(c["params"], c["dtype"], c["exact_data"]))
    required = {
        "conv2d": {"padding=int", "padding=pair", "padding=explicit", "padding=valid", "padding=same",
                   "padding=same_lower", "stride_h!=stride_w", "dilation>1", "groups>1"},
        "conv_transpose2d": {"padding=int", "padding=pair", "padding=explicit", "stride_h!=stride_w",
                             "dilation>1", "groups>1", "output_padding>0"},
        "max_pool2d": {"ceil_mode=True", "ceil_mode=False", "dilation>1", "stride=None", "padding=same"},
        "avg_pool2d": {"ceil_mode=True", "ceil_mode=False", "count_include_pad=True",
                       "count_include_pad=False", "divisor_override=None", "divisor_override=int",
                       "stride=None", "padding=valid"},
        "im2col": {"padding=same_lower", "dilation>1", "stride_h!=stride_w"},
    }
    for op in OPS:
        assert {f"dtype={d}" for d in DTYPES} <= seen[op], op
        assert "data=real" in seen[op], op
        keys = {k for c in m["cases"] if c["op"] == op for k in c["params"]}
        want = golden.wanted_features(keys, seen[op], "pool" in op)
        if not golden.draws_exact_data(OPS[op]):
            want.discard("data=exact")
        assert ("data=exact" in want) == (op in FAMILY and op != "avg_pool2d_backward"), op
        assert want <= seen[op], (op, sorted(want - seen[op]))
        assert required.get(op, set()) <= seen[op], op
        curated = sum(c["op"] == op and c["source"] == "corpus" for c in m["cases"])
        assert curated >= len(CORPUS.get(op, [])) * len(DTYPES), op  # every curated case in every dtype
        for c in (c for c in m["cases"] if c["op"] == op):
            for i in c["inputs"]:  # integer inputs (uint8 images) keep their dtype; floats take the case's
                own = np.dtype(i["storage"]).name
                assert i["dtype"] == (c["dtype"] if i["storage"][1] == "f" else own), c["id"]
    size = sum(len(b) for b in files(out).values())
    assert size < 20e6, size


# --- GOLD-12: the plain-text index and the C reader -------------------------------------------------

@pytest.mark.clause("GOLD-12", "SIZE-3")
def test_the_conv2d_index_agrees_with_the_manifest(family):
    from reference.output_size import resolve_padding

    m = manifest(family)
    lines = [ln.split() for ln in (family / "conv2d_cases.txt").read_text().splitlines()
             if ln and not ln.startswith("#")]
    head, records = lines[0], lines[1:]
    conv = [c for c in m["cases"] if c["op"] == "conv2d"]
    assert head == ["cnnspec-golden-conv2d", "1", str(len(conv)), float.hex(m["tolerance"]["rms_limit"])]
    assert m["indexes"]["conv2d"]["cases"] == len(records) == len(conv)
    for rec, c in zip(records, conv, strict=True):
        assert len(rec) == 28
        shp = {i["name"]: i["shape"] for i in c["inputs"]}
        files_ = {i["name"]: i["file"] for i in c["inputs"]}
        p = {k: golden.unplain(v) for k, v in c["params"].items()}
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        s, d = pair(p.get("stride", 1)), pair(p.get("dilation", 1))
        (pt, pb), (pl, pr) = resolve_padding(p.get("padding", 0), shp["x"][2:], shp["w"][2:], s, d)
        n, ch, h, w = shp["x"]
        mm, _, kh, kw = shp["w"]
        out = c["outputs"][0]
        want = [c["id"], c["dtype"], str(m["tolerance"]["significand_bits"][c["dtype"]]), float.hex(c["u"]),
                float.hex(c["c"]), str(int(c["exact"])), str(out["terms"])] + \
            [str(v) for v in (n, ch, h, w, mm, kh, kw, *s, pt, pb, pl, pr, *d, p.get("groups", 1))] + \
            [files_["x"], files_["w"], files_.get("b", "-"), out["file"], out["scale_file"]]
        assert rec == want
        assert [n, mm, (h + pt + pb - d[0] * (kh - 1) - 1) // s[0] + 1,
                (w + pl + pr - d[1] * (kw - 1) - 1) // s[1] + 1] == out["shape"]


@pytest.fixture(scope="module")
def reader(tmp_path_factory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) is installed")
    exe = tmp_path_factory.mktemp("reader") / "golden_reader"
    source = ROOT / "conformance" / "golden_reader.c"
    proc = subprocess.run([cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror", "-o", str(exe),
                           str(source), "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


@pytest.mark.clause("GOLD-12", "CONV-1", "CONV-5")
def test_the_c_reader_passes_every_conv2d_case_bit_for_bit(family, reader):
    proc = subprocess.run([str(reader), str(family)], capture_output=True, text=True, timeout=120)
    n = manifest(family)["indexes"]["conv2d"]["cases"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{n} conv2d cases: {n} passed, 0 failed ({n} bit-identical" in proc.stdout


@pytest.mark.clause("GOLD-12")
def test_the_c_reader_catches_a_tampered_output_and_refuses_a_truncated_index(damaged, reader, tmp_path):
    case = real_case(damaged)
    out = case["outputs"][0]
    y = np.load(damaged / out["file"])
    y.flat[y.size // 2] += 1.0
    (damaged / out["file"]).write_bytes(golden.npy_bytes(y))
    proc = subprocess.run([str(reader), str(damaged)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    fails = [ln for ln in proc.stdout.splitlines() if ln.startswith("FAIL ")]
    assert fails[0].startswith(f"FAIL {case['id']}: TOL-2"), proc.stdout
    assert all(ln.startswith("FAIL TOL-3 float32") for ln in fails[1:]), proc.stdout  # and its RMS, pooled

    index = damaged / "conv2d_cases.txt"
    index.write_text("\n".join(index.read_text().splitlines()[:-1]) + "\n")
    proc = subprocess.run([str(reader), str(damaged)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "truncated" in proc.stderr

    index.write_text(index.read_text().replace(case["id"] + "/in_x.npy", "../in_x.npy"))
    proc = subprocess.run([str(reader), str(damaged)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "outside" in proc.stderr
