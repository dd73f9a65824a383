//! DMA-BUF capture buffers through `zwp_linux_dmabuf_v1`: a LINEAR single-plane buffer made
//! from an anonymous memfd, offered to the compositor with `zwp_linux_buffer_params_v1.create`
//! (whose `failed` is an answer, never a protocol error), so that a compositor that cannot
//! import it is met with a fallback to shared memory.
//!
//! A memfd is a DMA-BUF only to a compositor that does not ask its kind (a CPU compositor, the
//! tests' compositor) and to Mesa's lavapipe, which maps the fd's pages; a GPU compositor
//! refuses it and the capture falls back to `wl_shm`. Buffers a GPU can render into (GBM,
//! udmabuf or exported Vulkan memory, tiled modifiers) are not made yet: they await a machine
//! with a DRM device to test on.
//! The buffer stays mapped, so a frame in it is read on the CPU exactly as a `wl_shm` one, and
//! [`super::WaylandCapture::last_dmabuf`] describes it for a zero-copy import
//! ([`crate::gpu::DmaBufImage::import`]).

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use wayland_client::protocol::wl_buffer::WlBuffer;
use wayland_client::protocol::wl_shm;
use wayland_client::{Connection, Dispatch, EventQueue, QueueHandle};
use wayland_protocols::wp::linux_dmabuf::zv1::client::zwp_linux_buffer_params_v1::{
    self, Flags, ZwpLinuxBufferParamsV1,
};
use wayland_protocols::wp::linux_dmabuf::zv1::client::zwp_linux_dmabuf_v1::{
    self, ZwpLinuxDmabufV1,
};

use super::shm::ShmBuffer;
use super::{BufferSpec, Peer, State, Target};
use crate::frame::{DmaBufKey, Lease};
use crate::source::capture::CaptureError;

/// The lease a handed-on frame holds: while any clone lives, the buffer stays out of the
/// compositor's rotation.
#[derive(Debug)]
struct BufferLease;

impl Lease for BufferLease {}

/// What frames handed on in a DMA-BUF buffer carry: a duplicate of its fd, its key, and the
/// lease they hold.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) fd: Arc<OwnedFd>,
    pub(super) key: DmaBufKey,
    lease: Mutex<Weak<BufferLease>>,
}

impl Shared {
    /// Whether a handed-on frame still holds the buffer.
    pub(super) fn leased(&self) -> bool {
        self.lease
            .lock()
            .map(|l| l.strong_count() > 0)
            .unwrap_or(true)
    }

    /// The lease for one more handed-on frame.
    pub(super) fn lease(&self) -> Arc<dyn Lease> {
        let mut weak = self
            .lease
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(lease) = weak.upgrade() {
            return lease;
        }
        let lease = Arc::new(BufferLease);
        *weak = Arc::downgrade(&lease);
        lease
    }
}

/// Keys for the DMA-BUF buffers a capture makes: a new generation whenever the buffers' size
/// or format changes (the reader then drops its imports of earlier ones).
#[derive(Debug, Default)]
pub(super) struct Keys {
    last: Option<BufferSpec>,
    generation: u64,
    index: u64,
}

impl Keys {
    fn next(&mut self, spec: BufferSpec) -> DmaBufKey {
        if self.last != Some(spec) {
            self.last = Some(spec);
            self.generation += 1;
        }
        self.index += 1;
        DmaBufKey {
            generation: self.generation,
            index: self.index,
        }
    }
}

/// The LINEAR DRM format modifier (0), the only layout a memfd has.
pub(super) const LINEAR: u64 = crate::gpu::DRM_FORMAT_MOD_LINEAR;

/// The DRM fourcc of a `wl_shm` format code (they are equal except for the two 8888 formats
/// every compositor has, which `wl_shm` numbers 0 and 1).
pub(super) fn drm_format(shm: u32) -> u32 {
    match shm {
        0 => u32::from_le_bytes(*b"AR24"),
        1 => u32::from_le_bytes(*b"XR24"),
        other => other,
    }
}

/// The `wl_shm` format code of a DRM fourcc (the inverse of [`drm_format`]).
pub(super) fn shm_format(drm: u32) -> u32 {
    match &drm.to_le_bytes() {
        b"AR24" => wl_shm::Format::Argb8888 as u32,
        b"XR24" => wl_shm::Format::Xrgb8888 as u32,
        _ => drm,
    }
}

/// The modifiers of an `ext_image_copy_capture_session_v1.dmabuf_format` event: an array of
/// native-endian 64-bit values (a trailing partial value is ignored).
pub(super) fn modifiers(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

/// What the compositor answered to a `create`.
#[derive(Debug, Default)]
pub(super) enum Created {
    /// No answer yet.
    #[default]
    Waiting,
    /// The buffer.
    Buffer(WlBuffer),
    /// It cannot import the buffer.
    Failed,
}

/// Makes a LINEAR DMA-BUF target of `spec` (its `format` a `wl_shm` code) from a memfd and
/// offers it; `Ok(None)` when the compositor refuses it (logged). Waits at most the round-trip
/// timeout for the answer.
#[expect(
    clippy::cast_possible_wrap,
    reason = "the compositor's own buffer parameters go back to it as the protocol's int (checked by BufferSpec::check)"
)]
pub(super) fn make_target(
    dmabuf: &ZwpLinuxDmabufV1,
    queue: &mut EventQueue<State>,
    state: &mut State,
    peer: &Peer,
    spec: BufferSpec,
    keys: &mut Keys,
) -> Result<Option<Target>, CaptureError> {
    let qh = queue.handle();
    let len = spec.stride as usize * spec.height as usize;
    let memory = ShmBuffer::new(len)?;
    let fourcc = drm_format(spec.format);
    let params = dmabuf.create_params(&qh, ());
    params.add(
        std::os::fd::AsFd::as_fd(&memory),
        0,
        0,
        spec.stride,
        // LINEAR's high and low words.
        0,
        0,
    );
    state.created = Created::Waiting;
    params.create(
        spec.width as i32,
        spec.height as i32,
        fourcc,
        Flags::empty(),
    );
    let started = Instant::now();
    let waited = peer.wait_for(
        queue,
        state,
        || {
            format!(
                "the answer to a {}x{} LINEAR DMA-BUF buffer of format {fourcc:#010x} (zwp_linux_buffer_params_v1.create)",
                spec.width, spec.height
            )
        },
        |s| !matches!(s.created, Created::Waiting),
    );
    params.destroy();
    waited?;
    match std::mem::take(&mut state.created) {
        Created::Buffer(buffer) => {
            let fd = std::os::fd::AsFd::as_fd(&memory)
                .try_clone_to_owned()
                .map_err(|source| CaptureError::Io {
                    what: "a duplicate of a DMA-BUF capture buffer's fd".into(),
                    source,
                })?;
            Ok(Some(Target {
                spec,
                memory,
                pool: None,
                buffer,
                y_invert: false,
                dmabuf: true,
                shared: Some(Shared {
                    fd: Arc::new(fd),
                    key: keys.next(spec),
                    lease: Mutex::new(Weak::new()),
                }),
            }))
        }
        _ => {
            tracing::info!(
                width = spec.width,
                height = spec.height,
                format = fourcc,
                waited_ms = started.elapsed().as_millis(),
                "the compositor cannot import a memfd-backed LINEAR DMA-BUF; capturing into shared memory"
            );
            Ok(None)
        }
    }
}

impl Dispatch<ZwpLinuxBufferParamsV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwpLinuxBufferParamsV1,
        event: zwp_linux_buffer_params_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            zwp_linux_buffer_params_v1::Event::Created { buffer } => {
                state.created = Created::Buffer(buffer);
            }
            zwp_linux_buffer_params_v1::Event::Failed => state.created = Created::Failed,
            _ => {}
        }
    }

    wayland_client::event_created_child!(State, ZwpLinuxBufferParamsV1, [
        zwp_linux_buffer_params_v1::EVT_CREATED_OPCODE => (WlBuffer, ()),
    ]);
}

impl Dispatch<ZwpLinuxDmabufV1, ()> for State {
    fn event(
        _: &mut Self,
        _: &ZwpLinuxDmabufV1,
        _: zwp_linux_dmabuf_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shm_codes_and_drm_fourccs_map_both_ways() {
        assert_eq!(drm_format(wl_shm::Format::Xrgb8888 as u32), 0x3432_5258);
        assert_eq!(drm_format(wl_shm::Format::Argb8888 as u32), 0x3432_5241);
        let xbgr = wl_shm::Format::Xbgr8888 as u32;
        assert_eq!(drm_format(xbgr), xbgr);
        for code in [0, 1, xbgr] {
            assert_eq!(shm_format(drm_format(code)), code);
        }
    }

    #[test]
    fn modifier_arrays_are_native_endian_u64s() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0u64.to_ne_bytes());
        bytes.extend_from_slice(&0x0100_0000_0000_0001u64.to_ne_bytes());
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(modifiers(&bytes), vec![0, 0x0100_0000_0000_0001]);
        assert_eq!(modifiers(&[]), Vec::<u64>::new());
    }
}
