//! One output file of any format, staged under a hidden name until its first packet so that a
//! failed run leaves the path as it was.

use std::path::{Path, PathBuf};

use super::error::{SinkError, SinkSummary};
use super::format::OutputFormat;
use super::raw::{open_sink, BitstreamSink};
use crate::config::SessionConfig;
use crate::packet::Packet;

/// The open file behind a [`FileSink`].
#[derive(Debug)]
enum FileSinkKind {
    /// A raw bitstream file.
    Bitstream(BitstreamSink),
    /// A container file.
    #[cfg(feature = "software")]
    Container(super::container::ContainerSink),
}

/// An output file of either kind, taking packets in order.
///
/// A regular file is written under a hidden name beside its own (`.NAME.partial-PID`) until
/// its first packet is written whole, and only then renamed onto its path: a run that fails
/// before it has anything to write (a bad option found late, an input with no frames, an
/// encoder that does not open) leaves whatever was at the path untouched, and no empty file.
/// From the first packet on the file is at its own path and crash-safe as its format is.
///
/// Dropped without [`FileSink::finish`], a file is finished all the same (see its `Drop`):
/// the packets written are all in it, with its trailer.
#[derive(Debug)]
pub struct FileSink {
    /// The open file; `None` only once finished.
    kind: Option<FileSinkKind>,
    staged: Option<Staged>,
    /// The path the caller gave.
    path: PathBuf,
}

impl Drop for FileSink {
    /// Finishes a file dropped unfinished as [`FileSink::finish`] would (a container's last
    /// cluster or fragment is still in the muxer's memory until then, and its trailer unwritten);
    /// one still staged (nothing written) is deleted and the path keeps what it had. A failure
    /// is logged: a drop cannot return it.
    fn drop(&mut self) {
        if self.staged.is_some() {
            return; // dropping the staged file deletes it
        }
        let Some(kind) = self.kind.take() else {
            return;
        };
        match kind.finish() {
            Ok(_) => {}
            // Already reported by the write that failed.
            Err(e @ SinkError::AfterFailure { .. }) => {
                tracing::debug!(error = %e, "finishing a dropped output");
            }
            Err(e) => tracing::warn!(error = %e, "could not finish a dropped output"),
        }
    }
}

impl FileSinkKind {
    fn finish(self) -> Result<SinkSummary, SinkError> {
        match self {
            FileSinkKind::Bitstream(s) => s.finish(),
            #[cfg(feature = "software")]
            FileSinkKind::Container(s) => s.finish(),
        }
    }
}

/// A file written under a hidden name until its first packet.
#[derive(Debug)]
struct Staged {
    hidden: PathBuf,
    target: PathBuf,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Still staged: nothing was written; the target keeps what it had.
        let _ = std::fs::remove_file(&self.hidden);
    }
}

/// The hidden name beside `target` that a new file is written under.
fn staging_path(target: &Path) -> Option<PathBuf> {
    let name = target.file_name()?;
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(format!(".partial-{}", std::process::id()));
    Some(target.with_file_name(hidden))
}

/// Refuses a target that is a directory or an existing file this process may not write.
fn check_target(path: &Path) -> Result<(), SinkError> {
    let refuse = |source| SinkError::Create {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(refuse(std::io::Error::from(
            std::io::ErrorKind::IsADirectory,
        ))),
        Ok(_) => {
            rustix::fs::access(path, rustix::fs::Access::WRITE_OK).map_err(|e| refuse(e.into()))
        }
        Err(_) => Ok(()),
    }
}

/// Opens `path` as `format` for the session `config` describes (containers with the default
/// [`super::ContainerOptions`]). Fails before anything is encoded when the path
/// cannot be written or the format cannot carry the codec. `-` is standard output; a regular
/// file is staged until its first packet (see [`FileSink`]).
pub fn open_file_sink(
    path: &Path,
    format: OutputFormat,
    config: &SessionConfig,
) -> Result<FileSink, SinkError> {
    let staged = if super::path::is_unseekable(path) {
        None
    } else {
        check_target(path)?;
        staging_path(path).map(|hidden| Staged {
            hidden,
            target: path.to_path_buf(),
        })
    };
    let open_at = staged.as_ref().map_or(path, |s| s.hidden.as_path());
    let mut kind = match format {
        OutputFormat::Bitstream(f) => open_sink(open_at, f, config).map(FileSinkKind::Bitstream),
        #[cfg(feature = "software")]
        OutputFormat::Container(f) => {
            super::container::open_container(open_at, f, config, Default::default())
                .map(FileSinkKind::Container)
        }
        #[cfg(not(feature = "software"))]
        OutputFormat::Container(_) => Err(SinkError::Mux {
            path: path.to_path_buf(),
            reason: "this build has no container writer (built without the `software` feature, which brings FFmpeg)".into(),
        }),
    }
    .map_err(|e| e.renamed(open_at, path))?;
    // Messages and the summary name the path the caller gave.
    match &mut kind {
        FileSinkKind::Bitstream(s) => s.path = path.to_path_buf(),
        #[cfg(feature = "software")]
        FileSinkKind::Container(s) => s.set_path(path),
    }
    Ok(FileSink {
        kind: Some(kind),
        staged,
        path: path.to_path_buf(),
    })
}

impl SinkError {
    /// The same error naming `to` where it named `from` (a staged file's hidden name).
    fn renamed(self, from: &Path, to: &Path) -> Self {
        match self {
            SinkError::Create { path, source } if path == from => SinkError::Create {
                path: to.to_path_buf(),
                source,
            },
            SinkError::Mux { path, reason } if path == from => SinkError::Mux {
                path: to.to_path_buf(),
                reason,
            },
            other => other,
        }
    }
}

impl FileSink {
    /// The path being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one packet. The first one written whole moves a staged file onto its path.
    pub fn write(&mut self, packet: &Packet) -> Result<(), SinkError> {
        match &mut self.kind {
            Some(FileSinkKind::Bitstream(s)) => s.write(packet)?,
            #[cfg(feature = "software")]
            Some(FileSinkKind::Container(s)) => s.write(packet)?,
            None => {
                return Err(SinkError::AfterFailure {
                    path: self.path.clone(),
                })
            }
        }
        self.unstage()
    }

    /// Renames a staged file onto its path.
    fn unstage(&mut self) -> Result<(), SinkError> {
        if let Some(staged) = self.staged.take() {
            if let Err(source) = std::fs::rename(&staged.hidden, &staged.target) {
                let path = staged.target.clone();
                self.staged = Some(staged);
                return Err(SinkError::Create { path, source });
            }
            // Dropped: its hidden name is gone, so the removal in its drop finds nothing.
        }
        Ok(())
    }

    /// Finishes the file (headers, index, sync) and says what was written. A staged file is
    /// moved onto its path even with no packet in it: finishing says it is complete.
    pub fn finish(mut self) -> Result<SinkSummary, SinkError> {
        self.unstage()?;
        match self.kind.take() {
            Some(kind) => kind.finish(),
            None => Err(SinkError::AfterFailure {
                path: self.path.clone(),
            }),
        }
    }

    /// Gives the file up: one still staged (nothing written) is deleted and the path keeps
    /// what it had; one already at its path is finished as it is, its whole packets kept
    /// (what dropping it does).
    pub fn abandon(self) {
        drop(self);
    }
}
