//! `ghoststream bench` (issue 21, item 4): `--quick` runs in seconds and its JSON has every
//! field, sane; `--compare` runs ffmpeg on the same input beside GhostStream; `--gpu-passes`
//! times the GPU passes against a copy; mistakes are refused with the value and the fix.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ghoststream"))
        .arg("bench")
        .args(args)
        .env("SVT_LOG", "1")
        .env_remove("RUST_LOG")
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .output()
        .expect("the tool runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn has_ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn json(dir: &Path) -> Value {
    let t = std::fs::read_to_string(dir.join("bench.json")).expect("bench.json written");
    serde_json::from_str(&t).expect("bench.json parses")
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key)
        .unwrap_or_else(|| panic!("field {key} missing in {v}"))
        .as_f64()
        .unwrap_or_else(|| panic!("field {key} is not a number in {v}"))
}

fn assert_svg(path: &Path) {
    let t = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(t.starts_with("<svg"), "{} is not SVG", path.display());
    assert!(
        t.trim_end().ends_with("</svg>"),
        "{} is cut short",
        path.display()
    );
}

/// Every field of one result row is there, with the type docs/BENCH.md gives it.
fn check_row(r: &Value, quality_expected: bool) {
    let keys = [
        "kind",
        "label",
        "encoder",
        "detail",
        "codec",
        "preset",
        "width",
        "height",
        "frames",
        "fps",
        "wall_s",
        "latency_ms",
        "cpu_ms_per_frame",
        "bytes",
        "bitrate_kbps",
        "quality",
        "quality_note",
        "gpu",
        "gpu_note",
    ];
    for k in keys {
        assert!(r.get(k).is_some(), "field {k} missing in {r}");
    }
    assert_eq!(
        r.as_object().unwrap().len(),
        keys.len(),
        "unexpected fields in {r}"
    );
    assert!(num(r, "fps") > 0.0, "{r}");
    assert!(num(r, "wall_s") > 0.0, "{r}");
    assert!(num(r, "cpu_ms_per_frame") > 0.0, "{r}");
    assert!(num(r, "bytes") > 0.0, "{r}");
    assert!(num(r, "bitrate_kbps") > 0.0, "{r}");
    assert!(num(r, "width") > 0.0 && num(r, "height") > 0.0, "{r}");
    if r["kind"] == "encode" {
        let l = &r["latency_ms"];
        assert!(num(l, "median") > 0.0, "{r}");
        assert!(num(l, "p99") >= num(l, "median"), "{r}");
        assert!(num(l, "frames") > 0.0, "{r}");
        assert!(l["serial"].is_boolean(), "{r}");
        assert!(r["codec"].is_string() && r["encoder"].is_string(), "{r}");
    } else {
        assert_eq!(r["kind"], "compare", "{r}");
        assert!(r["latency_ms"].is_null(), "{r}");
    }
    if quality_expected {
        let q = &r["quality"];
        let psnr = num(q, "psnr_db");
        assert!(psnr.is_finite() && psnr > 20.0, "PSNR {psnr} in {r}");
        let ssim = num(q, "ssim");
        assert!(ssim > 0.5 && ssim <= 1.0, "SSIM {ssim} in {r}");
        assert_eq!(num(q, "frames"), num(r, "frames"), "{r}");
        assert!(r["quality_note"].is_null(), "{r}");
    } else {
        assert!(r["quality"].is_null(), "{r}");
        assert!(r["quality_note"].is_string(), "{r}");
    }
}

#[test]
fn quick_writes_the_report_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--quick", "--out", dir.path().to_str().unwrap()]);
    ok(&out);
    let err = text(&out.stderr);
    assert!(
        err.contains("[1/2] x264 ultrafast at 320x180, 20 frames"),
        "{err}"
    );
    assert!(
        err.contains("[2/2] svt-av1 preset 12 at 320x180, 20 frames"),
        "{err}"
    );
    let j = json(dir.path());
    for k in [
        "schema",
        "tool",
        "version",
        "started_utc",
        "machine",
        "input",
        "quality_method",
        "results",
        "unavailable",
        "gpu_passes",
    ] {
        assert!(j.get(k).is_some(), "field {k} missing");
    }
    assert_eq!(j["schema"], 1);
    assert_eq!(j["tool"], "ghoststream bench");
    assert!(num(&j["machine"], "cpus") >= 1.0);
    assert_eq!(j["input"]["kind"], "pattern");
    assert_eq!(j["input"]["frames"], 20);
    assert!(j["gpu_passes"].is_null());
    let ffmpeg = has_ffmpeg();
    if !ffmpeg {
        println!("no ffmpeg on PATH: quality is checked to be absent with its reason");
        assert!(j["quality_method"].as_str().unwrap().starts_with("none:"));
    }
    let rows = j["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{j}");
    assert_eq!(rows[0]["label"], "x264 ultrafast");
    assert_eq!(rows[1]["label"], "svt-av1 preset 12");
    for r in rows {
        check_row(r, ffmpeg);
        assert_eq!(r["width"], 320);
        assert_eq!(r["height"], 180);
        assert_eq!(r["frames"], 20);
    }
    let md = std::fs::read_to_string(dir.path().join("bench.md")).unwrap();
    assert!(md.contains("| path | size | fps |"), "{md}");
    assert!(md.contains("| x264 ultrafast | 320x180 |"), "{md}");
    for chart in ["fps.svg", "latency.svg", "quality.svg"] {
        assert_svg(&dir.path().join(chart));
    }
    assert!(dir.path().join("streams/x264-p1-320x180.h264").is_file());
    assert!(dir.path().join("streams/svt-av1-p1-320x180.ivf").is_file());
}

#[test]
fn compare_runs_ffmpeg_on_the_same_input() {
    if !has_ffmpeg() {
        println!("SKIPPED: no ffmpeg on PATH to compare with");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let command = "ffmpeg -v error -y -i {input} -c:v libx264 -preset ultrafast -b:v 2M {output}";
    let out = run(&[
        "--quick",
        "--path",
        "x264:p1",
        "--compare",
        command,
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    ok(&out);
    let j = json(dir.path());
    let rows = j["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{j}");
    check_row(&rows[0], true);
    check_row(&rows[1], true);
    assert_eq!(rows[1]["kind"], "compare");
    assert_eq!(rows[1]["label"], command);
    let y4m = dir.path().join("streams/input-320x180.y4m");
    assert!(rows[1]["detail"]
        .as_str()
        .unwrap()
        .contains(&format!("-i '{}'", y4m.display())));
    let md = std::fs::read_to_string(dir.path().join("bench.md")).unwrap();
    assert!(md.contains(&format!("| `{command}` | 320x180 |")), "{md}");
}

#[test]
fn a_failing_comparison_is_listed_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let command = "exit 3 # {input} {output}";
    let out = run(&[
        "--quick",
        "--path",
        "x264:p1",
        "--compare",
        command,
        "--no-quality",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    ok(&out);
    let j = json(dir.path());
    assert_eq!(j["results"].as_array().unwrap().len(), 1, "{j}");
    check_row(&j["results"][0], false);
    assert_eq!(j["quality_method"], "none: not asked for (--no-quality)");
    let u = &j["unavailable"][0];
    assert_eq!(u["label"], format!("{command} 320x180"));
    let log = dir.path().join("streams/compare1-320x180.log");
    assert_eq!(
        u["reason"],
        format!(
            "compare command '{command}': it ended with exit code 3 (its output is in {}); run it by hand to see why",
            log.display()
        )
    );
    assert!(
        text(&out.stderr).contains("failed: exit 3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn gpu_passes_are_timed_beside_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "--gpu-passes",
        "--gpu-size",
        "128x72",
        "--gpu-iterations",
        "5",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    ok(&out);
    let j = json(dir.path());
    assert_eq!(j["results"].as_array().unwrap().len(), 0);
    let g = &j["gpu_passes"];
    if g["device"].as_str().unwrap().starts_with("none:") {
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
            "no Vulkan device: {}",
            g["device"]
        );
        println!("SKIPPED: {}", g["device"]);
        return;
    }
    let failed: Vec<(&str, &str)> = g["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["reason"].as_str().unwrap()))
        .collect();
    let mut expected: Vec<String> = [
        "convert BGRA8 -> NV12 (conversion pass)",
        "convert BGRA8 -> NV12 (conversion pass, buffer input)",
        "convert BGRA8 -> I444 (conversion pass)",
        "fused: scale 2x down (area) + BT.2390 tone map -> NV12, buffer input",
        "fused: scale 2x down (area) + BT.2390 tone map -> NV12, image input",
        "fused: scale 2x down (bilinear) + BT.2390 tone map -> NV12, buffer input",
        "fused: scale 2x down (bilinear) + BT.2390 tone map -> NV12, image input",
        "fused: scale 2x down (lanczos) + BT.2390 tone map -> NV12, buffer input",
        "fused: scale 2x down (lanczos) + BT.2390 tone map -> NV12, image input",
    ]
    .map(String::from)
    .into();
    // The ways into an encoder's picture image: timed, or failed where the device makes no
    // such image or cannot store into one (Mesa 22.3's lavapipe has neither), saying so.
    let mut allowed_failures = 0;
    for [direct, buffered, copy] in encoder_rows() {
        let failure = |name: &str| {
            let reason = failed
                .iter()
                .find(|(n, _)| *n == format!("{name} 128x72"))
                .map(|(_, r)| *r)?;
            assert!(
                reason.contains("shaderStorageImageWriteWithoutFormat")
                    || reason.contains("picture image"),
                "{name}: {reason}"
            );
            Some(reason)
        };
        match failure(&direct) {
            Some(_) => allowed_failures += 1,
            None => expected.push(direct),
        }
        match failure(&buffered) {
            Some(_) => allowed_failures += 1,
            None => expected.extend([buffered, copy]),
        }
    }
    assert_eq!(failed.len(), allowed_failures, "{g}");
    let passes = g["passes"].as_array().unwrap();
    let names: Vec<&str> = passes.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, expected);
    for p in passes {
        assert!(num(p, "gpu_us") > 0.0, "{p}");
        assert!(num(p, "copy_us") > 0.0, "{p}");
        assert!(num(p, "shader_copy_us") > 0.0, "{p}");
        assert!(num(p, "fraction_of_copy") > 0.0, "{p}");
        assert!(num(p, "fraction_of_shader_copy") > 0.0, "{p}");
        assert!(num(p, "bytes") > 0.0, "{p}");
        assert!(num(p, "record_submit_us") > 0.0, "{p}");
        let copy = p["name"].as_str().unwrap().starts_with("copy ");
        if !copy {
            assert_eq!(p["input"], "128x72 bgra8");
        }
    }
    assert_eq!(passes[0]["output"], "128x72 nv12");
    assert_eq!(passes[1]["output"], "128x72 nv12");
    assert_eq!(passes[3]["output"], "64x36 nv12");
    assert_svg(&dir.path().join("gpu_passes.svg"));
    assert!(!dir.path().join("fps.svg").exists());
}

/// The rows of the two ways into an encoder's picture image, NV12 then P010: the pass into the
/// image, the pass into a buffer plus its copy, and that copy alone.
fn encoder_rows() -> [[String; 3]; 2] {
    ["NV12", "P010"].map(|f| {
        [
            format!("convert BGRA8 -> {f} into the encoder's picture image (direct), image input"),
            format!(
                "convert BGRA8 -> {f} into a buffer + copy into the picture image, image input"
            ),
            format!(
                "copy {f} buffer -> picture image (vkCmdCopyBufferToImage), the row above's copy"
            ),
        ]
    })
}

/// On Mesa 25's lavapipe (fetched by .ci/get-mesa25-lavapipe.sh; Mesa 22.3's makes no picture
/// images), the tool's own process pointed at it: the pass into the encoder's picture image
/// and the buffer path are timed, NV12 and P010, the buffer path's GPU time the pass's and
/// its copy's (the copy's row alone: the picture read and written once, from the buffer).
/// Lavapipe's figures mean nothing; their presence is what is checked.
#[test]
fn the_pass_into_an_encoders_picture_image_is_timed_beside_the_buffer_path() {
    let icd = std::env::var("GHOSTSTREAM_DMABUF_ICD").unwrap_or_else(|_| {
        format!(
            "{}/.cache/ghoststream/mesa25/lvp.json",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    if !Path::new(&icd).exists() {
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
            "GHOSTSTREAM_REQUIRE_GPU is set but there is no Mesa 25 lavapipe at {icd}"
        );
        println!("SKIPPED: no Mesa 25 lavapipe at {icd} (run .ci/get-mesa25-lavapipe.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ghoststream"))
        .args(["bench", "--gpu-passes", "--gpu-size", "128x72"])
        .args(["--gpu-iterations", "5", "--out"])
        .arg(dir.path())
        .env("VK_DRIVER_FILES", &icd)
        .env("VK_ICD_FILENAMES", &icd)
        .env_remove("GHOSTSTREAM_GPU")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the tool runs");
    ok(&out);
    let j = json(dir.path());
    let g = &j["gpu_passes"];
    assert!(
        g["device"].as_str().unwrap().contains("Mesa 25"),
        "{}",
        g["device"]
    );
    assert_eq!(g["failed"].as_array().unwrap().len(), 0, "{g}");
    let passes = g["passes"].as_array().unwrap();
    let row = |name: &str| {
        passes
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no row {name} in {g}"))
    };
    for ([direct, buffered, copy], format) in encoder_rows().into_iter().zip(["nv12", "p010"]) {
        let (direct, buffered, copy) = (row(&direct), row(&buffered), row(&copy));
        for p in [direct, buffered, copy] {
            assert!(num(p, "gpu_us") > 0.0, "{p}");
            assert!(num(p, "record_submit_us") > 0.0, "{p}");
            assert_eq!(p["output"], format!("128x72 {format}"), "{p}");
        }
        assert!(
            num(buffered, "gpu_us") > num(copy, "gpu_us"),
            "{buffered} {copy}"
        );
        assert_eq!(direct["bytes"], buffered["bytes"]);
        let samples = 128.0 * 72.0 * 1.5 * if format == "p010" { 2.0 } else { 1.0 };
        assert_eq!(num(copy, "bytes"), 2.0 * samples, "{copy}");
        assert_eq!(copy["input"], format!("128x72 {format} buffer"), "{copy}");
    }
}

#[test]
fn a_y4m_file_is_benchmarked_at_its_own_size_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (128usize, 96usize);
    let mut y4m = b"YUV4MPEG2 W128 H96 F30:1 Ip A1:1 C420jpeg\n".to_vec();
    for n in 0..6usize {
        y4m.extend_from_slice(b"FRAME\n");
        // A diagonal ramp moving 2 samples a frame, flat chroma.
        y4m.extend((0..w * h).map(|i| {
            let (x, y) = (i % w, i / w);
            u8::try_from(16 + (x + y + 2 * n) % 200).unwrap()
        }));
        y4m.extend(std::iter::repeat_n(128u8, w * h / 2));
    }
    let file = dir.path().join("ramp.y4m");
    std::fs::write(&file, &y4m).unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "-i",
        file.to_str().unwrap(),
        "--path",
        "x264:p1",
        "--frames",
        "10",
        "--latency-frames",
        "8",
        "--bitrate",
        "2M",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    ok(&out);
    let j = json(&out_dir);
    assert_eq!(j["input"]["kind"], "y4m");
    assert_eq!(j["input"]["path"], file.to_str().unwrap());
    // The file has 6 frames: fewer than --frames (and --latency-frames), all of them are used.
    assert_eq!(j["input"]["frames"], 6);
    assert_eq!(j["input"]["fps"], 30.0);
    let rows = j["results"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{j}");
    check_row(&rows[0], has_ffmpeg());
    assert_eq!(rows[0]["width"], 128);
    assert_eq!(rows[0]["height"], 96);
    assert_eq!(rows[0]["frames"], 6);
    assert!(num(&rows[0]["latency_ms"], "frames") <= 6.0);
}

#[test]
fn rgb_frames_show_the_gpu_pass() {
    // `--gpu require`: `auto` passes over a CPU-emulated device (lavapipe) for the conversion.
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "--quick",
        "--rgb",
        "--gpu",
        "require",
        "--path",
        "x264:p1",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    ok(&out);
    let j = json(dir.path());
    assert_eq!(j["input"]["rgb"], true);
    let rows = j["results"].as_array().unwrap();
    if rows.is_empty() {
        // No Vulkan device: the session cannot open, and the path is listed with why.
        let why = &j["unavailable"][0]["reason"];
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
            "no GPU: {why}"
        );
        println!("SKIPPED: no GPU: {why}");
        return;
    }
    assert_eq!(rows.len(), 1, "{j}");
    check_row(&rows[0], has_ffmpeg());
    let gpu = &rows[0]["gpu"];
    assert!(
        gpu["processing"].as_str().unwrap().starts_with("GPU: "),
        "{}",
        rows[0]
    );
    assert!(num(gpu, "frame_pass_ms") > 0.0, "{gpu}");
    assert!(num(gpu, "convert_us") > 0.0, "{gpu}");
    assert!(num(gpu, "copy_us") > 0.0, "{gpu}");
    assert!(rows[0]["gpu_note"].is_null(), "{}", rows[0]);
}

#[test]
fn mistakes_name_the_value_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--path", "x266"],
            "error: unknown encode path 'x266': expected ENCODER[:PRESET] with ENCODER one of x264, x265, svt-av1, nvenc-h264, nvenc-hevc, nvenc-av1, vulkan-h264, vulkan-hevc, vulkan-av1 and PRESET p1..p7 (for example x264:p2)",
        ),
        (
            &["--size", "321x180"],
            "error: frame size '321x180': width and height must be even (the frames are 4:2:0)",
        ),
        (
            &["--compare", "ffmpeg -i in.y4m out.mkv"],
            "error: compare command 'ffmpeg -i in.y4m out.mkv': it has no {input}: write the command with {input} for the Y4M input and {output} for its file, e.g. 'ffmpeg -y -i {input} -c:v libx264 -preset veryfast {output}'",
        ),
        (
            &["--quick", "--frames", "5", "--latency-frames", "6"],
            "error: latency frames 6: at most --frames",
        ),
    ];
    for (args, expect) in cases {
        let mut all = args.to_vec();
        all.extend(["--out", d]);
        let out = run(&all);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr).trim(), expect, "{args:?}");
    }
    let missing = dir.path().join("missing.y4m");
    let out = run(&["-i", missing.to_str().unwrap(), "--out", d]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("error: input {}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn help_teaches_with_examples() {
    let out = run(&["--help"]);
    ok(&out);
    let help = text(&out.stdout);
    for needle in [
        "Examples:",
        "ghoststream bench --quick",
        "'ffmpeg -y -i {input} -c:v libx264",
        "ghoststream bench --gpu-passes",
        "What to run:",
        "--path <ENCODER[:PRESET]>",
        "docs/BENCH.md",
    ] {
        assert!(help.contains(needle), "{needle} not in:\n{help}");
    }
}
