# SPDX-License-Identifier: MIT
# memctl: one entry point. Outputs go to $(BUILD); V=1 shows commands.
#
#   make            build memctld, memctl, libarena, BPF skeletons, workloads
#   make run        install deps, build, run a private memctld in the foreground:
#                   sockets in $(BUILD)/run, built-in defaults (CONFIG=file for one)
#   make test       install deps, build, run every test (tests/run.sh)
#   make fuzz       every libFuzzer target FUZZ_SECONDS (60) seconds (scripts/fuzz.sh)
#   make bench      run the benchmarks in bench/ (figures, never asserts)
#   make profile-report  the profiler seed's experiments: profiles, plots, report
#   make install    PREFIX=/usr/local DESTDIR=
#   make format     clang-format (kernel style) on every C file
#   make clean

VERSION := 0.1.0
ARENA_SOVERSION := 0
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

CC ?= gcc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PKG_CONFIG ?= pkg-config
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS := libbpf libcgroup libsystemd libzstd liblz4 json-c libmicrohttpd
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lelf -lz -lm -lpthread

WARNINGS := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
OPT ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -D_GNU_SOURCE \
	-DMEMCTL_VERSION=\"$(VERSION)\" -I. -I$(BUILD)/bpf $(PKG_CFLAGS)
CFLAGS ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(OPT) $(WARNINGS) $(CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_CFLAGS = $(BASE_CFLAGS) -O1 -g $(WARNINGS) $(SAN_FLAGS) $(CFLAGS)
FUZZ_CFLAGS = $(BASE_CFLAGS) -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all

# ---- sources, by module (wildcards: a new file in a module is picked up) ----
IPC_SRCS := $(wildcard ipc/*.c)
POLICY_SRCS := $(wildcard policy/*.c)
ARENA_SRCS := $(wildcard arena/*.c)
CLI_SRCS := daemon/memctl.c $(filter-out daemon/cli-text.c,$(wildcard daemon/cli-*.c))
CLI_LIB_SRCS := $(filter-out daemon/memctl.c,$(CLI_SRCS))
# log.c escapes what it prints with cli-text.c: both programs need both
DAEMON_SHARED_SRCS := daemon/log.c daemon/cli-text.c
DAEMON_SRCS := $(filter-out $(CLI_SRCS) $(DAEMON_SHARED_SRCS),$(wildcard daemon/*.c))
DAEMON_LIB_SRCS := $(filter-out daemon/memctld.c,$(DAEMON_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
WORKLOADS := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(wildcard tests/workloads/*.c))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
EXAMPLES := $(patsubst arena/examples/%.c,$(BUILD)/examples/%,$(wildcard arena/examples/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
sanobj = $(patsubst %.c,$(BUILD)/san/%.o,$(1))
fuzzobj = $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(1))

LIBARENA_SO := $(BUILD)/libarena.so.$(ARENA_SOVERSION)
LIBARENA_A := $(BUILD)/libarena.a

.PHONY: all run demo test unit fuzz fuzzers bench install format clean deps check-config \
	clang-check profile-report
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/memctld $(BUILD)/memctl $(LIBARENA_SO) $(LIBARENA_A) $(BUILD)/libarena.pc \
	$(WORKLOADS) $(EXAMPLES) $(BENCHES)

deps:
	$(Q)scripts/deps.sh

# ---- BPF: vmlinux.h from this kernel's BTF, .bpf.o, skeletons ----
$(BUILD)/bpf/vmlinux.h:
	$(Q)mkdir -p $(@D)
	@if [ ! -r "$(VMLINUX_BTF)" ]; then \
		echo "error: $(VMLINUX_BTF) not readable: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y is required for CO-RE)" >&2; \
		exit 1; fi
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/events.h $(BUILD)/bpf/vmlinux.h $(wildcard bpf/*.h)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD)/bpf -Ibpf \
		$(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null) -Wall -Werror -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# ---- objects ----
$(BUILD)/obj/%.o: %.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzzobj/%.o: %.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

# only the daemon includes BPF skeletons: nothing else waits for clang -target bpf
$(call obj,$(DAEMON_SRCS)) $(call sanobj,$(DAEMON_LIB_SRCS)): | $(BPF_SKELS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- programs ----
$(BUILD)/memctld: $(call obj,$(DAEMON_SRCS) $(DAEMON_SHARED_SRCS) $(IPC_SRCS) $(POLICY_SRCS))
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(PKG_LIBS)

$(BUILD)/memctl: $(call obj,$(CLI_SRCS) $(DAEMON_SHARED_SRCS) $(IPC_SRCS) policy/growth.c)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ $(PKG_LIBS)

# ---- libarena: shared (soname) + static + pkg-config ----
LIBARENA_OBJS = $(call obj,$(ARENA_SRCS) $(POLICY_SRCS) $(IPC_SRCS))
$(LIBARENA_SO): $(LIBARENA_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libarena.so.$(ARENA_SOVERSION) -Wl,--no-undefined \
		$(ALL_CFLAGS) $^ -o $@ $(shell $(PKG_CONFIG) --libs libzstd liblz4) -lpthread -lm
	$(Q)ln -sf libarena.so.$(ARENA_SOVERSION) $(BUILD)/libarena.so

$(LIBARENA_A): $(LIBARENA_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libarena.pc: arena/libarena.pc.in
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

ARENA_LINK = -L$(BUILD) -l:libarena.a $(shell $(PKG_CONFIG) --libs libzstd liblz4) -lpthread -lm

$(BUILD)/workloads/%: tests/workloads/%.c $(LIBARENA_A) $(wildcard tests/workloads/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@ $(ARENA_LINK)

$(BUILD)/examples/%: arena/examples/%.c $(LIBARENA_A)
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@ $(ARENA_LINK)

# benchmark-only BPF programs (bench/bpf/*.bpf.c), never loaded by memctld
BENCH_BPF_SKELS := $(patsubst bench/bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(wildcard bench/bpf/*.bpf.c))
$(BUILD)/bpf/%.bpf.o: bench/bpf/%.bpf.c $(BUILD)/bpf/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD)/bpf -Ibpf \
		$(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null) -Wall -Werror -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

# benches that load BPF embed skeletons: rebuild when a program changes
$(BUILD)/bench/%: bench/%.c $(LIBARENA_A) $(wildcard bench/*.h) $(wildcard tests/workloads/*.h) \
		$(BPF_SKELS) $(BENCH_BPF_SKELS)
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@ $(ARENA_LINK) $(PKG_LIBS)

# ---- unit tests: one cmocka binary per module, ASan+UBSan ----
SAN_LIB_SRCS = $(IPC_SRCS) $(POLICY_SRCS) $(ARENA_SRCS) $(DAEMON_LIB_SRCS) $(DAEMON_SHARED_SRCS) \
	$(CLI_LIB_SRCS)
$(BUILD)/san/libmemctl-san.a: $(call sanobj,$(SAN_LIB_SRCS))
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/san/libmemctl-san.a
	$(Q)mkdir -p $(@D)
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(SAN_CFLAGS) -Itests $< -o $@ $(BUILD)/san/libmemctl-san.a \
		$(shell $(PKG_CONFIG) --libs cmocka) $(PKG_LIBS)

# ---- fuzzers (clang libFuzzer): link ipc, policy, arena, and the daemon's pure
# parsers a target names in FUZZ_EXTRA_<target> ----
FUZZ_LIB_SRCS = $(IPC_SRCS) $(POLICY_SRCS) $(ARENA_SRCS)
FUZZ_EXTRA_fuzz_cgroup := daemon/cgroup-parse.c
FUZZ_EXTRA_fuzz_proc := daemon/proc-parse.c
FUZZ_EXTRA_fuzz_resctrl := daemon/resctrl-parse.c
FUZZ_EXTRA_fuzz_config := daemon/config.c daemon/log.c daemon/cli-text.c
FUZZ_EXTRA_fuzz_ctl := daemon/cli-text.c
.SECONDEXPANSION:
$(BUILD)/fuzz/%: tests/fuzz/%.c $(call fuzzobj,$(FUZZ_LIB_SRCS)) $$(call fuzzobj,$$(FUZZ_EXTRA_$$*))
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ \
		$(shell $(PKG_CONFIG) --libs libzstd liblz4) -lpthread -lm

# the BPF programs loaded and checked one by one, outside the daemon
$(BUILD)/tests/bpf_smoke: tests/integration/bpf_smoke.c $(BPF_SKELS) bpf/events.h
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@ $(PKG_LIBS)

# the offline accuracy harness of policy/growth (tests/accuracy): optimised,
# not sanitised, since it replays ~1,300 traces
$(BUILD)/accuracy/accuracy: tests/accuracy/accuracy.c $(call obj,$(POLICY_SRCS))
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -o $@ -lm

unit: $(UNIT_TESTS) $(BUILD)/tests/bpf_smoke $(BUILD)/accuracy/accuracy
fuzzers: $(FUZZERS)
# every target FUZZ_SECONDS seconds (ASan+UBSan) from its seed corpus and dictionary
# (tests/fuzz/corpus/TARGET, tests/fuzz/TARGET.dict); FUZZ_TARGETS= picks some
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: $(FUZZERS)
	$(Q)BUILD=$(BUILD) scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ---- the two commands ----
# a private instance: sockets in $(BUILD)/run, never /run/memctld (an installed
# daemon's), and no configuration file unless CONFIG= names one (/dev/null reads
# as empty: built-in defaults, not /etc/memctld.conf)
RUN_DIR = $(abspath $(BUILD))/run
CONFIG ?=
run: deps
	$(Q)$(MAKE) --no-print-directory all
	@echo "memctld: sockets in $(RUN_DIR), configuration $(or $(CONFIG),none (built-in defaults))"
	@echo "memctld: in another terminal: $(BUILD)/memctl --socket-dir $(RUN_DIR) status"
	$(BUILD)/memctld --log-level=info --socket-dir=$(RUN_DIR) \
		--config=$(if $(CONFIG),$(abspath $(CONFIG)),/dev/null)

# a scripted run of the whole thing (root): scripts/demo.sh
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all unit fuzzers
	$(Q)$(MAKE) --no-print-directory clang-check
	$(Q)BUILD=$(BUILD) tests/run.sh

# the same sources must build warning-free with clang too (-Werror)
clang-check:
	$(Q)$(MAKE) --no-print-directory CC=clang BUILD=$(BUILD)/clang $(BUILD)/clang/memctld \
		$(BUILD)/clang/memctl $(BUILD)/clang/libarena.a

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bench/run.sh

# the profiler seed's three experiments (root: a memory cgroup, zram swap); the
# report and its plots land in $(BUILD)/profile-report (REPORT_ARGS="--quick" to try)
profile-report: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/profile-report --out $(BUILD)/profile-report $(REPORT_ARGS)

check-config: $(BUILD)/memctld
	$(BUILD)/memctld --check-config --config units/memctld.conf

# ---- install ----
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/memctld $(DESTDIR)$(SBINDIR)/memctld
	install -m 0755 $(BUILD)/memctl $(DESTDIR)$(BINDIR)/memctl
	install -m 0755 $(LIBARENA_SO) $(DESTDIR)$(LIBDIR)/libarena.so.$(ARENA_SOVERSION)
	ln -sf libarena.so.$(ARENA_SOVERSION) $(DESTDIR)$(LIBDIR)/libarena.so
	install -m 0644 $(LIBARENA_A) $(DESTDIR)$(LIBDIR)/libarena.a
	install -m 0644 $(BUILD)/libarena.pc $(DESTDIR)$(LIBDIR)/pkgconfig/libarena.pc
	install -m 0644 arena/arena.h $(DESTDIR)$(INCLUDEDIR)/arena.h
	sed 's|@SBINDIR@|$(SBINDIR)|g' units/memctld.service.in > $(DESTDIR)$(UNITDIR)/memctld.service
	install -m 0644 units/memctld.socket $(DESTDIR)$(UNITDIR)/memctld.socket
	install -m 0644 units/memctld-metrics.socket $(DESTDIR)$(UNITDIR)/memctld-metrics.socket
	install -m 0644 units/memctld.tmpfiles $(DESTDIR)$(TMPFILESDIR)/memctld.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/memctld.conf ] || \
		install -m 0644 units/memctld.conf $(DESTDIR)$(SYSCONFDIR)/memctld.conf
	for m in docs/man/*.[1-8]; do \
		s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

format:
	find . -path ./$(BUILD) -prune -o \( -name '*.c' -o -name '*.h' \) -print | \
		grep -v -e vmlinux.h -e '\.skel\.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
