//! What the tests that drive GhostStream's own encoder share: the driver installed and a
//! context made on it, with the validation layer where it knows video encode.

use std::sync::Arc;

use ghoststream::gpu::video::encoder::PictureInput;
use ghoststream::gpu::video::VideoStream;
use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions};
use ghoststream::{BitDepth, ColorDescription, Rational};

use super::{install_driver, skip, InstalledDriver};

/// The driver installed (see [`install_driver`]), a GhostStream context on it, and whether the
/// validation layer is on: where the layer knows video encode (1.4, as `make test` runs these
/// binaries under .ci/with-vvl-trixie; Debian 12's 1.3.239 does not). `None` after [`skip`]
/// without the driver library or a context. Call it before any other Vulkan call, in the only
/// test of its binary.
pub fn driver_context() -> Option<(InstalledDriver, Arc<GpuContext>, bool)> {
    driver_context_validated(std::env::var_os("GHOSTSTREAM_REQUIRE_VVL14").is_some())
}

/// As [`driver_context`], the validation layer on when `validated`.
pub fn driver_context_validated(
    validated: bool,
) -> Option<(InstalledDriver, Arc<GpuContext>, bool)> {
    let driver = install_driver()?;
    match GpuContext::new(&GpuOptions {
        device: DeviceSelector::Name("GhostStream test driver".into()),
        validation: validated,
    }) {
        Ok(ctx) => Some((driver, ctx, validated)),
        Err(e) => {
            skip(&format!("no context on the test driver ({e})"));
            None
        }
    }
}

/// Picture `n` of a `w` x `h` NV12 stream (tight planes): gradients that move with `n`,
/// distinct per frame.
#[expect(
    clippy::cast_possible_truncation,
    reason = "every sample is reduced modulo 220 or 200 and offset below 256"
)]
pub fn picture(n: usize, w: usize, h: usize) -> Vec<u8> {
    let mut p = vec![0u8; w * h * 3 / 2];
    for y in 0..h {
        for x in 0..w {
            p[y * w + x] = ((x * 3 + y * 5 + n * 17) % 220 + 16) as u8;
        }
    }
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            p[w * h + y * w + 2 * x] = ((x * 7 + n * 29) % 200 + 28) as u8;
            p[w * h + y * w + 2 * x + 1] = ((y * 11 + n * 13) % 200 + 28) as u8;
        }
    }
    p
}

/// The validation layer's version (`VkLayerProperties::specVersion`), where the loader lists
/// VK_LAYER_KHRONOS_validation.
pub fn layer_version() -> Option<u32> {
    // SAFETY: loading the system's Vulkan loader.
    let entry = unsafe { ash::Entry::load() }.ok()?;
    // SAFETY: a plain global query.
    let layers = unsafe { entry.enumerate_instance_layer_properties() }.ok()?;
    layers
        .iter()
        .find(|l| {
            l.layer_name_as_c_str()
                .is_ok_and(|n| n == c"VK_LAYER_KHRONOS_validation")
        })
        .map(|l| l.spec_version)
}

/// The layer's messages since the last call, which must be none (when `validated`).
pub fn silent(ctx: &GpuContext, validated: bool, what: &str) {
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer ({what}):\n{}",
            messages.join("\n")
        );
    }
}

/// An 8-bit BT.709 stream of `w` x `h` at 30 fps, 4 Mbit/s at most.
pub fn stream((w, h): (usize, usize)) -> VideoStream {
    VideoStream {
        width: u32::try_from(w).unwrap(),
        height: u32::try_from(h).unwrap(),
        frame_rate: Rational::new(30, 1),
        max_bitrate: 4_000_000,
        color: ColorDescription::BT709,
        bit_depth: BitDepth::Eight,
    }
}

/// A [`picture`] of `w` x `h` (tight NV12 planes) as the encoder takes it.
pub fn input(p: &[u8], (w, h): (usize, usize)) -> PictureInput<'_> {
    PictureInput {
        luma: &p[..w * h],
        luma_stride: w,
        chroma: &p[w * h..],
        chroma_stride: w,
        width: u32::try_from(w).unwrap(),
        height: u32::try_from(h).unwrap(),
    }
}
