//! Memory and semaphores exported as opaque fds (what CUDA imports), imported by a second
//! Vulkan device (the stand-in application's) on the same GPU: bytes written on one side are
//! read back exactly on the other, with both validation layers silent. A device without the
//! needed extension gives a typed error naming it.

mod gpu_common;
mod host_vulkan;

use ghoststream::gpu::ash;
use ghoststream::gpu::{
    DmaBuf, DmaBufImage, ExportableBuffer, ExportableTimeline, GpuContext, GpuError,
    DRM_FORMAT_MOD_LINEAR,
};
use ghoststream::PixelFormat;
use gpu_common::{assert_validation_silent, context, Rng};
use host_vulkan::host_app;

#[test]
fn exported_buffer_memory_is_shared_with_another_device_without_a_copy() {
    let Some(ctx) = context() else {
        return;
    };
    let Some(app) = host_app(&[ash::khr::external_memory_fd::NAME]) else {
        return;
    };
    let size = (1 << 20) + 64;
    let buf = ExportableBuffer::new(&ctx, size).expect("exportable buffer");
    assert!(buf.allocation_size() >= size);
    let mut bytes = vec![0u8; usize::try_from(size).unwrap()];
    Rng::new().fill(&mut bytes);
    buf.upload(&bytes).unwrap();
    let imported = app.import_buffer(
        buf.export_fd().unwrap(),
        size,
        buf.allocation_size(),
        buf.memory_type_index(),
    );
    assert_eq!(
        app.read_buffer(imported, size),
        bytes,
        "the importer reads our bytes"
    );
    app.fill_buffer(imported, 0xA5C3_0F5A);
    let back = buf.download(size).unwrap();
    let expected: Vec<u8> = 0xA5C3_0F5Au32
        .to_ne_bytes()
        .repeat(usize::try_from(size).unwrap() / 4);
    assert_eq!(back, expected, "we read the importer's writes");
    let e = buf.download(size + 1).unwrap_err();
    assert!(e.to_string().contains(&(size + 1).to_string()), "{e}");
    assert_validation_silent(&ctx);
    app.assert_validation_silent();
}

#[test]
fn exported_timeline_semaphores_are_shared_or_the_missing_extension_is_named() {
    let Some(ctx) = context() else {
        return;
    };
    let name = ash::khr::external_semaphore_fd::NAME;
    let has = ctx.has_extension(name.to_str().unwrap());
    match ExportableTimeline::new(&ctx, 3) {
        Err(e) => {
            assert!(!has, "the device has {name:?} but export failed: {e}");
            assert!(
                matches!(&e, GpuError::MissingExtension { extension, .. } if extension == "VK_KHR_external_semaphore_fd"),
                "{e:?}"
            );
            assert!(e.to_string().contains(&ctx.device_info().name), "{e}");
            eprintln!("SKIPPED the semaphore sharing half: {e}");
        }
        Ok(timeline) => {
            assert!(has);
            let app = host_app(&[name]).expect("the application's device");
            let theirs = app.import_timeline(timeline.export_fd().unwrap());
            assert_eq!(app.value(theirs), 3);
            timeline.signal(5).unwrap();
            assert_eq!(app.value(theirs), 5, "our signal is seen by the importer");
            app.signal(theirs, 9);
            assert_eq!(
                timeline.value().unwrap(),
                9,
                "the importer's signal is seen by us"
            );
            let e = timeline.signal(9).unwrap_err();
            assert!(e.to_string().contains("already at 9"), "{e}");
            app.assert_validation_silent();
            // Our host signal of 5 above: the one known layer false positive is tolerated.
            gpu_common::assert_validation_silent_but_exported_host_signals(&ctx, &[5]);
        }
    }
    assert_validation_silent(&ctx);
}

/// An application device created without VK_KHR_external_memory_fd: exporting is a typed error
/// naming the extension and the device, before any Vulkan call that would be invalid.
#[test]
fn a_device_without_the_export_extension_is_a_clear_error() {
    let Some(app) = host_app(&[]) else {
        return;
    };
    // SAFETY: the application's handles are valid and outlive the context (dropped first).
    let ctx = unsafe { GpuContext::from_host(app.host_vulkan(None)) }.unwrap();
    let e = ExportableBuffer::new(&ctx, 4096).unwrap_err();
    assert!(
        matches!(&e, GpuError::MissingExtension { extension, .. } if extension == "VK_KHR_external_memory_fd"),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains(&ctx.device_info().name) && text.contains("CUDA"),
        "{text}"
    );
    assert!(ExportableTimeline::new(&ctx, 0).is_err());
    drop(ctx);
    app.assert_validation_silent();
}

/// On a device without VK_EXT_external_memory_dma_buf (lavapipe 22.3, the H200), importing a
/// DMA-BUF is a typed error naming the extension. (tests/gpu_dmabuf.rs imports on a driver that
/// has it.)
#[test]
fn dma_buf_import_without_the_extension_names_it() {
    let Some(ctx) = context() else {
        return;
    };
    let file = tempfile::tempfile().unwrap();
    file.set_len(64 * 64 * 4).unwrap();
    let buf = DmaBuf {
        fd: std::os::fd::AsFd::as_fd(&file),
        format: PixelFormat::Bgra8,
        width: 64,
        height: 64,
        modifier: DRM_FORMAT_MOD_LINEAR,
        offset: 0,
        stride: 256,
    };
    let has = ctx.has_extension("VK_EXT_external_memory_dma_buf");
    if has {
        eprintln!(
            "SKIPPED: {} has VK_EXT_external_memory_dma_buf",
            ctx.device_info().name
        );
        return;
    }
    let e = DmaBufImage::import(&ctx, &buf).unwrap_err();
    assert!(
        matches!(&e, GpuError::MissingExtension { extension, .. } if extension == "VK_EXT_external_memory_dma_buf"),
        "{e:?}"
    );
    assert!(e.to_string().contains("capture"), "{e}");
    assert_validation_silent(&ctx);
}

/// The DRM format modifiers a device lists for BGRA8 (what capture offers producers): on a
/// device with VK_EXT_image_drm_format_modifier (the H200) the real driver's list, checked
/// against the specification's rules; without it (lavapipe) a typed error naming it.
#[test]
fn drm_modifier_listing_follows_the_specification_or_names_the_extension() {
    let Some(ctx) = context() else {
        return;
    };
    let result = DmaBufImage::modifiers(&ctx, PixelFormat::Bgra8);
    if !ctx.has_extension("VK_EXT_image_drm_format_modifier") {
        let e = result.unwrap_err();
        assert!(
            matches!(&e, GpuError::MissingExtension { extension, .. } if extension == "VK_EXT_image_drm_format_modifier"),
            "{e:?}"
        );
        assert_validation_silent(&ctx);
        return;
    }
    let list = result.expect("the modifier list");
    eprintln!(
        "{}: BGRA8 modifiers {:?}",
        ctx.device_info().name,
        list.iter()
            .map(|m| format!(
                "{:#x}/{}p/{}",
                m.modifier,
                m.planes,
                if m.sampled { "sampled" } else { "-" }
            ))
            .collect::<Vec<_>>()
    );
    // VK_EXT_image_drm_format_modifier: never DRM_FORMAT_MOD_INVALID, every entry at least one
    // memory plane, each modifier once.
    const DRM_FORMAT_MOD_INVALID: u64 = 0x00ff_ffff_ffff_ffff;
    assert!(
        !list.is_empty(),
        "a format with sampling support lists at least one modifier"
    );
    let mut seen = std::collections::HashSet::new();
    for m in &list {
        assert_ne!(m.modifier, DRM_FORMAT_MOD_INVALID);
        assert!(m.planes >= 1, "{m:?}");
        assert!(seen.insert(m.modifier), "{:#x} listed twice", m.modifier);
    }
    // A listed importable modifier still needs the DMA-BUF extension: a typed error naming it.
    if let Some(m) = list.iter().find(|m| m.importable()) {
        if !ctx.has_extension("VK_EXT_external_memory_dma_buf") {
            let file = tempfile::tempfile().unwrap();
            file.set_len(1 << 20).unwrap();
            let buf = DmaBuf {
                fd: std::os::fd::AsFd::as_fd(&file),
                format: PixelFormat::Bgra8,
                width: 64,
                height: 64,
                modifier: m.modifier,
                offset: 0,
                stride: 256,
            };
            let e = DmaBufImage::import(&ctx, &buf).unwrap_err();
            assert!(
                matches!(&e, GpuError::MissingExtension { extension, .. } if extension == "VK_EXT_external_memory_dma_buf"),
                "{e:?}"
            );
        }
    }
    assert_validation_silent(&ctx);
}
