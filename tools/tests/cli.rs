//! The `ghoststream` tool as a user runs it: output decodable by ffmpeg, and every bad input a
//! non-zero exit with one clear line and no partial output.

#[cfg(feature = "pipewire")]
#[path = "../../tests/pipewire_env/mod.rs"]
mod pipewire_env;
#[cfg(feature = "portal")]
#[path = "../../tests/portal_env/mod.rs"]
mod portal_env;
#[cfg(feature = "portal")]
#[path = "../../tests/session_bus/mod.rs"]
mod session_bus;
#[path = "../../tests/stream_env/mod.rs"]
mod stream_env;
#[path = "../../tests/sway/mod.rs"]
mod sway;
#[path = "../../tests/unprivileged/mod.rs"]
mod unprivileged;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghoststream"));
    c.env("SVT_LOG", "1").env_remove("RUST_LOG");
    c
}

/// A path no file is at (a fresh name in this run's own directory), for runs that must fail
/// before writing: a shared fixed path would exist once any run wrote it, and an existing
/// output is refused without -y before anything else is checked.
fn never() -> String {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.path().join(format!("never-{n}.ivf"));
    path.to_str().unwrap().to_string()
}

fn run(args: &[&str]) -> Output {
    tool().args(args).output().expect("the tool runs")
}

/// Runs the tool, asserts success, and returns what it printed on stderr.
fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a failure with exactly one stderr line, `error: ...`, containing each of `needles`.
fn assert_one_line_error(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure, got success");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    for n in needles {
        assert!(
            lines[0].contains(n),
            "'{}' does not mention '{n}'",
            lines[0]
        );
    }
}

fn ffprobe_count(path: &Path, demuxer: &str) -> usize {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-f",
            demuxer,
            "-count_frames",
            "-select_streams",
            "v:0",
        ])
        .args([
            "-show_entries",
            "stream=nb_read_frames,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().rsplit(',').next().unwrap().parse().unwrap()
}

/// Decodes the whole file with ffmpeg, errors fatal (`-xerror`): every packet must be whole.
fn assert_decodes_cleanly(path: &Path, demuxer: &str) {
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-f", demuxer, "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&decode.stderr)
    );
}

/// Writes a Y4M of `frames` whole frames of 64x64 I420 plus `extra` bytes of a partial frame.
fn make_y4m(path: &Path, frames: usize, extra: usize) {
    let mut f = std::fs::File::create(path).unwrap();
    writeln!(f, "YUV4MPEG2 W64 H64 F30:1 Ip C420jpeg").unwrap();
    for n in 0..frames {
        f.write_all(b"FRAME\n").unwrap();
        let px: Vec<u8> = (0..64 * 64 * 3 / 2)
            .map(|i| u8::try_from((i * 7 + n * 13) % 200 + 16).unwrap())
            .collect();
        f.write_all(&px).unwrap();
    }
    if extra > 0 {
        f.write_all(b"FRAME\n").unwrap();
        f.write_all(&vec![128u8; extra]).unwrap();
    }
}

#[test]
fn encodes_the_test_pattern_for_each_codec() {
    let dir = tempfile::tempdir().unwrap();
    for (codec, file, demuxer) in [
        ("h264", "a.h264", "h264"),
        ("hevc", "a.h265", "hevc"),
        ("av1", "a.ivf", "ivf"),
        ("av1", "a.obu", "obu"),
    ] {
        let out_path = dir.path().join(file);
        let stderr = run_ok(&[
            "encode",
            "--codec",
            codec,
            "--size",
            "320x192",
            "--frames",
            "24",
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert!(
            stderr.contains("wrote") && stderr.contains("24 frames"),
            "{stderr}"
        );
        assert_eq!(ffprobe_count(&out_path, demuxer), 24, "{file}");
    }
}

#[test]
fn encodes_y4m_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let y4m = dir.path().join("in.y4m");
    make_y4m(&y4m, 12, 0);
    let out_path = dir.path().join("o.h264");
    let mut child = tool()
        .args([
            "encode",
            "-i",
            "-",
            "--codec",
            "h264",
            "-q",
            "-o",
            out_path.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&y4m).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "--quiet printed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ffprobe_count(&out_path, "h264"), 12);
}

/// Raw BGRA input: converted to YUV (on the GPU where the machine has one, as CI does with
/// lavapipe; on the CPU with --gpu off) and encoded; both decode.
#[test]
fn raw_bgra_input_is_converted_and_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.bgra");
    let frame: Vec<u8> = (0..64 * 48)
        .flat_map(|i| {
            [
                u8::try_from(i % 64 * 4).unwrap(),
                u8::try_from(i / 64 * 5).unwrap(),
                128,
                255,
            ]
        })
        .collect();
    std::fs::write(&raw, frame.repeat(6)).unwrap();
    for gpu in ["auto", "off"] {
        let out_path = dir.path().join(format!("bgra-{gpu}.h264"));
        let stderr = run_ok(&[
            "encode",
            "-i",
            raw.to_str().unwrap(),
            "--raw-format",
            "bgra8",
            "--size",
            "64x48",
            "--codec",
            "h264",
            "--gpu",
            gpu,
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert!(stderr.contains("processing:"), "{stderr}");
        if gpu == "off" {
            assert!(stderr.contains("processing: CPU"), "{stderr}");
        }
        assert_eq!(ffprobe_count(&out_path, "h264"), 6);
    }
    // A usage error: clap's one error line (naming the value), then its pointer to --help.
    let bad = run(&["encode", "--gpu", "sometimes", "-o", &never()]);
    assert!(!bad.status.success());
    let first = String::from_utf8_lossy(&bad.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        first.starts_with("error: ") && first.contains("sometimes"),
        "{first}"
    );
}

#[test]
fn truncated_y4m_keeps_every_whole_frame_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let y4m = dir.path().join("cut.y4m");
    make_y4m(&y4m, 10, 1000);
    let out_path = dir.path().join("cut.h264");
    let out = run(&[
        "encode",
        "-i",
        y4m.to_str().unwrap(),
        "--codec",
        "h264",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &out,
        &["frame 10", "1000 of 6144 bytes", "10 frames before it"],
    );
    // The ten whole frames are in the file, every packet whole: ffmpeg decodes them with
    // errors fatal.
    assert_eq!(ffprobe_count(&out_path, "h264"), 10);
    assert_decodes_cleanly(&out_path, "h264");
}

#[test]
fn malformed_y4m_header_fails_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.y4m");
    std::fs::write(&bad, b"YUV4MPEG2 W64 H64 F30:1 C422\n").unwrap();
    let out_path = dir.path().join("never.ivf");
    let out = run(&[
        "encode",
        "-i",
        bad.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["C422"]);
    assert!(!out_path.exists(), "an output file was left behind");
}

#[test]
fn missing_input_file() {
    let out = run(&[
        "encode",
        "-i",
        "/nonexistent/in.y4m",
        "-o",
        "/tmp/never-written.ivf",
    ]);
    assert_one_line_error(&out, &["/nonexistent/in.y4m"]);
}

#[test]
fn cqp_with_a_bitrate() {
    let out = run(&[
        "encode",
        "--rc",
        "cqp",
        "--qp",
        "20",
        "--bitrate",
        "5M",
        "-o",
        "/tmp/never-written.ivf",
    ]);
    assert_one_line_error(&out, &["bitrate", "5000000", "cqp"]);
}

#[test]
fn bitrate_zero_and_keyint_zero() {
    assert_one_line_error(
        &run(&["encode", "--bitrate", "0", "-o", &never()]),
        &["--bitrate", "'0'"],
    );
    assert_one_line_error(
        &run(&["encode", "--keyint", "0", "-o", &never()]),
        &["keyframe_interval 0"],
    );
}

#[test]
fn odd_size() {
    let out = run(&["encode", "--size", "321x240", "-o", &never()]);
    assert_one_line_error(&out, &["321x240"]);
}

#[test]
fn unwritable_output_fails_before_encoding() {
    let out = run(&["encode", "--frames", "5", "-o", "/nonexistent-dir/out.ivf"]);
    assert_one_line_error(&out, &["/nonexistent-dir/out.ivf"]);
}

#[test]
fn output_format_must_fit_the_codec() {
    assert_one_line_error(
        &run(&["encode", "--codec", "h264", "-o", &never()]),
        &["ivf", "h264"],
    );
    assert_one_line_error(
        &run(&["encode", "-o", "/tmp/never.xyz"]),
        &["never.xyz", ".mkv, .mp4 or .ts"],
    );
    assert_one_line_error(
        &run(&["encode", "--codec", "av1", "-o", "/tmp/never.ts"]),
        &["ts files cannot carry av1"],
    );
    assert!(!Path::new("/tmp/never.ts").exists());
}

#[test]
fn full_disk_is_a_typed_error() {
    let out = run(&[
        "encode",
        "--codec",
        "h264",
        "--format",
        "annexb",
        "--frames",
        "5",
        "-o",
        "/dev/full",
    ]);
    assert_one_line_error(&out, &["/dev/full", "No space left on device"]);
}

#[test]
fn unavailable_encoder_says_why() {
    let out = run(&[
        "encode",
        "--encoder",
        "nvenc",
        "--frames",
        "2",
        "-o",
        &never(),
    ]);
    // Without the NVIDIA kernel driver (CI), the reason names the missing library and the fix;
    // with it but no encoder engine (the H200), it names the GPU and the driver's status.
    if std::path::Path::new("/proc/driver/nvidia").exists() {
        assert_one_line_error(&out, &["nvenc", "NVENC"]);
    } else {
        assert_one_line_error(
            &out,
            &[
                "nvenc",
                "libnvidia-encode.so.1",
                "install the NVIDIA driver",
            ],
        );
    }
}

#[test]
fn auto_encoder_falls_back_and_says_why_nvenc_was_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auto.ivf");
    let out = Command::new(env!("CARGO_BIN_EXE_ghoststream"))
        .args(["encode", "--encoder", "auto", "--frames", "3", "-o"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(std::fs::metadata(&path).unwrap().len() > 32);
    let line = stderr
        .lines()
        .find(|l| l.contains("nvenc passed over"))
        .unwrap_or_else(|| panic!("no nvenc reason in:\n{stderr}"));
    assert!(line.contains("NVENC"), "{line}");
}

#[test]
fn probe_json_lists_every_path_with_a_reason() {
    let out = run(&["probe", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("probe --json is JSON");
    let entries = v.as_array().unwrap();
    for codec in ["av1", "hevc", "h264"] {
        let sw = entries
            .iter()
            .find(|e| e["name"] == "software" && e["codec"] == codec)
            .unwrap_or_else(|| panic!("no software {codec} entry"));
        assert_eq!(sw["available"], true, "{sw}");
        let nv = entries
            .iter()
            .find(|e| e["name"] == "nvenc" && e["codec"] == codec)
            .unwrap();
        assert_eq!(nv["available"], false);
        assert!(!nv["detail"].as_str().unwrap().is_empty());
    }
    assert!(entries.iter().any(|e| e["category"] == "capture"));
    let gpu = entries
        .iter()
        .find(|e| e["category"] == "gpu")
        .expect("a gpu entry");
    assert!(!gpu["detail"].as_str().unwrap().is_empty());
    if std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some() {
        assert_eq!(gpu["available"], true, "{gpu}");
    }
}

#[test]
fn help_teaches_with_examples() {
    for sub in ["encode", "record", "probe"] {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Examples:") && text.contains(&format!("ghoststream {sub}")),
            "{text}"
        );
    }
}

/// A file-size limit enforced by the kernel (RLIMIT_FSIZE, with SIGXFSZ ignored so that write
/// returns EFBIG) cuts a packet in half: the sink must cut the file back to its last whole
/// packet, the tool must fail with one line, and what is left must decode cleanly.
#[test]
fn file_size_limit_mid_packet_leaves_only_whole_packets() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("limited.h264");
    let script = format!(
        "trap '' XFSZ; ulimit -f 200; exec '{}' encode --codec h264 --size 320x192 --frames 90 --bitrate 2M -o '{}'",
        env!("CARGO_BIN_EXE_ghoststream"),
        out_path.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .env("SVT_LOG", "1")
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        &["limited.h264", "File too large", "every packet in it whole"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kept: u64 = stderr
        .split("keeps its first ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let size = std::fs::metadata(&out_path).unwrap().len();
    assert_eq!(size, kept, "the file is not the size the error reports");
    assert!(size > 0 && size <= 200 * 512, "size {size}");
    let frames = ffprobe_count(&out_path, "h264");
    assert!(frames > 0 && frames < 90, "{frames} frames");
    assert_decodes_cleanly(&out_path, "h264");
}

/// Runs an encode that needs the GPU: `None` (after printing why) when there is no Vulkan
/// device and GHOSTSTREAM_REQUIRE_GPU is unset.
fn run_gpu(args: &[&str]) -> Option<String> {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success()
        && stderr.contains("Vulkan")
        && std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none()
    {
        eprintln!("SKIPPED: no Vulkan device ({stderr}); set GHOSTSTREAM_REQUIRE_GPU=1 to make this a failure");
        return None;
    }
    assert!(out.status.success(), "{stderr}");
    Some(stderr)
}

#[test]
fn scale_sharpen_and_tonemap_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("in.bgra");
    // 128x72 of mid grey with a bright square: scaled into 64x64 it is letterboxed to 64x36
    // at row 14, with black bars above and below.
    let frame: Vec<u8> = (0..128 * 72)
        .flat_map(|i| {
            let (x, y) = (i % 128, i / 128);
            let v = if (40..80).contains(&x) && (20..50).contains(&y) {
                230
            } else {
                128
            };
            [v, v, v, 255]
        })
        .collect();
    std::fs::write(&raw, frame.repeat(4)).unwrap();
    let out_path = dir.path().join("scaled.h264");
    let Some(stderr) = run_gpu(&[
        "encode",
        "-i",
        raw.to_str().unwrap(),
        "--raw-format",
        "bgra8",
        "--size",
        "128x72",
        "--scale",
        "64x64",
        "--scale-filter",
        "bicubic",
        "--sharpen",
        "0.5",
        "--codec",
        "h264",
        "--rc",
        "cqp",
        "--qp",
        "10",
        "-o",
        out_path.to_str().unwrap(),
    ]) else {
        return;
    };
    assert!(
        stderr.contains("scaled from 128x72 (bicubic, letterbox into 64x36+0+14)"),
        "{stderr}"
    );
    assert_eq!(ffprobe_count(&out_path, "h264"), 4);
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "h264", "-i"])
        .arg(&out_path)
        .args([
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-",
        ])
        .output()
        .unwrap();
    let y = &decoded.stdout[..64 * 64];
    let row_mean = |r: usize| {
        y[r * 64..(r + 1) * 64]
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / 64.0
    };
    for r in [0, 5, 12, 52, 63] {
        assert!(
            (row_mean(r) - 16.0).abs() < 3.0,
            "bar row {r}: {}",
            row_mean(r)
        );
    }
    // Mid grey 128 in limited range is Y = 16 + 219 * 128/255 = 126.
    assert!(
        (row_mean(16) - 126.0).abs() < 4.0,
        "picture row 16: {}",
        row_mean(16)
    );

    // HDR10 tone mapped: RGB10A2 PQ white at 1000 nits comes out as SDR white (Y 235).
    let code = 769u32; // PQ signal of 1000 nits at 10 bits
    let word = code | (code << 10) | (code << 20) | (3 << 30);
    let hdr = dir.path().join("in.rgb10a2");
    std::fs::write(&hdr, word.to_le_bytes().repeat(64 * 64 * 3)).unwrap();
    let sdr = dir.path().join("sdr.h265");
    let stderr = run_gpu(&[
        "encode",
        "-i",
        hdr.to_str().unwrap(),
        "--raw-format",
        "rgb10a2",
        "--size",
        "64x64",
        "--tonemap",
        "bt2390",
        "--hdr-peak",
        "measure",
        "--codec",
        "hevc",
        "--rc",
        "cqp",
        "--qp",
        "4",
        "-o",
        sdr.to_str().unwrap(),
    ])
    .unwrap();
    assert!(stderr.contains("tone mapped from pq"), "{stderr}");
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "hevc", "-i"])
        .arg(&sdr)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .unwrap();
    assert_eq!(decoded.stdout.len(), 3 * 64 * 64 * 3 / 2);
    // Every frame: the first with the first-frame peak (1000), the next with the measured one.
    for f in decoded.stdout.chunks(64 * 64 * 3 / 2) {
        let f = &f[..64 * 64];
        let mean = f.iter().map(|&v| f64::from(v)).sum::<f64>() / f.len() as f64;
        assert!((mean - 235.0).abs() < 1.5, "{mean}");
    }

    // Bad values: one line naming them.
    let bad = run(&[
        "encode",
        "-i",
        raw.to_str().unwrap(),
        "--raw-format",
        "bgra8",
        "--size",
        "128x72",
        "--scale",
        "16x16",
        "-o",
        dir.path().join("x.h264").to_str().unwrap(),
    ]);
    assert_one_line_error(&bad, &["128 to 16", "4x"]);
    let bad = run(&["encode", "--tonemap", "reinhard", "-o", &never()]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("reinhard"));
    // YUV input (here raw I420; a Y4M file alike) is scaled on the GPU too.
    let yuv = dir.path().join("in.i420");
    std::fs::write(&yuv, vec![128u8; 128 * 72 * 3]).unwrap(); // 2 frames
    let yuv_out = dir.path().join("y.h264");
    if let Some(stderr) = run_gpu(&[
        "encode",
        "-i",
        yuv.to_str().unwrap(),
        "--raw-format",
        "i420",
        "--size",
        "128x72",
        "--scale",
        "64x36",
        "--codec",
        "h264",
        "-o",
        yuv_out.to_str().unwrap(),
    ]) {
        assert!(
            stderr.contains("processes i420") && stderr.contains("scaled from 128x72"),
            "{stderr}"
        );
        assert_eq!(ffprobe_count(&yuv_out, "h264"), 2);
    }
}

#[test]
fn lossless_hdr10_and_intra_refresh_options_say_what_they_need() {
    assert_one_line_error(
        &run(&[
            "encode",
            "--tune",
            "lossless",
            "-o",
            "/tmp/never.h265",
            "--codec",
            "hevc",
        ]),
        &["lossless", "--rc cqp --qp 0"],
    );
    // A value clap rejects: its error (plus its --help hint) names the value and the form.
    let out = run(&[
        "encode",
        "--master-display",
        "G(1,2)",
        "-o",
        "/tmp/never.h265",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'G(1,2)'") && stderr.contains("WP(x,y)"),
        "{stderr}"
    );
    assert_one_line_error(
        &run(&[
            "encode",
            "--codec",
            "hevc",
            "--master-display",
            "bt2020-1000",
            "-o",
            "/tmp/never.h265",
        ]),
        &["hdr_metadata", "--transfer pq", "--bit-depth 10"],
    );
    assert_one_line_error(
        &run(&["encode", "--intra-refresh", "30", "-o", &never()]),
        &["intra_refresh_frames", "30", "infinite"],
    );
    assert_one_line_error(
        &run(&[
            "encode",
            "--codec",
            "av1",
            "--encoder",
            "software",
            "--keyint",
            "infinite",
            "--intra-refresh",
            "30",
            "-o",
            &never(),
        ]),
        &["libsvtav1 cannot do intra refresh"],
    );
}

/// The tool accepts the lossless options and its output decodes cleanly, every frame; that the
/// decoded frames equal the source exactly is asserted in tests/encode_decode.rs.
#[test]
fn lossless_hevc_from_the_tool_decodes_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lossless.h265");
    let o = out.to_str().unwrap();
    run_ok(&[
        "encode",
        "--codec",
        "hevc",
        "--encoder",
        "software",
        "--tune",
        "lossless",
        "--rc",
        "cqp",
        "--qp",
        "0",
        "--frames",
        "5",
        "--size",
        "320x192",
        "-o",
        o,
    ]);
    assert_decodes_cleanly(&out, "hevc");
    assert_eq!(ffprobe_count(&out, "hevc"), 5);
}

#[test]
fn stats_file_has_one_json_line_per_frame_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.h264");
    let jsonl = dir.path().join("s.jsonl");
    run_ok(&[
        "encode",
        "--codec",
        "h264",
        "--encoder",
        "software",
        "--frames",
        "6",
        "--size",
        "320x192",
        "--keyint",
        "3",
        "-o",
        out.to_str().unwrap(),
        "--stats",
        jsonl.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 7, "six frames and the summary: {text}");
    let (frames, summary) = lines.split_at(6);
    let bytes: u64 = frames.iter().map(|f| f["bytes"].as_u64().unwrap()).sum();
    assert_eq!(
        bytes,
        std::fs::metadata(&out).unwrap().len(),
        "Annex-B bytes"
    );
    let keys: Vec<bool> = frames
        .iter()
        .map(|f| f["keyframe"].as_bool().unwrap())
        .collect();
    assert_eq!(keys, [true, false, false, true, false, false]);
    for (n, f) in frames.iter().enumerate() {
        assert_eq!(f["frame"], n as u64);
        assert_eq!(f["dropped"], false);
        let submit = f["submit_ns"].as_i64().unwrap();
        let start = f["encode_start_ns"].as_i64().unwrap();
        let ready = f["packet_ready_ns"].as_i64().unwrap();
        assert!(submit <= start && start <= ready, "{f}");
        let pts = f["pts_ns"].as_i64().unwrap();
        assert!(
            (pts - i64::try_from(n).unwrap() * 1_000_000_000 / 30).abs() <= 1,
            "frame {n} at {pts} ns"
        );
    }
    let summary = &summary[0]["summary"];
    assert_eq!(summary["frames"], 6);
    assert_eq!(summary["keyframes"], 2);
    assert_eq!(summary["bytes"], bytes);
    assert_eq!(summary["latency"], "submit_to_packet");
    assert!(summary["latency_median_ms"].as_f64().unwrap() > 0.0);
    assert!(
        summary["latency_p99_ms"].as_f64().unwrap()
            >= summary["latency_median_ms"].as_f64().unwrap()
    );
    let full = run(&[
        "encode",
        "--frames",
        "2",
        "-o",
        &never(),
        "--stats",
        "/dev/full",
    ]);
    assert!(!full.status.success());
    assert!(String::from_utf8_lossy(&full.stderr).contains("/dev/full"));
}

/// `record` from a headless sway's output (started here as an ordinary user): a constant 10 fps
/// for one second of an unchanging screen is ten frames (the first captured, nine repeated),
/// each decoding to the background colour (sway runs as an ordinary user).
/// `record` with no --source records the screen: on a wlroots compositor through
/// wlr-screencopy, and it says so; the codec for a live software encode is H.264, in real time.
#[test]
fn record_without_a_source_records_the_screen_and_says_how() {
    let Some(sway) = sway::HeadlessSway::start(320, 192, "#336699") else {
        return;
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("screen.mkv");
    let result = Command::new(env!("CARGO_BIN_EXE_ghoststream"))
        .args([
            "record",
            "--fps",
            "10",
            "--seconds",
            "1",
            "--encoder",
            "software",
            "-o",
        ])
        .arg(&out)
        .env("WAYLAND_DISPLAY", &sway.socket)
        .env("SVT_LOG", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(
        stderr.contains("screen: recording wayland output HEADLESS-1 (wlr-screencopy)"),
        "{stderr}"
    );
    assert!(stderr.contains("frames of 320x192 h264"), "{stderr}");
    assert_eq!(ffprobe_count(&out, "matroska"), 10);
}

#[test]
fn records_a_wayland_output_at_a_constant_rate() {
    let Some(sway) = sway::HeadlessSway::start(320, 192, "#336699") else {
        return;
    };
    // Let swaybg paint the background before the first frame is taken.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("screen.h264");
    let o = out.to_str().unwrap();
    run_ok(&[
        "record",
        "--source",
        "wayland:HEADLESS-1",
        "--display",
        &sway.socket,
        "--fps",
        "10",
        "--seconds",
        "1",
        "--codec",
        "h264",
        "--encoder",
        "software",
        "-q",
        "-o",
        o,
    ]);
    assert_eq!(ffprobe_count(&out, "h264"), 10);
    let decoded = Command::new("ffmpeg")
        .args([
            "-v", "error", "-f", "h264", "-i", o, "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ])
        .output()
        .unwrap();
    assert!(decoded.status.success());
    assert_eq!(decoded.stdout.len(), 10 * 320 * 192 * 3);
    // Limited-range 4:2:0 and back: within a few codes of #336699 everywhere.
    let worst = sway::worst_code_distance(&decoded.stdout, [0x33, 0x66, 0x99]);
    assert!(worst <= 3, "a decoded pixel is {worst} codes off #336699");

    let unknown = run(&[
        "record",
        "--source",
        "wayland:DP-9",
        "--display",
        &sway.socket,
        "-y",
        "-o",
        o,
    ]);
    assert_one_line_error(&unknown, &["DP-9", "HEADLESS-1"]);
    let probe = tool()
        .args(["probe", "--json"])
        .env("WAYLAND_DISPLAY", &sway.socket)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let wayland = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["category"] == "capture" && e["name"] == "wayland")
        .expect("a wayland capture entry")
        .clone();
    assert_eq!(wayland["available"], true, "{wayland}");
    let detail = wayland["detail"].as_str().unwrap();
    assert!(detail.contains("HEADLESS-1 (320x192"), "{wayland}");
    let misplaced = run(&[
        "record",
        "--source",
        "testsrc",
        "--region",
        "0,0,10x10",
        "-y",
        "-o",
        o,
    ]);
    assert_one_line_error(&misplaced, &["--region", "wayland"]);
}

#[test]
fn a_compositor_killed_mid_recording_ends_with_a_typed_error_and_a_decodable_file() {
    let Some(mut sway) = sway::HeadlessSway::start(320, 192, "#336699") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("screen.h264");
    let child = tool()
        .args([
            "record",
            "--source",
            "wayland",
            "--display",
            &sway.socket,
            "--fps",
            "30",
            "--seconds",
            "30",
            "--codec",
            "h264",
            "--encoder",
            "software",
            "-q",
            "-o",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // About a second of recording, then the compositor dies.
    let started = std::time::Instant::now();
    while ffprobe_count_lenient(&out) < 20 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the recording never reached 20 frames"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    sway.kill();
    let killed = std::time::Instant::now();
    let result = child.wait_with_output().unwrap();
    eprintln!(
        "the tool exited {:?} after the compositor's death",
        killed.elapsed()
    );
    assert!(
        killed.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        killed.elapsed()
    );
    assert_one_line_error(
        &result,
        &["compositor went away", "frames before it were encoded"],
    );
    // Everything captured before the crash is in the file, and it decodes.
    let frames = ffprobe_count(&out, "h264");
    assert!(frames >= 20, "{frames} frames decoded");
}

/// Frames ffprobe counts in a file still being written (0 while it has none).
fn ffprobe_count_lenient(path: &Path) -> usize {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "quiet",
            "-f",
            "h264",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// `record --gpu require` of a node that sends DMA-BUF buffers (memfd stand-ins) on Mesa 25's
/// lavapipe: the frames are imported and converted on the GPU, so each frame's stats line
/// counts only the software encoder's read-back (the converted 4:2:0 frame in the ring's
/// layout); the same node recorded with the GPU off is read out of shared memory (BGRx, 230400
/// bytes a frame) and converted on the CPU.
#[cfg(feature = "pipewire")]
#[test]
fn records_a_dma_buf_node_with_no_cpu_copy_but_the_encoders_read_back() {
    let icd = format!(
        "{}/.cache/ghoststream/mesa25/lvp.json",
        std::env::var("HOME").unwrap_or_default()
    );
    if !std::path::Path::new(&icd).exists() {
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
            "GHOSTSTREAM_REQUIRE_GPU is set: no Mesa 25 lavapipe at {icd}"
        );
        println!("SKIPPED: no Mesa 25 lavapipe at {icd} (run .ci/get-mesa25-lavapipe.sh)");
        return;
    }
    let Some(env) = pipewire_env::PrivatePipeWire::start() else {
        return;
    };
    let _node = ghoststream::capture::PipeWireTestNode::start_with(
        "gs-cli-dmabuf",
        (320, 180),
        ghoststream::Rational::new(60, 1),
        Some(env.connection()),
        ghoststream::capture::TestNodeBuffers::DmaBuf {
            modifiers: vec![0],
            shm_fallback: true,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    use ghoststream::processing::convert::YuvLayout;
    let read_back = u64::from(YuvLayout::new(ghoststream::PixelFormat::I420, 320, 180).size);
    assert_eq!(
        read_back,
        u64::from(YuvLayout::new(ghoststream::PixelFormat::Nv12, 320, 180).size)
    );
    for (gpu, per_frame) in [("require", read_back), ("off", 230_400)] {
        let out = dir.path().join(format!("{gpu}.ivf"));
        let stats = dir.path().join(format!("{gpu}.jsonl"));
        let result = tool()
            .env("PIPEWIRE_RUNTIME_DIR", env.runtime_dir())
            .env_remove("PIPEWIRE_REMOTE")
            .env("VK_DRIVER_FILES", &icd)
            .env("VK_ICD_FILENAMES", &icd)
            .args([
                "record",
                "--source",
                "pipewire:gs-cli-dmabuf",
                "--gpu",
                gpu,
                "--fps",
                "30",
                "--seconds",
                "1",
                "--stats",
            ])
            .arg(&stats)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(result.status.success(), "--gpu {gpu}: {stderr}");
        assert_eq!(ffprobe_count(&out, "ivf"), 30, "--gpu {gpu}");
        let text = std::fs::read_to_string(&stats).unwrap();
        let copied: Vec<u64> = text
            .lines()
            .filter(|l| l.contains("\"frame\""))
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["cpu_copy_bytes"].as_u64().unwrap()
            })
            .collect();
        assert_eq!(copied.len(), 30, "--gpu {gpu}: {text}");
        assert!(
            copied.iter().all(|&c| c == per_frame),
            "--gpu {gpu}: CPU bytes per frame {copied:?}, expected {per_frame}"
        );
    }
}

#[cfg(feature = "pipewire")]
#[test]
fn records_a_pipewire_node_with_a_live_status_and_a_capture_summary() {
    let Some(env) = pipewire_env::PrivatePipeWire::start() else {
        return;
    };
    let _node = env.test_node("gs-cli-node", (320, 180), 60);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("node.ivf");
    let result = tool()
        .env("PIPEWIRE_RUNTIME_DIR", env.runtime_dir())
        .env_remove("PIPEWIRE_REMOTE")
        .args([
            "record",
            "--source",
            "pipewire:gs-cli-node",
            "--fps",
            "30",
            "--seconds",
            "1",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert_eq!(ffprobe_count(&out, "ivf"), 30);
    // The summary names what pacing did: 60 fps paced to 30 drops about half.
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("capture: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(summary.contains("30 frames at constant rate"), "{summary}");
    let dropped: u64 = summary
        .split(": ")
        .nth(2)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!((15..=45).contains(&dropped), "{summary}");
    assert!(summary.contains("ms median"), "{summary}");
    // The size is the node's.
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "320,180");

    let unknown = tool()
        .env("PIPEWIRE_RUNTIME_DIR", env.runtime_dir())
        .args(["record", "--source", "pipewire:no-such-node", "-o"])
        .arg(dir.path().join("x.ivf"))
        .output()
        .unwrap();
    assert_one_line_error(&unknown, &["no-such-node", "gs-cli-node"]);
}

/// `record --source portal` through the real xdg-desktop-portal frontend (with the test
/// backend of tests/portal_env granting a test node): the first run asks and keeps the grant
/// in the token file, the second is restored without asking; both files decode.
#[cfg(feature = "portal")]
#[test]
fn records_through_the_portal_asking_once_then_restoring_the_grant() {
    let Some(env) = pipewire_env::PrivatePipeWire::start() else {
        return;
    };
    let node = env.test_node("gs-cli-portal", (320, 180), 60);
    let backend = portal_env::Backend::Test {
        node_id: node.node_id(),
        mode: "grant",
    };
    let Some(portal) = portal_env::PrivatePortal::start(&env, backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("state/portal-token");
    let record = |name: &str| {
        let out = dir.path().join(name);
        let result = tool()
            .env("DBUS_SESSION_BUS_ADDRESS", &portal.address)
            .args([
                "record",
                "--source",
                "portal",
                "--fps",
                "30",
                "--seconds",
                "1",
            ])
            .arg("--portal-token")
            .arg(&token)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
        assert!(result.status.success(), "{stderr}\n{}", portal.logs());
        assert_eq!(ffprobe_count(&out, "ivf"), 30, "{stderr}");
        stderr
    };
    let first = record("first.ivf");
    assert!(first.contains("pick the screen"), "{first}");
    assert!(first.contains("granted; the grant is kept in"), "{first}");
    assert!(token.exists());
    let second = record("second.ivf");
    assert!(!second.contains("pick the screen"), "{second}");
    assert!(second.contains("granted again"), "{second}");
    let prompts: Vec<bool> = portal
        .backend_calls()
        .iter()
        .filter(|l| l.contains(r#""call": "Start""#))
        .map(|l| l.contains(r#""prompted": true"#))
        .collect();
    assert_eq!(prompts, vec![true, false]);

    // `probe` finds both the daemon (with the node) and the portal, asking nothing.
    let probe = tool()
        .env("DBUS_SESSION_BUS_ADDRESS", &portal.address)
        .env("PIPEWIRE_RUNTIME_DIR", env.runtime_dir())
        .env_remove("PIPEWIRE_REMOTE")
        .args(["probe", "--json"])
        .output()
        .unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&probe.stdout).unwrap();
    let entry = |name: &str| {
        entries
            .iter()
            .find(|e| e["category"] == "capture" && e["name"] == name)
            .unwrap_or_else(|| panic!("no capture {name} in {entries:?}"))
            .clone()
    };
    let pipewire = entry("pipewire");
    assert_eq!(pipewire["available"], true, "{pipewire}");
    assert!(
        pipewire["detail"]
            .as_str()
            .unwrap()
            .contains("gs-cli-portal"),
        "{pipewire}"
    );
    let portal_entry = entry("portal");
    assert_eq!(portal_entry["available"], true, "{portal_entry}");
    assert!(
        portal_entry["detail"]
            .as_str()
            .unwrap()
            .contains("ScreenCast version 4"),
        "{portal_entry}"
    );
    let starts = portal
        .backend_calls()
        .iter()
        .filter(|l| l.contains(r#""call": "CreateSession""#))
        .count();
    assert_eq!(starts, 2, "probing opened no session");

    let missing = tool()
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["record", "--source", "portal", "--portal-token"])
        .arg(&token)
        .arg("-o")
        .arg(dir.path().join("x.ivf"))
        .output()
        .unwrap();
    assert_one_line_error(
        &missing,
        &["desktop portal is not available", "/nonexistent/bus"],
    );
    assert!(!dir.path().join("x.ivf").exists());
}

/// Frames ffmpeg decodes from a possibly damaged file (errors at a cut-off end tolerated: the
/// question is how far it plays).
fn decodable_frames(path: &Path) -> usize {
    let out = Command::new("ffmpeg")
        .args(["-v", "quiet", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-f", "framemd5", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count()
}

/// Crash safety: a recording into each container, killed with SIGKILL at random moments, plays
/// up to no more than one cluster/fragment (1 s = 30 frames here) before the kill. How many
/// packets had reached the file is read from `--stats`, whose line for a packet is written
/// just after the packet (so the file may hold one more than the lines say).
#[test]
fn containers_killed_at_random_moments_play_up_to_their_last_fragment() {
    // Nanoseconds since 1970 fit a u64 until the year 2554.
    let seed = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    eprintln!("seed {seed}");
    let mut state = seed | 1;
    let mut random = move |below: u64| {
        // xorshift64: enough to spread the kills.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let dir = tempfile::tempdir().unwrap();
    for ext in ["mkv", "mp4", "ts"] {
        for run in 0..4 {
            let out = dir.path().join(format!("kill{run}.{ext}"));
            let stats = dir.path().join(format!("kill{run}.{ext}.jsonl"));
            let mut child = tool()
                .args([
                    "encode", "--codec", "h264", "--size", "320x180", "--fps", "30", "--keyint",
                    "30", "--frames", "1000000", "-q", "-o",
                ])
                .arg(&out)
                .arg("--stats")
                .arg(&stats)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let wait = 300 + random(1200);
            std::thread::sleep(std::time::Duration::from_millis(wait));
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(libc::pid_t::try_from(child.id()).unwrap(), libc::SIGKILL) };
            child.wait().unwrap();
            let text = std::fs::read(&stats).unwrap();
            // Whole lines only: the kill may cut the last one.
            let lines = text.split(|&b| b == b'\n').count() - 1;
            let frames = decodable_frames(&out);
            eprintln!("{ext} run {run}: killed after {wait} ms, {lines} packets written, {frames} frames play");
            assert!(
                lines > 0,
                "{ext} run {run}: nothing was written in {wait} ms"
            );
            assert!(
                frames + 31 >= lines && frames <= lines + 1,
                "{ext} run {run} (seed {seed}): {frames} frames play of {lines} written"
            );
        }
    }
}

/// A full disk (RLIMIT_FSIZE, SIGXFSZ ignored) mid-recording into a container: one error line
/// naming how much was kept, the file cut back to that, and what is left plays cleanly.
#[test]
fn a_full_disk_under_a_container_keeps_whole_clusters_that_play() {
    for ext in ["mkv", "mp4", "ts"] {
        let dir = tempfile::tempdir().unwrap();
        let out_path = dir.path().join(format!("limited.{ext}"));
        let script = format!(
            "trap '' XFSZ; ulimit -f 2000; exec '{}' encode --codec h264 --size 320x192 --fps 30 --keyint 30 --frames 900 --bitrate 2M -o '{}'",
            env!("CARGO_BIN_EXE_ghoststream"),
            out_path.display()
        );
        let out = Command::new("sh").args(["-c", &script]).output().unwrap();
        assert_one_line_error(&out, &[&format!("limited.{ext}"), "File too large"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kept: u64 = stderr
            .split("keeps its first ")
            .nth(1)
            .unwrap_or_else(|| panic!("{stderr}"))
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let size = std::fs::metadata(&out_path).unwrap().len();
        assert_eq!(
            size, kept,
            "{ext}: the file is not the size the error reports"
        );
        assert!(size > 0 && size <= 2000 * 512, "{ext}: size {size}");
        let decode = Command::new("ffmpeg")
            .args(["-v", "error", "-xerror", "-i"])
            .arg(&out_path)
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        assert!(
            decode.status.success() && decode.stderr.is_empty(),
            "{ext}: {}",
            String::from_utf8_lossy(&decode.stderr)
        );
        let frames = decodable_frames(&out_path);
        assert!((30..900).contains(&frames), "{ext}: {frames} frames");
    }
}

/// Sends one line to a recording's control socket and returns its one-line answer.
fn control_request(socket: &Path, line: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("the control socket");
    stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).unwrap();
    answer
}

/// `record` of the test pattern, live (30 fps, 160x96, H.264 with a key frame a second) until
/// stopped, with a replay buffer whose length the caller adds next.
fn live_testsrc_record() -> Command {
    let mut c = tool();
    c.args([
        "record", "--source", "testsrc", "--size", "160x96", "--fps", "30", "--codec", "h264",
        "--keyint", "30", "--replay",
    ]);
    c
}

/// `record --replay`: the last N seconds are saved on SIGUSR1 and on `save SECONDS` sent to
/// the control socket (which answers with the path once written); SIGINT ends the recording
/// cleanly. Each clip starts on a key frame, holds its duration within one GOP, and decodes.
#[test]
fn record_keeps_a_replay_and_saves_it_on_sigusr1_and_on_the_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control.sock");
    let child = live_testsrc_record()
        .args(["3s", "-q", "--replay-dir"])
        .arg(dir.path())
        .arg("--control")
        .arg(&socket)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // Enough video for a full 3 s clip (`record` runs the test pattern in real time).
    std::thread::sleep(std::time::Duration::from_millis(3600));
    // SAFETY: signals to our own child.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    let answer = control_request(&socket, "save 1");
    let saved = answer
        .strip_prefix("saved ")
        .unwrap_or_else(|| panic!("control socket answered {answer:?}"))
        .trim()
        .to_string();
    let refusal = control_request(&socket, "save -4");
    assert!(
        refusal.starts_with("error: save takes a positive number of seconds"),
        "{refusal}"
    );
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SIGINT ends the recording cleanly: {stderr}"
    );
    let paths: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("replay saved: "))
        .map(|l| l.split(" (").next().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{stderr}");
    assert!(paths.contains(&saved.as_str()), "{saved} in {stderr}");
    for path in paths {
        let seconds = if path == saved { 1 } else { 3 };
        let path = Path::new(path);
        let frames = decodable_frames(path);
        assert!(
            frames >= seconds * 30 && frames <= seconds * 30 + 30,
            "{}: {frames} frames for {seconds} s",
            path.display()
        );
        let first = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "frame=key_frame",
            ])
            .args(["-read_intervals", "%+#1", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .unwrap();
        // The flag is the first field (side data may follow).
        assert_eq!(
            String::from_utf8_lossy(&first.stdout)
                .trim()
                .split(',')
                .next(),
            Some("1"),
            "{}",
            path.display()
        );
        let decode = Command::new("ffmpeg")
            .args(["-v", "error", "-xerror", "-i"])
            .arg(path)
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        assert!(
            decode.status.success() && decode.stderr.is_empty(),
            "{}",
            path.display()
        );
    }
    assert!(!socket.exists(), "the control socket is removed at the end");
}

#[test]
fn bad_replay_settings_are_refused_with_one_line() {
    // clap's own refusal: its line plus its "--help" hint.
    let zero = run(&["record", "--replay", "0s", "--frames", "3"]);
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr)
        .starts_with("error: invalid value '0s' for '--replay <DURATION>'"));
    let missing_dir = run(&[
        "record",
        "--replay",
        "5s",
        "--replay-dir",
        "/nonexistent-gs-dir",
        "--frames",
        "3",
    ]);
    assert_one_line_error(&missing_dir, &["/nonexistent-gs-dir", "not a directory"]);
    let neither = run(&["record", "--frames", "3"]);
    assert!(!neither.status.success());
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--output"));
}

/// One recording into three sinks at once: a Matroska file, a live RTMP stream (nginx records
/// what it receives) and a replay buffer saved through the control socket; SIGINT ends it.
/// The file and the server's recording hold the same frames, the stream lost none, and the
/// replay clip decodes.
#[test]
fn a_recording_goes_to_a_file_a_stream_and_a_replay_buffer_at_once() {
    let Some(server) = stream_env::RtmpServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.mkv");
    let socket = dir.path().join("c.sock");
    let stats = dir.path().join("s.jsonl");
    let child = live_testsrc_record()
        .args(["10s", "-q", "--stream"])
        .arg(server.url("cli"))
        .arg("--replay-dir")
        .arg(dir.path())
        .arg("--control")
        .arg(&socket)
        .arg("--stats")
        .arg(&stats)
        .arg("-o")
        .arg(&file)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::read(&stats).map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count()) < 60 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no packets"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let answer = control_request(&socket, "save");
    let saved = answer
        .strip_prefix("saved ")
        .unwrap_or_else(|| panic!("{answer}"))
        .trim()
        .to_string();
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(libc::pid_t::try_from(child.id()).unwrap(), libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let frames = decodable_frames(&file);
    assert!(frames >= 60, "{frames} frames in the file");
    let stream_line = stderr
        .lines()
        .find(|l| l.starts_with("stream rtmp://"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        stream_line.contains(&format!("{frames} packets sent, 0 dropped, 1 connection")),
        "{stream_line} for {frames} frames in the file"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let recordings = server.recordings();
    assert_eq!(recordings.len(), 1, "{}", server.log());
    assert_eq!(
        decodable_frames(&recordings[0]),
        frames,
        "the server got every frame"
    );
    let clip = decodable_frames(Path::new(&saved));
    assert!(
        (30..=frames.min(330)).contains(&clip),
        "{saved}: {clip} frames"
    );
}

/// `--bitrate 6000` is almost always 6000k typed without its suffix: refused while the command
/// line is read (exit 2), with the likely reading; with a unit the same rates are taken.
#[test]
fn a_bare_bitrate_under_50000_is_refused_with_its_likely_reading() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("never.h264");
    let o = out_path.to_str().unwrap();
    for (value, message) in [
        (
            "6000",
            "bitrate 6000 is 6 kbit/s, far too low: did you mean 6000k?",
        ),
        ("6", "bitrate 6 is 6 bit/s, far too low: did you mean 6M?"),
    ] {
        let out = run(&["encode", "--codec", "h264", "--bitrate", value, "-o", o]);
        assert_eq!(out.status.code(), Some(2), "--bitrate {value}");
        assert_one_line_error(&out, &["--bitrate", message]);
        assert!(!out_path.exists());
    }
    let out = run(&["encode", "--codec", "h264", "--vbv", "3000", "-o", o]);
    assert_eq!(out.status.code(), Some(2));
    assert_one_line_error(&out, &["--vbv", "did you mean 3000k?"]);
    for value in ["6Mbps", "6000kb/s", "2.5M"] {
        run_ok(&[
            "encode",
            "--codec",
            "h264",
            "--size",
            "320x192",
            "--frames",
            "3",
            "--bitrate",
            value,
            "-q",
            "-o",
            o,
        ]);
        assert_eq!(ffprobe_count(&out_path, "h264"), 3, "--bitrate {value}");
        std::fs::remove_file(&out_path).unwrap();
    }
}

/// The packet flags of a file, one string per packet in stream order (`K__` for a keyframe).
fn packet_flags(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["packet=flags", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `--keyint 1s` at 30 fps puts a keyframe on every 30th frame, and only there.
#[test]
fn keyint_as_a_duration_counts_frames_at_the_frame_rate() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("k.h264");
    run_ok(&[
        "encode",
        "--codec",
        "h264",
        "--size",
        "320x192",
        "--fps",
        "30",
        "--frames",
        "95",
        "--keyint",
        "1s",
        "-q",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    let flags = packet_flags(&out_path);
    assert_eq!(flags.len(), 95);
    let keyframes: Vec<usize> = flags
        .iter()
        .enumerate()
        .filter(|(_, f)| f.starts_with('K'))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(keyframes, [0, 30, 60, 90]);
    // Shorter than a frame is refused by value.
    let out = run(&[
        "encode",
        "--fps",
        "30",
        "--keyint",
        "10ms",
        "-o",
        dir.path().join("never.h264").to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["keyframe_interval 0.01s", "at least one frame"]);
}

/// `--rc cq --quality 30` is x264's CRF 30: x264 writes its settings into the stream (a
/// user-data SEI), and they say so.
#[test]
fn constant_quality_is_crf_in_the_h264_stream() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("cq.h264");
    run_ok(&[
        "encode",
        "--codec",
        "h264",
        "--size",
        "320x192",
        "--frames",
        "10",
        "--rc",
        "cq",
        "--quality",
        "30",
        "-q",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(ffprobe_count(&out_path, "h264"), 10);
    let stream = std::fs::read(&out_path).unwrap();
    let settings = String::from_utf8_lossy(&stream);
    assert!(
        settings.contains(" rc=crf ") && settings.contains(" crf=30.0 "),
        "the x264 settings SEI says another rate control"
    );
    // A quality with another rate control, and a quality out of the codec's range, are
    // refused by name (a quality alone implies cq).
    let never = dir.path().join("never.h264");
    let o = never.to_str().unwrap();
    assert_one_line_error(
        &run(&[
            "encode",
            "--codec",
            "h264",
            "--rc",
            "cbr",
            "--quality",
            "30",
            "-o",
            o,
        ]),
        &["quality 30", "rate control cbr"],
    );
    assert_one_line_error(
        &run(&[
            "encode",
            "--codec",
            "h264",
            "--rc",
            "cq",
            "--quality",
            "52",
            "-o",
            o,
        ]),
        &["quality 52", "1 to 51 for h264"],
    );
}
