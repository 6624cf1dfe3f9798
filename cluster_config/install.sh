#!/bin/sh
# Installs dance into the current Python environment the one way every cluster node gets
# it: the Docker image (cluster_config/docker/Dockerfile) and the cluster launcher's nodes
# (aws.yaml, gcp.yaml setup_commands) all run this script from the repository root.
#
#   TORCH_CUDA=cu128 sh cluster_config/install.sh   # the image: built without a GPU in sight
#   sh cluster_config/install.sh                    # a launcher node: cu128 where nvidia-smi
#                                                   # sees a GPU, the CPU build elsewhere
#
# 1. torch alone, at the version constraints.txt pins, from PyTorch's own index
#    (TORCH_CUDA: a CUDA tag such as cu128, or cpu). The CUDA wheels bundle their runtime,
#    so a node needs only a recent enough NVIDIA driver.
# 2. dance with the `gpu` and `mediapipe` extras under constraints.txt minus its torch
#    line (that pin names the CPU build of development machines), so pip keeps the torch
#    of step 1 instead of swapping it.
# 3. An import check of the package and its job modules.
set -eu

if [ -z "${TORCH_CUDA:-}" ]; then
    if nvidia-smi -L >/dev/null 2>&1; then TORCH_CUDA=cu128; else TORCH_CUDA=cpu; fi
fi
TORCH_VERSION="$(sed -n 's/^torch==//p' constraints.txt)"

pip install --no-cache-dir "torch==${TORCH_VERSION}" \
    --index-url "https://download.pytorch.org/whl/${TORCH_CUDA}"
grep -v '^torch==' constraints.txt > /tmp/constraints-gpu.txt
pip install --no-cache-dir -c /tmp/constraints-gpu.txt -e '.[gpu,mediapipe]'
python -c "import dance, ray_jobs.preprocess, ray_jobs.finetune_backbone"
