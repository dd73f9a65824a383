//! `encode --stats FILE.jsonl`: one JSON line per frame out of the session and a summary line
//! at the end, through the library's [`ghoststream::stats::StatsWriter`]. `--stats -` writes
//! them to standard output.

use std::path::{Path, PathBuf};

use ghoststream::stats::{StatsSummary, StatsWriter};

/// The `--stats` file.
pub struct StatsFile {
    path: PathBuf,
    writer: StatsWriter<std::fs::File>,
    /// This run made it: a regular file that did not exist before (only such a file may be
    /// deleted again; never a device, a pipe or someone's earlier file).
    created: bool,
}

impl StatsFile {
    /// Creates (or, the caller having checked -y, truncates) `path`; `-` is standard output,
    /// a terminal included (the lines are text).
    pub fn create(path: &Path) -> Result<Self, String> {
        if ghoststream::output::path::is_stdout(path) {
            use std::os::fd::AsFd;
            let fd = std::io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| format!("cannot write the stats to standard output: {e}"))?;
            return Ok(Self {
                path: path.to_path_buf(),
                writer: StatsWriter::new(std::fs::File::from(fd)),
                created: false,
            });
        }
        let existed = std::fs::symlink_metadata(path).is_ok();
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot create the stats file {}: {e}", path.display()))?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        Ok(Self {
            path: path.to_path_buf(),
            writer: StatsWriter::new(file),
            created: regular && !existed,
        })
    }

    fn error(&self, e: std::io::Error) -> String {
        format!("cannot write the stats file {}: {e}", self.path.display())
    }

    /// One frame's line (each line reaches the file as it is written).
    pub fn write(
        &mut self,
        s: &ghoststream::FrameStats,
        bytes: usize,
        keyframe: bool,
    ) -> Result<(), String> {
        let written = self.writer.write_frame(s, bytes, keyframe);
        written.map_err(|e| self.error(e))
    }

    /// Deletes the file if this run created it (a run that encoded nothing).
    pub fn discard(self) {
        drop(self.writer);
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Writes the summary line, reporting a write error (a full disk) instead of losing it.
    pub fn finish(self) -> Result<StatsSummary, String> {
        let path = self.path.display().to_string();
        self.writer
            .finish()
            .map_err(|e| format!("cannot write the stats file {path}: {e}"))
    }
}
