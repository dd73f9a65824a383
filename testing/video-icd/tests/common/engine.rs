//! What the tests that drive GhostStream's own encoder share: the driver installed and a
//! context made on it, with the validation layer where it knows video encode.

use std::sync::Arc;

use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions};

use super::{install_driver, skip, InstalledDriver};

/// The driver installed (see [`install_driver`]), a GhostStream context on it, and whether the
/// validation layer is on: where the layer knows video encode (1.4, as `make test` runs these
/// binaries under .ci/with-vvl-trixie; Debian 12's 1.3.239 does not). `None` after [`skip`]
/// without the driver library or a context. Call it before any other Vulkan call, in the only
/// test of its binary.
pub fn driver_context() -> Option<(InstalledDriver, Arc<GpuContext>, bool)> {
    let driver = install_driver()?;
    let validated = std::env::var_os("GHOSTSTREAM_REQUIRE_VVL14").is_some();
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
