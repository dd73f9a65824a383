//! DMA-BUF import on a real driver's import path: Mesa 25's lavapipe (bookworm-backports,
//! fetched by .ci/get-mesa25-lavapipe.sh into a private directory; this binary alone loads it),
//! with the validation layer on. This machine has no dma-buf exporter (no /dev/dri, no
//! /dev/udmabuf), and lavapipe cannot export one, so a memfd stands in for the compositor's
//! buffer: lavapipe's DMA-BUF import maps the fd's pages, as it does a udmabuf's. The picture
//! written into it comes out of the stream within one code of the float64 reference; every
//! bad description is a typed error naming the value.

mod gpu_common;

use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use ghoststream::gpu::{
    ConvertRing, DmaBuf, DmaBufImage, GpuError, RingFrame, DRM_FORMAT_MOD_LINEAR,
};
use ghoststream::PixelFormat;
use gpu_common::{near_boundary_summary, Reference, Rng};

/// An anonymous memory file of `bytes` (the stand-in dma-buf).
fn memfd(bytes: &[u8]) -> OwnedFd {
    extern "C" {
        fn memfd_create(name: *const std::ffi::c_char, flags: u32) -> i32;
    }
    // SAFETY: a NUL-terminated name and no flags; a negative result is checked.
    let raw = unsafe { memfd_create(c"ghoststream-test-dmabuf".as_ptr(), 0) };
    assert!(raw >= 0, "memfd_create failed");
    // SAFETY: a new fd this function owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes).unwrap();
    file.into()
}

#[test]
fn a_linear_dma_buf_is_read_in_place_and_bad_descriptions_are_typed_errors() {
    let Some(ctx) = gpu_common::mesa25() else {
        return;
    };
    let (w, h) = (128u32, 72u32);
    let format = PixelFormat::Bgra8;
    let stride = u64::from(w) * 4;
    let mut rng = Rng::new();
    let mut pixels = vec![0u8; usize::try_from(stride * u64::from(h)).unwrap()];
    rng.fill(&mut pixels);
    let fd = memfd(&pixels);
    let buf = DmaBuf {
        fd: fd.as_fd(),
        format,
        width: w,
        height: h,
        modifier: DRM_FORMAT_MOD_LINEAR,
        offset: 0,
        stride,
    };
    let image = DmaBufImage::import(&ctx, &buf).expect("import of the linear buffer");

    let (spec, layout) = gpu_common::bt709_nv12(w, h);
    let want = Reference::of(&pixels, format, &spec.convert, &layout);
    let mut stream: ConvertRing<u32> = ConvertRing::new(&ctx, format, &spec, 2).unwrap();
    stream.poison_outputs(0x5A);
    let mut results = Vec::new();
    for n in 0..3 {
        // SAFETY: `image` lives until after the flush below.
        let frame = unsafe { image.frame() };
        let frame = RingFrame::Gpu {
            frame: &frame,
            wait_timeout_ns: 1_000_000_000,
        };
        results.extend(stream.submit(frame, n).unwrap().converted());
    }
    results.extend(stream.flush().unwrap());
    assert_eq!(
        results.len(),
        3,
        "the first read and two reads from GENERAL"
    );
    for c in &results {
        let label = format!("dma-buf frame {}", c.tag);
        let near = want.check(c.image.data(), &label);
        eprintln!("{label}: {}", near_boundary_summary(&near));
    }
    drop(stream);
    drop(image);

    let bad = |b: DmaBuf<'_>| DmaBufImage::import(&ctx, &b).unwrap_err();
    let e = bad(DmaBuf {
        stride: stride - 4,
        ..buf
    });
    assert!(
        e.to_string().contains(&format!("stride {}", stride - 4)),
        "{e}"
    );
    let e = bad(DmaBuf {
        height: h + 1,
        ..buf
    });
    assert!(
        e.to_string().contains(&format!("{} bytes", pixels.len())),
        "{e}"
    );
    let e = bad(DmaBuf { width: 0, ..buf });
    assert!(e.to_string().contains("0x72"), "{e}");
    let e = bad(DmaBuf {
        format: PixelFormat::Nv12,
        ..buf
    });
    assert!(e.to_string().contains("nv12"), "{e}");
    let e = bad(DmaBuf {
        modifier: 0x0100_0000_0000_0001,
        ..buf
    }); // an Intel X-tiled modifier
    assert!(
        matches!(&e, GpuError::MissingExtension { extension, .. } if extension == "VK_EXT_image_drm_format_modifier")
            || e.to_string().contains("0x100000000000001"),
        "{e:?}"
    );
    // A stride the driver does not lay a linear image out at: a typed error naming both.
    let wide = vec![0u8; usize::try_from(stride + 4).unwrap() * h as usize];
    let wide_fd = memfd(&wide);
    let e = bad(DmaBuf {
        fd: wide_fd.as_fd(),
        stride: stride + 4,
        ..buf
    });
    assert!(matches!(e, GpuError::Unsupported { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&format!("stride {}", stride + 4)),
        "{e}"
    );
    gpu_common::assert_validation_silent(&ctx);
}
