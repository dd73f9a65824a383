//! Frames the host pushes into a recording (`SourceSpec::Host`): in CPU memory, or as Vulkan
//! images of the context the recording's session runs on. Pushing never waits: a full queue
//! hands the frame back.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::{RecorderError, Shared};
use crate::frame::Frame;
use crate::source::{FrameSource, SourceError, SourceInfo};

/// How often a waiting recording looks whether it was asked to stop.
const TICK: Duration = Duration::from_millis(50);

/// Pushes the host's frames into a running recording; the input ends when every feeder is
/// dropped (or [`finish`](Self::finish)ed). `Clone + Send`: any thread may push.
#[derive(Clone, Debug)]
pub struct FrameFeeder {
    frames: mpsc::SyncSender<Frame>,
    depth: usize,
}

/// A frame the recording did not take, with the reason; the host keeps the frame (a Vulkan
/// image stays the host's, its release point unsignalled).
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct Rejected {
    /// The frame, given back.
    pub frame: Box<Frame>,
    /// Why: [`RecorderError::QueueFull`] or [`RecorderError::Ended`].
    #[source]
    pub reason: RecorderError,
}

impl FrameFeeder {
    /// Queues `frame` for the recording without waiting.
    pub fn push(&self, frame: Frame) -> Result<(), Rejected> {
        match self.frames.try_send(frame) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(frame)) => Err(Rejected {
                frame: Box::new(frame),
                reason: RecorderError::QueueFull { depth: self.depth },
            }),
            Err(mpsc::TrySendError::Disconnected(frame)) => Err(Rejected {
                frame: Box::new(frame),
                reason: RecorderError::Ended,
            }),
        }
    }

    /// Ends this feeder's input (the recording ends once every feeder has).
    pub fn finish(self) {}
}

/// A feeder and the recording's end of it.
pub(super) fn channel(depth: usize) -> (FrameFeeder, mpsc::Receiver<Frame>) {
    let (frames, receiver) = mpsc::sync_channel(depth);
    (FrameFeeder { frames, depth }, receiver)
}

/// The recording's source over the host's frames.
pub(super) struct HostSource {
    pub info: SourceInfo,
    pub frames: mpsc::Receiver<Frame>,
    pub shared: Arc<Shared>,
}

impl FrameSource for HostSource {
    fn info(&self) -> SourceInfo {
        self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        loop {
            if self.shared.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            match self.frames.recv_timeout(TICK) {
                Ok(frame) => return Ok(Some(frame)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
            }
        }
    }
}
