# GhostStream: `make demo` encodes a test pattern; `make test` passes the tests.
# Both install what is missing first (Debian 12 packages, a Rust toolchain): the demo what
# building needs and ffmpeg (`.ci/setup build`), the tests their whole stack (`.ci/setup test`).

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
# SVT-AV1 logs at info level to stderr unless told otherwise.
export SVT_LOG ?= 1
# The Zig toolchain .ci/setup unpacks (the ziglang wheel), for the Zig interface's tests.
export GHOSTSTREAM_ZIG ?= $(HOME)/.cache/ghoststream/zig-0.17.1/ziglang/zig

.PHONY: setup setup-test build demo test lint fuzz-smoke bench header shaders install clean

# Where `make install` puts the C library, header, Zig interface and pkg-config file, and the
# tool with its shell completions and man pages; DESTDIR stages it all below another root.
PREFIX ?= /usr/local
DESTDIR ?=

setup:
	@bash .ci/setup build

# The test stack on top: lavapipe, the validation layer, sway, mutter, PipeWire, the portal, streaming
# servers, Zig...
setup-test:
	@bash .ci/setup test

build: setup
	cargo build --release --workspace

demo: build
	@mkdir -p out
	target/release/ghoststream encode --codec av1 --seconds 5 --size 1280x720 --fps 30 -y -o out/demo.ivf
	@echo
	@echo "Demo written to $(CURDIR)/out/demo.ivf (AV1 in IVF, 5 s of 1280x720 at 30 fps)."
	@echo "Play it with:   ffplay out/demo.ivf      (or mpv out/demo.ivf)"
	@echo "Inspect it:     ffprobe -show_streams out/demo.ivf"

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --workspace --all-targets --no-default-features -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc -p ghoststream --no-deps

# The Python package (python/): python/test.sh builds its wheel with maturin, installs it into a
# private virtual environment (~/.cache/ghoststream/pyenv) and runs its pytest suite there.
# GPU tests run on lavapipe with the validation layer; GHOSTSTREAM_REQUIRE_GPU turns a missing
# device into a failure instead of a skip.
# The GPU test binaries then run again under trixie's validation layer 1.4.x (.ci/with-vvl-trixie;
# docs/HARDWARE.md, "Validation layers"), with the test Vulkan driver's loader test (`loader`,
# testing/video-icd). Not pipewire_sync: it re-executes itself, and under the runner its own path
# is the dynamic loader's. The RADV tables are left to the next run: their driver offers
# VK_KHR_video_encode_intra_refresh, whose structures 1.4.309 does not know.
# Then the test Vulkan driver's whole suite runs under Debian sid's layer (1.4.321 or newer,
# .ci/with-vvl-sid), the first to check intra refresh (tests/engine_intra_refresh.rs needs it).
VVL14_TESTS = --test validation_layer --test gpu_convert --test gpu_process --test gpu_session --test gpu_embed \
	--test gpu_handoff --test gpu_interop --test gpu_dmabuf --test pipewire_dmabuf --test cuda_handoff \
	--test wayland_dmabuf_gpu --test loader --test session --test engine_session --test engine_encode --test engine_handoff --test engine_direct --test engine_table_anv --test gpu_picture --test caps_query --test encode --test av1 --test encode_h265_10bit
test: setup-test lint fuzz-smoke
	GHOSTSTREAM_REQUIRE_GPU=1 GHOSTSTREAM_REQUIRE_GLSLC=1 GHOSTSTREAM_REQUIRE_SWAY=1 GHOSTSTREAM_REQUIRE_PIPEWIRE=1 GHOSTSTREAM_REQUIRE_PIPEWIRE14=1 GHOSTSTREAM_REQUIRE_PORTAL=1 GHOSTSTREAM_REQUIRE_GNOME=1 GHOSTSTREAM_REQUIRE_STREAMING=1 GHOSTSTREAM_REQUIRE_ZIG=1 GHOSTSTREAM_REQUIRE_VK_HEADERS=1 cargo test --workspace
	CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$(CURDIR)/.ci/with-vvl-trixie GHOSTSTREAM_REQUIRE_VVL14=1 GHOSTSTREAM_REQUIRE_GPU=1 GHOSTSTREAM_REQUIRE_PIPEWIRE=1 cargo test --workspace $(VVL14_TESTS)
	CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$(CURDIR)/.ci/with-vvl-sid GHOSTSTREAM_REQUIRE_VVL14=1 GHOSTSTREAM_REQUIRE_VVL_SID=1 GHOSTSTREAM_REQUIRE_GPU=1 cargo test -p ghoststream-video-icd --tests
	bash python/test.sh
	@echo "== Tests that pass here by skipping (this machine lacks the hardware); their hardware runs are in docs/HARDWARE.md:"
	@GHOSTSTREAM_REQUIRE_GPU=1 cargo test -q --workspace -- --nocapture --test-threads 1 cuda nvenc semaphore missing 2>&1 | grep -o "SKIPPED.*" | cut -c1-160 | sort | uniq -c || true

# The fuzz targets (fuzz/README.md): built with coverage instrumentation on the stable
# toolchain, then each run on its seeds and mutations for FUZZ_SECONDS; a crash fails.
FUZZ_SECONDS ?= 5
fuzz-smoke: setup
	bash fuzz/fuzz.sh smoke $(FUZZ_SECONDS)

bench: setup-test build
	python3 benches/encode_vs_ffmpeg.py
	cargo bench --bench session_overhead

# Recompiles shaders/*.comp into the committed shaders/spirv/*.spv (tests/shaders.rs then
# checks they are current and pass spirv-val).
shaders:
	GHOSTSTREAM_WRITE_SPIRV=1 cargo test -p ghoststream --test shaders

# Regenerates ffi/include/ghoststream.h from ffi/src (the test then checks it is current).
header:
	GHOSTSTREAM_WRITE_HEADER=1 cargo test -p ghoststream-ffi --test c_abi -- header

# The C ABI: libghoststream.so.MAJOR, libghoststream.a, ghoststream.h, ghoststream.zig and
# ghoststream.pc under PREFIX (e.g. make install PREFIX=$$HOME/.local), and beside it the tool:
# bin/ghoststream, its bash/zsh/fish completions and man pages. Two builds, so that the C library
# keeps its own features (the tool's PipeWire and portal capture stay out of it).
install: setup
	cargo build --release -p ghoststream-ffi
	cargo build --release -p ghoststream-tools
	DESTDIR="$(DESTDIR)" bash ffi/install.sh "$(PREFIX)"
	DESTDIR="$(DESTDIR)" bash tools/install.sh "$(PREFIX)"

clean:
	cargo clean
	rm -rf out
