//! Why a recording could not start, went wrong, or refused a control.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::control::ControlError;
use crate::output::path::SameFileError;
use crate::output::replay::ReplayError;
use crate::output::SinkError;
use crate::session::SessionError;
use crate::source::SourceError;

/// A recorder's error: each layer's own error, plus the recorder's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    /// The source could not be opened or failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The session settings are not valid for the source.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The session could not be opened or failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// An output could not be opened or written.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The replay buffer refused a setting or a save failed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The control socket could not be opened.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// An output is also an input or another output.
    #[error(transparent)]
    SamePath(#[from] SameFileError),
    /// The options name no output at all.
    #[error("the recording has no output: give a file, a replay buffer or a live stream")]
    NoOutput,
    /// Two outputs would both write standard output.
    #[error("{first} and {second} both write standard output: send one of them to a file")]
    StdoutTwice {
        /// One output.
        first: String,
        /// The other.
        second: String,
    },
    /// The stats file could not be created or written.
    #[error("cannot write the stats file {}: {source}", path.display())]
    Stats {
        /// The file (`-`: standard output).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A replay was asked of a recording that keeps none.
    #[error("this recording keeps no replay buffer: start it with a replay output")]
    NoReplay,
    /// The replay folder is not a folder.
    #[error("the replay folder {path} is not a directory: create it or pick another")]
    ReplayDir {
        /// The folder.
        path: PathBuf,
    },
    /// No videos folder can be named (no home folder).
    #[error("there is no videos folder to save replays in: HOME is not set; name a replay folder")]
    NoVideosFolder,
    /// A folder could not be created.
    #[error("cannot create the folder {}: {source}", path.display())]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A recording limit shorter than one frame.
    #[error("a limit of {limit:?} is less than one frame at {fps} fps: nothing would be recorded")]
    LimitTooShort {
        /// The limit.
        limit: std::time::Duration,
        /// The frame rate.
        fps: f64,
    },
    /// Nothing was encoded: the outputs were given up (no file was left behind).
    #[error("no frames were encoded: {why}; no file was written")]
    NoFrames {
        /// Why (the input was empty, or failed before its first frame).
        why: String,
    },
    /// The host pushed a frame while the recording's queue was full.
    #[error("the recording's frame queue is full ({depth} frames): push again once it has taken one, or skip this frame")]
    QueueFull {
        /// The queue's length.
        depth: usize,
    },
    /// The recording has ended; controls no longer apply.
    #[error("the recording has ended")]
    Ended,
    /// The recording did not take a control in time (its source is blocked).
    #[error("the recording did not answer within {waited_ms} ms (its source may be stalled)")]
    Busy {
        /// How long the caller waited.
        waited_ms: u64,
    },
    /// A thread could not be started.
    #[error("cannot start the recorder's {what} thread: {source}")]
    Thread {
        /// Which thread.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
