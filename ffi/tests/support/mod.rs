//! What the C-ABI tests share: building the C libraries, compiling C against them, reading
//! the header, and finding a Zig toolchain.
#![allow(dead_code)] // Each test binary uses a part.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The ffi crate's directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the C libraries from the current sources (`cargo test` builds only the crate's test
/// harness, not its cdylib) and returns the directory holding libghoststream.so: the test
/// binary's grandparent, the same target directory and profile.
pub fn library_dir() -> PathBuf {
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "ghoststream-ffi", "--lib"])
        .arg("--manifest-path")
        .arg(crate_dir().join("Cargo.toml"))
        .output()
        .expect("cargo runs");
    assert!(
        build.status.success(),
        "building libghoststream failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    assert!(
        dir.join("libghoststream.so").exists(),
        "no libghoststream.so in {}",
        dir.display()
    );
    dir
}

/// A directory holding `libghoststream.so.0` (the soname executables ask for, as an installed
/// library has it) pointing at the freshly built library.
pub fn soname_dir(lib: &Path, dir: &Path) -> PathBuf {
    let link = dir.join("libghoststream.so.0");
    if !link.exists() {
        std::os::unix::fs::symlink(lib.join("libghoststream.so"), &link).unwrap();
    }
    dir.to_path_buf()
}

/// Fails the test with the command's output unless it succeeded.
pub fn check(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// gcc with the strict flags every C file of this crate is built with (C11, all warnings as
/// errors), and the header's directory on the include path.
pub fn gcc() -> Command {
    let mut c = Command::new("gcc");
    c.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(crate_dir().join("include"));
    c
}

/// Builds the test program `tests/SOURCE` with `flags` into `exe`, linked against the built
/// library; fails the test with gcc's output if it does not build.
pub fn build_c_test(source: &str, flags: &[&str], exe: &Path) {
    let build = gcc()
        .args(flags)
        .arg(crate_dir().join("tests").join(source))
        .arg("-L")
        .arg(library_dir())
        .arg("-lghoststream")
        .arg("-o")
        .arg(exe)
        .output()
        .unwrap();
    check(&format!("building {source}"), &build);
}

/// The sanitizer flags for test programs (leaks are checked at exit).
pub const SANITIZERS: [&str; 2] = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"];

/// Runs a sanitized test program's command with leak checking on and `LD_LIBRARY_PATH` at
/// `lib_dir`, on Mesa 25's lavapipe when it is here (it imports DMA-BUFs).
///
/// Mesa's lavapipe keeps a few allocations for the life of the process (set up once when the
/// loader first calls into it); the loader unloads the driver before LeakSanitizer looks, so
/// they would show with no module to name. The driver is therefore preloaded (after the ASan
/// runtime, which must come first) so that it stays mapped, and tests/lsan.supp suppresses
/// leaks inside it — and only there.
pub fn sanitized(cmd: &mut Command, lib_dir: &Path) -> Output {
    cmd.env("LD_LIBRARY_PATH", lib_dir)
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env(
            "LSAN_OPTIONS",
            format!(
                "suppressions={}",
                crate_dir().join("tests/lsan.supp").display()
            ),
        )
        .env("SVT_LOG", "1");
    let icd = dmabuf_icd();
    if let Some(icd) = &icd {
        cmd.env("VK_DRIVER_FILES", icd).env("VK_ICD_FILENAMES", icd);
    }
    let manifest =
        icd.unwrap_or_else(|| PathBuf::from("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"));
    if let Some(driver) = icd_library(&manifest) {
        let asan = Command::new("gcc")
            .arg("-print-file-name=libasan.so")
            .output()
            .unwrap();
        let asan = String::from_utf8_lossy(&asan.stdout).trim().to_string();
        cmd.env("LD_PRELOAD", format!("{asan}:{}", driver.display()));
    }
    cmd.output().unwrap()
}

/// Runs `cmd` with its output in files under `dir`, killing it (and failing the test) if it runs
/// past `limit`: no test program may hang the suite.
pub fn run_bounded(cmd: &mut Command, dir: &Path, name: &str, limit: Duration) -> Output {
    let (out_path, err_path) = (
        dir.join(format!("{name}.stdout")),
        dir.join(format!("{name}.stderr")),
    );
    let mut child = cmd
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name} ran past {limit:?} and was killed (a hang):\nstdout:\n{}\nstderr:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

/// The driver library an ICD manifest names, when the manifest and the library exist.
fn icd_library(manifest: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let after = text.split("\"library_path\"").nth(1)?;
    let path = after.split('"').nth(1)?;
    let path = PathBuf::from(path);
    path.exists().then_some(path)
}

/// The ICD manifest of Mesa 25's lavapipe (which imports DMA-BUFs), fetched by
/// `.ci/get-mesa25-lavapipe.sh`, when present: `GHOSTSTREAM_DMABUF_ICD` or its default place.
pub fn dmabuf_icd() -> Option<PathBuf> {
    let icd = std::env::var_os("GHOSTSTREAM_DMABUF_ICD")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/ghoststream/mesa25/lvp.json")
        });
    icd.exists().then_some(icd)
}

/// One struct of the header: its name and its fields in order.
#[derive(Debug)]
pub struct HeaderStruct {
    pub name: String,
    pub fields: Vec<String>,
}

/// The structs and `#define` constants of the checked-in header, in order.
pub fn header_items() -> (Vec<HeaderStruct>, Vec<String>) {
    let text = std::fs::read_to_string(crate_dir().join("include/ghoststream.h")).unwrap();
    let mut structs = Vec::new();
    let mut constants = Vec::new();
    let mut current: Option<HeaderStruct> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("#define GS_") {
            let name = rest.split_whitespace().next().unwrap();
            constants.push(format!("GS_{name}"));
        } else if let Some(rest) = t.strip_prefix("typedef struct ") {
            if let Some(name) = rest.strip_suffix(" {") {
                current = Some(HeaderStruct {
                    name: name.to_string(),
                    fields: Vec::new(),
                });
            }
        } else if t.starts_with('}') {
            if let Some(s) = current.take() {
                structs.push(s);
            }
        } else if let Some(s) = current.as_mut() {
            if t.ends_with(';') && !t.starts_with('*') && !t.starts_with("/*") {
                let decl = t.trim_end_matches(';');
                let decl = decl.split('[').next().unwrap();
                let name = decl.rsplit([' ', '*']).next().unwrap();
                s.fields.push(name.to_string());
            }
        }
    }
    (structs, constants)
}

/// The Zig toolchain: `GHOSTSTREAM_ZIG` (a path to the `zig` binary) or `zig` on PATH; `None`
/// (with the reason printed) when there is none, unless `GHOSTSTREAM_REQUIRE_ZIG` is set.
pub fn zig() -> Option<PathBuf> {
    let candidate = std::env::var_os("GHOSTSTREAM_ZIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("zig"));
    let works = Command::new(&candidate)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    let why = format!(
        "no Zig toolchain at {} (`make setup` installs the ziglang wheel; set GHOSTSTREAM_ZIG)",
        candidate.display()
    );
    assert!(
        std::env::var_os("GHOSTSTREAM_REQUIRE_ZIG").is_none(),
        "GHOSTSTREAM_REQUIRE_ZIG is set but there is {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

/// The recorded ABI layout (see tests/layout.rs).
pub fn record_path() -> PathBuf {
    crate_dir().join("tests/abi_layout.txt")
}

/// A Zig test asserting the recorded layout on the Zig interface's own declarations.
pub fn zig_layout_test() -> String {
    let recorded = std::fs::read_to_string(record_path()).unwrap();
    let mut z = String::from(
        "const std = @import(\"std\");\nconst gs = @import(\"ghoststream.zig\");\n\ntest \"the Zig declarations match the recorded C layout\" {\n",
    );
    for line in recorded.lines() {
        let mut parts = line.split_whitespace();
        let (kind, name, value) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        match kind {
            "struct" => writeln!(
                z,
                "    try std.testing.expectEqual({value}, @sizeOf(gs.c.{name}));"
            ),
            "field" => {
                let (s, f) = name.split_once('.').unwrap();
                writeln!(
                    z,
                    "    try std.testing.expectEqual({value}, @offsetOf(gs.c.{s}, \"{f}\"));"
                )
            }
            _ => writeln!(z, "    try std.testing.expectEqual({value}, gs.c.{name});"),
        }
        .unwrap();
    }
    z.push_str("}\n");
    z
}

/// The BT.709 limited-range Y, U, V of an 8-bit RGB colour, in float64: what the GPU
/// conversion of a flat colour must decode to.
pub fn bt709_limited(r: f64, g: f64, b: f64) -> [f64; 3] {
    let (kr, kb) = (0.2126, 0.0722);
    let (r, g, b) = (r / 255.0, g / 255.0, b / 255.0);
    let y = kr * r + (1.0 - kr - kb) * g + kb * b;
    let cb = (b - y) / (2.0 * (1.0 - kb));
    let cr = (r - y) / (2.0 * (1.0 - kr));
    [16.0 + 219.0 * y, 128.0 + 224.0 * cb, 128.0 + 224.0 * cr]
}

/// Checks that every 4:2:0 frame of `yuv` (`width` x `height`) has plane means within 1.5 code
/// values of `expected(frame index)`.
pub fn check_flat_frames(
    yuv: &[u8],
    width: usize,
    height: usize,
    frames: usize,
    expected: impl Fn(usize) -> [f64; 3],
) {
    let (luma, chroma) = (width * height, (width / 2) * (height / 2));
    assert_eq!(yuv.len(), frames * (luma + 2 * chroma));
    for (n, frame) in yuv.chunks(luma + 2 * chroma).enumerate() {
        let want = expected(n);
        let planes = [
            &frame[..luma],
            &frame[luma..luma + chroma],
            &frame[luma + chroma..],
        ];
        for (p, plane) in planes.iter().enumerate() {
            let mean = plane.iter().map(|&b| f64::from(b)).sum::<f64>() / plane.len() as f64;
            assert!(
                (mean - want[p]).abs() < 1.5,
                "frame {n} plane {p}: mean {mean:.2}, want {:.2}",
                want[p]
            );
        }
    }
}
