//! The NVENC backend: an initialised session, its input slots registered once, a submit path
//! that never blocks on output, and an output thread that locks bitstreams in order.
//!
//! Built to NVIDIA's programming guide and the SDK 12.1 header, and checked against the real
//! driver only as far as the lent H200 reaches (the session open, which fails there for want
//! of an encoder engine). Nothing past `nvEncOpenEncodeSessionEx` has run on hardware; see
//! docs/HARDWARE.md.
//!
//! Frame flow, per frame n:
//! 1. a free slot is taken (blocks only when every slot is in flight: back-pressure);
//! 2. the frame is copied into the slot's device memory on the input stream (CPU frames), or
//!    the input stream waits on the GPU for the Vulkan pass's `ready` value (hand-off, no copy);
//! 3. the slot is mapped and `nvEncEncodePicture` submitted (it does not wait for the GPU);
//! 4. the output thread locks the picture's bitstream (the only blocking call), copies it out,
//!    unmaps the slot, releases it (and, on the hand-off path, signals `released` so the Vulkan
//!    side may rewrite the buffer), and queues the packet for `receive`.

use std::ffi::c_void;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::caps::EncodeCaps;
use super::params::{apply_config, initialize_params, NvencChoice};
use super::session::{
    BitstreamBuffer, BitstreamRef, MappedInput, OutputHalf, Registration, SubmitHalf,
    PICTURE_TYPE_IDR,
};
use super::{NvencApi, NvencError, NvencSession};
use crate::codec::Codec;
use crate::config::{BackendKind, KeyframeInterval, RateControl, SessionConfig};
use crate::cuda::{
    CudaDevice, CudaStream, DeviceBuffer, DeviceMemory, ImportedBuffer, ImportedTimeline, RowCopy,
};
use crate::encode::{EncodeError, EncodedUnit, EncoderBackend, LiveControls};
use crate::frame::{Frame, FrameImage};
use crate::gpu::{ExportableBuffer, ExportableTimeline, GpuContext, GpuHandoff, HandedOff};
use crate::processing::convert::YuvLayout;

/// Input slots beyond what the encoder holds for reordering and lookahead: one being filled,
/// one being locked by the output thread, one queued between them (NVIDIA's samples keep three
/// too).
const EXTRA_SLOTS: usize = 3;

/// How many input slots an encoder with `cfg` needs so that submission never waits for a slot
/// the encoder itself still holds: the pictures it keeps for B-frame reordering
/// (`frameIntervalP` - 1) and rate-control lookahead (`lookaheadDepth`), plus [`EXTRA_SLOTS`].
/// Fewer would deadlock: the encoder would wait for input that waits for a slot.
fn input_slots(cfg: &nv::NV_ENC_CONFIG) -> usize {
    let reorder = cfg.frameIntervalP.max(1).unsigned_abs() as usize - 1;
    let lookahead = if cfg.rcParams.enableLookahead() != 0 {
        cfg.rcParams.lookaheadDepth as usize
    } else {
        0
    };
    1 + reorder + lookahead + EXTRA_SLOTS
}

/// What feeds a new encoder's input slots.
enum Feed<'a> {
    /// CPU frames, uploaded into the encoder's own CUDA memory.
    Cpu,
    /// A Vulkan pass on this context, writing exportable buffers NVENC reads in place.
    Handoff(&'a Arc<GpuContext>),
}

/// Where a slot's pixels live.
enum SlotMemory {
    /// Plain CUDA memory the CPU frames are uploaded into.
    Own(DeviceBuffer),
    /// A Vulkan exportable buffer imported into CUDA: the GPU pass writes it, NVENC reads it,
    /// nothing copies it.
    Imported(ImportedBuffer),
}

// SAFETY: each variant is `DeviceMemory`; this forwards to it.
unsafe impl DeviceMemory for SlotMemory {
    fn device_pointer(&self) -> u64 {
        match self {
            SlotMemory::Own(b) => b.device_pointer(),
            SlotMemory::Imported(b) => b.device_pointer(),
        }
    }
    fn byte_len(&self) -> u64 {
        match self {
            SlotMemory::Own(b) => b.byte_len(),
            SlotMemory::Imported(b) => b.byte_len(),
        }
    }
    fn device(&self) -> &Arc<CudaDevice> {
        match self {
            SlotMemory::Own(b) => DeviceMemory::device(b),
            SlotMemory::Imported(b) => DeviceMemory::device(b),
        }
    }
}

/// One input slot: device memory registered once, and its bitstream buffer.
struct Slot {
    input: Registration<SlotMemory>,
    bitstream: BitstreamBuffer,
}

/// The CUDA side of a Vulkan hand-off: the input stream waits for `ready`; the output thread
/// signals `released` once NVENC has read a slot.
struct HandoffSync {
    ready: ImportedTimeline,
    released: Arc<ImportedTimeline>,
}

/// The CUDA side of a hand-off (the encoder keeps it) and the Vulkan side (the session's GPU
/// stream takes it).
type HandoffSides = (HandoffSync, GpuHandoff);

/// A submitted picture on its way to the output thread.
struct Pending {
    slot: usize,
    mapped: MappedInput,
    bitstream: BitstreamRef,
    /// The `encoder_pts` of the n-th submitted frame: with reordering, the n-th packet out is
    /// decoded at the n-th display time minus the reorder delay.
    submit_pts: i64,
    /// On the hand-off path: the `released` value to signal once the slot has been read.
    release: Option<u64>,
}

/// The NVENC encoder backend.
pub struct NvencEncoder {
    /// The feeding half of the session (the output thread holds the other). First, so that the
    /// session is destroyed before the CUDA stream it was given.
    submit: SubmitHalf,
    config: SessionConfig,
    choice: NvencChoice,
    encode_config: Box<nv::NV_ENC_CONFIG>,
    layout: YuvLayout,
    /// Where each plane of a CPU frame goes in a slot (rows, bytes per row, destination offset
    /// and pitch; the source pitch is the frame's own).
    plane_copies: [RowCopy; 2],
    slots: Vec<Slot>,
    free: Receiver<usize>,
    free_return: Sender<usize>,
    /// Hand-off slots known to be unmapped (taken from `free` as they come back).
    unmapped: Vec<bool>,
    /// The CUDA stream NVENC reads its input on (`nvEncSetIOCudaStreams`).
    io_stream: CudaStream,
    /// The CUstream handle NVENC was given (it takes a pointer to the handle and keeps it).
    _io_stream_handle: Box<*mut c_void>,
    awaiting: Vec<Pending>,
    to_output: Option<SyncSender<Pending>>,
    from_output: Receiver<Result<EncodedUnit, EncodeError>>,
    output_thread: Option<std::thread::JoinHandle<()>>,
    /// HDR10 payloads (SEI for HEVC, metadata OBUs for AV1) sent with every keyframe.
    hdr: Vec<(u32, Vec<u8>)>,
    handoff: Option<HandoffSync>,
    /// The Vulkan side of the hand-off, until the session takes it.
    offered: Option<GpuHandoff>,
    frames: u64,
    force_keyframe: bool,
    description: String,
}

// SAFETY: the raw pointers inside are the configuration's unused (null) tile and film-grain
// pointers and the CUDA stream handle NVENC was given, none tied to a thread; the session's
// feeding half and its resources are `Send`, and the output thread takes only the output half
// and its own channels.
unsafe impl Send for NvencEncoder {}

impl std::fmt::Debug for NvencEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvencEncoder")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl From<NvencError> for EncodeError {
    fn from(e: NvencError) -> Self {
        match e {
            NvencError::LibraryMissing { .. }
            | NvencError::DriverTooOld { .. }
            | NvencError::NoEncoder { .. }
            | NvencError::Cuda(_)
            | NvencError::Gpu(_) => EncodeError::Unavailable {
                backend: BackendKind::Nvenc,
                reason: e.to_string(),
            },
            NvencError::Unsupported { what, fix } => EncodeError::Unsupported {
                encoder: "NVENC".into(),
                what,
                fix,
            },
            NvencError::Status { .. } => EncodeError::Hardware {
                backend: BackendKind::Nvenc,
                message: e.to_string(),
            },
        }
    }
}

impl NvencEncoder {
    /// Opens and initialises an encoder for `config` on the first CUDA device, fed CPU frames
    /// (uploaded into its own CUDA memory).
    pub fn open(config: &SessionConfig) -> Result<Self, NvencError> {
        let api = NvencApi::load()?;
        let device = CudaDevice::first()?;
        Self::open_on(&api, &device, config)
    }

    /// As [`Self::open`], on `device`.
    pub fn open_on(
        api: &Arc<NvencApi>,
        device: &Arc<CudaDevice>,
        config: &SessionConfig,
    ) -> Result<Self, NvencError> {
        Self::build(api, device, config, Feed::Cpu)
    }

    /// Opens an encoder fed with no copy by a Vulkan pass on `gpu` (on the CUDA device that is
    /// `gpu`'s physical device): exportable buffers in NVENC's layout (`YuvLayout` NV12/P010:
    /// 256-byte-aligned rows, chroma right after the luma), as many as the encoder holds at once
    /// (see `input_slots`), imported into CUDA and registered with NVENC once, and the two
    /// timelines of the hand-off, imported too. Take the [`GpuHandoff`] with
    /// [`EncoderBackend::take_gpu_handoff`], give it to
    /// [`crate::gpu::ConvertRing::with_handoff`], and each [`HandedOff`] that returns to
    /// [`EncoderBackend::encode_handed_off`].
    pub fn open_for_vulkan(
        config: &SessionConfig,
        gpu: &Arc<GpuContext>,
    ) -> Result<Self, NvencError> {
        let api = NvencApi::load()?;
        let device = CudaDevice::for_vulkan(gpu)?;
        Self::build(&api, &device, config, Feed::Handoff(gpu))
    }

    /// The slots' memory for `feed`, and for a hand-off its two sides.
    fn slot_memory(
        device: &Arc<CudaDevice>,
        layout: &YuvLayout,
        count: usize,
        feed: Feed<'_>,
    ) -> Result<(Vec<SlotMemory>, Option<HandoffSides>), NvencError> {
        let Feed::Handoff(gpu) = feed else {
            let memory = (0..count)
                .map(|_| DeviceBuffer::new(device, layout.size as usize).map(SlotMemory::Own))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok((memory, None));
        };
        let buffers = (0..count)
            .map(|_| ExportableBuffer::new(gpu, u64::from(layout.size)).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let ready = Arc::new(ExportableTimeline::new(gpu, 0)?);
        let released = Arc::new(ExportableTimeline::new(gpu, 0)?);
        let memory = buffers
            .iter()
            .map(|b| ImportedBuffer::import(device, b).map(SlotMemory::Imported))
            .collect::<Result<Vec<_>, _>>()?;
        let sync = HandoffSync {
            ready: ImportedTimeline::import(device, &ready)?,
            released: Arc::new(ImportedTimeline::import(device, &released)?),
        };
        let handoff = GpuHandoff {
            buffers,
            ready,
            released,
        };
        Ok((memory, Some((sync, handoff))))
    }

    fn build(
        api: &Arc<NvencApi>,
        device: &Arc<CudaDevice>,
        config: &SessionConfig,
        feed: Feed<'_>,
    ) -> Result<Self, NvencError> {
        let choice = NvencChoice::for_config(config)?;
        let session = NvencSession::open(api, device)?;
        match EncodeCaps::query(&session, config.codec)? {
            Some(caps) => caps.check(config)?,
            None => {
                return Err(NvencError::Unsupported {
                    what: format!("{} on {}", config.codec, device.name()),
                    fix: "this GPU's NVENC does not encode that codec; use another codec or --encoder software".into(),
                })
            }
        }
        let mut encode_config =
            session.preset_config(choice.codec, choice.preset, choice.tuning)?;
        apply_config(config, &choice, &mut encode_config)?;
        let mut init = initialize_params(config, &choice, &raw mut *encode_config);
        // The stream NVENC reads on, made before the halves so that, on every path, they (and
        // with them the session) drop before it.
        let io_stream = CudaStream::new(device)?;
        let io_stream_handle = Box::new(io_stream.raw().cast::<c_void>());
        // SAFETY: `initialize_params` points `encodeConfig` at `encode_config` (boxed, alive) and
        // sets no other pointer; the preset and `apply_config` leave the configuration's own
        // pointers (AV1 tiles, film grain) null.
        let (submit, output) = unsafe { session.initialize(&mut init) }?;
        let layout = YuvLayout::new(choice.input_format, config.width, config.height);
        let slot_count = input_slots(&encode_config);
        let (memory, handoff) = Self::slot_memory(device, &layout, slot_count, feed)?;
        let (handoff, offered) = handoff.unzip();

        let handle_ptr = (&raw const *io_stream_handle).cast_mut().cast();
        // SAFETY: the stream and the Box holding its handle outlive the session: here they were
        // made before the halves (locals drop in reverse); in the encoder, `Drop` ends the output
        // thread and drops every slot, and the feeding half is the first field.
        unsafe { submit.set_io_stream(handle_ptr)? };

        let (free_tx, free) = mpsc::channel();
        let mut slots = Vec::with_capacity(memory.len());
        for (i, memory) in memory.into_iter().enumerate() {
            slots.push(Slot {
                input: submit.register(memory, &layout, choice.buffer_format)?,
                bitstream: submit.create_bitstream_buffer()?,
            });
            free_tx.send(i).expect("receiver alive");
        }
        let hdr = match (&config.hdr_metadata, config.codec) {
            (Some(h), Codec::Hevc) => h.hevc_sei_payloads(),
            (Some(h), Codec::Av1) => h.av1_metadata_payloads(),
            _ => Vec::new(),
        };
        // B-frames delay decode order by (frameIntervalP - 1) frames.
        let reorder_delay = i64::from((encode_config.frameIntervalP - 1).max(0));
        let (to_output, from_main) = mpsc::sync_channel::<Pending>(slot_count);
        let (to_main, from_output) = mpsc::channel();
        let free_return = free_tx.clone();
        let release = match &handoff {
            Some(h) => Some((Arc::clone(&h.released), CudaStream::new(device)?)),
            None => None,
        };
        let output_thread = std::thread::Builder::new()
            .name("ghoststream-nvenc-out".into())
            .spawn(move || {
                output_loop(&output, from_main, to_main, free_tx, release, reorder_delay)
            })
            .map_err(|e| NvencError::Unsupported {
                what: "an output thread".into(),
                fix: format!("the system refused a thread: {e}"),
            })?;
        let description = format!(
            "nvenc ({} on {}, driver API {}, {} input slots{})",
            config.codec,
            device.name(),
            api.driver_api(),
            slot_count,
            if offered.is_some() {
                " handed over by Vulkan with no copy"
            } else {
                " uploaded from the CPU"
            }
        );
        tracing::info!(encoder = %description, "NVENC encoder initialised");
        Ok(Self {
            submit,
            config: config.clone(),
            choice,
            encode_config,
            plane_copies: plane_copies(&layout),
            layout,
            unmapped: vec![false; slots.len()],
            slots,
            free,
            free_return,
            io_stream,
            _io_stream_handle: io_stream_handle,
            awaiting: Vec::new(),
            to_output: Some(to_output),
            from_output,
            output_thread: Some(output_thread),
            hdr,
            handoff,
            offered,
            frames: 0,
            force_keyframe: false,
            description,
        })
    }

    /// True when frame `n` will be a keyframe: the first, every GOP start, or a forced one.
    fn expects_keyframe(&self, n: u64) -> bool {
        self.force_keyframe
            || n == 0
            || matches!(self.config.keyframe_interval, KeyframeInterval::Frames(g) if n % u64::from(g) == 0)
    }

    /// Copies a CPU frame of the encoder's format into slot `slot` on the input stream.
    fn upload(&self, frame: &Frame, slot: usize) -> Result<(), EncodeError> {
        let FrameImage::Cpu(image) = &frame.image else {
            return Err(EncodeError::UnsupportedInput {
                format: frame.image.format(),
                reason: "NVENC takes CPU frames here; GPU frames reach it converted by the session"
                    .into(),
            });
        };
        if image.format() != self.choice.input_format {
            return Err(EncodeError::UnsupportedInput {
                format: image.format(),
                reason: format!("NVENC is set up for {}", self.choice.input_format),
            });
        }
        let SlotMemory::Own(memory) = self.slots[slot].input.memory() else {
            return Err(EncodeError::UnsupportedInput {
                format: image.format(),
                reason: "this encoder is fed by a Vulkan hand-off; use encode_handed_off".into(),
            });
        };
        let (data, sources) = (image.data(), image.plane_layouts());
        for (shape, source) in self.plane_copies.iter().zip(sources) {
            let copy = RowCopy {
                src_pitch: source.stride,
                ..*shape
            };
            self.io_stream
                .upload_rows(&data[source.offset..], memory, copy)
                .map_err(|e| EncodeError::from(NvencError::Cuda(e)))?;
        }
        Ok(())
    }

    /// Maps slot `slot` and submits it as the picture with `encoder_pts`.
    fn submit(
        &mut self,
        slot: usize,
        encoder_pts: i64,
        release: Option<u64>,
    ) -> Result<(), EncodeError> {
        let mapped = self.submit.map(&self.slots[slot].input)?;
        let keyframe = self.expects_keyframe(self.frames);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "HDR SEI payloads are a few dozen bytes"
        )]
        let mut payloads: Vec<nv::NV_ENC_SEI_PAYLOAD> = if keyframe {
            self.hdr
                .iter()
                .map(|(kind, bytes)| nv::NV_ENC_SEI_PAYLOAD {
                    payloadSize: bytes.len() as u32,
                    payloadType: *kind,
                    payload: bytes.as_ptr().cast_mut(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut pic = picture_params(
            &self.layout,
            &self.choice,
            mapped.as_ptr(),
            self.slots[slot].bitstream.handle().as_ptr(),
        );
        pic.inputTimeStamp = pts_to_driver(encoder_pts);
        if self.force_keyframe {
            pic.encodePicFlags = nv::NV_ENC_PIC_FLAGS::NV_ENC_PIC_FLAG_FORCEIDR as u32
                | nv::NV_ENC_PIC_FLAGS::NV_ENC_PIC_FLAG_OUTPUT_SPSPPS as u32;
        }
        attach_payloads(self.config.codec, &mut pic, &mut payloads);
        // SAFETY: the input is this session's mapped input and the output its bitstream buffer;
        // both stay alive until the output thread has locked this picture (the mapped input
        // travels with it; slots are reused only once it releases them, and dropped only after
        // it has ended); the payloads outlive the call, which copies them.
        let ready = unsafe { self.submit.encode(&mut pic) }?;
        self.force_keyframe = false;
        self.frames += 1;
        self.awaiting.push(Pending {
            slot,
            mapped,
            bitstream: self.slots[slot].bitstream.handle(),
            submit_pts: encoder_pts,
            release,
        });
        if ready {
            self.flush_awaiting()?;
        }
        Ok(())
    }

    /// Hands every picture whose output is ready to the output thread, in submission order.
    fn flush_awaiting(&mut self) -> Result<(), EncodeError> {
        let to_output = self.to_output.as_ref().ok_or_else(output_gone)?;
        for p in self.awaiting.drain(..) {
            to_output.send(p).map_err(|_| output_gone())?;
        }
        Ok(())
    }
}

/// The copies of a CPU frame's luma and interleaved chroma planes into a slot of `layout`
/// (NV12 or P010), from the format's plane geometry.
fn plane_copies(layout: &YuvLayout) -> [RowCopy; 2] {
    let geometry = layout.format.planes(layout.width, layout.height);
    let copy = |plane: usize, dst_offset: u32, dst_pitch: u32| RowCopy {
        src_pitch: 0,
        dst_offset: dst_offset as usize,
        dst_pitch: dst_pitch as usize,
        row_bytes: geometry[plane].row_bytes(),
        rows: geometry[plane].height as usize,
    };
    [
        copy(0, 0, layout.luma_pitch),
        copy(1, layout.chroma_offset, layout.chroma_pitch),
    ]
}

/// The per-picture parameters common to every frame.
fn picture_params(
    layout: &YuvLayout,
    choice: &NvencChoice,
    mapped: *mut c_void,
    bitstream: *mut c_void,
) -> nv::NV_ENC_PIC_PARAMS {
    nv::NV_ENC_PIC_PARAMS {
        version: nv::NV_ENC_PIC_PARAMS_VER,
        inputWidth: layout.width,
        inputHeight: layout.height,
        inputPitch: layout.luma_pitch,
        inputBuffer: mapped,
        outputBitstream: bitstream,
        bufferFmt: choice.buffer_format,
        pictureStruct: nv::NV_ENC_PIC_STRUCT::NV_ENC_PIC_STRUCT_FRAME,
        ..Default::default()
    }
}

/// Points the codec's payload array at `payloads` (HEVC SEI, AV1 metadata OBUs).
fn attach_payloads(
    codec: Codec,
    pic: &mut nv::NV_ENC_PIC_PARAMS,
    payloads: &mut [nv::NV_ENC_SEI_PAYLOAD],
) {
    if payloads.is_empty() {
        return;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "at most the two HDR payloads"
    )]
    let (count, array) = (payloads.len() as u32, payloads.as_mut_ptr());
    // Writing a union member is safe; the member for the session's codec is the one the driver
    // reads.
    match codec {
        Codec::Hevc => {
            pic.codecPicParams.hevcPicParams.seiPayloadArrayCnt = count;
            pic.codecPicParams.hevcPicParams.seiPayloadArray = array;
        }
        Codec::Av1 => {
            pic.codecPicParams.av1PicParams.obuPayloadArrayCnt = count;
            pic.codecPicParams.av1PicParams.obuPayloadArray = array;
        }
        Codec::H264 => {
            pic.codecPicParams.h264PicParams.seiPayloadArrayCnt = count;
            pic.codecPicParams.h264PicParams.seiPayloadArray = array;
        }
    }
}

fn output_gone() -> EncodeError {
    EncodeError::Hardware {
        backend: BackendKind::Nvenc,
        message: "the NVENC output thread stopped".into(),
    }
}

/// Locks each picture's bitstream in submission order (blocking here, not in `encode`), then
/// unmaps and frees its slot.
fn output_loop(
    output: &OutputHalf,
    pending: Receiver<Pending>,
    out: Sender<Result<EncodedUnit, EncodeError>>,
    free: Sender<usize>,
    release: Option<(Arc<ImportedTimeline>, CudaStream)>,
    reorder_delay: i64,
) {
    for p in pending {
        // SAFETY: the buffer is the slot's, alive until the encoder has joined this thread; its
        // picture was submitted and reported ready, and it is locked only here.
        let locked = unsafe { output.lock_and_copy(p.bitstream) };
        // The picture's bitstream is out (or failed), so its input may be unmapped.
        let unmapped = output.unmap(p.mapped);
        // Unmapped: the slot may be mapped again (CPU-fed slots are taken from this list;
        // a hand-off slot, which the Vulkan pass picks, is mapped only once it is back here).
        let _ = free.send(p.slot);
        // NVENC is done reading the slot: the Vulkan pass may rewrite it.
        let released = match (&release, p.release) {
            (Some((timeline, stream)), Some(value)) => {
                stream.signal(timeline, value).map_err(NvencError::Cuda)
            }
            _ => Ok(()),
        };
        let unmapped = unmapped.and(released);
        let unit = locked
            .and_then(|l| unmapped.map(|()| l))
            .map(|l| EncodedUnit {
                keyframe: l.picture_type == PICTURE_TYPE_IDR,
                pts: pts_from_driver(l.timestamp),
                dts: p.submit_pts - reorder_delay,
                data: l.data,
                gpu_time: None,
            });
        if out.send(unit.map_err(EncodeError::from)).is_err() {
            return;
        }
    }
}

impl EncoderBackend for NvencEncoder {
    fn kind(&self) -> BackendKind {
        BackendKind::Nvenc
    }

    fn take_gpu_handoff(&mut self) -> Option<GpuHandoff> {
        self.offered.take()
    }

    /// The encoder's input stream waits on the GPU for `ready` to reach `frame.value`, NVENC
    /// reads the buffer in place, and the output thread signals `released` to the same value
    /// once the picture is out. No copy and no CPU wait.
    fn encode_handed_off(&mut self, frame: HandedOff, encoder_pts: i64) -> Result<(), EncodeError> {
        let Some(sync) = &self.handoff else {
            return Err(EncodeError::UnsupportedInput {
                format: self.choice.input_format,
                reason: "this encoder takes CPU frames; open it with open_for_vulkan".into(),
            });
        };
        if frame.target >= self.slots.len() {
            return Err(EncodeError::UnsupportedInput {
                format: self.choice.input_format,
                reason: format!("hand-off buffer {} of {}", frame.target, self.slots.len()),
            });
        }
        // The Vulkan pass reuses a buffer after a GPU wait for `released`, but NVENC's mapping
        // is CPU state: the slot's previous picture must have been unmapped by the output
        // thread (it returns the slot on the free list) before the slot is mapped again.
        if self.awaiting.iter().any(|p| p.slot == frame.target) {
            // Its picture is held by the encoder (reordering) and not yet output: waiting would
            // never end.
            return Err(EncodeError::UnsupportedInput {
                format: self.choice.input_format,
                reason: format!(
                    "hand-off buffer {} still holds a picture the encoder has not output: the pass ran more than {} frames ahead",
                    frame.target,
                    self.slots.len()
                ),
            });
        }
        while !self.unmapped[frame.target] {
            let slot = self.free.recv().map_err(|_| output_gone())?;
            self.unmapped[slot] = true;
        }
        self.unmapped[frame.target] = false;
        self.io_stream
            .wait(&sync.ready, frame.value)
            .map_err(|e| EncodeError::from(NvencError::Cuda(e)))?;
        let submitted = self.submit(frame.target, encoder_pts, Some(frame.value));
        if submitted.is_err() && !self.awaiting.iter().any(|p| p.slot == frame.target) {
            // Never queued: the slot was not mapped, or was unmapped with the failure.
            self.unmapped[frame.target] = true;
        }
        submitted
    }

    fn controls(&self) -> LiveControls {
        LiveControls::ALL
    }

    /// The next IDR comes at the next submitted frame, with parameter sets (a viewer joined, or
    /// the application asked).
    fn force_keyframe(&mut self) -> Result<(), EncodeError> {
        self.force_keyframe = true;
        Ok(())
    }

    /// A streaming client lost the picture submitted with `encoder_pts`: later pictures stop
    /// referencing it and what followed it, so the client recovers without a keyframe.
    fn invalidate(&mut self, encoder_pts: i64) -> Result<(), EncodeError> {
        Ok(self.submit.invalidate(pts_to_driver(encoder_pts))?)
    }

    /// Changes the rate control (bitrate, VBV) and frame rate of the running session without
    /// a new keyframe or a new session (`nvEncReconfigureEncoder`).
    fn reconfigure(&mut self, new: &SessionConfig) -> Result<(), EncodeError> {
        let fixed = (
            new.codec,
            new.width,
            new.height,
            new.bit_depth,
            new.tuning,
            new.preset,
        );
        let was = (
            self.config.codec,
            self.config.width,
            self.config.height,
            self.config.bit_depth,
            self.config.tuning,
            self.config.preset,
        );
        if fixed != was {
            return Err(EncodeError::Unsupported {
                encoder: "NVENC".into(),
                what: "changing codec, size, bit depth, tuning or preset in a running session"
                    .into(),
                fix: "change only the rate control and frame rate, or open a new session".into(),
            });
        }
        let is_cq = |c: &SessionConfig| matches!(c.rate_control, RateControl::Cq { .. });
        if is_cq(new) != is_cq(&self.config) {
            return Err(EncodeError::Unsupported {
                encoder: "NVENC".into(),
                what: format!(
                    "switching rate control from {} to {} in a running session",
                    self.config.rate_control.mode(),
                    new.rate_control.mode()
                ),
                fix: "constant quality (cq) is chosen when the session opens: keep the mode, or open a new session".into(),
            });
        }
        new.validate().map_err(|e| EncodeError::Unsupported {
            encoder: "NVENC".into(),
            what: format!("this reconfiguration ({e})"),
            fix: "give a valid config".into(),
        })?;
        let mut config = *self.encode_config;
        super::params::apply_rate_control(new, &mut config.rcParams)?;
        let mut params = nv::NV_ENC_RECONFIGURE_PARAMS {
            version: nv::NV_ENC_RECONFIGURE_PARAMS_VER,
            reInitEncodeParams: initialize_params(new, &self.choice, &raw mut config),
            ..Default::default()
        };
        // Keep the stream going: no reset, no forced IDR.
        params.set_resetEncoder(0);
        params.set_forceIDR(0);
        // SAFETY: `initialize_params` points `encodeConfig` at `config` (alive for the call) and
        // sets no other pointer; the configuration's own pointers stay null (see `build`).
        unsafe { self.submit.reconfigure(&mut params) }?;
        *self.encode_config = config;
        self.config = new.clone();
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn encode(&mut self, frame: Frame, encoder_pts: i64) -> Result<(), EncodeError> {
        let slot = self.free.recv().map_err(|_| output_gone())?;
        let submitted = self
            .upload(&frame, slot)
            .and_then(|()| self.submit(slot, encoder_pts, None));
        if submitted.is_err() && !self.awaiting.iter().any(|p| p.slot == slot) {
            // Never queued: the slot goes straight back to the free list.
            let _ = self.free_return.send(slot);
        }
        submitted
    }

    fn finish(&mut self) -> Result<(), EncodeError> {
        // End of stream: the encoder flushes the pictures it holds.
        self.submit.end_of_stream()?;
        self.flush_awaiting()?;
        // Closing the channel lets the output thread finish the queue and end.
        self.to_output = None;
        if let Some(t) = self.output_thread.take() {
            let _ = t.join();
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<Option<EncodedUnit>, EncodeError> {
        match self.from_output.try_recv() {
            Ok(unit) => unit.map(Some),
            Err(_) => Ok(None),
        }
    }
}

impl Drop for NvencEncoder {
    fn drop(&mut self) {
        // Dropped without `finish` (an error, a session closed early): the encoder is still
        // flushed with an end of stream before its resources and the session go, as NVIDIA's
        // guide asks; what it outputs is discarded with the channel.
        if self.output_thread.is_some() {
            if let Err(e) = self.submit.end_of_stream() {
                tracing::debug!(error = %e, "no end of stream for an NVENC encoder dropped unfinished");
            }
            let _ = self.flush_awaiting();
        }
        self.to_output = None;
        if let Some(t) = self.output_thread.take() {
            let _ = t.join();
        }
        // Submitted but never handed to the output thread: their inputs unmap as they drop.
        self.awaiting.clear();
        let _ = self.io_stream.synchronize();
        // The output thread has ended and nothing is mapped or queued: each slot unregisters
        // its input and destroys its bitstream buffer. The session itself goes with the last
        // holder, the feeding half (the first field), before the stream and its handle.
        self.slots.clear();
    }
}

/// A timestamp as the driver carries it (`u64`, returned unchanged with the picture's output):
/// the `i64`'s bits, so that negative timestamps come back as they went in.
fn pts_to_driver(pts: i64) -> u64 {
    u64::from_ne_bytes(pts.to_ne_bytes())
}

/// The inverse of [`pts_to_driver`].
fn pts_from_driver(timestamp: u64) -> i64 {
    i64::from_ne_bytes(timestamp.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Rational;

    #[test]
    fn input_slots_cover_what_the_encoder_holds_for_reordering_and_lookahead() {
        let mut cfg = nv::NV_ENC_CONFIG {
            frameIntervalP: 1,
            ..Default::default()
        };
        assert_eq!(
            input_slots(&cfg),
            4,
            "IPPP: one picture plus the three extra"
        );
        cfg.frameIntervalP = 3;
        assert_eq!(input_slots(&cfg), 6, "IBBP holds two B pictures more");
        cfg.rcParams.lookaheadDepth = 16;
        assert_eq!(
            input_slots(&cfg),
            6,
            "a depth without lookahead enabled holds nothing"
        );
        cfg.rcParams.set_enableLookahead(1);
        assert_eq!(input_slots(&cfg), 22, "lookahead holds its depth more");
        cfg.frameIntervalP = 0;
        assert_eq!(input_slots(&cfg), 20, "an unset interval counts as IPPP");
    }

    #[test]
    fn picture_params_describe_the_slot_layout() {
        let mut c = SessionConfig::new(Codec::Hevc, 1920, 1080, Rational::new(60, 1));
        c.bit_depth = crate::config::BitDepth::Ten;
        let choice = NvencChoice::for_config(&c).unwrap();
        let layout = YuvLayout::new(choice.input_format, 1920, 1080);
        let (input, output) = (0x1000 as *mut c_void, 0x2000 as *mut c_void);
        let p = picture_params(&layout, &choice, input, output);
        assert_eq!(p.version, nv::NV_ENC_PIC_PARAMS_VER);
        assert_eq!((p.inputWidth, p.inputHeight), (1920, 1080));
        // P010: 2 bytes a sample, rows 256-byte aligned; chroma right after the luma rows.
        assert_eq!(p.inputPitch, 3840);
        assert_eq!(layout.chroma_offset, 3840 * 1080);
        assert_eq!(layout.size, 3840 * 1080 * 3 / 2);
        assert_eq!((p.inputBuffer, p.outputBitstream), (input, output));
        assert_eq!(
            p.bufferFmt,
            nv::NV_ENC_BUFFER_FORMAT::NV_ENC_BUFFER_FORMAT_YUV420_10BIT
        );
        assert_eq!(
            p.pictureStruct,
            nv::NV_ENC_PIC_STRUCT::NV_ENC_PIC_STRUCT_FRAME
        );
        assert_eq!(p.encodePicFlags, 0);
        let nv12 = YuvLayout::new(crate::format::PixelFormat::Nv12, 1366, 768);
        assert_eq!(nv12.luma_pitch, 1536, "1366 rounded up to 256");
    }

    #[test]
    fn cpu_frames_are_copied_plane_by_plane_into_the_slot_layout() {
        let nv12 = YuvLayout::new(crate::format::PixelFormat::Nv12, 1366, 768);
        let [luma, chroma] = plane_copies(&nv12);
        assert_eq!(
            (luma.dst_offset, luma.dst_pitch, luma.row_bytes, luma.rows),
            (0, 1536, 1366, 768)
        );
        assert_eq!(
            (
                chroma.dst_offset,
                chroma.dst_pitch,
                chroma.row_bytes,
                chroma.rows
            ),
            (1536 * 768, 1536, 1366, 384)
        );
        let p010 = YuvLayout::new(crate::format::PixelFormat::P010, 1921, 1081);
        let [luma, chroma] = plane_copies(&p010);
        assert_eq!(
            (luma.dst_pitch, luma.row_bytes, luma.rows),
            (4096, 3842, 1081)
        );
        // 961 chroma pairs of two 16-bit samples; rows rounded up.
        assert_eq!(
            (chroma.dst_offset, chroma.row_bytes, chroma.rows),
            (4096 * 1081, 3844, 541)
        );
    }

    #[test]
    fn hdr_payloads_go_in_the_codecs_own_array() {
        let hdr = crate::hdr::HdrMetadata {
            display: crate::hdr::MasteringDisplay::BT2020_1000_NITS,
            light: Some(crate::hdr::ContentLightLevel {
                max_cll: 1000,
                max_fall: 400,
            }),
        };
        for (codec, bytes) in [
            (Codec::Hevc, hdr.hevc_sei_payloads()),
            (Codec::Av1, hdr.av1_metadata_payloads()),
        ] {
            let mut payloads: Vec<nv::NV_ENC_SEI_PAYLOAD> = bytes
                .iter()
                .map(|(kind, b)| nv::NV_ENC_SEI_PAYLOAD {
                    payloadSize: u32::try_from(b.len()).unwrap(),
                    payloadType: *kind,
                    payload: b.as_ptr().cast_mut(),
                })
                .collect();
            let mut pic = nv::NV_ENC_PIC_PARAMS::default();
            attach_payloads(codec, &mut pic, &mut payloads);
            // SAFETY: reading back the member just written for this codec.
            let (count, array) = unsafe {
                match codec {
                    Codec::Hevc => (
                        pic.codecPicParams.hevcPicParams.seiPayloadArrayCnt,
                        pic.codecPicParams.hevcPicParams.seiPayloadArray,
                    ),
                    _ => (
                        pic.codecPicParams.av1PicParams.obuPayloadArrayCnt,
                        pic.codecPicParams.av1PicParams.obuPayloadArray,
                    ),
                }
            };
            assert_eq!((count, array), (2, payloads.as_mut_ptr()), "{codec}");
            let types: Vec<u32> = payloads.iter().map(|p| p.payloadType).collect();
            let want = if codec == Codec::Hevc {
                [137, 144]
            } else {
                [2, 1]
            };
            assert_eq!(types, want);
            assert_eq!(payloads[0].payloadSize, 24);
        }
        let mut pic = nv::NV_ENC_PIC_PARAMS::default();
        attach_payloads(Codec::Hevc, &mut pic, &mut []);
        // SAFETY: reading the zeroed HEVC member.
        let count = unsafe { pic.codecPicParams.hevcPicParams.seiPayloadArrayCnt };
        assert_eq!(count, 0);
    }

    #[test]
    fn driver_errors_become_typed_encode_errors() {
        let no_engine = NvencError::NoEncoder {
            device: "NVIDIA H200".into(),
            status: 2,
            name: "NV_ENC_ERR_UNSUPPORTED_DEVICE".into(),
            last_error: None,
        };
        let e = EncodeError::from(no_engine);
        assert!(matches!(
            e,
            EncodeError::Unavailable {
                backend: BackendKind::Nvenc,
                ..
            }
        ));
        assert!(
            e.to_string()
                .contains("NVIDIA H200 has no NVENC encoder engine"),
            "{e}"
        );
        let status = NvencError::status("nvEncEncodePicture", 8, Some("bad pitch".into()));
        let e = EncodeError::from(status);
        assert!(matches!(e, EncodeError::Hardware { .. }));
        let text = e.to_string();
        assert!(
            text.contains("nvEncEncodePicture failed: NV_ENC_ERR_INVALID_PARAM (8)")
                && text.contains("driver says: bad pitch"),
            "{text}"
        );
    }
}

/// Every structure the backend builds, given to the real driver with no session (a null
/// encoder handle), once as built and once with its version corrupted. Where the driver checks
/// versions before the handle, the built version must not be refused as INVALID_VERSION; where
/// it checks the handle first, the table says the version was not reached. Without the driver,
/// a printed skip. (Run on its own: a driver that does not guard a null handle would crash the
/// test binary.)
#[cfg(test)]
mod driver_probe {
    use super::*;
    use crate::encode::nvenc::status;
    use crate::time::Rational;

    #[test]
    #[ignore = "run explicitly on a machine with the NVIDIA driver (benches/h200/run.sh does)"]
    fn driver_answers_for_each_structure_without_a_session() {
        let api = match NvencApi::load() {
            Ok(api) => api,
            Err(e) => {
                eprintln!("SKIPPED: {e}");
                return;
            }
        };
        let c = &api.calls;
        let null = std::ptr::null_mut();
        let corrupt = |v: u32| v ^ (0xf << 16);
        let config = SessionConfig::new(Codec::Hevc, 1920, 1080, Rational::new(60, 1));
        let choice = NvencChoice::for_config(&config).unwrap();
        let mut encode_config = nv::NV_ENC_CONFIG::default();
        apply_config(&config, &choice, &mut encode_config).unwrap();
        let layout = YuvLayout::new(choice.input_format, 1920, 1080);
        type Probe<'a> = (&'static str, Box<dyn Fn(bool) -> u32 + 'a>);
        let probes: Vec<Probe> = vec![
            (
                "NV_ENC_CAPS_PARAM",
                Box::new(|bad| {
                    let mut p = nv::NV_ENC_CAPS_PARAM {
                        version: nv::NV_ENC_CAPS_PARAM_VER,
                        capsToQuery: nv::NV_ENC_CAPS::NV_ENC_CAPS_WIDTH_MAX,
                        ..Default::default()
                    };
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    let mut v = 0;
                    // SAFETY: valid structures; a null session handle, which the driver checks.
                    unsafe { (c.get_encode_caps)(null, choice.codec, &raw mut p, &raw mut v) }
                }),
            ),
            (
                "NV_ENC_PRESET_CONFIG",
                Box::new(|bad| {
                    let mut p = Box::new(nv::NV_ENC_PRESET_CONFIG {
                        version: nv::NV_ENC_PRESET_CONFIG_VER,
                        ..Default::default()
                    });
                    p.presetCfg.version = nv::NV_ENC_CONFIG_VER;
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above.
                    unsafe {
                        (c.get_preset_config_ex)(
                            null,
                            choice.codec,
                            choice.preset,
                            choice.tuning,
                            &raw mut *p,
                        )
                    }
                }),
            ),
            (
                "NV_ENC_INITIALIZE_PARAMS + NV_ENC_CONFIG",
                Box::new(|bad| {
                    let mut cfg = encode_config;
                    let mut p = initialize_params(&config, &choice, &raw mut cfg);
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above.
                    unsafe { (c.initialize_encoder)(null, &raw mut p) }
                }),
            ),
            (
                "NV_ENC_RECONFIGURE_PARAMS",
                Box::new(|bad| {
                    let mut cfg = encode_config;
                    let mut p = nv::NV_ENC_RECONFIGURE_PARAMS {
                        version: nv::NV_ENC_RECONFIGURE_PARAMS_VER,
                        reInitEncodeParams: initialize_params(&config, &choice, &raw mut cfg),
                        ..Default::default()
                    };
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above.
                    unsafe { (c.reconfigure_encoder)(null, &raw mut p) }
                }),
            ),
            (
                "NV_ENC_CREATE_BITSTREAM_BUFFER",
                Box::new(|bad| {
                    let mut p = nv::NV_ENC_CREATE_BITSTREAM_BUFFER {
                        version: nv::NV_ENC_CREATE_BITSTREAM_BUFFER_VER,
                        ..Default::default()
                    };
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above.
                    unsafe { (c.create_bitstream_buffer)(null, &raw mut p) }
                }),
            ),
            (
                "NV_ENC_REGISTER_RESOURCE",
                Box::new(|bad| {
                    let mut p = nv::NV_ENC_REGISTER_RESOURCE {
                        version: nv::NV_ENC_REGISTER_RESOURCE_VER,
                        resourceType:
                            nv::NV_ENC_INPUT_RESOURCE_TYPE::NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR,
                        width: layout.width,
                        height: layout.height,
                        pitch: layout.luma_pitch,
                        bufferFormat: choice.buffer_format,
                        ..Default::default()
                    };
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above (no resource pointer is given).
                    unsafe { (c.register_resource)(null, &raw mut p) }
                }),
            ),
            (
                "NV_ENC_MAP_INPUT_RESOURCE",
                Box::new(|bad| {
                    let mut p = nv::NV_ENC_MAP_INPUT_RESOURCE {
                        version: nv::NV_ENC_MAP_INPUT_RESOURCE_VER,
                        ..Default::default()
                    };
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above.
                    unsafe { (c.map_input_resource)(null, &raw mut p) }
                }),
            ),
            (
                "NV_ENC_PIC_PARAMS",
                Box::new(|bad| {
                    let mut p = picture_params(&layout, &choice, null, null);
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above.
                    unsafe { (c.encode_picture)(null, &raw mut p) }
                }),
            ),
            (
                "NV_ENC_LOCK_BITSTREAM",
                Box::new(|bad| {
                    let mut p = nv::NV_ENC_LOCK_BITSTREAM {
                        version: nv::NV_ENC_LOCK_BITSTREAM_VER,
                        ..Default::default()
                    };
                    if bad {
                        p.version = corrupt(p.version)
                    }
                    // SAFETY: as above.
                    unsafe { (c.lock_bitstream)(null, &raw mut p) }
                }),
            ),
        ];
        let mut refused = Vec::new();
        for (name, probe) in &probes {
            let (good, bad) = (probe(false), probe(true));
            let reached = bad == status::INVALID_VERSION;
            eprintln!(
                "{name}: as built -> {} ({good}); corrupted version -> {} ({bad}); version check {}",
                status::name(good),
                status::name(bad),
                if reached { "reached and passed" } else { "not reached (handle checked first)" }
            );
            if good == status::INVALID_VERSION {
                refused.push(*name);
            }
        }
        assert!(
            refused.is_empty(),
            "the driver refused the version of {refused:?}"
        );
    }
}
