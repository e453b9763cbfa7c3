#!/usr/bin/env bash
# Installs (as root, with apt-get) whatever Debian 12 packages Rewind needs and
# this machine lacks. Extra package names may be passed as arguments.
set -euo pipefail
packages=(g++ cmake make pkg-config xtl-dev libxsimd-dev libxtensor-dev libxtensor-blas-dev libopenblas-dev
          doctest-dev libzip-dev libcli11-dev libfmt-dev gnuplot-nox graphviz openmpi-bin libopenmpi-dev
          clang libclang-rt-14-dev python3-numpy "$@")
# libxsmm: JIT kernels for small GEMMs, packaged for x86-64 only (optional elsewhere)
if [[ $(dpkg --print-architecture) == amd64 ]]; then packages+=(libxsmm-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "rewind: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
