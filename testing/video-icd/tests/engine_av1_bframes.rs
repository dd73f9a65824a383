//! AV1 B frames through GhostStream's encoder on the driver's RADV RDNA4 table, whose AV1
//! profile offers bidirectional compound prediction (LAST and ALTREF, two references): a
//! 300-frame high-quality session with the B frames the table's quality level prefers, a
//! forced key frame at 150 and an end that leaves a short group. The frame after each run of B
//! frames is coded first and hidden (showable), the B frames predict from the frame before
//! (LAST) and that hidden one (ALTREF) and store nothing, and the last of them carries the
//! order to show the hidden frame (`show_existing_frame`). Checked: the pictures' order and
//! flags as the encoder returns them; the driver's log (prediction mode, names, order hints,
//! show_frame); the frame headers of the driver's bytes by GhostStream's OBU walker; the
//! validation layer (1.4.303 or newer, when on) silent.
//!
//! One test in this binary: the table is named before any Vulkan call.

mod common;

use ghoststream::bitstream::obu;
use ghoststream::gpu::video::av1_sequence::Av1Parameters;
use ghoststream::gpu::video::caps::{encode_support_tuned, quality_level_properties};
use ghoststream::gpu::video::encoder::{EncoderOptions, ShowExisting, VideoEncoder, VideoRate};
use ghoststream::gpu::video::session::SessionParameters;
use ghoststream::gpu::video::PictureKind;
use ghoststream::{BitDepth, Codec, RateControl, Rational, Tuning};
use ghoststream_video_icd::log;

/// Above RDNA4's smallest AV1 extent (320x128).
const SIZE: (usize, usize) = (400, 228);
const FRAMES: usize = 300;
const FORCED_KEY: usize = 150;

#[test]
fn av1_b_frames_predict_both_ways_and_the_frame_coded_ahead_is_shown_after_them() {
    std::env::set_var(ghoststream_video_icd::caps::TABLE_ENV, "radv-rdna4");
    let Some((driver, ctx, validated)) = common::engine::driver_context() else {
        return;
    };
    let stream = common::engine::stream(SIZE);
    let params = Av1Parameters::new(&stream).unwrap();
    let support = encode_support_tuned(&ctx, Codec::Av1, BitDepth::Eight, Tuning::HighQuality)
        .expect("the table encodes AV1");
    assert!(
        support.limits.b_pictures(),
        "RDNA4's AV1 offers LAST+ALTREF compound"
    );
    let level = support.quality_levels - 1;
    let preferred = quality_level_properties(
        &ctx,
        Codec::Av1,
        BitDepth::Eight,
        Tuning::HighQuality,
        level,
    )
    .expect("the level's preferences")
    .consecutive_b_frames;
    assert_eq!(preferred, 2, "the driver's B frames at its slowest level");
    let rate = VideoRate {
        control: RateControl::Vbr {
            target: 2_000_000,
            max: 3_000_000,
        },
        frame_rate: Rational::new(30, 1),
        buffer_ms: 1000,
        quality_level: level,
    };
    let options = EncoderOptions {
        tuning: Tuning::HighQuality,
        b_frames: preferred,
        ..EncoderOptions::default()
    };
    let mut encoder =
        VideoEncoder::with_options(&ctx, SessionParameters::Av1(&params), rate, options)
            .expect("the B-frame encoder opens");
    let before = log::read(&driver.log).map_or(0, |c| c.len());
    let mut out = Vec::new();
    for n in 0..FRAMES {
        let p = common::engine::picture(n, SIZE.0, SIZE.1);
        let input = common::engine::input(&p, SIZE);
        encoder
            .submit(input, n == FORCED_KEY, i64::try_from(n).unwrap())
            .expect("the frame is taken");
        while let Some(e) = encoder.receive(false).expect("a frame") {
            out.push(e);
        }
    }
    encoder.flush().expect("the held frames are coded");
    while let Some(e) = encoder.receive(true).expect("a frame") {
        out.push(e);
    }
    drop(encoder);
    common::engine::silent(&ctx, validated, "av1 B frames");
    assert_eq!(out.len(), FRAMES, "every frame coded once");

    // Coding order: the key frame, then per group the frame after the B frames (hidden), the
    // B frames, the last of them naming the hidden one to show.
    let order: Vec<(i64, PictureKind, bool, Option<ShowExisting>)> = out
        .iter()
        .map(|e| (e.tag, e.kind, e.shown, e.show_existing))
        .collect();
    let mut shown_tags = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let (tag, kind, shown, show) = order[i];
        match (kind, shown) {
            (PictureKind::Idr, true) | (PictureKind::P, true) => {
                assert!(show.is_none());
                shown_tags.push(tag);
            }
            (PictureKind::P, false) => {
                // Then its B frames, in display order, the last showing it.
                let mut j = i + 1;
                while order[j].1 == PictureKind::B {
                    assert!(order[j].2, "B frames are shown");
                    shown_tags.push(order[j].0);
                    j += 1;
                    if order[j - 1].3.is_some() {
                        break;
                    }
                }
                let last = order[j - 1];
                assert_eq!(
                    last.3.map(|s| s.tag),
                    Some(tag),
                    "the last B frame before {tag} shows it: {order:?}"
                );
                shown_tags.push(tag);
                i = j;
                continue;
            }
            other => panic!("unexpected {other:?} at {i}: {order:?}"),
        }
        i += 1;
    }
    let want: Vec<i64> = (0..i64::try_from(FRAMES).unwrap()).collect();
    assert_eq!(shown_tags, want, "frames shown in display order");
    let hidden = order.iter().filter(|o| !o.2).count();
    let bs = order.iter().filter(|o| o.1 == PictureKind::B).count();
    assert!(
        hidden >= 90 && bs >= 190,
        "{hidden} hidden frames, {bs} B frames"
    );
    assert_eq!(
        order
            .iter()
            .filter(|o| o.1 == PictureKind::Idr)
            .map(|o| o.0)
            .collect::<Vec<_>>(),
        [0, i64::try_from(FORCED_KEY).unwrap()]
    );

    // The driver's record: B frames bidirectional (mode 3) from LAST and ALTREF.
    let calls = log::read(&driver.log).unwrap();
    let encodes: Vec<_> = calls[before..]
        .iter()
        .filter(|c| c.name == "vkCmdEncodeVideoKHR")
        .collect();
    assert_eq!(encodes.len(), FRAMES);
    for (call, o) in encodes.iter().zip(&order) {
        assert_eq!(call.result, "SUCCESS", "{call:?}");
        if o.1 == PictureKind::B {
            assert!(
                call.detail.contains("mode=3") && call.detail.contains("refresh=0x00"),
                "B frame {}: {}",
                o.0,
                call.detail
            );
        }
    }

    // The driver's bytes: hidden frames say show_frame 0 (and showable), the rest show.
    let (mut shown, mut unshown) = (0, 0);
    for e in &out {
        for o in obu::obus(&e.data) {
            let o = o.expect("whole OBUs");
            if o.obu_type == 6 || o.obu_type == 3 {
                // uncompressed_header(): show_existing_frame (0 in the driver's bytes),
                // frame_type (2 bits), show_frame, then showable_frame where not shown.
                let first = o.payload[0];
                assert_eq!(first >> 7, 0, "the driver writes no show_existing_frame");
                if first & 0x10 != 0 {
                    shown += 1;
                } else {
                    assert_ne!(first & 0x08, 0, "a hidden frame is showable");
                    unshown += 1;
                }
            }
        }
    }
    assert_eq!((shown + unshown, unshown), (FRAMES, hidden));
}
