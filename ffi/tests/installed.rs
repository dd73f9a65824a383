//! The installed library, as a project outside this workspace sees it: `ffi/install.sh`
//! installs the freshly built library under a temporary prefix; the examples are copied to
//! another directory and built only through pkg-config — the C pattern encoder linked
//! dynamically (under ASan and UBSan) and statically (Libs.private), the Vulkan embedding
//! example (its frames from the application's own device, the validation layer on), and the
//! Zig example against the installed Zig interface — and each one's output is decoded by
//! ffmpeg.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{
    bt709_limited, check, check_flat_frames, crate_dir, library_dir, sanitized, zig, SANITIZERS,
};

/// An installed prefix and a project directory beside it.
struct Installed {
    _dir: tempfile::TempDir,
    prefix: PathBuf,
    project: PathBuf,
}

impl Installed {
    fn new() -> Self {
        let lib = library_dir();
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("prefix");
        let install = Command::new("bash")
            .arg(crate_dir().join("install.sh"))
            .arg(&prefix)
            .arg(&lib)
            .output()
            .unwrap();
        check("ffi/install.sh", &install);
        let project = dir.path().join("project");
        std::fs::create_dir(&project).unwrap();
        for entry in std::fs::read_dir(crate_dir().join("examples")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, project.join(path.file_name().unwrap())).unwrap();
        }
        Self {
            _dir: dir,
            prefix,
            project,
        }
    }

    /// `pkg-config ARGS` against the installed prefix only, split into words.
    fn pkg_config(&self, args: &[&str]) -> Vec<String> {
        let out = Command::new("pkg-config")
            .args(args)
            .env("PKG_CONFIG_PATH", self.prefix.join("lib/pkgconfig"))
            .output()
            .unwrap();
        check("pkg-config", &out);
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    fn libdir(&self) -> String {
        self.pkg_config(&["--variable=libdir", "ghoststream"])
            .concat()
    }

    /// Builds `source` (in the project) with gcc's strict flags and `flags`, as `name`.
    fn gcc(&self, source: &str, name: &str, flags: &[String]) -> PathBuf {
        let exe = self.project.join(name);
        let mut cmd = Command::new("gcc");
        // The strict flags, but not the workspace's include path: only pkg-config's.
        cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
            .arg(self.project.join(source))
            .args(flags)
            .arg("-o")
            .arg(&exe);
        check(&format!("building {source}"), &cmd.output().unwrap());
        exe
    }
}

fn run_in(project: &Path, exe: &Path, args: &[&str]) -> std::process::Output {
    Command::new(exe)
        .args(args)
        .current_dir(project)
        .env("SVT_LOG", "1")
        .output()
        .unwrap()
}

#[test]
fn the_c_example_links_the_installed_library_dynamically_and_statically() {
    let at = Installed::new();
    let mut flags = at.pkg_config(&["--cflags", "--libs", "ghoststream"]);
    flags.push(format!("-Wl,-rpath,{}", at.libdir()));
    flags.extend(SANITIZERS.iter().map(|s| s.to_string()));
    let exe = at.gcc("encode_pattern.c", "encode_pattern", &flags);
    let out = at.project.join("pattern.mkv");
    let run = sanitized(
        Command::new(&exe)
            .args([out.to_str().unwrap(), "hevc", "2"])
            .current_dir(&at.project),
        Path::new(&at.libdir()),
    );
    check("encode_pattern (dynamic, sanitized)", &run);
    let frames = common::probe_frames(&out);
    assert_eq!(frames.len(), 60);
    assert_eq!((frames[0].width, frames[0].height), (640, 360));

    // Static: the archive plus Libs.private, and no libghoststream.so needed at run time.
    let mut flags = at.pkg_config(&["--cflags", "ghoststream"]);
    flags.extend(["-Wl,-Bstatic", "-lghoststream", "-Wl,-Bdynamic"].map(String::from));
    flags.extend(
        at.pkg_config(&["--static", "--libs", "ghoststream"])
            .into_iter()
            .filter(|f| f != "-lghoststream"),
    );
    let exe = at.gcc("encode_pattern.c", "encode_pattern_static", &flags);
    let needed = Command::new("readelf")
        .arg("-d")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&needed.stdout).contains("libghoststream"));
    let out = at.project.join("pattern.ivf");
    let run = run_in(&at.project, &exe, &[out.to_str().unwrap(), "av1", "1"]);
    check("encode_pattern (static)", &run);
    assert_eq!(common::probe_frames(&out).len(), 30);
}

#[test]
fn the_vulkan_example_encodes_the_applications_images() {
    if !Path::new("/usr/include/vulkan/vulkan.h").exists() {
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
            "GHOSTSTREAM_REQUIRE_GPU is set but vulkan.h is missing (libvulkan-dev)"
        );
        eprintln!("SKIPPED: no vulkan.h (install libvulkan-dev)");
        return;
    }
    let at = Installed::new();
    let mut flags = at.pkg_config(&["--cflags", "--libs", "ghoststream", "vulkan"]);
    flags.push(format!("-Wl,-rpath,{}", at.libdir()));
    flags.extend(SANITIZERS.iter().map(|s| s.to_string()));
    let exe = at.gcc("vulkan_embed.c", "vulkan_embed", &flags);
    let out = at.project.join("embed.mkv");
    let run = sanitized(
        Command::new(&exe)
            .args([out.to_str().unwrap(), "--validate"])
            .current_dir(&at.project),
        Path::new(&at.libdir()),
    );
    check("vulkan_embed --validate (sanitized)", &run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("60 packets from the application's images; 0 validation messages"),
        "{stdout}"
    );
    // Frame n was cleared to RGB (40 + 3n, 200 - 2n, 90 + n): each plane's mean is the
    // float64 BT.709 value within 1.5 code values.
    let yuv = common::decode_raw(&out, "yuv420p");
    check_flat_frames(&yuv, 320, 180, 60, |n| {
        let n = n as f64;
        bt709_limited(40.0 + 3.0 * n, 200.0 - 2.0 * n, 90.0 + n)
    });
}

#[test]
fn the_zig_example_builds_against_the_installed_interface() {
    let Some(zig) = zig() else { return };
    let at = Installed::new();
    let zigdir = at
        .pkg_config(&["--variable=zigdir", "ghoststream"])
        .concat();
    let exe = at.project.join("encode_pattern_zig");
    let mut cmd = Command::new(zig);
    cmd.arg("build-exe")
        .args(["--dep", "ghoststream", "-Mroot=encode_pattern.zig"])
        .arg(format!("-Mghoststream={zigdir}/ghoststream.zig"))
        .arg("-lc")
        .args(at.pkg_config(&["--libs", "ghoststream"]))
        .args(["-rpath", &at.libdir()])
        .arg(format!("-femit-bin={}", exe.display()))
        .current_dir(&at.project)
        .env("ZIG_GLOBAL_CACHE_DIR", at.project.join("zig-cache"))
        .env("ZIG_LOCAL_CACHE_DIR", at.project.join("zig-cache"));
    check("zig build-exe encode_pattern.zig", &cmd.output().unwrap());
    let out = at.project.join("zig.mkv");
    let run = run_in(&at.project, &exe, &[out.to_str().unwrap()]);
    check("encode_pattern (Zig)", &run);
    let frames = common::probe_frames(&out);
    assert_eq!(frames.len(), 90);
    assert_eq!((frames[0].width, frames[0].height), (320, 240));
}
