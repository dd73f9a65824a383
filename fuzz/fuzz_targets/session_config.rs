//! `SessionConfig::validate` over configs built from arbitrary values (every field, any number,
//! NaN and infinities included), and the library's value parsers (`FromStr` of its enums, HDR
//! metadata) over arbitrary text: a typed error or Ok, never a panic.
#![no_main]

use arbitrary::{Result, Unstructured};
use ghoststream::output::ContainerFormat;
use ghoststream::hdr::{Chromaticity, ContentLightLevel, HdrMetadata, MasteringDisplay};
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::PeakSource;
use ghoststream::output::{BitstreamFormat, OutputFormat};
use ghoststream::{
    BackendChoice, BackendKind, Backpressure, BitDepth, Codec, ColorDescription, ColorMatrix,
    ColorPrimaries, ColorRange, GpuChoice, KeyframeEvery, KeyframeInterval, PixelFormat, Preset,
    RateControl, RateControlMode, Rational, SessionConfig, SplitFrame, ToneMapInput,
    TransferFunction, Tuning,
};
use libfuzzer_sys::fuzz_target;

fn rational(u: &mut Unstructured) -> Result<Rational> {
    Ok(if u.arbitrary()? {
        Rational::new(u.arbitrary()?, u.arbitrary()?)
    } else {
        // Plausible rates most of the time, so that validation goes past the frame rate.
        Rational::new(
            i64::from(u.int_in_range(0..=1000u32)?),
            i64::from(u.int_in_range(0..=1001u32)?),
        )
    })
}

fn size(u: &mut Unstructured) -> Result<u32> {
    Ok(if u.arbitrary()? {
        u.arbitrary()?
    } else {
        u.int_in_range(0..=8192u32)?
    })
}

fn chroma(u: &mut Unstructured) -> Result<Chromaticity> {
    Ok(Chromaticity {
        x: u.arbitrary()?,
        y: u.arbitrary()?,
    })
}

fn config(u: &mut Unstructured) -> Result<SessionConfig> {
    let codec = *u.choose(&Codec::ALL)?;
    let mut c = SessionConfig::new(codec, size(u)?, size(u)?, rational(u)?);
    c.backend = *u.choose(&[
        BackendChoice::Auto,
        BackendChoice::Only(BackendKind::Nvenc),
        BackendChoice::Only(BackendKind::VulkanVideo),
        BackendChoice::Only(BackendKind::Software),
    ])?;
    c.input_format = *u.choose(&PixelFormat::ALL)?;
    if u.arbitrary()? {
        let mode = *u.choose(&[
            RateControlMode::Cbr,
            RateControlMode::Vbr,
            RateControlMode::Cqp,
            RateControlMode::Cq,
        ])?;
        match RateControl::from_parts(
            mode,
            u.arbitrary()?,
            u.arbitrary()?,
            u.arbitrary()?,
            u.arbitrary()?,
        ) {
            Ok(rc) => c.rate_control = rc,
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    if u.arbitrary()? {
        c.rate_control = match u.int_in_range(0..=3u8)? {
            0 => RateControl::Cbr {
                bitrate: u.arbitrary()?,
            },
            1 => RateControl::Vbr {
                target: u.arbitrary()?,
                max: u.arbitrary()?,
            },
            2 => RateControl::Cqp { qp: u.arbitrary()? },
            _ => RateControl::Cq {
                quality: u.arbitrary()?,
            },
        };
    }
    c.vbv_buffer_bits = u.arbitrary()?;
    if u.arbitrary()? {
        c.keyframe_interval = if u.arbitrary()? {
            KeyframeInterval::Infinite
        } else {
            KeyframeInterval::Frames(u.arbitrary()?)
        };
    }
    c.preset = *u.choose(&[
        Preset::P1,
        Preset::P2,
        Preset::P3,
        Preset::P4,
        Preset::P5,
        Preset::P6,
        Preset::P7,
    ])?;
    c.tuning = *u.choose(&[
        Tuning::HighQuality,
        Tuning::LowLatency,
        Tuning::UltraLowLatency,
        Tuning::Lossless,
    ])?;
    c.bit_depth = *u.choose(&[BitDepth::Eight, BitDepth::Ten])?;
    c.color = ColorDescription {
        matrix: *u.choose(&[
            ColorMatrix::Bt601,
            ColorMatrix::Bt709,
            ColorMatrix::Bt2020Ncl,
        ])?,
        range: *u.choose(&[ColorRange::Limited, ColorRange::Full])?,
        transfer: *u.choose(&[
            TransferFunction::Srgb,
            TransferFunction::Bt709,
            TransferFunction::Pq,
            TransferFunction::Hlg,
        ])?,
        primaries: *u.choose(&[
            ColorPrimaries::Bt709,
            ColorPrimaries::Bt601Pal,
            ColorPrimaries::Bt601Ntsc,
            ColorPrimaries::Bt2020,
            ColorPrimaries::DisplayP3,
        ])?,
    };
    if u.arbitrary()? {
        c.hdr_metadata = Some(HdrMetadata {
            display: MasteringDisplay {
                red: chroma(u)?,
                green: chroma(u)?,
                blue: chroma(u)?,
                white: chroma(u)?,
                max_luminance: u.arbitrary()?,
                min_luminance: u.arbitrary()?,
            },
            light: if u.arbitrary()? {
                Some(ContentLightLevel {
                    max_cll: u.arbitrary()?,
                    max_fall: u.arbitrary()?,
                })
            } else {
                None
            },
        });
    }
    c.intra_refresh_frames = u.arbitrary()?;
    c.split_frame = *u.choose(&[
        SplitFrame::Auto,
        SplitFrame::Off,
        SplitFrame::Two,
        SplitFrame::Three,
    ])?;
    c.queue_depth = u.arbitrary()?;
    c.frame_wait_timeout_ms = u.arbitrary()?;
    c.backpressure = *u.choose(&[Backpressure::Block, Backpressure::DropOldest])?;
    c.threads = u.arbitrary()?;
    c.gpu = if u.arbitrary()? {
        GpuChoice::Auto
    } else {
        GpuChoice::Off
    };
    if u.arbitrary()? {
        c.processing.input_size = Some((size(u)?, size(u)?));
    }
    c.processing.scale_filter = *u.choose(&[
        ScaleFilter::Bilinear,
        ScaleFilter::Bicubic,
        ScaleFilter::Lanczos3,
    ])?;
    c.processing.fit = *u.choose(&[Fit::Stretch, Fit::Letterbox])?;
    if u.arbitrary()? {
        let peak = if u.arbitrary()? {
            PeakSource::Metadata(u.arbitrary()?)
        } else {
            PeakSource::Measured {
                first_frame: u.arbitrary()?,
            }
        };
        c.processing.tonemap = Some(ToneMapInput {
            transfer: *u.choose(&[
                TransferFunction::Srgb,
                TransferFunction::Bt709,
                TransferFunction::Pq,
                TransferFunction::Hlg,
            ])?,
            peak,
        });
    }
    c.processing.sharpen = u.arbitrary()?;
    Ok(c)
}

fn parsers(text: &str) {
    let _ = text.parse::<Codec>();
    let _ = text.parse::<PixelFormat>();
    let _ = text.parse::<BackendChoice>();
    let _ = text.parse::<KeyframeInterval>();
    let _ = text.parse::<KeyframeEvery>();
    let _ = text.parse::<BitDepth>();
    let _ = text.parse::<Tuning>();
    let _ = text.parse::<Preset>();
    let _ = text.parse::<SplitFrame>();
    let _ = text.parse::<Backpressure>();
    let _ = text.parse::<RateControlMode>();
    let _ = text.parse::<ColorMatrix>();
    let _ = text.parse::<ColorRange>();
    let _ = text.parse::<TransferFunction>();
    let _ = text.parse::<ColorPrimaries>();
    let _ = text.parse::<ScaleFilter>();
    let _ = text.parse::<Fit>();
    let _ = text.parse::<MasteringDisplay>();
    let _ = text.parse::<ContentLightLevel>();
    let _ = text.parse::<BitstreamFormat>();
    let _ = text.parse::<OutputFormat>();
    let _ = text.parse::<ContainerFormat>();
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(c) = config(&mut u) {
        // Valid or a typed error with a message; never a panic.
        if let Err(e) = c.validate() {
            assert!(!e.to_string().is_empty());
        }
    }
    parsers(&String::from_utf8_lossy(data));
});
