//! The capability probe: every encode path, GPU engine and capture method, each available or not
//! and why.
//!
//! The encode paths are the backend registry's ([`crate::encode::BACKENDS`]), each asked per
//! codec; the GPU engine is the Vulkan device the sessions would process on; the capture methods
//! are the sources in [`crate::source::capture`], each given a few seconds to answer.

use crate::codec::Codec;
use crate::encode::BACKENDS;
use crate::format::PixelFormat;

/// One path in the probe: an encoder, a GPU engine or a capture method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEntry {
    /// "encode", "gpu" or "capture".
    pub category: &'static str,
    /// The path's name ("software", "nvenc", "wayland").
    pub name: String,
    /// The codec, for encode paths.
    pub codec: Option<Codec>,
    /// True when the path can run here.
    pub available: bool,
    /// What it uses when available; why not when not.
    pub detail: String,
}

/// How long `probe` waits for a capture service (the Wayland compositor, the PipeWire
/// daemon) to answer one exchange: a hung one is reported as such within seconds.
const PROBE_CAPTURE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The Wayland capture `probe` opens: `$WAYLAND_DISPLAY`'s first output, each exchange bounded
/// by [`PROBE_CAPTURE_TIMEOUT`].
fn probe_wayland_options() -> crate::source::capture::WaylandOptions {
    crate::source::capture::WaylandOptions {
        round_trip_timeout: PROBE_CAPTURE_TIMEOUT,
        ..Default::default()
    }
}

/// Whether a PipeWire daemon answers, with the video nodes it has.
#[cfg(feature = "pipewire")]
fn probe_pipewire() -> (bool, String) {
    match crate::source::capture::pipewire::list_video_sources(None, PROBE_CAPTURE_TIMEOUT) {
        Ok(nodes) => (
            true,
            format!("PipeWire answers; {nodes} (capture one with --source pipewire:NODE)"),
        ),
        Err(e) => (false, e.to_string()),
    }
}

#[cfg(not(feature = "pipewire"))]
fn probe_pipewire() -> (bool, String) {
    (
        false,
        "this build has no PipeWire capture (built without the `pipewire` feature)".into(),
    )
}

/// Whether the desktop portal answers with a ScreenCast backend, and what it offers.
#[cfg(feature = "portal")]
fn probe_portal() -> (bool, String) {
    match crate::source::capture::portal::probe(None) {
        Ok(info) if info.source_types != 0 => (
            true,
            format!(
                "ScreenCast version {}, source types {:#x} (1 monitor, 2 window), cursor modes {:#x}{}",
                info.version,
                info.source_types,
                info.cursor_modes,
                if info.version >= 4 { "; grants are kept (restore tokens)" } else { "; grants are not kept (version < 4)" }
            ),
        ),
        Ok(_) => (
            false,
            "the portal answers but its ScreenCast backend offers no sources: the backend for this desktop is missing or did not start".into(),
        ),
        Err(e) => (false, e.to_string()),
    }
}

#[cfg(not(feature = "portal"))]
fn probe_portal() -> (bool, String) {
    (
        false,
        "this build has no portal capture (built without the `portal` feature)".into(),
    )
}

/// The Vulkan device sessions would process on, with what it offers, or why there is none.
fn probe_vulkan() -> (bool, String) {
    match crate::gpu::GpuContext::new(&crate::gpu::GpuOptions::default()) {
        Ok(ctx) => {
            let i = ctx.device_info();
            let (a, b, c) = i.api_version;
            let yes_no = |e: &str| if ctx.has_extension(e) { "yes" } else { "no" };
            let modifiers = match crate::gpu::DmaBufImage::modifiers(&ctx, PixelFormat::Bgra8) {
                Ok(list) => format!(
                    "{} listed, {} one-plane sampled",
                    list.len(),
                    list.iter().filter(|m| m.importable()).count()
                ),
                Err(_) => "not listed (no VK_EXT_image_drm_format_modifier)".into(),
            };
            (
                true,
                format!(
                    "{} ({}), Vulkan {a}.{b}.{c}, driver {}: converts and processes RGB input for the encoders; memory export (CUDA) {}, semaphore export {}, DMA-BUF import {}, BGRA8 DRM modifiers {modifiers}",
                    i.name,
                    i.kind,
                    i.driver.trim(),
                    yes_no("VK_KHR_external_memory_fd"),
                    yes_no("VK_KHR_external_semaphore_fd"),
                    yes_no("VK_EXT_external_memory_dma_buf"),
                ),
            )
        }
        Err(e) => (false, e.to_string()),
    }
}

/// Whether `wlr-screencopy` capture opens on `$WAYLAND_DISPLAY`, with the output it captures.
fn probe_wayland() -> (bool, String) {
    match crate::source::capture::WaylandCapture::open(probe_wayland_options()) {
        Ok(c) => {
            let info = crate::source::FrameSource::info(&c);
            (
                true,
                format!(
                    "wlr-screencopy into shared memory: output {} ({}x{} {})",
                    c.output_name(),
                    info.width,
                    info.height,
                    info.format
                ),
            )
        }
        Err(e) => (false, e.to_string()),
    }
}

/// Every encode path (each registered backend for each codec of [`Codec::ALL`], in `auto`'s
/// order), the GPU engine and each capture method, each available or not and why.
pub fn probe() -> Vec<ProbeEntry> {
    let mut out = Vec::new();
    for codec in Codec::ALL {
        for factory in BACKENDS {
            let (available, detail) = match factory.probe(codec) {
                Ok(uses) => (true, uses),
                Err(why) => (false, why),
            };
            out.push(ProbeEntry {
                category: "encode",
                name: factory.kind().name().into(),
                codec: Some(codec),
                available,
                detail,
            });
        }
    }
    let entry = |category, name: &str, (available, detail): (bool, String)| ProbeEntry {
        category,
        name: name.into(),
        codec: None,
        available,
        detail,
    };
    out.push(entry("gpu", "vulkan", probe_vulkan()));
    out.push(entry("capture", "wayland", probe_wayland()));
    out.push(entry("capture", "pipewire", probe_pipewire()));
    out.push(entry("capture", "portal", probe_portal()));
    out
}
