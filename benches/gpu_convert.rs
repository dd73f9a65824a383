//! GPU time of BGRA8 to NV12 at 1080p, 1440p and 4K (and to P010 at 4K) against a buffer copy of the same bytes,
//! on resources in rotation, plus the CPU cost to record and submit one frame.
//!
//! Run: `cargo bench --bench gpu_convert` (any Vulkan 1.3 device; lavapipe gives CPU figures).
//! Device choice: GHOSTSTREAM_GPU=<name substring>. Figures for docs/PERFORMANCE.md come from
//! the H200 through `benches/h200/run.sh`.

use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions, RgbToYuv420};
use ghoststream::process::convert::{ChromaSiting, ConvertSpec};
use ghoststream::{ColorMatrix, ColorRange, PixelFormat};

fn main() {
    let device = std::env::var("GHOSTSTREAM_GPU")
        .map(DeviceSelector::Name)
        .unwrap_or_default();
    let iterations: usize = std::env::var("GHOSTSTREAM_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let ctx = match GpuContext::new(&GpuOptions {
        device,
        validation: false,
    }) {
        Ok(c) => c,
        Err(e) => {
            println!("SKIPPED: no Vulkan device: {e}");
            return;
        }
    };
    let info = ctx.device_info().clone();
    println!(
        "device: {} ({}), Vulkan {}.{}.{}, driver {}",
        info.name,
        info.kind,
        info.api_version.0,
        info.api_version.1,
        info.api_version.2,
        info.driver
    );
    let mut conv = RgbToYuv420::new(&ctx).expect("pipeline");
    let spec = ConvertSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
        siting: ChromaSiting::Left,
        output: PixelFormat::Nv12,
    };
    println!("| size | bytes moved | convert | vkCmdCopyBuffer | shader copy | convert GB/s | vkCmdCopyBuffer GB/s | shader copy GB/s | convert / vkCmdCopyBuffer | convert / shader copy | CPU record+submit |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let p010 = ConvertSpec {
        output: PixelFormat::P010,
        ..spec
    };
    for (w, h, spec) in [
        (1920, 1080, spec),
        (2560, 1440, spec),
        (3840, 2160, spec),
        (3840, 2160, p010),
    ] {
        // Four frames in rotation: 4 x 33 MB at 4K is well past a 50 MB L2.
        match conv.benchmark(w, h, &spec, 4, iterations) {
            Ok(b) => println!(
                "| {w}x{h} {} | {:.1} MB | {:.1} us | {:.1} us | {:.1} us | {:.0} | {:.0} | {:.0} | {:.1}% | {:.1}% | {:.1} us |",
                spec.output,
                b.bytes as f64 / 1e6,
                b.convert_ns / 1e3,
                b.copy_ns / 1e3,
                b.shader_copy_ns / 1e3,
                b.convert_gbps(),
                b.copy_gbps(),
                b.shader_copy_gbps(),
                100.0 * b.fraction_of_copy(),
                100.0 * b.fraction_of_shader_copy(),
                b.record_submit_ns / 1e3
            ),
            Err(e) => println!("| {w}x{h} | error: {e} |"),
        }
    }
}
