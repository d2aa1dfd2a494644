#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/deps.sh: install what memctl needs to build and test, and nothing else.
# Idempotent: asks pkg-config and `command -v` what is missing and installs only
# that with apt-get; prints what it installs; silent (one line) when all is there.
set -euo pipefail

# pkg-config module -> Debian package
pc_mods=(
	"libbpf:libbpf-dev"
	"libelf:libelf-dev"
	"zlib:zlib1g-dev"
	"libcgroup:libcgroup-dev"
	"libsystemd:libsystemd-dev"
	"libzstd:libzstd-dev"
	"liblz4:liblz4-dev"
	"cmocka:libcmocka-dev"
	"json-c:libjson-c-dev"
	"libmicrohttpd:libmicrohttpd-dev"
)
# command -> Debian package
cmds=(
	"pkg-config:pkg-config"
	"clang:clang"
	"llvm-strip:llvm"
	"bpftool:bpftool"
	"gcc:gcc"
	"make:make"
	"clang-format:clang-format"
	"systemd-analyze:systemd"
	"python3:python3"
	"man:man-db"
	"setpriv:util-linux"
	"tmux:tmux"
	"fusermount:fuse3"
	# the metrics tests: promtool checks the exposition and the rules, and a
	# real Prometheus server scrapes a private memctld (one package has both)
	"promtool:prometheus"
	"prometheus:prometheus"
	# the metrics socket-activation test checks memctld's socket() calls
	"strace:strace"
	# make profile-report plots the profiles (PNG), without X
	"gnuplot:gnuplot-nox"
	"mkswap:util-linux"
)

# header-only libraries (no pkg-config file): header -> Debian package
headers=(
	"/usr/include/uthash.h:uthash-dev"
)

missing=()
for h in "${headers[@]}"; do
	[ -f "${h%%:*}" ] || missing+=("${h#*:}")
done
for m in "${pc_mods[@]}"; do
	mod=${m%%:*} pkg=${m#*:}
	# pkg-config itself may be the thing that is missing
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$mod"; then
		missing+=("$pkg")
	fi
done
for c in "${cmds[@]}"; do
	cmd=${c%%:*} pkg=${c#*:}
	# bpftool on Debian is a wrapper under /usr/sbin
	if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
		missing+=("$pkg")
	fi
done
# clang's libFuzzer runtime (for -fsanitize=fuzzer)
if command -v clang >/dev/null 2>&1; then
	if ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' |
		clang -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
		missing+=("libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev")
	fi
fi

# the resctrl emulator (tests/integration/resctrl_emu.py) runs on Debian's python3
if ! [ -x /usr/bin/python3 ] || ! /usr/bin/python3 -c "import fusepy" >/dev/null 2>&1; then
	missing+=("python3-fusepy")
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all build and test dependencies present"
	exit 0
fi

# de-duplicate, keep order
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
echo "deps: installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "deps: done"
