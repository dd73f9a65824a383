//! Container files (Matroska, fragmented MP4, MPEG-TS) read back by independent tools:
//! ffprobe/ffmpeg for frame count, timestamps, colour description and HDR10 metadata, and
//! mkvmerge (mkvtoolnix) for Matroska conformance.
#![cfg(feature = "software")]

mod common;

use std::path::Path;
use std::process::Command;

use ghoststream::output::{
    open_container, open_file_sink, ContainerFormat, ContainerOptions, OutputFormat,
};
use ghoststream::{Codec, ColorMatrix, ColorPrimaries, ColorRange, TransferFunction};

/// ffprobe's `-show_streams` and `-show_frames` output for `path` as JSON.
fn ffprobe_json(path: &Path, what: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(what)
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffprobe on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn write_container(
    codec: Codec,
    format: ContainerFormat,
    frames: u64,
    configure: impl Fn(&mut ghoststream::SessionConfig),
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    ghoststream::SessionConfig,
) {
    let mut config = common::config(codec, 192, 108, 30);
    configure(&mut config);
    let encoded = common::encode_pattern(&config, frames);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("out.{}", format.name()));
    let mut sink = open_container(&path, format, &config, ContainerOptions::default()).unwrap();
    for p in &encoded.packets {
        sink.write(p).unwrap();
    }
    let summary = sink.finish().unwrap();
    assert_eq!(summary.packets, frames);
    (dir, path, config)
}

#[test]
fn every_container_and_codec_decodes_with_its_frames_timestamps_and_colour() {
    let cases = [
        (ContainerFormat::Matroska, Codec::H264),
        (ContainerFormat::Matroska, Codec::Hevc),
        (ContainerFormat::Matroska, Codec::Av1),
        (ContainerFormat::Mp4, Codec::H264),
        (ContainerFormat::Mp4, Codec::Hevc),
        (ContainerFormat::Mp4, Codec::Av1),
        (ContainerFormat::MpegTs, Codec::H264),
        (ContainerFormat::MpegTs, Codec::Hevc),
    ];
    for (format, codec) in cases {
        let what = format!("{codec} in {format}");
        let (_dir, path, _) = write_container(codec, format, 30, |c| {
            c.color.matrix = ColorMatrix::Bt709;
            c.color.range = ColorRange::Limited;
            c.color.primaries = ColorPrimaries::Bt709;
            c.color.transfer = TransferFunction::Bt709;
        });
        let streams = ffprobe_json(&path, &["-show_streams", "-count_frames"]);
        let s = &streams["streams"][0];
        let expected_codec = match codec {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
            Codec::Av1 => "av1",
            other => panic!("no ffprobe name known for {other}"),
        };
        assert_eq!(s["codec_name"], expected_codec, "{what}");
        assert_eq!(
            (s["width"].as_u64(), s["height"].as_u64()),
            (Some(192), Some(108)),
            "{what}"
        );
        assert_eq!(s["nb_read_frames"], "30", "{what}");
        assert_eq!(s["avg_frame_rate"], "30/1", "{what}");
        assert_eq!(s["color_space"], "bt709", "{what}");
        assert_eq!(s["color_range"], "tv", "{what}");
        assert_eq!(s["color_primaries"], "bt709", "{what}");
        assert_eq!(s["color_transfer"], "bt709", "{what}");
        // Presentation times: frame n at n/30 s from the first.
        let frames = ffprobe_json(
            &path,
            &[
                "-show_entries",
                "frame=pts_time,key_frame",
                "-select_streams",
                "v:0",
            ],
        );
        let times: Vec<f64> = frames["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["pts_time"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(times.len(), 30, "{what}");
        let first = times[0];
        for (n, t) in times.iter().enumerate() {
            assert!(
                (t - first - n as f64 / 30.0).abs() < 0.002,
                "{what}: frame {n} at {t} s (first at {first})"
            );
        }
        assert_eq!(frames["frames"][0]["key_frame"], 1, "{what}");
        // A clean finish writes the duration (Matroska's Duration, MP4's fragment index).
        let format_info = ffprobe_json(&path, &["-show_entries", "format=duration"]);
        let duration: f64 = format_info["format"]["duration"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no duration"))
            .parse()
            .unwrap();
        assert!(
            (duration - 1.0).abs() < 0.05,
            "{what}: duration {duration} s"
        );
        if format == ContainerFormat::Mp4 {
            let bytes = std::fs::read(&path).unwrap();
            let tail = &bytes[bytes.len().saturating_sub(64)..];
            assert!(
                tail.windows(4).any(|w| w == b"mfro"),
                "{what}: the mfra index ends the file"
            );
        }
        // And the pictures decode without a single error.
        common::decode_raw(&path, "yuv420p");
    }
}

#[test]
fn hdr10_metadata_is_in_the_matroska_and_mp4_headers() {
    use ghoststream::hdr::{Chromaticity, ContentLightLevel, HdrMetadata, MasteringDisplay};
    let display = MasteringDisplay {
        red: Chromaticity { x: 34000, y: 16000 },
        green: Chromaticity { x: 13250, y: 34500 },
        blue: Chromaticity { x: 7500, y: 3000 },
        white: Chromaticity { x: 15635, y: 16450 },
        max_luminance: 10_000_000,
        min_luminance: 50,
    };
    for format in [ContainerFormat::Matroska, ContainerFormat::Mp4] {
        let (_dir, path, _) = write_container(Codec::Hevc, format, 10, |c| {
            c.bit_depth = ghoststream::BitDepth::Ten;
            c.input_format = ghoststream::PixelFormat::I420P10;
            c.color.matrix = ColorMatrix::Bt2020Ncl;
            c.color.primaries = ColorPrimaries::Bt2020;
            c.color.transfer = TransferFunction::Pq;
            c.hdr_metadata = Some(HdrMetadata {
                display,
                light: Some(ContentLightLevel {
                    max_cll: 1000,
                    max_fall: 400,
                }),
            });
        });
        let streams = ffprobe_json(&path, &["-show_streams"]);
        let s = &streams["streams"][0];
        assert_eq!(s["color_transfer"], "smpte2084", "{format}");
        assert_eq!(s["color_primaries"], "bt2020", "{format}");
        let side = s["side_data_list"]
            .as_array()
            .unwrap_or_else(|| panic!("{format}: no stream side data in {s}"));
        let mastering = side
            .iter()
            .find(|d| d["side_data_type"] == "Mastering display metadata")
            .unwrap_or_else(|| panic!("{format}: no mastering display in {side:?}"));
        // Matroska keeps these as floats, MP4 as fixed point: compare the values.
        let value = |key: &str| -> f64 {
            let text = mastering[key]
                .as_str()
                .unwrap_or_else(|| panic!("{format}: {key}"));
            let (n, d) = text.split_once('/').unwrap();
            n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap()
        };
        for (key, want) in [
            ("red_x", 0.68),
            ("red_y", 0.32),
            ("green_x", 0.265),
            ("green_y", 0.69),
            ("blue_x", 0.15),
            ("blue_y", 0.06),
            ("white_point_x", 0.3127),
            ("white_point_y", 0.329),
            ("max_luminance", 1000.0),
            ("min_luminance", 0.005),
        ] {
            let got = value(key);
            assert!(
                (got - want).abs() <= want * 1e-4,
                "{format}: {key} {got} != {want}"
            );
        }
        let light = side
            .iter()
            .find(|d| d["side_data_type"] == "Content light level metadata")
            .unwrap_or_else(|| panic!("{format}: no content light level in {side:?}"));
        assert_eq!(
            (light["max_content"].as_u64(), light["max_average"].as_u64()),
            (Some(1000), Some(400))
        );
    }
}

#[test]
fn mkvmerge_accepts_the_matroska_files() {
    for codec in [Codec::H264, Codec::Hevc, Codec::Av1] {
        let (_dir, path, _) = write_container(codec, ContainerFormat::Matroska, 15, |_| {});
        let out = Command::new("mkvmerge")
            .args(["--identify", "--identification-format", "json"])
            .arg(&path)
            .output()
            .expect("mkvmerge runs (apt-get install mkvtoolnix)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{codec}: mkvmerge refused the file: {text}"
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["container"]["recognized"], true, "{codec}: {text}");
        assert_eq!(json["container"]["supported"], true, "{codec}: {text}");
        assert_eq!(
            json["errors"].as_array().map(Vec::len),
            Some(0),
            "{codec}: {text}"
        );
        let track = &json["tracks"][0];
        assert_eq!(track["type"], "video", "{codec}: {text}");
        assert_eq!(
            track["properties"]["pixel_dimensions"], "192x108",
            "{codec}: {text}"
        );
    }
}

#[test]
fn av1_in_mpeg_ts_and_a_zero_fragment_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(Codec::Av1, 64, 64, 30);
    let path = dir.path().join("x.ts");
    let e = open_container(
        &path,
        ContainerFormat::MpegTs,
        &config,
        ContainerOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("ts files cannot carry av1"), "{e}");
    assert!(!path.exists());
    let e = open_container(
        &dir.path().join("y.mkv"),
        ContainerFormat::Matroska,
        &config,
        ContainerOptions {
            fragment: std::time::Duration::ZERO,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("fragment length of 0"), "{e}");
    let e = open_container(
        Path::new("/nonexistent-dir/x.mkv"),
        ContainerFormat::Matroska,
        &config,
        ContainerOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent-dir/x.mkv"), "{e}");
}

#[test]
fn a_file_output_dropped_unfinished_is_finished_with_every_packet() {
    // 10 frames at 30 fps: under the 1 s cluster and fragment, so without a finish every one
    // of them would still be in the muxer's memory, and the file would hold none.
    let config = common::config(Codec::H264, 192, 108, 30);
    let encoded = common::encode_pattern(&config, 10);
    assert_eq!(encoded.packets.len(), 10);
    let dir = tempfile::tempdir().unwrap();
    for format in [
        ContainerFormat::Matroska,
        ContainerFormat::Mp4,
        ContainerFormat::MpegTs,
    ] {
        let path = dir.path().join(format!("dropped.{}", format.name()));
        let mut sink = open_file_sink(&path, OutputFormat::Container(format), &config).unwrap();
        for p in &encoded.packets {
            sink.write(p).unwrap();
        }
        drop(sink);
        let streams = ffprobe_json(
            &path,
            &["-count_frames", "-select_streams", "v:0", "-show_streams"],
        );
        assert_eq!(streams["streams"][0]["nb_read_frames"], "10", "{format}");
        common::decode_raw(&path, "yuv420p");
        // The trailer: Matroska's cues, MP4's mfra index at the end of the file.
        let bytes = std::fs::read(&path).unwrap();
        match format {
            ContainerFormat::Matroska => assert!(
                bytes.windows(4).any(|w| w == [0x1C, 0x53, 0xBB, 0x6B]),
                "{format}: no Cues element"
            ),
            ContainerFormat::Mp4 => assert!(
                bytes[bytes.len().saturating_sub(64)..]
                    .windows(4)
                    .any(|w| w == b"mfro"),
                "{format}: no mfra index at the end"
            ),
            _ => {}
        }
    }
}
