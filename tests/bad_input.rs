//! Bad input, each case its own test: a typed error naming the bad value, never a panic.

mod common;

use std::io::Cursor;

use ghoststream::process::tonemap::PeakSource;
use ghoststream::source::{FrameSource, RawReader, SourceError, SourceInfo, Y4mReader};
use ghoststream::{
    Codec, ColorPrimaries, ConfigError, GpuChoice, KeyframeInterval, PixelFormat, RateControl,
    RateControlMode, Rational, Session, SessionConfig, SessionError, SizeError, ToneMapInput,
    TransferFunction,
};

fn y4m(bytes: &[u8]) -> Result<Y4mReader, SourceError> {
    Y4mReader::new(Cursor::new(bytes.to_vec()), "test.y4m")
}

#[test]
fn y4m_empty_input() {
    assert!(matches!(
        y4m(b"").unwrap_err(),
        SourceError::Y4mBadMagic { .. }
    ));
}

#[test]
fn y4m_bad_magic_names_what_was_found() {
    let e = y4m(b"RIFF1234 W4 H4\n").unwrap_err();
    assert!(
        matches!(e, SourceError::Y4mBadMagic { ref found } if found == "RIFF1234 W"),
        "{e}"
    );
}

#[test]
fn y4m_truncated_header() {
    let e = y4m(b"YUV4MPEG2 W64 H64 F30:1").unwrap_err();
    assert!(
        matches!(e, SourceError::Y4mLineTooLong { what: "header", .. }),
        "{e}"
    );
}

#[test]
fn y4m_header_that_never_ends() {
    let mut data = b"YUV4MPEG2 ".to_vec();
    data.extend(std::iter::repeat_n(b'X', 10_000));
    assert!(matches!(
        y4m(&data).unwrap_err(),
        SourceError::Y4mLineTooLong { .. }
    ));
}

#[test]
fn y4m_missing_height() {
    let e = y4m(b"YUV4MPEG2 W64 F30:1\n").unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::Y4mMissingField {
                field: "H (height)"
            }
        ),
        "{e}"
    );
}

#[test]
fn y4m_non_numeric_width() {
    let e = y4m(b"YUV4MPEG2 Wabc H64 F30:1\n").unwrap_err();
    assert!(e.to_string().contains("\"abc\""), "{e}");
}

#[test]
fn y4m_bad_frame_rate() {
    let e = y4m(b"YUV4MPEG2 W64 H64 F30:0\n").unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::Y4mBadField {
                field: "F (frame rate)",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("30:0"));
}

#[test]
fn y4m_zero_width() {
    let e = y4m(b"YUV4MPEG2 W0 H64 F30:1\n").unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::Size(SizeError::Zero {
                width: 0,
                height: 64
            })
        ),
        "{e}"
    );
}

#[test]
fn y4m_odd_size_in_420() {
    let e = y4m(b"YUV4MPEG2 W65 H64 F30:1 C420jpeg\n").unwrap_err();
    assert!(
        matches!(e, SourceError::Size(SizeError::Odd { width: 65, .. })),
        "{e}"
    );
    // 4:4:4 allows odd sizes.
    assert!(y4m(b"YUV4MPEG2 W65 H63 F30:1 C444\n").is_ok());
}

#[test]
fn y4m_oversized() {
    let e = y4m(b"YUV4MPEG2 W20000 H64 F30:1\n").unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::Size(SizeError::TooLarge { width: 20000, .. })
        ),
        "{e}"
    );
}

#[test]
fn y4m_unsupported_chroma() {
    for tag in ["422", "mono", "411", "420p12"] {
        let e = y4m(format!("YUV4MPEG2 W64 H64 F30:1 C{tag}\n").as_bytes()).unwrap_err();
        assert!(
            matches!(e, SourceError::UnsupportedChroma { ref value } if value == tag),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("C{tag}")));
    }
}

#[test]
fn y4m_interlaced() {
    let e = y4m(b"YUV4MPEG2 W64 H64 F30:1 It\n").unwrap_err();
    assert!(matches!(e, SourceError::UnsupportedInterlace { .. }), "{e}");
}

#[test]
fn y4m_truncated_frame_names_frame_and_bytes() {
    let mut data = b"YUV4MPEG2 W4 H2 F30:1\nFRAME\n".to_vec();
    data.extend([0u8; 12]);
    data.extend(b"FRAME\n");
    data.extend([0u8; 7]);
    let mut r = y4m(&data).unwrap();
    assert!(r.next_frame().unwrap().is_some());
    let e = r.next_frame().unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::TruncatedFrame {
                frame: 1,
                got: 7,
                expected: 12
            }
        ),
        "{e}"
    );
}

#[test]
fn y4m_bad_frame_marker() {
    let mut data = b"YUV4MPEG2 W4 H2 F30:1\nFRAMX\n".to_vec();
    data.extend([0u8; 12]);
    let e = y4m(&data).unwrap().next_frame().unwrap_err();
    assert!(
        matches!(e, SourceError::Y4mBadFrameMarker { frame: 0, ref found } if found == "FRAMX"),
        "{e}"
    );
}

#[test]
fn y4m_frame_line_that_never_ends() {
    let mut data = b"YUV4MPEG2 W4 H2 F30:1\nFRAME".to_vec();
    data.extend(std::iter::repeat_n(b' ', 5000));
    let e = y4m(&data).unwrap().next_frame().unwrap_err();
    assert!(
        matches!(e, SourceError::Y4mLineTooLong { what: "FRAME", .. }),
        "{e}"
    );
}

#[test]
fn raw_partial_frame() {
    let info = SourceInfo {
        format: PixelFormat::I420,
        width: 4,
        height: 4,
        frame_rate: Rational::new(30, 1),
    };
    let mut r = RawReader::new(Cursor::new(vec![0u8; 24 + 10]), "raw", info).unwrap();
    r.next_frame().unwrap();
    assert!(matches!(
        r.next_frame().unwrap_err(),
        SourceError::TruncatedFrame {
            frame: 1,
            got: 10,
            expected: 24
        }
    ));
}

#[test]
fn raw_odd_size_for_nv12() {
    let info = SourceInfo {
        format: PixelFormat::Nv12,
        width: 5,
        height: 4,
        frame_rate: Rational::new(30, 1),
    };
    assert!(matches!(
        RawReader::new(Cursor::new(vec![]), "raw", info).unwrap_err(),
        SourceError::Size(SizeError::Odd { width: 5, .. })
    ));
}

fn open_err(c: SessionConfig) -> ConfigError {
    match Session::open(c) {
        Err(SessionError::Config(e)) => e,
        Err(other) => panic!("expected a config error, got {other}"),
        Ok(_) => panic!("an invalid config opened a session"),
    }
}

#[test]
fn config_cqp_with_a_bitrate() {
    let e =
        RateControl::from_parts(RateControlMode::Cqp, Some(4_000_000), None, Some(20)).unwrap_err();
    assert!(matches!(
        e,
        ConfigError::Conflict {
            field: "bitrate",
            ..
        }
    ));
    assert!(
        e.to_string().contains("4000000") && e.to_string().contains("cqp"),
        "{e}"
    );
}

#[test]
fn config_bitrate_zero() {
    let mut c = common::config(Codec::H264, 320, 192, 30);
    c.rate_control = RateControl::Cbr { bitrate: 0 };
    let e = open_err(c);
    assert!(
        matches!(e, ConfigError::Invalid { field: "bitrate", ref value, .. } if value == "0"),
        "{e}"
    );
}

#[test]
fn config_keyframe_interval_zero() {
    let mut c = common::config(Codec::Av1, 320, 192, 30);
    c.keyframe_interval = KeyframeInterval::Frames(0);
    assert!(matches!(
        open_err(c),
        ConfigError::Invalid {
            field: "keyframe_interval",
            ..
        }
    ));
}

#[test]
fn config_odd_and_oversized_sizes() {
    let c = common::config(Codec::Hevc, 321, 192, 30);
    assert!(
        matches!(open_err(c), ConfigError::Invalid { field: "width", ref value, .. } if value == "321")
    );
    let c = common::config(Codec::H264, 320, 0, 30);
    assert!(matches!(
        open_err(c),
        ConfigError::Invalid {
            field: "height",
            ..
        }
    ));
    let c = common::config(Codec::Av1, 16384, 8704, 30);
    assert!(matches!(
        open_err(c),
        ConfigError::Invalid {
            field: "width x height",
            ..
        }
    ));
}

#[test]
fn config_hdr_at_eight_bits() {
    let mut c = common::config(Codec::Hevc, 320, 192, 30);
    c.color = ghoststream::ColorDescription::HDR10;
    let e = open_err(c);
    assert!(e.to_string().contains("bit_depth 10"), "{e}");
}

#[test]
fn rgba16f_input_is_refused_on_the_cpu_path() {
    let mut c = common::config(Codec::H264, 320, 192, 30);
    c.input_format = PixelFormat::Rgba16f;
    c.gpu = GpuChoice::Off;
    let e = open_err(c);
    assert!(
        matches!(
            e,
            ConfigError::Conflict {
                field: "input_format",
                ..
            }
        ) && e.to_string().contains("rgba16f"),
        "{e}"
    );
}

fn processing_err(c: SessionConfig, needle: &str) {
    let e = open_err(c);
    assert!(
        matches!(e, ConfigError::Conflict { .. }) && e.to_string().contains(needle),
        "expected a conflict naming {needle:?}: {e}"
    );
}

#[test]
fn processing_that_cannot_run_is_refused_by_name() {
    let rgb = || {
        let mut c = common::config(Codec::H264, 1280, 720, 30);
        c.input_format = PixelFormat::Bgra8;
        c
    };
    // Scaling YUV input.
    let mut c = common::config(Codec::H264, 1280, 720, 30);
    c.processing.input_size = Some((1920, 1080));
    processing_err(c, "not i420");
    // Scaling with the GPU off.
    let mut c = rgb();
    c.gpu = GpuChoice::Off;
    c.processing.sharpen = 0.5;
    processing_err(c, "turn the GPU on");
    // More than 4x down in one pass.
    let mut c = rgb();
    c.processing.input_size = Some((7680, 4320));
    processing_err(c, "7680 to 1280");
    // Sharpening out of range.
    let mut c = rgb();
    c.processing.sharpen = -0.1;
    processing_err(c, "-0.1");
    // Tone mapping to anything but SDR BT.709.
    let mut c = rgb();
    c.processing.tonemap = Some(ToneMapInput {
        transfer: TransferFunction::Pq,
        peak: PeakSource::Metadata(1000.0),
    });
    c.color.primaries = ColorPrimaries::Bt2020;
    processing_err(c, "set primaries bt709");
    let mut c = rgb();
    c.processing.tonemap = Some(ToneMapInput {
        transfer: TransferFunction::Srgb,
        peak: PeakSource::Metadata(1000.0),
    });
    processing_err(c, "needs an HDR source");
    let mut c = rgb();
    c.processing.tonemap = Some(ToneMapInput {
        transfer: TransferFunction::Pq,
        peak: PeakSource::Metadata(20000.0),
    });
    processing_err(c, "20000 nits");
}

#[test]
fn encoder_too_small_for_svt_is_an_encoder_error_not_a_panic() {
    // SVT-AV1 needs at least 64x64; the config is valid for AV1 itself.
    let c = common::config(Codec::Av1, 32, 32, 30);
    match Session::open(c) {
        Err(SessionError::Encode(e)) => assert!(e.to_string().contains("libsvtav1"), "{e}"),
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("SVT-AV1 accepted 32x32"),
    }
}
