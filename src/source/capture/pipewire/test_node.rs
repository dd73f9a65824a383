//! A PipeWire video source node that publishes a known, frame-numbered pattern: what the
//! capture tests and the benchmark read back, and a way to try `record --source pipewire`
//! without a desktop. It drives its own graph at a fixed rate (a `DRIVER` stream with a
//! timer), sends BGRx in shared memory with header metadata (timestamp, frame number), and can
//! change its size mid-stream (a renegotiation). Dropping it removes the node.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use pipewire as pw;
use pw::spa::param::video::VideoFormat;
use pw::stream::{StreamFlags, StreamRef};

use super::buffer::{self, CursorBitmap, ProducerMemory};
use super::params::{self, unavailable};
use crate::source::capture::CaptureError;
use crate::time::{Rational, Timestamp};

/// The BGRx pixel of frame `n` at (`x`, `y`): the frame number in the first pixel (B, G, R =
/// bits 0–7, 8–15, 16–23), elsewhere a pattern that moves with `n`.
pub fn test_node_pixel(n: u64, x: u32, y: u32) -> [u8; 4] {
    if (x, y) == (0, 0) {
        return [low_byte(n), low_byte(n >> 8), low_byte(n >> 16), 255];
    }
    [
        low_byte(u64::from(x) + n),
        low_byte(u64::from(y) + 3 * n),
        low_byte(u64::from(x ^ y) + 7 * n),
        255,
    ]
}

/// The frame number a [`PipeWireTestNode`] wrote into a BGRx frame's first pixel.
pub fn test_node_frame_number(first_pixel: &[u8]) -> u64 {
    u64::from(first_pixel[0]) | u64::from(first_pixel[1]) << 8 | u64::from(first_pixel[2]) << 16
}

/// The side of the test node's pointer picture, in pixels.
pub const TEST_NODE_POINTER_SIDE: u32 = 8;
/// The hot spot inside the test node's pointer picture.
pub const TEST_NODE_POINTER_HOTSPOT: (i32, i32) = (1, 1);

/// The test node's pointer picture at (`x`, `y`), RGBA: six opaque magenta rows, one
/// half-transparent yellow row, one transparent row.
pub fn test_node_pointer_pixel(x: u32, y: u32) -> [u8; 4] {
    let _ = x;
    match y {
        0..=5 => [255, 0, 255, 255],
        6 => [255, 255, 0, 128],
        _ => [0, 0, 0, 0],
    }
}

/// The low 8 bits of `v` (the pattern wraps around).
fn low_byte(v: u64) -> u8 {
    v.to_le_bytes()[0]
}

/// Where the test node puts its pointer's hot spot in frame `n` of a `width`x`height` frame
/// (never over the frame number in the first pixel).
#[expect(
    clippy::cast_possible_truncation,
    reason = "a remainder modulo a u32 side minus 40"
)]
pub fn test_node_pointer_position(n: u64, width: u32, height: u32) -> (i32, i32) {
    let span_x = u64::from(width.saturating_sub(40).max(1));
    let span_y = u64::from(height.saturating_sub(40).max(1));
    (20 + (n * 5 % span_x) as i32, 20 + (n * 3 % span_y) as i32)
}

/// The buffers a [`PipeWireTestNode`] sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestNodeBuffers {
    /// Shared memory PipeWire allocates (MemFd), the format fixed from the start.
    SharedMemory,
    /// DMA-BUF buffers the node allocates itself (memfds typed `SPA_DATA_DmaBuf`: the
    /// stand-in for a GPU's buffers where there is no /dev/dri), negotiated in two steps as a
    /// compositor does it: BGRx offered with `modifiers` left to fixate
    /// (`SPA_POD_PROP_FLAG_DONT_FIXATE`), then, once the link has a format, fixed to the first
    /// of them the consumer also listed. With `shm_fallback` a shared-memory format is offered
    /// after it (a consumer that takes no DMA-BUF gets that); without, DMA-BUF only.
    DmaBuf {
        /// The DRM format modifiers offered, preferred first (0 is LINEAR).
        modifiers: Vec<u64>,
        /// Offer shared memory too.
        shm_fallback: bool,
    },
}

enum Command {
    Resize(u32, u32),
    ShowPointer,
    Stop,
}

/// A running test source node; removed from the graph on drop.
pub struct PipeWireTestNode {
    commands: pw::channel::Sender<Command>,
    thread: Option<JoinHandle<()>>,
    sent: Arc<AtomicU64>,
    node_id: u32,
}

impl std::fmt::Debug for PipeWireTestNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeWireTestNode")
            .field("node_id", &self.node_id)
            .field("sent", &self.frames_sent())
            .finish_non_exhaustive()
    }
}

impl PipeWireTestNode {
    /// Publishes node `name` (`media.class` Video/Source) of `width`x`height` BGRx frames at
    /// `rate`, on the user's PipeWire daemon (or through `remote`, a connection to one);
    /// returns once the node is registered.
    pub fn start(
        name: &str,
        size: (u32, u32),
        rate: Rational,
        remote: Option<OwnedFd>,
    ) -> Result<Self, CaptureError> {
        Self::start_with(name, size, rate, remote, TestNodeBuffers::SharedMemory)
    }

    /// As [`start`](Self::start), sending `buffers`.
    pub fn start_with(
        name: &str,
        (width, height): (u32, u32),
        rate: Rational,
        remote: Option<OwnedFd>,
        buffers: TestNodeBuffers,
    ) -> Result<Self, CaptureError> {
        if !rate.is_positive() {
            return Err(CaptureError::BadRate { rate });
        }
        let (commands, receiver) = pw::channel::channel::<Command>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<u32, CaptureError>>();
        let sent = Arc::new(AtomicU64::new(0));
        let thread = {
            let name = name.to_string();
            let sent = Arc::clone(&sent);
            std::thread::Builder::new()
                .name("ghoststream-pw-test-node".into())
                .spawn(move || {
                    let failed = ready_tx.clone();
                    let size = (width, height);
                    let node = NodeSetup {
                        name: &name,
                        size,
                        rate,
                        buffers,
                    };
                    if let Err(e) = run(&node, remote, receiver, ready_tx, &sent) {
                        let _ = failed.send(Err(e));
                    }
                })
                .map_err(|source| CaptureError::Io {
                    what: "the PipeWire test node's thread".into(),
                    source,
                })?
        };
        let node_id = ready_rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| CaptureError::PipeWireUnavailable {
                reason: "the test node was not registered within 5 s".into(),
            })??;
        Ok(Self {
            commands,
            thread: Some(thread),
            sent,
            node_id,
        })
    }

    /// The node's global id.
    pub fn node_id(&self) -> u32 {
        self.node_id
    }

    /// Frames sent so far.
    pub fn frames_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Changes the frame size: the node offers only the new size and the link renegotiates.
    pub fn resize(&self, width: u32, height: u32) {
        let _ = self.commands.send(Command::Resize(width, height));
    }

    /// From the next frame on, sends a pointer as metadata (`SPA_META_Cursor`): the picture
    /// of [`test_node_pointer_pixel`] at [`test_node_pointer_position`], not drawn into the
    /// frames.
    pub fn show_pointer(&self) {
        let _ = self.commands.send(Command::ShowPointer);
    }
}

impl Drop for PipeWireTestNode {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a test node publishes.
struct NodeSetup<'a> {
    name: &'a str,
    size: (u32, u32),
    rate: Rational,
    buffers: TestNodeBuffers,
}

impl NodeSetup<'_> {
    /// The formats offered at `size`; with `fixed`, the DMA-BUF format fixed to that modifier.
    fn offer(&self, size: (u32, u32), fixed: Option<u64>) -> Vec<Vec<u8>> {
        let shm = params::enum_format(&[VideoFormat::BGRx], Some(size), Some(self.rate));
        match &self.buffers {
            TestNodeBuffers::SharedMemory => vec![shm],
            TestNodeBuffers::DmaBuf {
                modifiers,
                shm_fallback,
            } => {
                let dmabuf = match fixed {
                    Some(m) => params::enum_format_dmabuf(
                        VideoFormat::BGRx,
                        &[m],
                        false,
                        Some(size),
                        Some(self.rate),
                    ),
                    None => params::enum_format_dmabuf(
                        VideoFormat::BGRx,
                        modifiers,
                        true,
                        Some(size),
                        Some(self.rate),
                    ),
                };
                let mut pods = vec![dmabuf];
                if *shm_fallback {
                    pods.push(shm);
                }
                pods
            }
        }
    }
}

fn run(
    node: &NodeSetup<'_>,
    remote: Option<OwnedFd>,
    commands: pw::channel::Receiver<Command>,
    ready: mpsc::Sender<Result<u32, CaptureError>>,
    sent: &Arc<AtomicU64>,
) -> Result<(), CaptureError> {
    let (name, size, rate) = (node.name, node.size, node.rate);
    let allocates = node.buffers != TestNodeBuffers::SharedMemory;
    // Memory the node allocated for its buffers (DMA-BUF mode), by buffer address.
    let memory: Rc<RefCell<HashMap<usize, ProducerMemory>>> = Rc::default();
    let connection = params::connect(remote)?;
    let (core, main_loop) = (&connection.core, &connection.main_loop);
    let props = pw::properties::properties! {
        "media.type" => "Video",
        "media.category" => "Source",
        "media.class" => "Video/Source",
        "media.role" => "Screen",
        "node.name" => name,
        "node.description" => "GhostStream test pattern",
    };
    let stream = Rc::new(pw::stream::Stream::new(core, name, props).map_err(unavailable)?);
    // The size agreed with the consumer (frames are written at it).
    let current = Rc::new(std::cell::Cell::new(size));
    let frame = Rc::new(std::cell::Cell::new(0u64));
    let pointer = Rc::new(std::cell::Cell::new(false));
    let picture = CursorBitmap {
        width: TEST_NODE_POINTER_SIDE,
        height: TEST_NODE_POINTER_SIDE,
        rgba: (0..TEST_NODE_POINTER_SIDE * TEST_NODE_POINTER_SIDE)
            .flat_map(|i| {
                test_node_pointer_pixel(i % TEST_NODE_POINTER_SIDE, i / TEST_NODE_POINTER_SIDE)
            })
            .collect(),
    };
    let _listener = stream
        .add_local_listener_with_user_data(())
        .state_changed({
            let ready = ready.clone();
            move |stream: &StreamRef, _, _, new| {
                if matches!(new, pw::stream::StreamState::Paused) {
                    let _ = ready.send(Ok(stream.node_id()));
                }
            }
        })
        .param_changed({
            let current = Rc::clone(&current);
            let ours = match &node.buffers {
                TestNodeBuffers::DmaBuf { modifiers, .. } => modifiers.clone(),
                TestNodeBuffers::SharedMemory => Vec::new(),
            };
            let offers: Vec<Vec<Vec<u8>>> =
                ours.iter().map(|&m| node.offer(size, Some(m))).collect();
            move |stream: &StreamRef, _, id, param| {
                if id != pw::spa::param::ParamType::Format.as_raw() {
                    return;
                }
                let Some(param) = param else { return };
                // Step one of the DMA-BUF negotiation: the modifier is still a choice; fix it
                // to the first of ours the consumer listed too, and offer that alone.
                if let Ok(Some(params::Modifier::Choice(listed))) =
                    params::negotiated_modifier(param)
                {
                    if let Some(i) = ours.iter().position(|m| listed.contains(m)) {
                        let _ = stream.update_params(&mut params::pods(&offers[i]));
                    }
                    return;
                }
                let Ok(format) = params::negotiated(param) else {
                    return;
                };
                let (width, height) = (format.width, format.height);
                current.set((width, height));
                let stride = width * 4;
                let buffers = if format.modifier.is_some() {
                    params::dmabuf_buffers()
                } else {
                    params::buffers(Some((stride * height, stride)))
                };
                let params = [
                    buffers,
                    params::meta(
                        pw::spa::sys::SPA_META_Header,
                        std::mem::size_of::<pw::spa::sys::spa_meta_header>(),
                    ),
                    params::cursor_meta(),
                ];
                let _ = stream.update_params(&mut params::pods(&params));
            }
        })
        .add_buffer({
            let current = Rc::clone(&current);
            let memory = Rc::clone(&memory);
            move |_stream: &StreamRef, _, raw| {
                if !allocates {
                    return;
                }
                let (width, height) = current.get();
                let size = width as usize * 4 * height as usize;
                // SAFETY: `raw` was just handed to add_buffer by the stream.
                match unsafe { buffer::attach_memfd(raw, size) } {
                    Ok(Some(m)) => {
                        memory.borrow_mut().insert(raw as usize, m);
                    }
                    Ok(None) => tracing::warn!("test node: a buffer of no type it allocates"),
                    Err(e) => tracing::warn!(error = %e, "test node: allocating a buffer"),
                }
            }
        })
        .remove_buffer({
            let memory = Rc::clone(&memory);
            move |_stream: &StreamRef, _, raw| {
                memory.borrow_mut().remove(&(raw as usize));
            }
        })
        .process({
            let current = Rc::clone(&current);
            let frame = Rc::clone(&frame);
            let pointer = Rc::clone(&pointer);
            let sent = Arc::clone(sent);
            move |stream: &StreamRef, _| {
                let Some(mut buffer) = buffer::dequeue(stream) else {
                    return;
                };
                let (width, height) = current.get();
                let n = frame.get();
                let stride = width as usize * 4;
                let filled = buffer.fill(|bytes| {
                    let size = stride * height as usize;
                    if bytes.len() < size {
                        return (0, stride);
                    }
                    for y in 0..height {
                        let row = &mut bytes[y as usize * stride..][..stride];
                        for (x, px) in row.chunks_exact_mut(4).enumerate() {
                            px.copy_from_slice(&test_node_pixel(
                                n,
                                u32::try_from(x).unwrap_or(u32::MAX),
                                y,
                            ));
                        }
                    }
                    (size, stride)
                });
                buffer.set_header(Timestamp::now().as_nanos(), n);
                let position = test_node_pointer_position(n, width, height);
                buffer.set_cursor(
                    position,
                    TEST_NODE_POINTER_HOTSPOT,
                    pointer.get().then_some(&picture),
                );
                buffer::queue_back(stream, buffer);
                if filled {
                    frame.set(n + 1);
                    sent.store(n + 1, Ordering::Relaxed);
                }
            }
        })
        .register()
        .map_err(unavailable)?;

    let offer = node.offer(size, None);
    let mut flags = StreamFlags::DRIVER | StreamFlags::MAP_BUFFERS;
    if allocates {
        flags |= StreamFlags::ALLOC_BUFFERS;
    }
    params::connect_stream(
        &stream,
        pw::spa::utils::Direction::Output,
        None,
        flags,
        &offer,
        "the test node",
    )?;

    // The node drives its graph: one frame per tick.
    let timer = main_loop.loop_().add_timer({
        let stream = Rc::clone(&stream);
        move |_| {
            let _ = stream.trigger_process();
        }
    });
    let period = Duration::from_secs_f64(1.0 / rate.as_f64());
    timer.update_timer(Some(period), Some(period));

    let resize_offer = {
        let buffers = node.buffers.clone();
        move |size: (u32, u32)| {
            NodeSetup {
                name: "",
                size,
                rate,
                buffers: buffers.clone(),
            }
            .offer(size, None)
        }
    };
    let _commands = commands.attach(main_loop.loop_(), {
        let main_loop = main_loop.clone();
        let stream = Rc::clone(&stream);
        let pointer = Rc::clone(&pointer);
        move |command| match command {
            Command::Resize(width, height) => {
                let offer = resize_offer((width, height));
                let _ = stream.update_params(&mut params::pods(&offer));
            }
            Command::ShowPointer => pointer.set(true),
            Command::Stop => main_loop.quit(),
        }
    });
    main_loop.run();
    let _ = stream.disconnect();
    Ok(())
}
