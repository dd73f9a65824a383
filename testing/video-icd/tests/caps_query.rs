//! GhostStream's own capability, quality-level and picture-format queries
//! (`ghoststream::gpu::video::caps`) on the test driver through the real loader: the
//! capabilities asked with a session's usage hints (the driver sees the same
//! `VkVideoEncodeUsageInfoKHR` in the query as in the session made for that tuning), the B-frame
//! limits of each codec, the driver's preferred settings for its fast and slow quality levels
//! (its table in `video::quality_level`), the encode input and reference formats per codec and
//! depth, and the refusals: a quality level beyond the profile's (never sent to the driver) and
//! a depth the device does not encode, each with its exact message. Under the 1.4 validation
//! layer the layer stays silent.
//!
//! One test in this binary: the environment names the driver before any Vulkan call.

mod common;

use ash::vk;
use ghoststream::gpu::video::caps::{
    encode_support_at, encode_support_tuned, picture_formats, quality_level_properties, usage_info,
    Av1QualityLevel, FormatChoice, PictureFormats, QualityLevelProperties,
};
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::session::{EncodeHints, EncodeSession, SessionParameters};
use ghoststream::gpu::video::VideoStream;
use ghoststream::gpu::GpuContext;
use ghoststream::{BitDepth, Codec, ColorDescription, Rational, Tuning};
use ghoststream_video_icd::{caps, log};

const TUNINGS: [Tuning; 4] = [
    Tuning::HighQuality,
    Tuning::LowLatency,
    Tuning::UltraLowLatency,
    Tuning::Lossless,
];

/// The usage the driver logs for `tuning`: usage hints / content hints / tuning mode.
fn logged_usage(tuning: Tuning) -> String {
    let u = usage_info(tuning);
    format!(
        "usage={:#x}/{:#x}/{}",
        u.video_usage_hints.as_raw(),
        u.video_content_hints.as_raw(),
        u.tuning_mode.as_raw()
    )
}

#[test]
fn capability_quality_level_and_format_queries_answer_with_the_drivers_values() {
    // Before any Vulkan call, and the only test of this binary.
    let Some((driver, ctx, validated)) = common::engine::driver_context() else {
        return;
    };
    let table = caps::active();
    tuned_capabilities(&ctx, table);
    quality_levels(&ctx);
    formats(&ctx);
    refusals(&ctx, table);
    sessions_chain_the_same_usage(&ctx);
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4:\n{}",
            messages.join("\n")
        );
    }

    let calls = log::read(&driver.log).unwrap();
    let lines = |name: &str| -> Vec<String> {
        calls
            .iter()
            .filter(|c| c.name == name)
            .map(|c| format!("{} -> {}", c.detail, c.result))
            .collect()
    };
    let caps_lines = lines("vkGetPhysicalDeviceVideoCapabilitiesKHR");
    let session_lines = lines("vkCreateVideoSessionKHR");
    let quality_lines = lines("vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR");
    let format_lines = lines("vkGetPhysicalDeviceVideoFormatPropertiesKHR");
    for tuning in TUNINGS {
        let usage = logged_usage(tuning);
        let has = |lines: &[String]| lines.iter().any(|l| l.contains(&usage));
        // The query, the quality level and the formats were asked with the usage a session of
        // this tuning chains into its profile, and the session was made with it.
        assert!(has(&caps_lines), "{tuning:?} {usage}: {caps_lines:#?}");
        assert!(
            has(&session_lines),
            "{tuning:?} {usage}: {session_lines:#?}"
        );
        assert!(
            has(&quality_lines),
            "{tuning:?} {usage}: {quality_lines:#?}"
        );
        assert!(has(&format_lines), "{tuning:?} {usage}: {format_lines:#?}");
    }
    // The untuned query (encode_support_at) has no usage info.
    assert!(caps_lines.iter().any(|l| l.contains("usage=none")));
    // The format queries: input (SRC | TRANSFER_DST) and DPB, one profile each, all answered.
    let src = vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::TRANSFER_DST;
    let dpb = vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR;
    for usage in [src, dpb] {
        let prefix = format!("usage={:#x} profiles=1 [", usage.as_raw());
        assert!(
            format_lines.iter().any(|l| l.starts_with(&prefix)),
            "{prefix}: {format_lines:#?}"
        );
    }
    assert!(
        format_lines
            .iter()
            .all(|l| l.ends_with("-> SUCCESS") || l.ends_with("-> INCOMPLETE")),
        "{format_lines:#?}"
    );
    // The out-of-range level was refused before the driver was asked.
    assert!(
        quality_lines.iter().all(|l| !l.contains(" level=7 ")),
        "{quality_lines:#?}"
    );
    assert!(
        quality_lines.iter().all(|l| l.ends_with("-> SUCCESS")),
        "{quality_lines:#?}"
    );
}

/// The tuned capabilities equal the untuned ones on this driver (it answers every use alike),
/// with the table's B-frame limits.
fn tuned_capabilities(ctx: &GpuContext, table: &caps::DeviceTable) {
    let cases = [
        (Codec::H264, BitDepth::Eight, "H.264 High", (4, 1, 0)),
        (Codec::Hevc, BitDepth::Eight, "H.265 Main", (4, 1, 0)),
        (Codec::Hevc, BitDepth::Ten, "H.265 Main 10", (4, 1, 0)),
        (Codec::Av1, BitDepth::Eight, "AV1 Main", (0, 0, 0)),
        (Codec::Av1, BitDepth::Ten, "AV1 Main 10-bit", (0, 0, 0)),
    ];
    for (codec, depth, profile, (b, l1, bidirectional)) in cases {
        let untuned = encode_support_at(ctx, codec, depth).unwrap();
        for tuning in TUNINGS {
            let tuned = encode_support_tuned(ctx, codec, depth, tuning).unwrap();
            assert_eq!(tuned, untuned, "{codec} {depth:?} {tuning:?}");
        }
        assert_eq!(untuned.device, table.name);
        assert_eq!(untuned.profile, profile);
        let l = &untuned.limits;
        assert_eq!(
            (
                l.b_references,
                l.l1_references,
                l.av1_bidirectional_references
            ),
            (b, l1, bidirectional),
            "{profile}"
        );
    }
    assert_eq!(
        (
            table.h264.max_b_picture_l0_reference_count,
            table.h264.max_l1_reference_count,
            table.h265.max_b_picture_l0_reference_count,
            table.h265.max_l1_reference_count,
            table.av1.max_bidirectional_compound_reference_count,
        ),
        (4, 1, 4, 1, 0),
        "the table the expectations above are written from"
    );
}

/// The driver's quality levels: VBR, one layer, a 120-frame GOP without periodic IDRs, one L0
/// reference; levels 3 to 6 (the slower half of 7) add two B frames with one L1 reference;
/// constant QPs 26/28/30 falling by one per level (AV1: ×5 as quantizer indices, one LAST
/// reference, no compound prediction).
fn quality_levels(ctx: &GpuContext) {
    let vbr = vk::VideoEncodeRateControlModeFlagsKHR::VBR;
    let expected =
        |level: u32, b: u32, l1: u32, qp: (i32, i32, i32), cabac: bool| QualityLevelProperties {
            level,
            rate_control_mode: vbr,
            rate_control_layers: 1,
            gop_frames: 120,
            idr_period: 0,
            consecutive_b_frames: b,
            temporal_layers: 1,
            constant_qp: qp,
            max_l0_references: 1,
            max_l1_references: l1,
            h264_cabac: cabac,
            av1: None,
        };
    let q = |codec, depth, tuning, level| {
        quality_level_properties(ctx, codec, depth, tuning, level).unwrap()
    };
    let (eight, ten) = (BitDepth::Eight, BitDepth::Ten);
    assert_eq!(
        q(Codec::H264, eight, Tuning::LowLatency, 0),
        expected(0, 0, 0, (26, 28, 30), true)
    );
    assert_eq!(
        q(Codec::H264, eight, Tuning::HighQuality, 2),
        expected(2, 0, 0, (24, 26, 28), true)
    );
    // The first slow level: two B frames, one backward reference.
    assert_eq!(
        q(Codec::H264, eight, Tuning::HighQuality, 3),
        expected(3, 2, 1, (23, 25, 27), true)
    );
    assert_eq!(
        q(Codec::H264, eight, Tuning::Lossless, 6),
        expected(6, 2, 1, (20, 22, 24), true)
    );
    assert_eq!(
        q(Codec::Hevc, eight, Tuning::UltraLowLatency, 0),
        expected(0, 0, 0, (26, 28, 30), false)
    );
    assert_eq!(
        q(Codec::Hevc, ten, Tuning::HighQuality, 6),
        expected(6, 2, 1, (20, 22, 24), false)
    );
    let av1 = |level: u32, qi: (i32, i32, i32)| QualityLevelProperties {
        constant_qp: qi,
        av1: Some(Av1QualityLevel {
            single_reference_name_mask: 1,
            ..Av1QualityLevel::default()
        }),
        ..expected(level, 0, 0, qi, false)
    };
    assert_eq!(
        q(Codec::Av1, eight, Tuning::LowLatency, 0),
        av1(0, (130, 140, 150))
    );
    // Slow AV1 levels keep to single references: the device offers no compound prediction.
    assert_eq!(
        q(Codec::Av1, ten, Tuning::HighQuality, 6),
        av1(6, (100, 110, 120))
    );
}

/// NV12 at 8 bits and P010 at 10, for every codec the driver encodes at that depth: the input
/// may also be a storage image with plane views (mutable format, extended usage), the
/// references are reference pictures only.
fn formats(ctx: &GpuContext) {
    let cases = [
        (Codec::H264, BitDepth::Eight),
        (Codec::Hevc, BitDepth::Eight),
        (Codec::Hevc, BitDepth::Ten),
        (Codec::Av1, BitDepth::Eight),
        (Codec::Av1, BitDepth::Ten),
    ];
    for (codec, depth) in cases {
        let format = match depth {
            BitDepth::Ten => vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16,
            _ => vk::Format::G8_B8R8_2PLANE_420_UNORM,
        };
        let expected = PictureFormats {
            input: FormatChoice {
                format,
                create_flags: vk::ImageCreateFlags::MUTABLE_FORMAT
                    | vk::ImageCreateFlags::EXTENDED_USAGE,
                usage: vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR
                    | vk::ImageUsageFlags::TRANSFER_SRC
                    | vk::ImageUsageFlags::TRANSFER_DST
                    | vk::ImageUsageFlags::STORAGE,
                storage: true,
            },
            dpb: FormatChoice {
                format,
                create_flags: vk::ImageCreateFlags::empty(),
                usage: vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
                storage: false,
            },
            // The NVIDIA table: each reference picture an image of its own.
            separate_reference_images: true,
        };
        for tuning in TUNINGS {
            assert_eq!(
                picture_formats(ctx, codec, depth, tuning).unwrap(),
                expected,
                "{codec} {depth:?} {tuning:?}"
            );
        }
    }
}

/// A level beyond the profile's 7 and a depth the device does not encode, refused by name.
fn refusals(ctx: &GpuContext, table: &caps::DeviceTable) {
    let name = table.name;
    assert_eq!(
        quality_level_properties(ctx, Codec::H264, BitDepth::Eight, Tuning::HighQuality, 7)
            .unwrap_err()
            .to_string(),
        format!(
            "invalid quality level 7: {name} offers quality levels 0 to 6 for H.264 High encode"
        )
    );
    let no_10_bit_h264 = format!(
        "{name}: H.264 High 4:2:0 at 10 bits: encode capabilities refused: \
         ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR"
    );
    assert_eq!(
        encode_support_tuned(ctx, Codec::H264, BitDepth::Ten, Tuning::HighQuality).unwrap_err(),
        no_10_bit_h264
    );
    let as_gpu_error = format!("the device cannot encode h264 with Vulkan Video: {no_10_bit_h264}");
    assert_eq!(
        quality_level_properties(ctx, Codec::H264, BitDepth::Ten, Tuning::LowLatency, 0)
            .unwrap_err()
            .to_string(),
        as_gpu_error
    );
    assert_eq!(
        picture_formats(ctx, Codec::H264, BitDepth::Ten, Tuning::LowLatency)
            .unwrap_err()
            .to_string(),
        as_gpu_error
    );
}

/// A session made for each tuning, so that the log shows the usage it chains beside the
/// queries' (the two must agree: the specification requires a session's images and queries to
/// name its exact profile).
fn sessions_chain_the_same_usage(ctx: &std::sync::Arc<GpuContext>) {
    let params = H264Parameters::new(&VideoStream {
        width: 320,
        height: 240,
        frame_rate: Rational::new(30, 1),
        max_bitrate: 2_000_000,
        color: ColorDescription::BT709,
        bit_depth: BitDepth::Eight,
    })
    .unwrap();
    for tuning in TUNINGS {
        let hints = EncodeHints {
            quality_level: 0,
            tuning,
            b_frames: 0,
            ..EncodeHints::default()
        };
        let session = EncodeSession::with_hints(ctx, SessionParameters::H264(&params), hints)
            .expect("the session is made");
        drop(session);
    }
}
