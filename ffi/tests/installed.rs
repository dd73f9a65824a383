//! The installed library, as a project outside this workspace sees it: `ffi/install.sh`
//! installs the freshly built library under a temporary prefix; the examples are copied to
//! another directory and built only through pkg-config — the C pattern encoder linked
//! dynamically (under ASan and UBSan) and statically (Libs.private), the Vulkan embedding
//! example (its frames from the application's own device, the validation layer on), and the
//! Zig example against the installed Zig interface, and the recorder example (`record.c`, under
//! ASan and UBSan: the test pattern to Matroska with a replay saved at the end, and a headless
//! sway's output captured, its pixels checked) — and each one's output is decoded by ffmpeg.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/stream_env/mod.rs"]
mod stream_env;
mod support;
#[path = "../../tests/sway/mod.rs"]
mod sway;
#[path = "../../tests/unprivileged/mod.rs"]
mod unprivileged;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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

impl Installed {
    /// `record.c` built through pkg-config against the installed library, under ASan and UBSan.
    fn record_example(&self) -> PathBuf {
        let mut flags = self.pkg_config(&["--cflags", "--libs", "ghoststream"]);
        flags.push(format!("-Wl,-rpath,{}", self.libdir()));
        flags.extend(SANITIZERS.iter().map(|s| s.to_string()));
        self.gcc("record.c", "record", &flags)
    }

    /// Runs the recorder example with `args` in the project directory (sanitized, leaks
    /// checked); fails the test unless it exits 0; returns its standard output.
    fn record(&self, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut cmd = Command::new(exe);
        cmd.args(args).current_dir(&self.project);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let run = sanitized(&mut cmd, Path::new(&self.libdir()));
        check(&format!("record {}", args.join(" ")), &run);
        String::from_utf8(run.stdout).unwrap()
    }
}

/// The frame count in the example's last line, `recorded N frames (B bytes) to OUTPUT`.
fn recorded_frames(stdout: &str) -> usize {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("recorded "))
        .unwrap_or_else(|| panic!("no `recorded` line in:\n{stdout}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The names of the events the example printed, in order.
fn event_names(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .map(|l| l.split(':').next().unwrap())
        .filter(|name| *name != "falling behind")
        .collect()
}

#[test]
fn the_record_example_records_the_pattern_and_saves_a_replay_at_the_end() {
    let at = Installed::new();
    let exe = at.record_example();

    // Without a replay the recording stops by itself: 2 s of the pattern at its default 30 fps.
    let exact = at.project.join("exact.mkv");
    let stdout = at.record(&exe, &["testsrc", "exact.mkv", "2"], &[]);
    assert_eq!(event_names(&stdout), ["started", "finished"], "{stdout}");
    assert_eq!(recorded_frames(&stdout), 60, "{stdout}");
    let frames = common::probe_frames(&exact);
    assert_eq!(frames.len(), 60);
    assert!(frames[0].key);
    assert_eq!((frames[0].width, frames[0].height), (1280, 720));

    // With a replay of the last second: saved once 2 s are encoded, then stopped (the frames
    // encoded while the save was written come too).
    let out = at.project.join("out.mkv");
    let stdout = at.record(&exe, &["testsrc", "out.mkv", "2", "--replay", "1"], &[]);
    assert_eq!(
        event_names(&stdout),
        ["started", "replay saved", "finished"],
        "{stdout}"
    );
    let recorded = recorded_frames(&stdout);
    assert!((60..=90).contains(&recorded), "{stdout}");
    let frames = common::probe_frames(&out);
    assert_eq!(frames.len(), recorded, "the file holds every frame encoded");
    assert!(frames[0].key);
    let printed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay path in:\n{stdout}"));
    assert!(
        stdout.contains(&format!("event: replay saved: {printed} (")),
        "the event names the same file: {stdout}"
    );
    let replay = at.project.join(printed);
    let frames = common::probe_frames(&replay);
    // At least the last second (from the key frame that covers it: the first, with a key
    // frame every two seconds), at most everything encoded by then.
    assert!(
        (30..=recorded).contains(&frames.len()),
        "{} frames in the replay; {stdout}",
        frames.len()
    );
    assert!(frames[0].key, "the replay starts on a key frame");
}

/// The whole job through the installed library: a recording with a replay buffer and
/// a live stream at once (srt-live-transmit listening), every output decoded.
#[test]
fn the_record_example_keeps_a_replay_and_streams_over_srt_at_once() {
    let Some(mut server) = stream_env::SrtServer::start() else {
        return;
    };
    let at = Installed::new();
    let exe = at.record_example();
    let url = server.url();
    let stdout = at.record(
        &exe,
        &[
            "testsrc", "live.mkv", "2", "--replay", "1", "--stream", &url,
        ],
        &[],
    );
    let events = event_names(&stdout);
    assert_eq!(events.first().copied(), Some("started"), "{stdout}");
    assert!(events.contains(&"stream connected"), "{stdout}");
    assert!(events.contains(&"replay saved"), "{stdout}");
    assert_eq!(events.last().copied(), Some("finished"), "{stdout}");
    let recorded = recorded_frames(&stdout);
    let frames = common::probe_frames(&at.project.join("live.mkv"));
    assert_eq!(frames.len(), recorded, "{stdout}");
    let printed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay path in:\n{stdout}"));
    let replay = common::probe_frames(&at.project.join(printed));
    assert!(replay.len() >= 30 && replay[0].key, "{stdout}");
    // srt-live-transmit leaves once the recorder disconnects, writing what it received.
    server.stop(Duration::from_secs(5));
    let streamed = common::probe_frames(&server.file(1));
    assert!(
        streamed.len() >= 50 && streamed[0].key,
        "{} frames received over SRT of {recorded}; {stdout}",
        streamed.len()
    );
}

#[test]
fn the_record_example_captures_a_headless_sways_output() {
    let Some(sway) = sway::HeadlessSway::start(320, 192, "#336699") else {
        return;
    };
    // Let swaybg paint the background before the first frame is taken.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let at = Installed::new();
    let exe = at.record_example();
    let out = at.project.join("screen.mkv");
    let stdout = at.record(
        &exe,
        &["wayland", "screen.mkv", "1"],
        &[("WAYLAND_DISPLAY", &sway.socket)],
    );
    assert!(
        stdout.contains("event: started: wayland output HEADLESS-1"),
        "{stdout}"
    );
    // One second at the capture's default 60 fps (an unchanging screen's frames repeated).
    assert_eq!(recorded_frames(&stdout), 60, "{stdout}");
    let frames = common::probe_frames(&out);
    assert_eq!(frames.len(), 60);
    assert_eq!((frames[0].width, frames[0].height), (320, 192));
    let rgb = common::decode_raw(&out, "rgb24");
    assert_eq!(rgb.len(), 60 * 320 * 192 * 3);
    // Limited-range 4:2:0 and back: within a few codes of #336699 everywhere.
    let worst = sway::worst_code_distance(&rgb, [0x33, 0x66, 0x99]);
    assert!(worst <= 3, "a decoded pixel is {worst} codes off #336699");
}
