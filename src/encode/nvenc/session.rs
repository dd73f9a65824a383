//! Level 3 of NVENC, the safe types: an NVENC session on a CUDA context, its two thread halves,
//! and the resources made from it, each released on drop.
//!
//! NVIDIA's threading rule (nvEncodeAPI.h, the documentation of `NvEncEncodePicture`: pictures
//! are queued from the main thread and their output buffers processed on a secondary worker
//! thread, which waits for each picture's completion and locks the output buffers in the order
//! they were submitted) is held by the types, not by a `Sync` promise:
//!
//! - [`NvencSession`] is the whole session before it is initialised (capabilities, presets);
//!   [`NvencSession::initialize`] consumes it and returns two halves;
//! - [`SubmitHalf`] makes every call of the feeding thread: register, create bitstream buffers,
//!   map, `nvEncEncodePicture`, reconfigure, invalidate;
//! - [`OutputHalf`] makes the calls of the output thread: `nvEncLockBitstream` /
//!   `nvEncUnlockBitstream` and the unmap of a picture's input once its bitstream is out.
//!
//! Each half is `Send` and not `Sync`: it can move to its thread, and no two threads can call
//! through one half. No type holding the session handle is `Sync`. Every holder (a half, a
//! [`Registration`], a [`MappedInput`], a [`BitstreamBuffer`]) keeps the session alive; the last
//! one dropped destroys it, so nothing is destroyed under a call or before its resources.

use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::checked::{self, LockedPicture};
use super::{NvencApi, NvencError};
use crate::cuda::{CudaDevice, DeviceMemory};
use crate::processing::convert::YuvLayout;

/// `NV_ENC_PIC_TYPE_IDR`.
pub const PICTURE_TYPE_IDR: u32 = 3;

/// What every holder of a session shares: the library and the CUDA device. No raw handle: it is
/// `Sync` by its fields alone.
struct Shared {
    api: Arc<NvencApi>,
    device: Arc<CudaDevice>,
}

/// One holder's reference to an open session. The handle is copied into every holder; the
/// shared part is counted, and the holder that drops it last destroys the session.
struct SessionRef {
    encoder: *mut c_void,
    shared: Option<Arc<Shared>>,
}

// SAFETY: the handle is an identifier the driver accepts from any thread (with the context bound
// where a call needs it); which calls may run at the same time is decided by the holder types
// above, none of which is `Sync`.
unsafe impl Send for SessionRef {}

impl SessionRef {
    fn shared(&self) -> &Shared {
        self.shared.as_ref().expect("present until drop")
    }

    fn api(&self) -> &NvencApi {
        &self.shared().api
    }

    fn device(&self) -> &Arc<CudaDevice> {
        &self.shared().device
    }

    /// Another holder of the same session.
    fn share(&self) -> SessionRef {
        SessionRef {
            encoder: self.encoder,
            shared: self.shared.clone(),
        }
    }

    /// The driver's last error text for the session.
    fn last_error(&self) -> String {
        // SAFETY: the session is open while any holder lives.
        unsafe { checked::last_error(self.api(), self.encoder) }
    }
}

impl Drop for SessionRef {
    fn drop(&mut self) {
        // `into_inner` is `Some` for exactly one holder, after every other has dropped its part.
        if let Some(last) = self.shared.take().and_then(Arc::into_inner) {
            let _ = last.device.bind();
            // SAFETY: the last holder: no call can be in flight (each is made through a holder)
            // and every resource has been released (each holds a reference); the context is
            // bound above and stays retained until `last` drops after this.
            unsafe { checked::destroy_encoder(&last.api, self.encoder) };
            tracing::debug!("NVENC session destroyed");
        }
    }
}

/// An open NVENC session (`nvEncOpenEncodeSessionEx` on a CUDA context), not yet initialised:
/// what a GPU's encoder can do. Destroyed on drop; `initialize` turns it into the two
/// halves an encoder runs on.
pub struct NvencSession {
    session: SessionRef,
}

impl std::fmt::Debug for NvencSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvencSession")
            .field("device", &self.session.device().name())
            .finish_non_exhaustive()
    }
}

impl NvencSession {
    /// Opens a session on `device`'s CUDA context. A GPU without an NVENC engine is
    /// [`NvencError::NoEncoder`]; any other failure is [`NvencError::Status`].
    pub fn open(api: &Arc<NvencApi>, device: &Arc<CudaDevice>) -> Result<Self, NvencError> {
        device.bind()?;
        // SAFETY: the device's primary context is retained while `device` lives, which the
        // session holds until it is destroyed, and is bound to this thread above.
        let encoder =
            unsafe { checked::open_session(api, device.context().cast(), device.name()) }?;
        tracing::debug!(device = device.name(), "NVENC session opened");
        Ok(Self {
            session: SessionRef {
                encoder,
                shared: Some(Arc::new(Shared {
                    api: Arc::clone(api),
                    device: Arc::clone(device),
                })),
            },
        })
    }

    /// The driver's last error text for this session.
    pub fn last_error(&self) -> String {
        self.session.last_error()
    }

    /// The CUDA device the session encodes on.
    pub fn device(&self) -> &Arc<CudaDevice> {
        self.session.device()
    }

    /// The codec GUIDs the GPU encodes.
    pub fn codecs(&self) -> Result<Vec<nv::GUID>, NvencError> {
        // SAFETY: the session is open.
        unsafe { checked::encode_guids(self.session.api(), self.session.encoder) }
    }

    /// One capability value of `codec` (`NV_ENC_CAPS_*`).
    pub fn cap(&self, codec: nv::GUID, cap: nv::NV_ENC_CAPS) -> Result<i32, NvencError> {
        // SAFETY: the session is open.
        unsafe { checked::encode_cap(self.session.api(), self.session.encoder, codec, cap) }
    }

    /// The driver's configuration for a codec, preset and tuning: the base that
    /// `params::apply_config` changes.
    pub fn preset_config(
        &self,
        codec: nv::GUID,
        preset: nv::GUID,
        tuning: nv::NV_ENC_TUNING_INFO,
    ) -> Result<Box<nv::NV_ENC_CONFIG>, NvencError> {
        // SAFETY: the session is open.
        unsafe {
            checked::preset_config(
                self.session.api(),
                self.session.encoder,
                codec,
                preset,
                tuning,
            )
        }
    }

    /// Initialises the encoder and splits the session into the half that feeds it and the half
    /// that collects its output.
    ///
    /// # Safety
    /// `params.encodeConfig` points at a live configuration; every other pointer in `params` and
    /// in that configuration is null or valid for the call.
    pub(crate) unsafe fn initialize(
        self,
        params: &mut nv::NV_ENC_INITIALIZE_PARAMS,
    ) -> Result<(SubmitHalf, OutputHalf), NvencError> {
        // SAFETY: the session is open and not yet initialised (this consumes it); the pointers
        // are the caller's contract.
        unsafe { checked::initialize(self.session.api(), self.session.encoder, params) }?;
        let output = OutputHalf {
            session: self.session.share(),
        };
        Ok((
            SubmitHalf {
                session: self.session,
            },
            output,
        ))
    }
}

/// The feeding half of an initialised session: every call but the output thread's. `Send`, not
/// `Sync`: it lives on one thread at a time (the encoder's owner).
pub(crate) struct SubmitHalf {
    session: SessionRef,
}

impl SubmitHalf {
    /// Registers device memory holding NV12 or P010 frames of `layout` (luma rows of
    /// `luma_pitch` bytes, chroma rows right after them). The registration owns the memory and
    /// unregisters it on drop.
    pub(crate) fn register<M: DeviceMemory>(
        &self,
        memory: M,
        layout: &YuvLayout,
        format: nv::NV_ENC_BUFFER_FORMAT,
    ) -> Result<Registration<M>, NvencError> {
        if !Arc::ptr_eq(memory.device(), self.session.device()) {
            return Err(NvencError::Unsupported {
                what: format!(
                    "registering memory of another CUDA device ({})",
                    memory.device().name()
                ),
                fix: format!(
                    "allocate the input on the session's device, {}",
                    self.session.device().name()
                ),
            });
        }
        if u64::from(layout.size) > memory.byte_len() {
            return Err(NvencError::Unsupported {
                what: format!(
                    "registering {} bytes of device memory for a {}x{} {} frame of {} bytes",
                    memory.byte_len(),
                    layout.width,
                    layout.height,
                    layout.format,
                    layout.size
                ),
                fix: "allocate at least the layout's size".into(),
            });
        }
        self.session.device().bind()?;
        // SAFETY: the session is open and initialised; its context is bound above; the memory
        // belongs to that context (checked), holds a whole frame (checked) and stays allocated
        // while the registration owns it, which unregisters before dropping it.
        let registered = unsafe {
            checked::register_cuda(
                self.session.api(),
                self.session.encoder,
                memory.device_pointer(),
                (layout.width, layout.height, layout.luma_pitch),
                format,
            )
        }?;
        Ok(Registration {
            session: self.session.share(),
            registered,
            mapped: Arc::new(AtomicUsize::new(0)),
            memory: ManuallyDrop::new(memory),
        })
    }

    /// A bitstream (output) buffer owned by the driver, destroyed on drop.
    pub(crate) fn create_bitstream_buffer(&self) -> Result<BitstreamBuffer, NvencError> {
        // SAFETY: the session is open and initialised.
        let buffer =
            unsafe { checked::create_bitstream_buffer(self.session.api(), self.session.encoder) }?;
        Ok(BitstreamBuffer {
            session: self.session.share(),
            buffer,
        })
    }

    /// Maps `registration` for one picture; the mapping is undone by [`OutputHalf::unmap`] once
    /// the picture's bitstream is out, or when it drops.
    pub(crate) fn map<M>(&self, registration: &Registration<M>) -> Result<MappedInput, NvencError> {
        if registration.session.encoder != self.session.encoder {
            return Err(NvencError::Unsupported {
                what: "mapping a registration of another NVENC session".into(),
                fix: "map inputs through the session that registered them".into(),
            });
        }
        // SAFETY: the registration is this session's and registered until it drops, which it
        // does not do while a mapping of it is outstanding (the count below).
        let mapped = unsafe {
            checked::map(
                self.session.api(),
                self.session.encoder,
                registration.registered,
            )
        }?;
        registration.mapped.fetch_add(1, Ordering::AcqRel);
        Ok(MappedInput {
            session: self.session.share(),
            mapped,
            outstanding: Arc::clone(&registration.mapped),
            done: false,
        })
    }

    /// Submits a picture. `Ok(true)`: every picture submitted so far has output ready to lock
    /// (hand them to the output half in order); `Ok(false)`: NV_ENC_ERR_NEED_MORE_INPUT (the
    /// encoder holds frames for reordering).
    ///
    /// # Safety
    /// Every pointer in `pic` is null or valid for the call: the input a [`MappedInput`] and the
    /// output a [`BitstreamBuffer`] of this session, SEI payloads alive for the call; the input
    /// and the output stay alive until the picture's bitstream has been locked.
    pub(crate) unsafe fn encode(
        &self,
        pic: &mut nv::NV_ENC_PIC_PARAMS,
    ) -> Result<bool, NvencError> {
        // SAFETY: the session is initialised; the pointers are the caller's contract.
        unsafe { checked::encode_picture(self.session.api(), self.session.encoder, pic) }
    }

    /// Ends the stream: the encoder flushes the pictures it holds. `Ok(true)` as for
    /// [`Self::encode`].
    pub(crate) fn end_of_stream(&self) -> Result<bool, NvencError> {
        let mut eos = nv::NV_ENC_PIC_PARAMS {
            version: nv::NV_ENC_PIC_PARAMS_VER,
            encodePicFlags: nv::NV_ENC_PIC_FLAGS::NV_ENC_PIC_FLAG_EOS as u32,
            ..Default::default()
        };
        // SAFETY: an end-of-stream picture carries no buffers: every pointer in it is null.
        unsafe { self.encode(&mut eos) }
    }

    /// Changes rate, frame rate or other dynamic settings without a new session.
    ///
    /// # Safety
    /// `params.reInitEncodeParams.encodeConfig` points at a live configuration; every other
    /// pointer in `params` and in that configuration is null or valid for the call.
    pub(crate) unsafe fn reconfigure(
        &self,
        params: &mut nv::NV_ENC_RECONFIGURE_PARAMS,
    ) -> Result<(), NvencError> {
        // SAFETY: the session is initialised; the pointers are the caller's contract.
        unsafe { checked::reconfigure(self.session.api(), self.session.encoder, params) }
    }

    /// Tells the encoder that the picture submitted with `timestamp` was lost by a client: later
    /// pictures will not reference it (recovery without a keyframe).
    pub(crate) fn invalidate(&self, timestamp: u64) -> Result<(), NvencError> {
        // SAFETY: the session is initialised; a plain value.
        unsafe {
            checked::invalidate_ref_frames(self.session.api(), self.session.encoder, timestamp)
        }
    }

    /// Orders the encoder's input reads after the work queued on `stream` before each picture,
    /// and its output work on the same stream.
    ///
    /// # Safety
    /// `handle` points at a CUstream of the session's context; the pointer and the stream stay
    /// valid until the session is destroyed (every holder of it dropped).
    pub(crate) unsafe fn set_io_stream(&self, handle: *mut c_void) -> Result<(), NvencError> {
        // SAFETY: the session is initialised; the stream is the caller's contract.
        unsafe {
            checked::set_io_cuda_streams(self.session.api(), self.session.encoder, handle, handle)
        }
    }
}

/// The output half of an initialised session: the calls the output thread makes. `Send`, not
/// `Sync`: it moves to that thread and is called from it alone.
pub(crate) struct OutputHalf {
    session: SessionRef,
}

impl OutputHalf {
    /// Waits for a picture's output, copies it out and unlocks the buffer.
    ///
    /// # Safety
    /// `buffer` names a live [`BitstreamBuffer`] of this session that is the output of a
    /// submitted picture whose encode reported output ready, locked nowhere else.
    pub(crate) unsafe fn lock_and_copy(
        &self,
        buffer: BitstreamRef,
    ) -> Result<LockedPicture, NvencError> {
        // SAFETY: the caller's contract.
        unsafe { checked::lock_copy_unlock(self.session.api(), self.session.encoder, buffer.0) }
    }

    /// Unmaps a picture's input once its bitstream has been locked.
    pub(crate) fn unmap(&self, mapped: MappedInput) -> Result<(), NvencError> {
        mapped.unmap()
    }
}

/// Device memory registered with a session (`nvEncRegisterResource`), owning the memory;
/// unregistered on drop.
pub(crate) struct Registration<M> {
    session: SessionRef,
    registered: *mut c_void,
    /// Mappings of this registration not yet undone.
    mapped: Arc<AtomicUsize>,
    memory: ManuallyDrop<M>,
}

// SAFETY: the handles are identifiers (see `SessionRef`); the memory is `Send`.
unsafe impl<M: Send> Send for Registration<M> {}

impl<M> Registration<M> {
    /// The registered memory.
    pub(crate) fn memory(&self) -> &M {
        &self.memory
    }
}

impl<M> Drop for Registration<M> {
    fn drop(&mut self) {
        if self.mapped.load(Ordering::Acquire) != 0 {
            // A picture may still read the memory: leave both registered and allocated (the
            // driver frees the registration with the session).
            tracing::warn!("an NVENC input dropped while mapped is left registered");
            return;
        }
        let _ = self.session.device().bind();
        // SAFETY: registered by this session, unregistered once, and not mapped (checked).
        let _ = unsafe {
            checked::unregister(self.session.api(), self.session.encoder, self.registered)
        };
        // SAFETY: dropped once, after the driver let go of it.
        unsafe { ManuallyDrop::drop(&mut self.memory) };
    }
}

/// A registration mapped for one picture (`nvEncMapInputResource`); unmapped on drop, or by
/// [`OutputHalf::unmap`] once the picture's bitstream is out.
pub(crate) struct MappedInput {
    session: SessionRef,
    mapped: *mut c_void,
    outstanding: Arc<AtomicUsize>,
    done: bool,
}

// SAFETY: the handles are identifiers (see `SessionRef`); the mapped input is made on the feeding
// thread and undone on the output thread, as NVIDIA's threading model has it.
unsafe impl Send for MappedInput {}

impl MappedInput {
    /// The mapped input, for a picture's `inputBuffer`.
    pub(crate) fn as_ptr(&self) -> *mut c_void {
        self.mapped
    }

    fn unmap(mut self) -> Result<(), NvencError> {
        self.release()
    }

    fn release(&mut self) -> Result<(), NvencError> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        // SAFETY: mapped by this session and unmapped once (`done`); the owner unmaps only once
        // the picture's bitstream has been locked or the picture was never submitted.
        let result =
            unsafe { checked::unmap(self.session.api(), self.session.encoder, self.mapped) };
        self.outstanding.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

impl Drop for MappedInput {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

/// A bitstream (output) buffer of a session (`nvEncCreateBitstreamBuffer`); destroyed on drop.
pub(crate) struct BitstreamBuffer {
    session: SessionRef,
    buffer: *mut c_void,
}

// SAFETY: the handles are identifiers (see `SessionRef`).
unsafe impl Send for BitstreamBuffer {}

impl BitstreamBuffer {
    /// The buffer's handle, for a picture's `outputBitstream` and the output half's lock.
    pub(crate) fn handle(&self) -> BitstreamRef {
        BitstreamRef(self.buffer)
    }
}

impl Drop for BitstreamBuffer {
    fn drop(&mut self) {
        // SAFETY: created by this session and destroyed once; its owner drops it only when no
        // submitted picture's output is still to be locked.
        let _ = unsafe {
            checked::destroy_bitstream_buffer(self.session.api(), self.session.encoder, self.buffer)
        };
    }
}

/// A bitstream buffer's handle, carried to the output thread with its picture.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BitstreamRef(*mut c_void);

// SAFETY: a plain identifier; using it is `unsafe` (`OutputHalf::lock_and_copy`).
unsafe impl Send for BitstreamRef {}

impl BitstreamRef {
    /// The raw handle, for a picture's `outputBitstream`.
    pub(crate) fn as_ptr(self) -> *mut c_void {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::status;
    use super::*;

    /// On a machine with the NVIDIA driver (the H200): the driver checks the open-session
    /// structure's version before it looks for an encoder engine, so a corrupted version is
    /// NV_ENC_ERR_INVALID_VERSION while this build's version gets past that check (to success,
    /// or to the no-engine status). Without the driver, a printed skip.
    #[test]
    fn the_driver_accepts_this_builds_structure_versions() {
        let api = match NvencApi::load() {
            Ok(api) => api,
            Err(e) => {
                eprintln!("SKIPPED: {e}");
                return;
            }
        };
        let device = CudaDevice::first().expect("CUDA beside the NVENC library");
        device.bind().unwrap();
        let open = |version: u32| {
            let mut params = checked::open_params(device.context().cast());
            params.version = version;
            let mut encoder = std::ptr::null_mut();
            // SAFETY: a valid structure apart from the version under test; any handle returned
            // is destroyed.
            let s = unsafe { (api.open_session_ex)(&raw mut params, &raw mut encoder) };
            if !encoder.is_null() {
                // SAFETY: a handle the driver returned, destroyed once.
                unsafe { (api.destroy_encoder)(encoder) };
            }
            s
        };
        let bad = open(nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER ^ (0xf << 16));
        let good = open(nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER);
        eprintln!(
            "driver API {}: corrupted version -> {} ({bad}); this build's version -> {} ({good})",
            api.driver_api(),
            status::name(bad),
            status::name(good)
        );
        assert_eq!(bad, status::INVALID_VERSION);
        assert!(
            good == status::SUCCESS || status::is_no_encoder(good),
            "{}",
            status::name(good)
        );
    }

    /// The halves and resources move to other threads but are never shared between them: each
    /// is `Send`, and none is `Sync` (a `Sync` one makes the `not_sync!` lines ambiguous, which
    /// does not compile).
    #[test]
    fn the_halves_are_send_and_not_sync() {
        fn send<T: Send>() {}
        send::<NvencSession>();
        send::<SubmitHalf>();
        send::<OutputHalf>();
        send::<MappedInput>();
        send::<BitstreamBuffer>();
        send::<Registration<crate::cuda::DeviceBuffer>>();

        // Implemented for every type with `()`, and for `Sync` types with `u8` too: naming it
        // with an inferred parameter compiles only when the second does not apply.
        trait AmbiguousIfSync<A> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfSync<()> for T {}
        impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}
        macro_rules! not_sync {
            ($($t:ty),*) => { $(<$t as AmbiguousIfSync<_>>::check();)* };
        }
        not_sync!(
            NvencSession,
            SubmitHalf,
            OutputHalf,
            MappedInput,
            BitstreamBuffer,
            Registration<crate::cuda::DeviceBuffer>
        );
    }
}
