#!/usr/bin/env python3
"""Regenerates harness/corruptions/tests/fixtures/make_cifar_c/ and .../make_imagenet_c/: the
official CIFAR-10-C / ImageNet-C corruption functions (hendrycks/robustness,
`ImageNet-C/create_c/make_cifar_c.py` and `make_imagenet_c.py`) run on real CIFAR-10 test
images, with every random draw they make recorded, for the tests of mixbench-corruptions.

The official code is executed from the user's own checkout (never copied here):

    python3 tools/official/corruptions_fixture.py --checkout PATH/TO/robustness \\
        [--cifar10 ../shared/datasets/cifar10-jpeg.tar.gz] \\
        [--out harness/corruptions/tests/fixtures/make_cifar_c] \\
        [--imagenet-out harness/corruptions/tests/fixtures/make_imagenet_c | --skip-imagenet]

Requirements: tools/official/requirements-corruptions.txt (numpy, scipy, scikit-image,
opencv-contrib-python-headless, Pillow, Wand) and ImageMagick 6's MagickWand library (Debian:
`apt-get install libmagickwand-6.q16-6`). torch is not needed: the scripts' torch/torchvision
imports are replaced by empty modules (no corruption function uses them).

How the reference is run (nothing in its files is changed):
- the file's text is cut at `# /////////////// End Distortions ///////////////` (below that
  line both scripts run their dataset loops at import) and the rest is exec'd in a fresh
  namespace, with empty modules registered for `torch`, `torch.utils.data` (`Dataset =
  object`), `torchvision`, `torchvision.datasets` and `torchvision.transforms`;
- shims for APIs that current libraries removed: `np.float_` = `np.float64`; binary-mode
  `np.fromstring(s, dtype)` = `np.frombuffer(s, dtype).copy()`; skimage's
  `gaussian(..., multichannel=True)` = `gaussian(..., channel_axis=-1)` (the namespace's
  `gaussian` is replaced by a wrapper); `scipy.ndimage.interpolation` is aliased to
  `scipy.ndimage` only where SciPy no longer has it (SciPy 1.17.1 still does);
- `skimage.util.random_noise` (impulse_noise) draws from its own `np.random.Generator`, seeded
  from the OS when no `rng` is given; the wrapper passes `rng=` a PCG64 Generator seeded with
  the case's seed (so reruns are byte-identical) that records its `random()` calls;
- each call runs with the working directory set to the checkout's `ImageNet-C/create_c/`
  (frost opens `./frost1.png` ...).

Recording: `numpy.random.normal`, `uniform`, `poisson` and `randint` (module attributes) are
replaced by wrappers that call the real function and append (fn, arguments, shape, values in C
order) to the case's list; any other legacy `numpy.random` function raises while a case runs.
Each case is seeded with `np.random.seed(1000 * severity + image)`. After recording, every case
is run again with the recorded values served instead of the real generators and must give the
same output bytes (so the draws are all the randomness there is).

Frost: its outputs blend crops of the reference's frost pictures, which have no stated origin
or licence, so no image derived from them is written. A frost case keeps its draws and has
`"output": null` and `"output_sha256"` (sha256 of the np.uint8 HWC RGB output bytes) instead
of a block. To check the OpenCV resize that CIFAR frost applies to the pictures (fx = fy =
0.2) on pictures we may ship, make_imagenet_c's manifest has `ops`: cv2.resize on the BGR
copy of image 0 and of two test pictures of frost1.png's (600x900) and frost2.png's (315x560)
size, tiles of the 3 CIFAR images upscaled to 50x50 with PIL bilinear; inputs and outputs in
ops.bin.gz. File formats: the `manifest.json` of each fixture and tools/official/README.md
("Corruptions").
"""
import argparse
import ctypes.util
import gzip
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import warnings

import numpy as np
from PIL import Image

END_MARKER = "# /////////////// End Distortions ///////////////"
CREATE_C = os.path.join("ImageNet-C", "create_c")

# The reference functions, in the order of make_cifar_c.py's dictionary (the names the Rust side uses).
CIFAR_CORRUPTIONS = [
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
    "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
    "jpeg_compression", "speckle_noise", "gaussian_blur", "spatter", "saturate",
]
# Those that call np.random.{normal,uniform,poisson,randint} (impulse_noise uses skimage's Generator).
DRAWING = {
    "gaussian_noise", "shot_noise", "speckle_noise", "glass_blur", "motion_blur", "snow", "frost",
    "fog", "spatter", "elastic_transform",
}
GENERATOR_DRAWING = {"impulse_noise"}
IMAGENET_CORRUPTIONS = [
    "defocus_blur", "motion_blur", "zoom_blur", "fog", "brightness", "contrast", "saturate",
    "pixelate", "jpeg_compression", "gaussian_blur", "frost", "elastic_transform", "snow",
]
# Cases stored as a hash, not as an output block (see Fixture.case_output).
HASHED_OUTPUTS = {"frost"}
IMAGENET_SEVERITY = 3
IMAGENET_SIZE = 224
N_IMAGES = 3
DIST_CORRUPTION = "impulse_noise"
DIST_SAMPLES = 20


def case_seed(severity, image):
    return 1000 * severity + image


def dist_seed(severity, k):
    return 1000 * severity + 100 + k


def repo_root():
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def default_cifar():
    return os.path.join(repo_root(), "..", "shared", "datasets", "cifar10-jpeg.tar.gz")


# torch / torchvision: imported at the top of both scripts, used by no corruption function.
TORCH_STUBS = [("torch", {}), ("torch.utils", {}), ("torch.utils.data", {"Dataset": object}),
               ("torchvision", {}), ("torchvision.datasets", {}), ("torchvision.transforms", {})]


def add_stubs():
    """Empty modules (as common.stub_module; common.py itself imports torch) for those names not
    already imported (torch is never imported, installed or not); returns the names added. They are taken out of sys.modules again after
    the exec: SciPy's array-API helpers look up `torch.Tensor` whenever a `torch` module is loaded."""
    added = []
    for name, attrs in TORCH_STUBS:
        if name in sys.modules:
            continue
        mod = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(name, None))
        for k, v in attrs.items():
            setattr(mod, k, v)
        sys.modules[name] = mod
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, mod)
        added.append(name)
    return added


# ---------------------------------------------------------------------------------------------
# Shims for APIs that the reference uses and current libraries removed.

def install_shims():
    if not hasattr(np, "float_"):
        np.float_ = np.float64  # removed in NumPy 2.0; plasma_fractal's maparray dtype

    real_fromstring = np.fromstring

    def fromstring(string, dtype=float, count=-1, *, sep="", **kwargs):
        # NumPy 2.x removed binary mode (sep=''); frombuffer reads the same bytes (read-only,
        # hence the copy, as fromstring returned a fresh array).
        if sep == "":
            return np.frombuffer(string, dtype=dtype, count=count).copy()
        return real_fromstring(string, dtype=dtype, count=count, sep=sep, **kwargs)

    np.fromstring = fromstring

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import scipy.ndimage.interpolation  # noqa: F401  (still there in SciPy 1.17)
    except ImportError:
        import scipy.ndimage

        sys.modules["scipy.ndimage.interpolation"] = scipy.ndimage


def gaussian_shim(real_gaussian):
    def gaussian(image, sigma=1, *args, multichannel=None, **kwargs):
        # `multichannel` is deprecated since scikit-image 0.19 and a TypeError in 0.26;
        # channel_axis=-1 is its replacement. The reference passes multichannel=True only for HxWx3 images (never None on a 3-D image).
        if multichannel:
            kwargs["channel_axis"] = -1
        return real_gaussian(image, sigma, *args, **kwargs)

    return gaussian


def load_reference(path, name):
    with open(path) as f:
        text = f.read()
    head, sep, _ = text.partition(END_MARKER)
    if not sep:
        raise SystemExit(f"{path}: marker {END_MARKER!r} not found")
    ns = {"__name__": name, "__file__": path}
    added = add_stubs()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(compile(head, path, "exec"), ns)
    finally:
        for m in added:
            del sys.modules[m]
    ns["gaussian"] = gaussian_shim(ns["gaussian"])
    return ns


# ---------------------------------------------------------------------------------------------
# Recording and replaying the draws.

def _norm_shape(values):
    return [int(d) for d in np.shape(values)]


class Session:
    """The draws of one case: `calls` (legacy np.random) and `gen_calls` (skimage's Generator),
    each a list of (fn, params, shape, values float64 flat)."""

    def __init__(self, mode, seed, calls=None, gen_calls=None):
        self.mode, self.seed = mode, seed  # mode: "record" or "replay"
        self.calls = [] if calls is None else calls
        self.gen_calls = [] if gen_calls is None else gen_calls
        self.pos = 0
        self.gen_pos = 0


ACTIVE = [None]
REAL = {}
GUARDED = [
    "rand", "randn", "random", "random_sample", "ranf", "sample", "choice", "shuffle",
    "permutation", "binomial", "beta", "standard_normal", "random_integers", "exponential",
    "gamma", "multinomial", "bytes", "lognormal", "laplace", "geometric",
]


def _params(fn, args, kwargs):
    """The record's loc/scale/low/high (the reference passes scalars) and all the call's
    arguments by name, with numpy's defaults filled in."""
    names = {
        "normal": ("loc", "scale", "size"),
        "uniform": ("low", "high", "size"),
        "poisson": ("lam", "size"),
        "randint": ("low", "high", "size", "dtype"),
    }[fn]
    defaults = {
        "normal": {"loc": 0.0, "scale": 1.0, "size": None},
        "uniform": {"low": 0.0, "high": 1.0, "size": None},
        "poisson": {"lam": 1.0, "size": None},
        "randint": {"high": None, "size": None, "dtype": int},
    }[fn]
    b = dict(defaults)
    b.update(zip(names, args))
    b.update(kwargs)
    p = {"loc": None, "scale": None, "low": None, "high": None}
    if fn == "normal":
        p["loc"], p["scale"] = float(b["loc"]), float(b["scale"])
    elif fn == "uniform":
        p["low"], p["high"] = float(b["low"]), float(b["high"])
    elif fn == "randint":
        low, high = (0, b["low"]) if b["high"] is None else (b["low"], b["high"])
        p["low"], p["high"] = int(low), int(high)
    return p, b


def _like(template_shape, values, fn):
    # The recorded values in the form the real function returned them.
    if fn in ("randint", "poisson"):
        arr = np.asarray(values).astype(np.int64)
    else:
        arr = np.asarray(values, dtype=np.float64)
    if template_shape == []:
        return arr.reshape(()).item() if fn != "poisson" else arr.reshape(())[()]
    return arr.reshape(template_shape)


def _make_wrapper(fn):
    real = REAL[fn]

    def wrapper(*args, **kwargs):
        s = ACTIVE[0]
        if s is None:
            return real(*args, **kwargs)
        p, b = _params(fn, args, kwargs)
        if s.mode == "record":
            out = real(*args, **kwargs)
            s.calls.append((fn, p, _norm_shape(out), np.asarray(out, dtype=np.float64).ravel(order="C")))
            return out
        # replay: the next recorded call must be this one.
        rfn, rp, rshape, rvals = s.calls[s.pos]
        s.pos += 1
        if rfn != fn or rp != p:
            raise AssertionError(f"replay mismatch: got {fn} {p}, recorded {rfn} {rp}")
        if fn == "poisson":
            if _norm_shape(b["lam"]) != rshape:
                raise AssertionError("replay mismatch: poisson shape")
        elif b["size"] is not None and list(np.atleast_1d(b["size"])) != rshape:
            raise AssertionError(f"replay mismatch: {fn} size {b['size']} vs {rshape}")
        return _like(rshape, rvals, fn)

    wrapper.__name__ = fn
    return wrapper


def _make_guard(name):
    real = getattr(np.random, name)

    def guard(*args, **kwargs):
        if ACTIVE[0] is not None:
            raise AssertionError(f"unrecorded draw: numpy.random.{name}")
        return real(*args, **kwargs)

    return guard


class RecordingGenerator(np.random.Generator):
    """What skimage's random_noise gets as `rng`: PCG64 seeded with the case's seed; records (or
    replays) `random()`; any other method raises while a case runs."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))

    def random(self, size=None, dtype=np.float64, out=None):
        s = ACTIVE[0]
        if s is None:
            raise AssertionError("Generator used outside a case")
        if s.mode == "record":
            v = super().random(size, dtype=dtype, out=out)
            s.gen_calls.append(
                ("uniform", {"loc": None, "scale": None, "low": 0.0, "high": 1.0}, _norm_shape(v),
                 np.asarray(v, dtype=np.float64).ravel(order="C"))
            )
            return v
        rfn, rp, rshape, rvals = s.gen_calls[s.gen_pos]
        s.gen_pos += 1
        if size is not None and list(np.atleast_1d(size)) != rshape:
            raise AssertionError("replay mismatch: Generator.random size")
        return _like(rshape, rvals, "uniform")


def _gen_guard(name):
    def guard(self, *args, **kwargs):
        raise AssertionError(f"unrecorded draw: Generator.{name}")

    return guard


for _name in ["normal", "uniform", "poisson", "integers", "choice", "standard_normal", "binomial",
              "shuffle", "permutation", "exponential", "gamma", "beta"]:
    setattr(RecordingGenerator, _name, _gen_guard(_name))


def install_recorder():
    for fn in ("normal", "uniform", "poisson", "randint"):
        REAL[fn] = getattr(np.random, fn)
        setattr(np.random, fn, _make_wrapper(fn))
    for name in GUARDED:
        if hasattr(np.random, name):
            setattr(np.random, name, _make_guard(name))

    import skimage.util

    real_random_noise = skimage.util.random_noise

    def random_noise(image, mode="gaussian", rng=None, clip=True, **kwargs):
        # Unseeded in the reference (OS entropy); here a recording Generator seeded per case.
        s = ACTIVE[0]
        if rng is None and s is not None:
            rng = RecordingGenerator(s.seed)
        return real_random_noise(image, mode=mode, rng=rng, clip=clip, **kwargs)

    skimage.util.random_noise = random_noise


def run_case(ns, name, img_u8, severity, seed, create_c_dir, session):
    fn = ns[name]
    ACTIVE[0] = session
    np.random.seed(seed)
    cwd = os.getcwd()
    os.chdir(create_c_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # e.g. a 0/0 in spatter would show here
            out = fn(Image.fromarray(img_u8), severity)
        # As the reference's main loop stores it (np.uint8 of the returned array / PIL image).
        out8 = np.uint8(out)
    finally:
        os.chdir(cwd)
        ACTIVE[0] = None
    if out8.shape != img_u8.shape:
        raise AssertionError(f"{name} s{severity}: output shape {out8.shape}")
    if session.mode == "replay" and (session.pos != len(session.calls) or session.gen_pos != len(session.gen_calls)):
        raise AssertionError(f"{name} s{severity}: replay used {session.pos}/{len(session.calls)} draws")
    return np.ascontiguousarray(out8)


# ---------------------------------------------------------------------------------------------
# Fixture writing.

class Fixture:
    def __init__(self):
        self.outputs = []
        self.draw_values = []
        self.n_draws = 0

    def add_output(self, out8):
        self.outputs.append(out8.tobytes())
        return len(self.outputs) - 1

    def case_output(self, name, out8):
        """The case's `output` fields: a block index, or for frost (its outputs hold crops of the
        frost pictures, which have no stated licence and must not be committed) no block and
        the sha256 of the np.uint8 HWC output bytes instead."""
        if name in HASHED_OUTPUTS:
            return {"output": None, "output_sha256": hashlib.sha256(out8.tobytes()).hexdigest()}
        return {"output": self.add_output(out8)}

    def add_calls(self, calls):
        """Consecutive calls with the same fn, parameters and shape become one record with
        `calls` = their number (glass_blur makes 900 or 1800 identical randint calls)."""
        records = []
        for fn, p, shape, vals in calls:
            n = int(vals.size)
            last = records[-1] if records else None
            if last and last["fn"] == fn and all(last[k] == p[k] for k in p) and last["shape"] == shape:
                last["calls"] += 1
            else:
                records.append({"fn": fn, **p, "shape": shape, "start": self.n_draws, "len": n, "calls": 1})
            self.draw_values.append(vals)
            self.n_draws += n
        return records


def write_gz(path, data):
    # mtime 0 and no file name in the header: the same bytes give the same file.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(data)


def write_fixture(out_dir, manifest, images, fx, ops_blocks=None):
    os.makedirs(out_dir, exist_ok=True)
    write_gz(os.path.join(out_dir, "images.bin.gz"), b"".join(a.tobytes() for a in images))
    write_gz(os.path.join(out_dir, "outputs.bin.gz"), b"".join(fx.outputs))
    ops_path = os.path.join(out_dir, "ops.bin.gz")
    if ops_blocks is not None:
        write_gz(ops_path, b"".join(a.tobytes() for a in ops_blocks))
    elif os.path.exists(ops_path):
        os.remove(ops_path)  # a stale file from another layout
    draws = np.concatenate(fx.draw_values) if fx.draw_values else np.zeros(0)
    write_gz(os.path.join(out_dir, "draws.bin.gz"), draws.astype("<f8").tobytes())
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_images(tar_path):
    """The first file (sorted) of each of the first N_IMAGES test class folders (sorted), decoded
    with Pillow to RGB uint8 [32, 32, 3]."""
    with tarfile.open(tar_path) as tar:
        members = {os.path.normpath(m.name): m for m in tar.getmembers() if m.isfile()}
        by_class = {}
        for n in sorted(members):
            parts = n.split(os.sep)
            if len(parts) >= 3 and parts[-3] == "test":
                by_class.setdefault(parts[-2], []).append(n)
        images, sources = [], []
        for cls in sorted(by_class)[:N_IMAGES]:
            name = sorted(by_class[cls])[0]
            data = tar.extractfile(members[name]).read()
            a = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)
            assert a.shape == (32, 32, 3), (name, a.shape)
            images.append(np.ascontiguousarray(a))
            sources.append({"path": name, "jpeg_sha256": hashlib.sha256(data).hexdigest()})
    return images, sources


def versions():
    import cv2
    import PIL
    import scipy
    import skimage
    import wand
    import wand.version
    from PIL import features

    def dist_version(name):
        try:
            from importlib.metadata import version

            return version(name)
        except Exception:
            return None

    build = cv2.getBuildInformation().splitlines()
    cv_lib = lambda key: next((l.split(":", 1)[1].strip() for l in build if l.strip().startswith(key + ":")), None)
    v = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
        "opencv": cv2.__version__,
        "opencv_package": "opencv-contrib-python-headless " + str(dist_version("opencv-contrib-python-headless")),
        "opencv_libjpeg": cv_lib("JPEG"),
        "opencv_libpng": cv_lib("PNG"),
        "Pillow": PIL.__version__,
        "Pillow_libjpeg_turbo": features.version("libjpeg_turbo"),
        "Pillow_zlib": features.version("zlib"),
        "Wand": wand.version.VERSION,
        "ImageMagick": wand.version.MAGICK_VERSION,
        "ImageMagick_library": ctypes.util.find_library("MagickWand-6.Q16") or ctypes.util.find_library("MagickWand"),
    }
    if shutil.which("dpkg-query"):
        pkgs = ["libmagickwand-6.q16-6", "libmagickcore-6.q16-6", "libpng16-16", "libjpeg62-turbo", "zlib1g"]
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"] + pkgs,
                           capture_output=True, text=True)
        v["debian_packages"] = [l for l in r.stdout.splitlines() if l.strip()]
    return v


def git_commit(checkout):
    r = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def frost_info(create_c, scale):
    import cv2

    info = []
    for f in ["frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg"]:
        p = os.path.join(create_c, f)
        img = cv2.imread(p)
        e = {"file": f, "sha256": sha256(p), "shape": list(img.shape)}
        if scale is not None:
            e["resized_shape"] = list(cv2.resize(img, (0, 0), fx=scale, fy=scale).shape)
        info.append(e)
    return info


SHIMS = [
    "the file is cut at '# /////////////// End Distortions ///////////////' and the rest exec'd",
    "torch, torch.utils, torch.utils.data (Dataset=object), torchvision, torchvision.datasets, "
    "torchvision.transforms: empty modules",
    "np.float_ = np.float64",
    "np.fromstring(s, dtype) (binary mode) = np.frombuffer(s, dtype).copy()",
    "skimage gaussian(..., multichannel=True) = gaussian(..., channel_axis=-1)",
    "scipy.ndimage.interpolation aliased to scipy.ndimage only if missing (not with SciPy 1.17.1)",
    "skimage.util.random_noise gets rng=Generator(PCG64(seed)) recording random() (reference: unseeded)",
    "cwd = the checkout's ImageNet-C/create_c during each call (frost's './frostN' paths)",
]


def format_block(kind, size):
    block = {
        "images": "images.bin.gz",
        "outputs": "outputs.bin.gz",
        "draws": "draws.bin.gz",
        "compression": "gzip",
        "image_layout": f"uint8 HWC RGB, {size}x{size}x3 per block, blocks concatenated",
        "draws_dtype": "float64 little-endian (randint and poisson values converted)",
        "draw_record": "fn in normal|uniform|poisson|randint; loc/scale (normal), low/high (uniform; "
                       "randint with high exclusive, randint(k) recorded as low 0 high k); shape = the "
                       "returned array's shape ([] for a scalar call, poisson: the lam array's); len = "
                       "values per call; calls = consecutive identical calls merged into this record; "
                       "values at draws[start .. start + len * calls], call after call, each in C order",
        "generator_draws": "impulse_noise only: skimage.util.random_noise's Generator.random(shape) "
                           "calls, as uniform(0, 1) records in the same format (not numpy.random's "
                           "legacy stream)",
        "seed": "np.random.seed(seed) before the call; for impulse_noise also the PCG64 seed of the Generator",
        "frost_outputs": "frost cases have \"output\": null and \"output_sha256\" (hex sha256 of the "
                         "np.uint8 HWC RGB output bytes) instead of a block: the outputs blend crops of "
                         "the reference's frost pictures, which have no stated origin or licence, so "
                         "no image derived from them is committed. Their draws are stored as for any "
                         "case; the other cases' output indices count only the stored blocks",
    }
    if kind == "imagenet":
        block["ops"] = (
            "checks of single OpenCV calls on pictures we may ship; entry: op (cv2_resize_linear = "
            "cv2.resize(bgr, (0, 0), fx=fx, fy=fy), INTER_LINEAR, called on the BGR copy of the RGB "
            "input as the reference calls it on cv2.imread output, result converted back to RGB), "
            "fx, fy, input ('image 0' = images.bin block 0, input_block null; or 'ops block k' = "
            "input_block k), input_height, input_width, height, width (of the output), output (a "
            "block of ops.bin.gz); test pictures also have input_recipe, input_sha256 (of the RGB "
            "bytes) and size_of (the frost pictures of that size)")
        block["ops_file"] = "ops.bin.gz"
        block["ops_layout"] = ("uint8 HWC RGB blocks of different sizes, concatenated in index order; "
                               "ops_blocks[k] = {offset (bytes), height, width} of block k (3 channels)")
    return block


# The ops of make_imagenet_c's fixture: cv2.resize as CIFAR frost calls it on the pictures
# (fx = fy = 0.2), on image 0 and on test pictures of frost1.png's and frost2.png's sizes.
OPS_SCALE = 0.2
TEST_TILE = 50
TEST_PICTURES = [(600, 900, ["frost1.png"]), (315, 560, ["frost2.png", "frost3.png"])]


def test_picture(images, height, width):
    """Tiles of the CIFAR images, each upscaled to TEST_TILE x TEST_TILE with PIL bilinear;
    tile (r, c) is image (r + c) % 3; the grid cropped to its top-left height x width."""
    tiles = [np.asarray(Image.fromarray(a).resize((TEST_TILE, TEST_TILE), Image.BILINEAR), dtype=np.uint8)
             for a in images]
    rows, cols = -(-height // TEST_TILE), -(-width // TEST_TILE)
    grid = np.concatenate([np.concatenate([tiles[(r + c) % len(tiles)] for c in range(cols)], axis=1)
                           for r in range(rows)], axis=0)
    return np.ascontiguousarray(grid[:height, :width])


def test_picture_recipe(n_images, height, width):
    return (f"make_cifar_c's images 0..{n_images - 1} (the CIFAR JPEGs decoded with PIL), each "
            f"PIL.Image.fromarray(img).resize(({TEST_TILE}, {TEST_TILE}), PIL.Image.BILINEAR); tile "
            f"(r, c), at rows {TEST_TILE} r.. and columns {TEST_TILE} c.., is image (r + c) % {n_images}; "
            f"the grid of ceil({height} / {TEST_TILE}) x ceil({width} / {TEST_TILE}) tiles cropped to "
            f"its top-left {height} x {width}")


def cv2_resize_rgb(rgb, fx, fy):
    """cv2.resize as the CIFAR frost calls it (on cv2.imread's BGR array), on the BGR copy of an
    RGB picture; the result back in RGB."""
    import cv2

    bgr = np.ascontiguousarray(rgb[..., ::-1])
    out = cv2.resize(bgr, (0, 0), fx=fx, fy=fy)
    return np.ascontiguousarray(out[..., ::-1])


def make_ops(big, images, frost_pictures):
    blocks, block_info, ops = [], [], []

    def add(a):
        block_info.append({"offset": sum(b.nbytes for b in blocks), "height": a.shape[0], "width": a.shape[1]})
        blocks.append(a)
        return len(blocks) - 1

    shapes = {e["file"]: e["shape"][:2] for e in frost_pictures}
    inputs = [("image 0", None, big, {})]
    for h, w, like in TEST_PICTURES:
        for f in like:
            if shapes[f] != [h, w]:
                raise AssertionError(f"{f}: shape {shapes[f]}, the test picture is {h}x{w}")
        pic = test_picture(images, h, w)
        k = add(pic)
        inputs.append((f"ops block {k}", k, pic, {"input_recipe": test_picture_recipe(len(images), h, w),
                                                  "input_sha256": hashlib.sha256(pic.tobytes()).hexdigest(),
                                                  "size_of": like}))
    for name, k, pic, extra in inputs:
        out = cv2_resize_rgb(pic, OPS_SCALE, OPS_SCALE)
        h, w = pic.shape[:2]
        if out.shape != (int(round(h * OPS_SCALE)), int(round(w * OPS_SCALE)), 3):
            raise AssertionError(f"cv2.resize of {name}: shape {out.shape}")
        every_fifth = np.array_equal(out, pic[2::5, 2::5][:out.shape[0], :out.shape[1]])
        print(f"ops cv2_resize_linear {name} {h}x{w} -> {out.shape[0]}x{out.shape[1]}"
              f" (= pixels 5 d + 2: {every_fifth})")
        ops.append({"op": "cv2_resize_linear", "fx": OPS_SCALE, "fy": OPS_SCALE, "input": name,
                    "input_block": k, "input_height": h, "input_width": w, **extra,
                    "height": out.shape[0], "width": out.shape[1], "output": add(out)})
    return ops, block_info, blocks


def make_cifar(args, create_c, images, sources, commit, vers):
    ref_path = os.path.join(create_c, "make_cifar_c.py")
    ns = load_reference(ref_path, "make_cifar_c")
    missing = [c for c in CIFAR_CORRUPTIONS if c not in ns]
    if missing:
        raise SystemExit(f"not in make_cifar_c.py: {missing}")

    fx = Fixture()
    cases, replay = [], []
    for name in CIFAR_CORRUPTIONS:
        for severity in range(1, 6):
            for i, img in enumerate(images):
                seed = case_seed(severity, i)
                s = Session("record", seed)
                out8 = run_case(ns, name, img, severity, seed, create_c, s)
                case = {"corruption": name, "severity": severity, "image": i, "seed": seed,
                        **fx.case_output(name, out8), "draws": fx.add_calls(s.calls)}
                if s.gen_calls:
                    case["generator_draws"] = fx.add_calls(s.gen_calls)
                cases.append(case)
                replay.append((name, severity, i, seed, s, out8))
                print(f"{name} s{severity} image {i}: {sum(r['len'] * r['calls'] for r in case['draws'])} draws"
                      + (f" (+{sum(r['len'] * r['calls'] for r in case['generator_draws'])} Generator)"
                         if s.gen_calls else ""))

    check_cases(ns, cases, replay, images, create_c, DRAWING, GENERATOR_DRAWING)

    dist = []
    for severity in range(1, 6):
        blocks, seeds = [], []
        for k in range(DIST_SAMPLES):
            seed = dist_seed(severity, k)
            out8 = run_case(ns, DIST_CORRUPTION, images[0], severity, seed, create_c, Session("record", seed))
            blocks.append(fx.add_output(out8))
            seeds.append(seed)
        dist.append({"corruption": DIST_CORRUPTION, "severity": severity, "image": 0, "seeds": seeds,
                     "outputs": blocks})

    manifest = {
        "reference": {"repository": "hendrycks/robustness", "commit": commit,
                      "file": "ImageNet-C/create_c/make_cifar_c.py", "file_sha256": sha256(ref_path)},
        "script": "tools/official/corruptions_fixture.py",
        "versions": vers,
        "shims": SHIMS,
        "format": format_block("cifar", 32),
        "images": {"count": len(images), "height": 32, "width": 32, "channels": 3, "sources": sources,
                   "decode": "PIL.Image.open(jpeg).convert('RGB'), the reference gets PIL.Image.fromarray(pixels)"},
        "seeds": "case: 1000 * severity + image; distribution: 1000 * severity + 100 + k, k = 0..19",
        "frost_pictures": frost_info(create_c, 0.2),
        "cases": cases,
        "distribution": dist,
    }
    write_fixture(args.out, manifest, images, fx)
    print(f"wrote {args.out}: {len(cases)} cases, {len(fx.outputs)} output blocks, {fx.n_draws} draws")


def make_imagenet(out_dir, create_c, images, sources, commit, vers):
    ref_path = os.path.join(create_c, "make_imagenet_c.py")
    ns = load_reference(ref_path, "make_imagenet_c")
    big = np.ascontiguousarray(
        np.asarray(Image.fromarray(images[0]).resize((IMAGENET_SIZE, IMAGENET_SIZE), Image.BILINEAR), dtype=np.uint8)
    )
    fx = Fixture()
    cases, replay = [], []
    for name in IMAGENET_CORRUPTIONS:
        seed = case_seed(IMAGENET_SEVERITY, 0)
        s = Session("record", seed)
        out8 = run_case(ns, name, big, IMAGENET_SEVERITY, seed, create_c, s)
        cases.append({"corruption": name, "severity": IMAGENET_SEVERITY, "image": 0, "seed": seed,
                      **fx.case_output(name, out8), "draws": fx.add_calls(s.calls)})
        replay.append((name, IMAGENET_SEVERITY, 0, seed, s, out8))
        print(f"imagenet {name} s{IMAGENET_SEVERITY}: {sum(r['len'] * r['calls'] for r in cases[-1]['draws'])} draws")
    check_cases(ns, cases, replay, [big], create_c, DRAWING & set(IMAGENET_CORRUPTIONS), set())
    frost_pictures = frost_info(create_c, None)
    ops, ops_info, ops_blocks = make_ops(big, images, frost_pictures)

    manifest = {
        "reference": {"repository": "hendrycks/robustness", "commit": commit,
                      "file": "ImageNet-C/create_c/make_imagenet_c.py", "file_sha256": sha256(ref_path)},
        "script": "tools/official/corruptions_fixture.py",
        "versions": vers,
        "shims": SHIMS,
        "format": format_block("imagenet", IMAGENET_SIZE),
        "images": {"count": 1, "height": IMAGENET_SIZE, "width": IMAGENET_SIZE, "channels": 3,
                   "sources": sources[:1],
                   "decode": "make_cifar_c's images[0] (PIL decode of the JPEG), then "
                             "PIL.Image.fromarray(pixels).resize((224, 224), PIL.Image.BILINEAR)"},
        "seeds": "1000 * severity + image (= 3000)",
        "frost_pictures": frost_pictures,
        "cases": cases,
        "distribution": [],
        "ops": ops,
        "ops_blocks": ops_info,
    }
    write_fixture(out_dir, manifest, [big], fx, ops_blocks)
    print(f"wrote {out_dir}: {len(cases)} cases, {fx.n_draws} draws")


def check_cases(ns, cases, replay, images, create_c, drawing, generator_drawing):
    """Draws non-empty exactly for the corruptions that draw; outputs differ from the inputs; the
    recorded values alone reproduce every output (replay)."""
    same = []
    for case, (name, severity, i, seed, s, out8) in zip(cases, replay):
        if bool(case["draws"]) != (name in drawing):
            raise AssertionError(f"{name} s{severity}: draws {'present' if case['draws'] else 'absent'}")
        if bool(case.get("generator_draws")) != (name in generator_drawing):
            raise AssertionError(f"{name} s{severity}: Generator draws unexpected")
        if np.array_equal(out8, images[i]):
            same.append(f"{name} s{severity} image {i}")
        # Replay with a different global seed: only the recorded values may matter.
        r = Session("replay", seed, calls=s.calls, gen_calls=s.gen_calls)
        again = run_case(ns, name, images[i], severity, seed + 7919, create_c, r)
        if not np.array_equal(again, out8):
            raise AssertionError(f"{name} s{severity} image {i}: replayed output differs")
    if same:
        print("WARNING: outputs equal to their inputs: " + ", ".join(same))
    print(f"checked {len(cases)} cases: draws as expected, replay reproduces every output")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", required=True, help="a checkout of hendrycks/robustness")
    parser.add_argument("--cifar10", "--cifar", dest="cifar", default=default_cifar())
    parser.add_argument("--out", default=os.path.join(repo_root(), "harness", "corruptions", "tests", "fixtures", "make_cifar_c"))
    parser.add_argument("--imagenet-out", default=None,
                        help="default: make_imagenet_c/ beside --out")
    parser.add_argument("--skip-imagenet", action="store_true")
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    imagenet_out = os.path.abspath(args.imagenet_out or os.path.join(os.path.dirname(args.out), "make_imagenet_c"))
    create_c = os.path.abspath(os.path.join(args.checkout, CREATE_C))

    install_shims()
    install_recorder()
    images, sources = read_images(args.cifar)
    commit = git_commit(args.checkout)
    vers = versions()
    print(json.dumps(vers))
    make_cifar(args, create_c, images, sources, commit, vers)
    if not args.skip_imagenet:
        make_imagenet(imagenet_out, create_c, images, sources, commit, vers)


if __name__ == "__main__":
    main()
