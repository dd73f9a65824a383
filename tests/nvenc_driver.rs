//! NVENC against the real driver, as far as a machine allows: on the lent H200 (driver present,
//! no encoder engine) the library loads, its API version is at least this build's, and opening
//! a session on the GPU's CUDA context is the typed no-engine error naming the GPU and the
//! status — never a version or parameter error. On a GPU with NVENC the session opens. Without
//! the driver (CI), a printed skip; GHOSTSTREAM_REQUIRE_NVENC_LIBRARY=1 makes that a failure.

use ghoststream::cuda::CudaDevice;
use ghoststream::encode::nvenc::{status, NvencApi, NvencError, NvencSession, BUILD_API};
use ghoststream::encode::EncoderBackend;

#[test]
fn opening_a_session_succeeds_or_names_the_missing_encoder() {
    let api = match NvencApi::load() {
        Ok(api) => api,
        Err(e) if std::env::var_os("GHOSTSTREAM_REQUIRE_NVENC_LIBRARY").is_some() => {
            panic!("GHOSTSTREAM_REQUIRE_NVENC_LIBRARY is set but: {e}")
        }
        Err(e) => {
            assert!(
                matches!(e, NvencError::LibraryMissing { .. }),
                "without the driver the error is LibraryMissing: {e:?}"
            );
            assert!(e.to_string().contains("libnvidia-encode.so.1"), "{e}");
            eprintln!("SKIPPED: {e}");
            return;
        }
    };
    assert!(api.driver_api() >= BUILD_API);
    let device = CudaDevice::first().expect("a CUDA device beside the NVENC library");
    match NvencSession::open(&api, &device) {
        Ok(_) => eprintln!(
            "NVENC session opened on {} (driver API {})",
            device.name(),
            api.driver_api()
        ),
        Err(e) => {
            eprintln!("driver API {}: {e}", api.driver_api());
            match &e {
                NvencError::NoEncoder {
                    device: name,
                    status: s,
                    ..
                } => {
                    assert_eq!(name, device.name());
                    assert!(status::is_no_encoder(*s));
                    assert!(e.to_string().contains("has no NVENC encoder engine"), "{e}");
                }
                other => panic!("expected success or NoEncoder, got {other:?}"),
            }
        }
    }
}

/// The whole backend open (preset config, initialise, slots) on the real driver: on a GPU
/// without an encoder engine it stops at the session with the typed no-engine error, and the
/// backend choice reports it as the reason NVENC is unavailable; on a GPU with NVENC it opens.
#[test]
fn the_backend_opens_or_reports_the_missing_engine() {
    use ghoststream::encode::nvenc::NvencEncoder;
    use ghoststream::encode::{open_backend, EncodeError, Feed};
    use ghoststream::{BackendChoice, BackendKind, Codec, PixelFormat, Rational, SessionConfig};
    let mut config = SessionConfig::new(Codec::Hevc, 1920, 1080, Rational::new(60, 1));
    config.backend = BackendChoice::Only(BackendKind::Nvenc);
    match NvencEncoder::open(&config) {
        Ok(encoder) => eprintln!("NVENC backend opened: {encoder:?}"),
        Err(NvencError::LibraryMissing { .. }) if NvencApi::load().is_err() => {
            eprintln!("SKIPPED: no NVENC library here")
        }
        Err(e @ NvencError::NoEncoder { .. }) => eprintln!("NVENC backend open: {e}"),
        Err(other) => panic!("expected success or NoEncoder, got {other:?}"),
    }
    match open_backend(&config, Feed::Cpu(PixelFormat::Nv12)) {
        Ok((opened, _)) => eprintln!("NVENC backend chosen: {}", opened.backend.describe()),
        Err(EncodeError::Unavailable { backend, reason }) => {
            assert_eq!(backend, BackendKind::Nvenc);
            assert!(
                reason.contains("libnvidia-encode.so.1")
                    || reason.contains("has no NVENC encoder engine"),
                "{reason}"
            );
            eprintln!("--encoder nvenc: {reason}");
        }
        Err(other) => panic!("expected success or Unavailable, got {other:?}"),
    }
}

/// The zero-copy variant, on the CUDA device that is the Vulkan device (found by UUID): the
/// session opens first (its configuration decides how many slots to import), then exportable
/// buffers and timelines are imported. On the H200 the device match runs for real and the open
/// stops at the missing engine, before any import (tests/cuda_handoff.rs runs the same imports);
/// on CI the NVENC library is missing first.
#[test]
fn the_handoff_encoder_opens_on_the_vulkan_devices_cuda_device_or_reports_the_missing_engine() {
    use ghoststream::encode::nvenc::NvencEncoder;
    use ghoststream::gpu::{GpuContext, GpuOptions};
    use ghoststream::{Codec, Rational, SessionConfig};
    let gpu = match GpuContext::new(&GpuOptions::default()) {
        Ok(g) => std::sync::Arc::new(g),
        Err(e) => {
            eprintln!("SKIPPED: no Vulkan device: {e}");
            return;
        }
    };
    let config = SessionConfig::new(Codec::Av1, 1280, 720, Rational::new(60, 1));
    match NvencEncoder::open_for_vulkan(&config, &gpu) {
        Ok(mut encoder) => {
            let handoff = encoder
                .take_gpu_handoff()
                .expect("a hand-off encoder offers one");
            assert!(
                handoff.buffers.len() >= 4,
                "at least one picture and three extra"
            );
            eprintln!("NVENC hand-off encoder opened: {encoder:?}");
        }
        Err(e @ NvencError::NoEncoder { .. }) => eprintln!("hand-off encoder: {e}"),
        Err(e @ NvencError::LibraryMissing { .. }) if NvencApi::load().is_err() => {
            eprintln!("SKIPPED: {e}")
        }
        Err(other) => panic!("expected success or NoEncoder, got {other:?}"),
    }
}
