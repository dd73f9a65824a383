//! Bad input, each case its own test: a typed error naming the bad value, never a panic.

mod common;

use std::io::Cursor;

use ghoststream::processing::tonemap::PeakSource;
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
    let e = RateControl::from_parts(RateControlMode::Cqp, Some(4_000_000), None, Some(20), None)
        .unwrap_err();
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
    // Scaling a YUV input the pass does not read (NV12, I420, P010 and I444 it does).
    let mut c = common::config(Codec::H264, 1280, 720, 30);
    c.input_format = PixelFormat::I420P10;
    c.processing.input_size = Some((1920, 1080));
    processing_err(c, "not i420p10");
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

// Hostile Y4M headers (issue 18): the header is parsed as bytes, every number checked.

fn y4m_field_err(header: &[u8]) -> (&'static str, String) {
    match y4m(header) {
        Err(SourceError::Y4mBadField { field, value, .. }) => (field, value),
        Err(other) => panic!("expected a bad-field error for {header:?}, got {other}"),
        Ok(_) => panic!("{header:?} was accepted"),
    }
}

#[test]
fn y4m_multibyte_token_start_is_named_not_a_panic() {
    let (field, value) = y4m_field_err("YUV4MPEG2 W4 H2 F30:1 éx\n".as_bytes());
    assert_eq!((field, value.as_str()), ("tag", "\\xc3\\xa9x"));
    let e = y4m("YUV4MPEG2 W4 H2 F30:1 éx\n".as_bytes()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Y4M header field tag has an invalid value \"\\\\xc3\\\\xa9x\": each token starts with a tag letter (W, H, F, I, A, C or X)"
    );
}

#[test]
fn y4m_every_high_byte_at_a_token_start_is_an_error() {
    for b in 0x80..=0xffu8 {
        let mut header = b"YUV4MPEG2 W4 H2 F30:1 ".to_vec();
        header.extend([b, b'1']);
        header.push(b'\n');
        let (field, value) = y4m_field_err(&header);
        assert_eq!((field, value), ("tag", format!("\\x{b:02x}1")));
    }
}

#[test]
fn y4m_non_ascii_inside_a_value_is_named() {
    let (field, value) = y4m_field_err(b"YUV4MPEG2 W4\xff H2 F30:1\n");
    assert_eq!((field, value.as_str()), ("W (width)", "4\\xff"));
    let e = y4m(b"YUV4MPEG2 W4 H2 F30:1 C42\xc3\xa90\n").unwrap_err();
    assert!(
        matches!(e, SourceError::UnsupportedChroma { ref value } if value == "42\\xc3\\xa90"),
        "{e}"
    );
}

#[test]
fn y4m_frame_rates_that_are_zero_negative_or_overflow_are_refused() {
    for rate in [
        "0:0",
        "0:1",
        "30:0",
        "-30:1",
        "30:-1",
        "+30:1",
        "4294967296:1",
        "1:4294967296",
        "99999999999999999999:1",
        "30",
        "30:",
        ":1",
        "30:1:1",
        "3 0:1",
    ] {
        let header = format!("YUV4MPEG2 W4 H2 F{rate}\n");
        let (field, value) = y4m_field_err(header.as_bytes());
        assert_eq!(field, "F (frame rate)", "{rate}");
        // The value named is what the token held (up to the first space).
        assert_eq!(value, rate.split(' ').next().unwrap(), "{rate}");
    }
}

#[test]
fn y4m_extreme_but_representable_rates_reach_the_config_check() {
    // The reader takes any positive 32-bit fraction; whether an encoder takes it is
    // SessionConfig::validate's call (issue 18, frame-rate limits).
    let r = y4m(b"YUV4MPEG2 W4 H2 F4294967295:1\n").unwrap();
    assert_eq!(r.info().frame_rate, Rational::new(4_294_967_295, 1));
    let r = y4m(b"YUV4MPEG2 W4 H2 F1:1000000000\n").unwrap();
    assert_eq!(r.info().frame_rate, Rational::new(1, 1_000_000_000));
}

#[test]
fn y4m_sizes_that_overflow_32_bits_are_named() {
    let (field, value) = y4m_field_err(b"YUV4MPEG2 W4294967296 H2 F30:1\n");
    assert_eq!((field, value.as_str()), ("W (width)", "4294967296"));
    let (field, value) = y4m_field_err(b"YUV4MPEG2 W4 H+2 F30:1\n");
    assert_eq!((field, value.as_str()), ("H (height)", "+2"));
    // The largest 32-bit size is a size error, not an overflow.
    let e = y4m(b"YUV4MPEG2 W4294967295 H4294967295 F30:1 C444p16\n").unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::Size(SizeError::TooLarge {
                width: 4_294_967_295,
                ..
            })
        ),
        "{e}"
    );
}

#[test]
fn y4m_frame_marker_must_be_the_word_frame() {
    let mut data = b"YUV4MPEG2 W4 H2 F30:1\nFRAMES\n".to_vec();
    data.extend([0u8; 12]);
    let e = y4m(&data).unwrap().next_frame().unwrap_err();
    assert!(
        matches!(e, SourceError::Y4mBadFrameMarker { frame: 0, ref found } if found == "FRAMES"),
        "{e}"
    );
    // Parameters after a space are allowed.
    let mut data = b"YUV4MPEG2 W4 H2 F30:1\nFRAME Ip\n".to_vec();
    data.extend([0u8; 12]);
    assert!(y4m(&data).unwrap().next_frame().unwrap().is_some());
}

#[test]
fn y4m_frame_line_streamed_forever_stops_at_the_limit() {
    // A reader that never ends: the FRAME line is cut at its limit, memory stays bounded.
    struct Endless;
    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'F');
            Ok(buf.len())
        }
    }
    let header = Cursor::new(b"YUV4MPEG2 W4 H2 F30:1\n".to_vec());
    let mut r = Y4mReader::new(std::io::Read::chain(header, Endless), "endless").unwrap();
    assert!(matches!(
        r.next_frame().unwrap_err(),
        SourceError::Y4mLineTooLong {
            what: "FRAME",
            limit: 1024
        }
    ));
}

#[test]
fn raw_frame_rate_must_be_positive() {
    for (num, den) in [(0, 1), (30, 0), (-30, 1), (30, -1)] {
        let info = SourceInfo {
            format: PixelFormat::I420,
            width: 4,
            height: 4,
            frame_rate: Rational::new(num, den),
        };
        let e = RawReader::new(Cursor::new(vec![0u8; 24]), "raw", info).unwrap_err();
        assert!(
            matches!(e, SourceError::InvalidFrameRate { rate } if rate == Rational::new(num, den)),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("{num}/{den}")), "{e}");
    }
}

// Hostile parameter sets (issue 18): the SPS parsers check every number they compute with.

/// `ue(v)` bits of `v`.
fn ue(v: u32) -> String {
    let x = u64::from(v) + 1;
    let len = 64 - x.leading_zeros() as usize;
    format!("{}{x:b}", "0".repeat(len - 1))
}

/// A NAL unit: `header` bytes, then `bits` (a string of 0 and 1), stop bit and padding.
fn nal_from_bits(header: &[u8], bits: &str) -> Vec<u8> {
    let mut bits = format!("{bits}1");
    while bits.len() % 8 != 0 || bits.len() < 8 * 16 {
        bits.push('0');
    }
    let mut nal = header.to_vec();
    let mut zeros = 0;
    for c in bits.as_bytes().chunks(8) {
        let byte = c
            .iter()
            .fold(0u8, |byte, &b| (byte << 1) | u8::from(b == b'1'));
        // Emulation prevention: no 00 00 0x (x <= 3) inside a NAL unit.
        if zeros >= 2 && byte <= 3 {
            nal.push(3);
            zeros = 0;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        nal.push(byte);
    }
    nal
}

/// An HEVC SPS (Main, one sub-layer, 4:2:0) with the given size, window and bit depths.
fn hevc_sps(size: (u32, u32), window: Option<[u32; 4]>, depth_minus8: (u32, u32)) -> Vec<u8> {
    let mut bits = String::from("0000" /* vps id */);
    bits += "000" /* max_sub_layers_minus1 */;
    bits += "1" /* temporal_id_nesting */;
    bits += "00" /* profile_space */;
    bits += "0" /* tier */;
    bits += "00001" /* profile_idc */;
    bits += &"0".repeat(32 + 48);
    bits += "01011101" /* level 93 */;
    bits += &ue(0) /* sps id */;
    bits += &ue(1) /* chroma_format_idc */;
    bits += &ue(size.0);
    bits += &ue(size.1);
    match window {
        Some(w) => {
            bits += "1";
            for v in w {
                bits += &ue(v);
            }
        }
        None => bits += "0",
    }
    bits += &ue(depth_minus8.0);
    bits += &ue(depth_minus8.1);
    nal_from_bits(&[0x42, 0x01], &bits)
}

#[test]
fn hevc_sps_parses_a_plain_header() {
    use ghoststream::bitstream::hevc::parse_sps;
    let info = parse_sps(&hevc_sps((1920, 1088), Some([0, 0, 0, 4]), (2, 2))).unwrap();
    assert_eq!(
        (
            info.width,
            info.height,
            info.bit_depth_luma,
            info.bit_depth_chroma
        ),
        (1920, 1080, 10, 10)
    );
}

#[test]
fn hevc_sps_conformance_window_that_overflows_is_an_error() {
    use ghoststream::bitstream::hevc::parse_sps;
    let big = u32::MAX - 1;
    for window in [[big, big, 0, 0], [0, 0, 1 << 31, 1 << 31], [960, 0, 0, 0]] {
        let e = parse_sps(&hevc_sps((1920, 1080), Some(window), (0, 0))).unwrap_err();
        assert!(
            e.to_string().contains("conformance window"),
            "{window:?}: {e}"
        );
    }
}

#[test]
fn hevc_sps_bit_depth_out_of_range_is_named() {
    use ghoststream::bitstream::hevc::parse_sps;
    for minus8 in [9, 1000, u32::MAX - 1] {
        let e = parse_sps(&hevc_sps((64, 64), None, (minus8, 0))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("invalid bitstream: HEVC SPS bit_depth_luma_minus8 {minus8} (expected 0 to 8)")
        );
    }
}

#[test]
fn h264_sps_bit_depth_out_of_range_is_named() {
    use ghoststream::bitstream::avc::parse_sps;
    // High profile (100): chroma_format_idc and bit depths are present.
    let sps = |chroma: u32, minus8: u32| {
        let bits = format!(
            "{:08b}{:08b}{:08b}{}{}{}{}",
            100,
            0,
            40,
            ue(0),
            ue(chroma),
            ue(minus8),
            ue(0)
        );
        nal_from_bits(&[0x67], &bits)
    };
    assert_eq!(parse_sps(&sps(1, 2)).unwrap().bit_depth_luma, 10);
    for minus8 in [7, u32::MAX - 1] {
        let e = parse_sps(&sps(1, minus8)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "invalid bitstream: H.264 SPS bit_depth_luma_minus8 {minus8} (expected 0 to 6)"
            )
        );
    }
    let e = parse_sps(&sps(4, 0)).unwrap_err();
    assert!(e.to_string().contains("chroma_format_idc 4"), "{e}");
}

#[test]
fn y4m_largest_frame_header_with_no_data_allocates_nothing() {
    // 8192x4352 (the most samples a frame may have) 4:4:4 at 16 bits is 204 MiB a frame: a
    // stream that ends after its FRAME line is refused before that buffer exists (the
    // process's peak memory stays put).
    fn peak_rss_kib() -> i64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
    let before = peak_rss_kib();
    let mut r = y4m(b"YUV4MPEG2 W8192 H4352 F30:1 C444p16\nFRAME\n").unwrap();
    let e = r.next_frame().unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::TruncatedFrame {
                frame: 0,
                got: 0,
                expected: 213_909_504
            }
        ),
        "{e}"
    );
    let grown_mib = (peak_rss_kib() - before) / 1024;
    assert!(grown_mib < 100, "peak memory grew by {grown_mib} MiB");
}

#[test]
fn a_duration_under_a_nanosecond_is_not_more_than_zero() {
    // Found by the `units` fuzz target: positive as a float, zero as a Duration.
    for text in [
        "0.0000000000016645431359404361499s",
        "1e-10",
        "0.0000000001ms",
    ] {
        let e = ghoststream::units::parse_duration(text).unwrap_err();
        assert_eq!((e.what, e.value.as_str()), ("duration", text));
    }
    assert_eq!(
        ghoststream::units::parse_duration("0.000000001s").unwrap(),
        std::time::Duration::from_nanos(1)
    );
}

#[test]
fn y4m_fuzzer_input_with_a_lone_high_byte_pair() {
    // The input the `y4m` fuzz target found against the old reader (a panic in split_at).
    let (field, value) = y4m_field_err(b"YUV4MPEG2 \xa5\xb3\n");
    assert_eq!((field, value.as_str()), ("tag", "\\xa5\\xb3"));
}

#[test]
fn y4m_extreme_rates_give_timestamps_that_never_go_back() {
    // Found by the `y4m` fuzz target (F3033333330:1): at more than 10^9 fps a frame is shorter
    // than a nanosecond, so timestamps repeat; at one frame in 136 years they saturate. Neither
    // overflows or goes back; SessionConfig::validate refuses both rates by value.
    for (rate, last) in [
        ("3033333330:1", 1),
        ("4294967295:1", 1),
        ("1:4294967295", i64::MAX),
    ] {
        let mut data = format!("YUV4MPEG2 W2 H2 F{rate}\n").into_bytes();
        for _ in 0..4 {
            data.extend(b"FRAME\n");
            data.extend([0u8; 6]);
        }
        let mut r = y4m(&data).unwrap();
        let pts: Vec<i64> = std::iter::from_fn(|| r.next_frame().unwrap())
            .map(|f| f.pts.as_nanos())
            .collect();
        assert_eq!(pts.len(), 4, "{rate}");
        assert!(pts.windows(2).all(|w| w[0] <= w[1]), "{rate}: {pts:?}");
        assert_eq!((pts[0], pts[3]), (0, last), "{rate}: {pts:?}");
    }
}
