#!/usr/bin/env bash
# The GPU path as one prepared check (issue 32): on a machine with PyTorch and CUDA but none of
# atomloop's other dependencies and no package index, install them from wheels brought along,
# run the model-training tests on CUDA and bench/train.py --device cuda (SchNet and NequIP
# molecules/s, GPU vs CPU and vs nequip-train on the same GPU), and write the figures as
# gpu.json + gpu.txt to the output folder.
#
#   bench/gpu.sh --prepare-wheels   here, with a package index (make gpu-wheels): atomloop's
#                                   runtime dependencies minus torch as CPython 3.12 x86-64 wheels,
#                                   in .gpu-wheels/part-N/ of at most --part-mib MiB each
#   bench/gpu.sh --install-only     on the GPU machine: keep the parts this call carried, install nothing
#   bench/gpu.sh                    on the GPU machine: install the parts carried, test, bench
#   bench/gpu.sh --cpu-fallback     the same steps on the CPU (CUDA hidden), at tiny size
#
# Options: --out DIR (default $OUT, else build/gpu), --wheels DIR (.gpu-wheels), --site DIR
# (.gpu-site: wheels collected over calls, kept on a warm machine, and the install), --molecules N,
# --epochs N, --repeats N, --tests "PYTEST ARGS", --part-mib N (56: a part plus this ~5 MiB
# working tree within the device tool's 64 MiB per call).
# Steps are time-boxed so that a GPU run ends within 8 minutes: tests 180 s, bench 240 s.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
mode=run
out=${OUT:-$REPO/build/gpu}
wheels=$REPO/.gpu-wheels
site=$REPO/.gpu-site
molecules=
epochs=
repeats=1
part_mib=56
tests="tests/test_models_training.py tests/test_models_networks.py tests/test_label_device.py"

fail() { echo "bench/gpu.sh: $1" >&2; exit "${2:-1}"; }
need() { [[ $# -ge 2 && -n $2 ]] || fail "$1 needs a value" 2; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --prepare-wheels) mode=prepare ;;
        --install-only) mode=install ;;
        --cpu-fallback) mode=fallback ;;
        --out) need "$@"; out=$2; shift ;;
        --wheels) need "$@"; wheels=$2; shift ;;
        --site) need "$@"; site=$2; shift ;;
        --molecules) need "$@"; molecules=$2; shift ;;
        --epochs) need "$@"; epochs=$2; shift ;;
        --repeats) need "$@"; repeats=$2; shift ;;
        --tests) need "$@"; tests=$2; shift ;;
        --part-mib) need "$@"; part_mib=$2; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) fail "unknown argument '$1' (see --help)" 2 ;;
    esac
    shift
done
if [[ $mode == fallback ]]; then molecules=${molecules:-16}; epochs=${epochs:-2}; fi  # tiny on the CPU
molecules=${molecules:-256}
epochs=${epochs:-4}

# --- here: the wheels -------------------------------------------------------------------------
# Packages the device image already ships (the device tool's KINDS.md, "Python packages already
# there"): their wheels go to image/, which is not carried unless the image's version fails.
IMAGE_PACKAGES="absl-py aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs certifi charset-normalizer
click cloudpickle colorama contourpy cycler e3nn filelock fonttools frozenlist fsspec grpcio h11 h5py httpcore httpx
humanize idna jinja2 joblib kiwisolver lightning lightning-utilities markdown markdown-it-py markupsafe matplotlib
mdurl mpmath msgpack multidict narwhals networkx numpy opt-einsum opt-einsum-fx packaging pathspec pillow pluggy
prometheus-client propcache protobuf psutil pygments pyparsing python-dateutil pytorch-lightning pyyaml regex
requests rich scikit-learn scipy setuptools shellingham six sortedcontainers sympy tensorboard
tensorboard-data-server threadpoolctl toolz torchmetrics tqdm typer typing-extensions urllib3 werkzeug wrapt yarl
zipp"
PLATFORMS="manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64
manylinux_2_5_x86_64 manylinux1_x86_64 linux_x86_64"

prepare_wheels() {
    local all=$wheels/all requirements=$wheels/requirements.txt
    mkdir -p "$all"
    # the installed closure of atomloop's runtime requirements (this interpreter's versions), torch left out
    "$PYTHON" - "$requirements" <<'EOF'
import re, sys
from importlib import metadata
from packaging.requirements import Requirement
target = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux", "os_name": "posix",
          "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
          "platform_python_implementation": "CPython"}
key = lambda name: re.sub(r"[-_.]+", "-", name).lower()
found, todo = {}, [("atomloop", ())]
while todo:
    name, extras = todo.pop()
    if key(name) == "torch" or (key(name) in found and not extras):
        continue
    dist = metadata.distribution(name)
    found[key(name)] = dist.version
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**target, "extra": e}) for e in extras or ("",)):
            todo.append((req.name, tuple(req.extras)))
found.pop("atomloop")
open(sys.argv[1], "w").write("".join(f"{name}=={version}\n" for name, version in sorted(found.items())))
EOF
    local platform_args=() line missing binary=$wheels/binary.txt
    for p in $PLATFORMS; do platform_args+=(--platform "$p"); done
    cp "$requirements" "$binary"
    # binary wheels for CPython 3.12; a requirement with none (an sdist only) is built here instead
    while ! line=$("$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --abi cp312 "${platform_args[@]}" -d "$all" -r "$binary" 2>&1); do
        missing=$(sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' <<<"$line" | head -1)
        [[ -n $missing ]] || { echo "$line" >&2; fail "pip download failed"; }
        grep -v -i -x -F "$missing" "$binary" >"$binary.new" && mv "$binary.new" "$binary"
        "$PYTHON" -m pip wheel -q --no-deps -w "$all" "$missing"
    done
    ls "$all"/*.whl | grep -v -E -- '-(py3|py2\.py3)-none-|-cp312-cp312-|-cp3[0-9]*-abi3-' \
        && fail "a wheel above is not for CPython 3.12"
    # parts: image packages aside, the rest packed largest first into parts of at most part_mib MiB
    "$PYTHON" - "$wheels" "$part_mib" "$IMAGE_PACKAGES" <<'EOF'
import re, shutil, sys
from pathlib import Path
folder, limit, image = Path(sys.argv[1]), int(sys.argv[2]) * 2**20, set(sys.argv[3].split())
for old in [*folder.glob("part-*"), folder / "image"]:
    shutil.rmtree(old, ignore_errors=True)
parts: list[list[Path]] = []
for wheel in sorted((folder / "all").glob("*.whl"), key=lambda w: -w.stat().st_size):
    name = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
    if name in image:
        (folder / "image").mkdir(exist_ok=True)
        shutil.copy(wheel, folder / "image")
        continue
    if wheel.stat().st_size > limit:
        sys.exit(f"bench/gpu.sh: {wheel.name} alone is over {sys.argv[2]} MiB")
    part = next((p for p in parts if sum(w.stat().st_size for w in p) + wheel.stat().st_size <= limit), None)
    if part is None:
        parts.append(part := [])
    part.append(wheel)
for number, part in enumerate(parts, 1):
    (folder / f"part-{number}").mkdir()
    for wheel in part:
        shutil.copy(wheel, folder / f"part-{number}")
    print(f"part-{number}: {len(part)} wheels, {sum(w.stat().st_size for w in part) / 2**20:.1f} MiB")
image_wheels = list((folder / "image").glob("*.whl"))
print(f"image/: {len(image_wheels)} wheels, {sum(w.stat().st_size for w in image_wheels) / 2**20:.1f} MiB "
      "(packages the device image has; carry only if its version fails)")
EOF
    rm -rf "$all"
}

if [[ $mode == prepare ]]; then
    prepare_wheels
    exit 0
fi

# --- there: install ---------------------------------------------------------------------------
# Each call adds the parts it carried to $site/wheels (kept between calls on a warm machine);
# a run installs them all in one pip call into $site/lib, so parts never overwrite each other.
mkdir -p "$out" "$site/wheels"
shopt -s nullglob
carried=("$wheels"/part-*/*.whl "$wheels"/image/*.whl)
[[ ${#carried[@]} -gt 0 ]] && cp -n "${carried[@]}" "$site/wheels/"
collected=("$site"/wheels/*.whl)
shopt -u nullglob
echo "wheels carried in this call: ${#carried[@]}, collected in $site/wheels: ${#collected[@]}"
[[ $mode == install ]] && exit 0
rm -rf "$site/lib"
# atomloop itself from this working tree, unless the interpreter already imports it from here
sources=("${collected[@]}")
if [[ $("$PYTHON" -c 'import atomloop, os; print(os.path.realpath(atomloop.__file__))' 2>/dev/null) \
        != "$REPO/platform/atomloop/"* ]]; then
    sources+=("$REPO")
fi
if [[ ${#sources[@]} -gt 0 ]]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir \
        --target "$site/lib" "${sources[@]}" >"$out/install.txt" 2>&1 \
        || { tail -n 5 "$out/install.txt" >&2; fail "the wheels or atomloop did not install (all parts carried?)"; }
fi
installed=${#collected[@]}
export PYTHONPATH=$site/lib${PYTHONPATH:+:$PYTHONPATH}

device=cuda
threads=$(nproc)
if [[ $mode == fallback ]]; then
    export CUDA_VISIBLE_DEVICES=""
    device=cpu
    threads=1
fi
"$PYTHON" - "$out/environment.json" "$device" <<'EOF' || fail "no CUDA device: PyTorch is missing or sees none (--cpu-fallback runs the same steps on the CPU)"
import json, platform, sys
import torch
if sys.argv[2] == "cuda" and not torch.cuda.is_available():
    sys.exit(1)
json.dump({"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
           "gpu4pyscf": __import__("importlib.util").util.find_spec("gpu4pyscf") is not None},
          open(sys.argv[1], "w"))
EOF

# --- there: tests and bench (each time-boxed; a failure is recorded, not fatal) -----------------
cd "$REPO"
tests_status=0
# shellcheck disable=SC2086  # $tests is a list of pytest arguments
timeout 180 "$PYTHON" -m pytest -q -p no:cacheprovider $tests --junitxml="$out/tests.xml" >"$out/tests.txt" 2>&1 \
    || tests_status=$?
tail -n 3 "$out/tests.txt"
bench_status=0
timeout 240 "$PYTHON" bench/train.py --device "$device" --clock wall --threads "$threads" --molecules "$molecules" \
    --epochs "$epochs" --repeats "$repeats" --json "$out/train.json" >"$out/train.txt" 2>"$out/train.err" \
    || bench_status=$?
grep '^\[' "$out/train.txt" || tail -n 5 "$out/train.err"

# --- the figures ------------------------------------------------------------------------------
"$PYTHON" - "$out" "$mode" "$installed" "$tests_status" "$bench_status" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET
from pathlib import Path
out, mode, installed, tests_status, bench_status = Path(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:])
figures = {"mode": mode, "wheels_installed": installed, "environment": json.loads((out / "environment.json").read_text()),
           "tests": {"exit_status": tests_status}, "train": None, "train_exit_status": bench_status}
if (out / "tests.xml").exists():
    suite = ET.parse(out / "tests.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    figures["tests"].update(counts, passed=counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"])
if (out / "train.json").exists():
    figures["train"] = json.loads((out / "train.json").read_text())
(out / "gpu.json").write_text(json.dumps(figures, indent=1))
lines = [f"bench/gpu.sh ({mode}): {figures['environment']}", f"wheels installed: {installed}",
         f"tests: {figures['tests']}"]
if figures["train"]:
    train = figures["train"]
    for device, results in train["throughput"].items():
        lines += [f"[{device}] {name}: {rate:.1f} {train['unit']}" for name, rate in results.items()]
    lines += [f"[{device}] {name}: {ratio:.2f}" for device, ratios in train["ratios"].items() for name, ratio in ratios.items()]
(out / "gpu.txt").write_text("\n".join(lines) + "\n")
print(f"figures: {out / 'gpu.json'}, {out / 'gpu.txt'}")
EOF
[[ $tests_status -eq 0 && $bench_status -eq 0 ]] || fail "tests exit status $tests_status, bench exit status $bench_status (see $out)"
