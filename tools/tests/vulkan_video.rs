//! `ghoststream encode --encoder vulkan` end to end on GhostStream's test Vulkan driver
//! (testing/video-icd: a video-encode queue whose H.264 and H.265 "encoders" write PCM blocks,
//! so the output decodes to exactly the input): raw NV12 and I420 frames in, an Annex-B file
//! out for each codec, decoded by FFmpeg and compared byte for byte; `probe` names the driver's
//! encodes. The driver's AV1 frames are structural (headers real, tiles not): the IVF file the
//! tool writes is read by FFmpeg's demuxer and header tracer. No real video-encode hardware is
//! involved (docs/HARDWARE.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use ghoststream_video_icd::LIBRARY_FILE;

/// The test driver's library, built beside this test binary (a dev-dependency's cdylib).
fn driver_library() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let lib = exe.parent()?.join(LIBRARY_FILE);
    lib.exists().then_some(lib)
}

/// A temporary directory holding a loader manifest that names the test driver, and the
/// manifest's path; `None` (after [`skip`]) without the driver library.
fn install_driver() -> Option<(tempfile::TempDir, PathBuf)> {
    let Some(lib) = driver_library() else {
        skip(&format!("no {LIBRARY_FILE} beside the test binary"));
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("ghoststream_video_icd.json");
    std::fs::write(&manifest, ghoststream_video_icd::manifest_json(&lib)).unwrap();
    Some((dir, manifest))
}

/// Fails under GHOSTSTREAM_REQUIRE_GPU, otherwise prints why the test is skipped.
fn skip(reason: &str) {
    if std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some() {
        panic!("GHOSTSTREAM_REQUIRE_GPU is set but {reason}");
    }
    eprintln!("SKIPPED: {reason}; set GHOSTSTREAM_REQUIRE_GPU=1 to make this a failure");
}

/// The tool with the test driver as the only Vulkan driver.
fn tool(manifest: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghoststream"));
    c.env("VK_DRIVER_FILES", manifest)
        .env("VK_ICD_FILENAMES", manifest)
        .env_remove("VK_INSTANCE_LAYERS")
        .env_remove("RUST_LOG");
    c
}

/// Frame `n` of a `w` x `h` stream in `format` (nv12 or i420): gradients moving with `n`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "every sample is reduced modulo 220 or 200 and offset below 256"
)]
fn frame(n: usize, w: usize, h: usize, format: &str) -> Vec<u8> {
    let mut f: Vec<u8> = (0..w * h)
        .map(|i| ((i % w * 3 + i / w * 5 + n * 17) % 220 + 16) as u8)
        .collect();
    let (cw, ch) = (w / 2, h / 2);
    let u = |x: usize, _y: usize| ((x * 7 + n * 29) % 200 + 28) as u8;
    let v = |_x: usize, y: usize| ((y * 11 + n * 13) % 200 + 28) as u8;
    match format {
        "nv12" => {
            for y in 0..ch {
                for x in 0..cw {
                    f.extend([u(x, y), v(x, y)]);
                }
            }
        }
        _ => {
            f.extend((0..cw * ch).map(|i| u(i % cw, i / cw)));
            f.extend((0..cw * ch).map(|i| v(i % cw, i / cw)));
        }
    }
    f
}

#[test]
fn encode_with_the_vulkan_encoder_on_the_test_driver_decodes_to_exactly_the_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let Some((dir, manifest)) = install_driver() else {
        return;
    };

    // `probe` finds the driver's H.264, H.265 and AV1 encodes.
    let probed = tool(&manifest).arg("probe").output().unwrap();
    let text = String::from_utf8_lossy(&probed.stdout);
    for codec in ["h264", "hevc", "av1"] {
        assert!(
            text.lines().any(|l| l.contains("vulkan")
                && l.contains(codec)
                && l.contains("available")
                && l.contains("GhostStream test driver")),
            "probe names the test driver's {codec} encode:\n{text}{}",
            String::from_utf8_lossy(&probed.stderr)
        );
    }

    let (w, h, frames) = (200usize, 120usize, 12usize);
    for (codec, format) in [
        ("h264", "nv12"),
        ("h264", "i420"),
        ("hevc", "nv12"),
        ("hevc", "i420"),
    ] {
        let input = dir.path().join(format!("in.{format}"));
        let raw: Vec<u8> = (0..frames).flat_map(|n| frame(n, w, h, format)).collect();
        std::fs::write(&input, &raw).unwrap();
        let extension = if codec == "h264" { "h264" } else { "h265" };
        let output = dir.path().join(format!("{format}.{extension}"));
        let run = tool(&manifest)
            .args([
                "encode",
                "--encoder",
                "vulkan",
                "--codec",
                codec,
                "--gpu",
                "off",
            ])
            .args(["--raw-format", format, "--size", "200x120", "--fps", "30"])
            .args(["--keyint", "5", "--stats"])
            .arg(dir.path().join(format!("{codec}-{format}.jsonl")))
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "encode --encoder vulkan ({codec}, {format}) succeeds:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got = decode(&output, if format == "nv12" { "nv12" } else { "yuv420p" });
        assert_eq!(
            got.len(),
            raw.len(),
            "{frames} frames back from the {codec} {format} run"
        );
        if let Some(i) = got.iter().zip(&raw).position(|(a, b)| a != b) {
            panic!(
                "{codec} {format}: decoded byte {i} (frame {}) is {}, the input's {}",
                i / (w * h * 3 / 2),
                got[i],
                raw[i]
            );
        }
        // Every frame's stats say how long its encode ran on the GPU (the driver's timestamps).
        let stats =
            std::fs::read_to_string(dir.path().join(format!("{codec}-{format}.jsonl"))).unwrap();
        let timed = stats
            .lines()
            .filter(|l| {
                l.split_once("\"encode_gpu_ns\":")
                    .is_some_and(|(_, v)| v.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        assert_eq!(
            timed, frames,
            "encode GPU time in every stats line:\n{stats}"
        );
        // Keyframes every 5 frames: IDR slices at frames 0, 5 and 10 (FFmpeg's reading).
        let keys: Vec<String> = probe(&output, "frame=key_frame")
            .lines()
            .map(|l| l.trim().to_string())
            .collect();
        let want: Vec<String> = (0..frames)
            .map(|n| if n % 5 == 0 { "1" } else { "0" }.to_string())
            .collect();
        assert_eq!(keys, want, "key frames of the {codec} {format} run");
    }
}

#[test]
fn av1_with_the_vulkan_encoder_on_the_test_driver_is_an_ivf_ffmpeg_reads() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent reader)");
        return;
    }
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    // The driver's AV1 encode starts at 192x128.
    let (w, h, frames) = (320usize, 180usize, 12usize);
    let input = dir.path().join("in.nv12");
    let raw: Vec<u8> = (0..frames).flat_map(|n| frame(n, w, h, "nv12")).collect();
    std::fs::write(&input, &raw).unwrap();
    let output = dir.path().join("out.ivf");
    let run = av1_encode(
        tool(&manifest),
        &input,
        &output,
        &["--keyint", "5", "--rc", "cqp", "--qp", "100"],
    );
    assert!(
        run.status.success(),
        "encode --encoder vulkan --codec av1 succeeds:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The container's packets: one a frame, key frames every 5.
    let flags: Vec<bool> = probe(&output, "packet=flags")
        .lines()
        .map(|l| l.starts_with('K'))
        .collect();
    let want: Vec<bool> = (0..frames).map(|n| n % 5 == 0).collect();
    assert_eq!(flags, want, "packets and their key flags");
    // Every frame header as FFmpeg reads it.
    let log = trace_headers(&output);
    let values = |name: &str| header_values(&log, name);
    let types: Vec<bool> = values("frame_type").iter().map(|t| t == "0").collect();
    assert_eq!(
        types, want,
        "KEY_FRAME headers exactly at the key packets:\n{log}"
    );
    // The sequence header: once in the stream's extradata, then before each of the 3 key frames.
    assert_eq!(values("max_frame_width_minus_1"), ["319"; 4]);
    assert_eq!(values("max_frame_height_minus_1"), ["179"; 4]);
    assert!(
        values("base_q_idx").iter().all(|q| q == "100"),
        "constant q index 100"
    );
}

#[test]
fn av1_b_frames_on_a_driver_with_compound_prediction_come_out_in_display_order() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent reader)");
        return;
    }
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    // RADV on RDNA4 offers AV1 bidirectional compound prediction (LAST and ALTREF); its
    // smallest AV1 picture is 320x128.
    let (w, h, frames) = (320usize, 180usize, 20usize);
    let input = dir.path().join("in.nv12");
    let raw: Vec<u8> = (0..frames).flat_map(|n| frame(n, w, h, "nv12")).collect();
    std::fs::write(&input, &raw).unwrap();
    let output = dir.path().join("b.ivf");
    let mut on_rdna4 = tool(&manifest);
    on_rdna4.env(ghoststream_video_icd::caps::TABLE_ENV, "radv-rdna4");
    let run = av1_encode(
        on_rdna4,
        &input,
        &output,
        &["--tune", "hq", "--preset", "p7", "--keyint", "10"],
    );
    assert!(
        run.status.success(),
        "encode --codec av1 --tune hq on the RDNA4 table:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // One packet a frame, in display order, key frames every 10.
    let packets = probe(&output, "packet=pts,flags");
    let rows: Vec<(i64, bool)> = packets
        .lines()
        .map(|l| {
            let (pts, flags) = l.split_once(',').unwrap();
            (pts.trim().parse().unwrap(), flags.starts_with('K'))
        })
        .collect();
    let want: Vec<(i64, bool)> = (0..frames)
        .map(|n| (i64::try_from(n).unwrap(), n % 10 == 0))
        .collect();
    assert_eq!(rows, want, "packets in display order:\n{packets}");
    // Every frame header as FFmpeg reads it: with two B frames a group, the third frame of
    // each group is coded ahead hidden (show_frame 0, showable) and shown after its B frames
    // by a show_existing_frame header naming the slot it was stored in.
    let log = trace_headers(&output);
    let values = |name: &str| header_values(&log, name);
    let existing = values("show_existing_frame");
    let shown_later = existing.iter().filter(|v| *v == "1").count();
    let hidden = values("show_frame").iter().filter(|v| *v == "0").count();
    assert!(shown_later >= 4, "frames shown later: {existing:?}\n{log}");
    assert_eq!(shown_later, hidden, "each hidden frame shown once");
    assert_eq!(
        values("showable_frame")
            .iter()
            .filter(|v| *v == "1")
            .count(),
        hidden,
        "hidden frames are showable"
    );
    // Both reference slots of a group serve: frames are stored in slots 0 and 1.
    let shown_slots = values("frame_to_show_map_idx");
    assert!(
        shown_slots.iter().all(|s| s == "0" || s == "1") && shown_slots.len() == hidden,
        "{shown_slots:?}"
    );
}

/// The HDR10 options both 10-bit tests give: PQ, BT.2020, a 1000-nit mastering display and its
/// light levels.
const HDR10: [&str; 10] = [
    "--transfer",
    "pq",
    "--primaries",
    "bt2020",
    "--matrix",
    "bt2020",
    "--master-display",
    "bt2020-1000",
    "--max-cll",
    "1000,400",
];

/// Frame `n` of a `w` x `h` 10-bit stream, 16-bit little-endian samples with the 10 bits in
/// the low bits (`i420p10`, planar) or the high bits (`p010`, CbCr interleaved): every value of
/// the 10 bits in use, none a multiple of 4 more often than chance.
#[expect(
    clippy::cast_possible_truncation,
    reason = "every sample is reduced modulo 877 or 897 and offset below 1024"
)]
fn frame10(n: usize, w: usize, h: usize, format: &str) -> Vec<u16> {
    let luma = |x: usize, y: usize| ((x * 37 + y * 11 + n * 101) % 877 + 64) as u16;
    let u = |x: usize, y: usize| ((x * 23 + y * 7 + n * 59) % 897 + 64) as u16;
    let v = |x: usize, y: usize| ((x * 13 + y * 31 + n * 83) % 897 + 64) as u16;
    let (cw, ch) = (w / 2, h / 2);
    let mut f = Vec::with_capacity(w * h * 3 / 2);
    let shift = if format == "p010" { 6 } else { 0 };
    f.extend((0..w * h).map(|i| luma(i % w, i / w) << shift));
    if format == "p010" {
        for y in 0..ch {
            for x in 0..cw {
                f.extend([u(x, y) << shift, v(x, y) << shift]);
            }
        }
    } else {
        f.extend((0..cw * ch).map(|i| u(i % cw, i / cw)));
        f.extend((0..cw * ch).map(|i| v(i % cw, i / cw)));
    }
    f
}

#[test]
fn ten_bit_hevc_with_hdr10_metadata_decodes_to_exactly_the_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    let (w, h, frames) = (200usize, 120usize, 6usize);
    for format in ["p010", "i420p10"] {
        let input = dir.path().join(format!("in.{format}"));
        let samples: Vec<u16> = (0..frames).flat_map(|n| frame10(n, w, h, format)).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        std::fs::write(&input, &bytes).unwrap();
        let output = dir.path().join(format!("{format}.h265"));
        let run = tool(&manifest)
            .args([
                "encode",
                "--encoder",
                "vulkan",
                "--codec",
                "hevc",
                "--gpu",
                "off",
            ])
            .args(["--raw-format", format, "--size", "200x120", "--fps", "30"])
            .args(["--bit-depth", "10", "--keyint", "3"])
            .args(HDR10)
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "10-bit HEVC from {format} encodes:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        // Decoded as 10-bit planar (the 10 bits in the low bits): the input's values exactly.
        let decoded = decode(&output, "yuv420p10le");
        let got: Vec<u16> = decoded
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        let want: Vec<u16> = (0..frames)
            .flat_map(|n| frame10(n, w, h, "i420p10"))
            .collect();
        assert_eq!(got.len(), want.len(), "{frames} frames back ({format})");
        if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
            panic!(
                "{format}: decoded sample {i} is {}, the input's {}",
                got[i], want[i]
            );
        }
        // The stream says what it is: Main 10, PQ / BT.2020, and the HDR10 metadata GhostStream
        // wrote after the parameter sets of each IDR (frames 0 and 3).
        let probe = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_streams",
                "-show_frames",
                "-of",
                "flat",
            ])
            .arg(&output)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&probe.stdout);
        for needle in [
            "streams.stream.0.profile=\"Main 10\"",
            "streams.stream.0.color_transfer=\"smpte2084\"",
            "streams.stream.0.color_primaries=\"bt2020\"",
        ] {
            assert!(text.contains(needle), "{needle} in:\n{text}");
        }
        // FFmpeg carries the metadata forward to every frame after it.
        let mastering = text
            .lines()
            .filter(|l| l.contains("side_data_type=\"Mastering display metadata\""))
            .count();
        let light = text
            .lines()
            .filter(|l| l.contains("side_data_type=\"Content light level metadata\""))
            .count();
        assert_eq!(
            (mastering, light),
            (frames, frames),
            "HDR10 metadata read:\n{text}"
        );
        assert!(
            text.contains(".max_content=1000") && text.contains(".max_average=400"),
            "{text}"
        );
        assert!(text.contains(".max_luminance=\"10000000/10000\""), "{text}");
        // In the stream: one prefix SEI (type 39) after the parameter sets of each IDR, right
        // before its slice (types 19/20), and nowhere else.
        let stream = std::fs::read(&output).unwrap();
        let types: Vec<u8> = ghoststream::bitstream::nal::AnnexBNals::new(&stream)
            .map(ghoststream::bitstream::nal::hevc_nal_type)
            .collect();
        let seis: Vec<usize> = (0..types.len()).filter(|&i| types[i] == 39).collect();
        assert_eq!(seis.len(), 2, "two SEI NAL units: {types:?}");
        for i in seis {
            assert_eq!(types[i - 1], 34, "after the PPS: {types:?}");
            assert!(
                matches!(types[i + 1], 19 | 20),
                "before an IDR slice: {types:?}"
            );
        }
    }
}

#[test]
fn ten_bit_av1_with_hdr10_carries_its_depth_and_metadata_obus() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent reader)");
        return;
    }
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    // The driver's AV1 is structural (placeholder tiles): the depth, colour and HDR10 metadata
    // are checked in the stream, by GhostStream's OBU walker and FFmpeg's header tracer.
    let (w, h, frames) = (320usize, 180usize, 4usize);
    let input = dir.path().join("in.p010");
    let samples: Vec<u16> = (0..frames).flat_map(|n| frame10(n, w, h, "p010")).collect();
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&input, &bytes).unwrap();
    let output = dir.path().join("hdr.ivf");
    let run = tool(&manifest)
        .args([
            "encode",
            "--encoder",
            "vulkan",
            "--codec",
            "av1",
            "--gpu",
            "off",
        ])
        .args(["--raw-format", "p010", "--size", "320x180", "--fps", "30"])
        .args(["--bit-depth", "10", "--keyint", "2"])
        .args(HDR10)
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "10-bit AV1 encodes:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Per temporal unit: the delimiter, then on key frames (0 and 2) the sequence header and
    // the two metadata OBUs (HDR_MDCV type 2, HDR_CLL type 1), then the frame.
    let file = std::fs::read(&output).unwrap();
    let units = ghoststream::bitstream::ivf::frames(&file).unwrap();
    assert_eq!(units.len(), frames);
    for (n, (_, unit)) in units.iter().enumerate() {
        let obus: Vec<_> = ghoststream::bitstream::obu::obus(unit)
            .map(|o| o.unwrap())
            .collect();
        let types: Vec<u8> = obus.iter().map(|o| o.obu_type).collect();
        if n % 2 == 0 {
            assert_eq!(types, [2, 1, 5, 5, 6], "key frame {n}");
            let seq = ghoststream::bitstream::obu::parse_sequence_header(obus[1].payload).unwrap();
            assert_eq!(seq.bit_depth(), 10);
            assert_eq!(
                (
                    seq.color_primaries,
                    seq.transfer_characteristics,
                    seq.matrix_coefficients
                ),
                (9, 16, 9),
                "BT.2020, PQ"
            );
            assert_eq!((obus[2].payload[0], obus[3].payload[0]), (2, 1));
        } else {
            assert_eq!(types, [2, 6], "inter frame {n}");
        }
    }
    // FFmpeg's reading of the headers: 10-bit, and the mastering display's luminance.
    let trace = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "info"])
        .args(["-probesize", "32", "-analyzeduration", "0", "-i"])
        .arg(&output)
        .args(["-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&trace.stderr);
    assert!(
        trace.status.success(),
        "trace_headers reads the file:\n{log}"
    );
    assert!(
        log.contains(" high_bitdepth ")
            && log
                .lines()
                .any(|l| l.contains(" high_bitdepth ") && l.trim_end().ends_with("= 1")),
        "{log}"
    );
    assert!(
        log.contains(" luminance_max "),
        "mastering display metadata traced:\n{log}"
    );
    assert!(
        log.contains(" max_cll "),
        "content light level traced:\n{log}"
    );
}

#[test]
fn auto_picks_the_vulkan_encoder_before_the_software_ones() {
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    let output = dir.path().join("auto.h264");
    let run = tool(&manifest)
        .args(["encode", "--codec", "h264", "--gpu", "off", "--frames", "3"])
        .args(["--raw-format", "nv12", "--size", "64x64"])
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // NVENC is passed over (no library here); Vulkan Video comes before software.
    assert!(
        stderr.contains("Vulkan Video h264 on") && stderr.contains("GhostStream test driver"),
        "auto chose Vulkan Video:\n{stderr}"
    );
}

#[test]
fn what_the_vulkan_encoder_cannot_do_is_refused_with_the_reason() {
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    let output = dir.path().join("never.mkv");
    let refused = |args: &[&str], says: &[&str]| {
        let run = tool(&manifest)
            .args([
                "encode",
                "--encoder",
                "vulkan",
                "--gpu",
                "off",
                "--frames",
                "3",
            ])
            .args(args)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} is refused");
        for s in says {
            assert!(stderr.contains(s), "{args:?}: {s:?} in:\n{stderr}");
        }
        assert!(!output.exists(), "{args:?} left no output file");
    };
    refused(
        &["--codec", "h264", "--raw-format", "nv12", "--size", "16x16"],
        &["a 16x16 picture", "32x32 to 4096x4096"],
    );
    refused(
        &[
            "--codec",
            "h264",
            "--raw-format",
            "p010",
            "--bit-depth",
            "10",
            "--size",
            "64x64",
        ],
        &["10-bit"],
    );
}

/// FFmpeg's header tracer (`-bsf:v trace_headers`, an independent syntax reader) over
/// `path`: its log, asserting it read the whole file.
fn trace_headers(path: &Path) -> String {
    let trace = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "info", "-i"])
        .arg(path)
        .args(["-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&trace.stderr).into_owned();
    assert!(
        trace.status.success(),
        "trace_headers reads the file:\n{log}"
    );
    log
}

/// The values of every syntax element `name` in a [`trace_headers`] log, in order.
fn header_values(log: &str, name: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split_once(&format!(" {name} "))?.1;
            Some(rest.rsplit_once('=')?.1.trim().to_string())
        })
        .collect()
}

#[test]
fn intra_refresh_on_a_driver_that_offers_it_writes_recovery_points_and_decodes_exactly() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    // RADV's table offers intra refresh (Mesa 25.3's answer); 256x144 is above its smallest
    // coded extents.
    let (w, h, frames) = (256usize, 144usize, 60usize);
    let input = dir.path().join("in.nv12");
    let raw: Vec<u8> = (0..frames).flat_map(|n| frame(n, w, h, "nv12")).collect();
    std::fs::write(&input, &raw).unwrap();
    let encode = |table: &str, codec: &str, output: &Path| {
        tool(&manifest)
            .env(ghoststream_video_icd::caps::TABLE_ENV, table)
            .args(["encode", "--encoder", "vulkan", "--codec", codec])
            .args(["--gpu", "off", "--raw-format", "nv12", "--size", "256x144"])
            .args(["--fps", "30", "--tune", "ull", "--keyint", "infinite"])
            .args(["--intra-refresh", "20", "-i"])
            .arg(&input)
            .arg("-o")
            .arg(output)
            .output()
            .unwrap()
    };
    for (codec, extension, field) in [
        ("h264", "h264", "recovery_frame_cnt"),
        ("hevc", "h265", "recovery_poc_cnt"),
    ] {
        let output = dir.path().join(format!("refresh.{extension}"));
        let run = encode("radv", codec, &output);
        assert!(
            run.status.success(),
            "{codec} with --intra-refresh 20 on the RADV table:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(decode(&output, "nv12"), raw, "{codec}: exactly the input");
        // One IDR, then P pictures only: the refresh replaces keyframes.
        let types = picture_types(&output);
        assert_eq!(types, format!("I{}", "P".repeat(frames - 1)), "{codec}");
        // A recovery point before the first picture of each cycle (pictures 1, 21 and 41),
        // naming the cycle's last picture (19 pictures on), each after the parameter sets
        // again: the IDR's SPS and one a cycle.
        assert_eq!(
            header_values(&trace_headers(&output), field),
            ["19", "19", "19"],
            "{codec}: {field}"
        );
        let bytes = std::fs::read(&output).unwrap();
        let sps = bytes
            .windows(4)
            .filter(|w| {
                w[..3] == [0, 0, 1]
                    && if codec == "h264" {
                        w[3] & 0x1F == 7
                    } else {
                        (w[3] >> 1) & 0x3F == 33
                    }
            })
            .count();
        assert_eq!(sps, 4, "{codec}: sequence parameter sets");
    }
    // AV1 has no recovery point message; the stream is written and read back.
    let output = dir.path().join("refresh.ivf");
    let run = encode("radv", "av1", &output);
    assert!(
        run.status.success(),
        "av1 with --intra-refresh 20:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(probe(&output, "stream=codec_name").trim(), "av1");
    // The NVIDIA table offers none: refused by name, no file left.
    let output = dir.path().join("never.h264");
    let run = encode("nvidia", "h264", &output);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "refused on the NVIDIA table");
    for says in [
        "intra refresh over 20 frames (--intra-refresh 20)",
        "offers no intra refresh",
        "NVIDIA GeForce RTX 4090",
    ] {
        assert!(stderr.contains(says), "{says:?} in:\n{stderr}");
    }
    assert!(!output.exists(), "the refused encode left no file");
}

/// `encode --encoder vulkan --codec av1` of raw 320x180 NV12 `input` at 30 fps into `output`
/// with `extra` options, CPU-fed (`--gpu off`), through `tool`.
fn av1_encode(
    mut tool: Command,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> std::process::Output {
    tool.args([
        "encode",
        "--encoder",
        "vulkan",
        "--codec",
        "av1",
        "--gpu",
        "off",
    ])
    .args(["--raw-format", "nv12", "--size", "320x180", "--fps", "30"])
    .args(extra)
    .arg("-i")
    .arg(input)
    .arg("-o")
    .arg(output)
    .output()
    .unwrap()
}

/// Decodes `path` with FFmpeg to raw `pix_fmt` frames, asserting it complains of nothing.
fn decode(path: &Path, pix_fmt: &str) -> Vec<u8> {
    let decoded = path.with_extension("decoded");
    let ff = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-y"])
        .arg(&decoded)
        .output()
        .unwrap();
    assert!(
        ff.status.success() && ff.stderr.is_empty(),
        "ffmpeg decodes {} without complaint: {}",
        path.display(),
        String::from_utf8_lossy(&ff.stderr)
    );
    std::fs::read(&decoded).unwrap()
}

/// `ffprobe`'s `entries` of `path`, one CSV line each.
fn probe(path: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The picture types of `path` in display order, one letter each (I, P, B).
fn picture_types(path: &Path) -> String {
    probe(path, "frame=pict_type")
        .lines()
        .map(|l| l.trim().chars().next().unwrap_or('?'))
        .collect()
}

/// Encodes raw NV12 200x120 `input` to `output` with the test driver, `--tune hq` and `extra`
/// options, asserting it succeeds.
fn encode_hq(manifest: &Path, input: &Path, output: &Path, extra: &[&str]) {
    let run = tool(manifest)
        .args([
            "encode",
            "--encoder",
            "vulkan",
            "--gpu",
            "off",
            "--tune",
            "hq",
        ])
        .args([
            "--keyint",
            "8",
            "--raw-format",
            "nv12",
            "--size",
            "200x120",
            "--fps",
            "30",
        ])
        .args(extra)
        .arg("-i")
        .arg(input)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "encode --tune hq --encoder vulkan {extra:?} succeeds:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn high_quality_tuning_codes_b_pictures_that_decode_to_exactly_the_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let Some((dir, manifest)) = install_driver() else {
        return;
    };
    let (w, h, frames) = (200usize, 120usize, 16usize);
    let raw: Vec<u8> = (0..frames).flat_map(|n| frame(n, w, h, "nv12")).collect();
    let input = dir.path().join("in.nv12");
    std::fs::write(&input, &raw).unwrap();
    for codec in ["h264", "hevc"] {
        // In MP4: the container keeps each packet's decode time apart from its presentation.
        let output = dir.path().join(format!("hq-{codec}.mp4"));
        encode_hq(&manifest, &input, &output, &["--codec", codec]);
        let got = decode(&output, "nv12");
        assert_eq!(got.len(), raw.len(), "{frames} frames back ({codec})");
        if let Some(i) = got.iter().zip(&raw).position(|(a, b)| a != b) {
            panic!(
                "{codec} hq: decoded byte {i} (frame {}) is {}, the input's {}",
                i / (w * h * 3 / 2),
                got[i],
                raw[i]
            );
        }
        // Picture types in display order: an IDR every 8 frames, two B pictures between
        // P pictures; the last of each GOP's waiting pictures coded as a P picture.
        assert_eq!(
            picture_types(&output),
            "IBBPBBPPIBBPBBPP",
            "{codec}: picture types in display order"
        );
        // Packets in decode order: decode times rising, never after the presentation.
        let packets: Vec<(i64, i64)> = probe(&output, "packet=pts,dts")
            .lines()
            .filter_map(|l| {
                let (pts, dts) = l.trim().split_once(',')?;
                Some((pts.parse().ok()?, dts.parse().ok()?))
            })
            .collect();
        assert_eq!(packets.len(), frames, "{codec}: {frames} packets");
        for pair in packets.windows(2) {
            assert!(
                pair[1].1 > pair[0].1,
                "{codec}: decode times rise: {packets:?}"
            );
        }
        assert!(
            packets.iter().all(|&(pts, dts)| dts <= pts),
            "{codec}: no packet decodes after it is shown: {packets:?}"
        );
        assert!(
            packets.windows(2).any(|p| p[1].0 < p[0].0),
            "{codec}: packets come out of display order (B pictures): {packets:?}"
        );
    }
    // The count is the driver's preference at the preset's quality level: the test driver's
    // fast levels (P1 is level 0) prefer none.
    let output = dir.path().join("hq-p1.mp4");
    encode_hq(
        &manifest,
        &input,
        &output,
        &["--codec", "h264", "--preset", "p1"],
    );
    assert_eq!(
        picture_types(&output),
        "IPPPPPPPIPPPPPPP",
        "P1: no B pictures at the driver's fastest level"
    );
}
