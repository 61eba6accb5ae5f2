#!/usr/bin/env bash
# Installs what building and testing profkit needs, from Debian's packages. Does nothing when
# everything is already there, so `make demo` stays fast on a prepared machine.
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc clang llvm libclang-rt-14-dev libcmocka-dev
      python3 python3-pytest python3-psutil sysstat libedit-dev
      libelf-dev libdw-dev liblzma-dev libiberty-dev libbpf-dev bpftool libpfm4-dev zlib1g-dev golang-go nodejs chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
