//! Raw frames of a given format and size, back to back, with no headers.

use std::io::{BufReader, Read};

use super::{read_full, FrameSource, SourceError, SourceInfo};
use crate::frame::{BufferPool, CpuImage, Frame};
use crate::time::Timestamp;

/// Reads tightly packed raw frames.
pub struct RawReader {
    input: Box<dyn Read + Send>,
    what: String,
    info: SourceInfo,
    frame_bytes: usize,
    next: u64,
    pool: std::sync::Arc<BufferPool>,
}

impl std::fmt::Debug for RawReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawReader")
            .field("what", &self.what)
            .field("info", &self.info)
            .finish()
    }
}

impl RawReader {
    /// Reads `info.format` frames of `info.width` x `info.height` from `input`.
    pub fn new(
        input: impl Read + Send + 'static,
        what: impl Into<String>,
        info: SourceInfo,
    ) -> Result<Self, SourceError> {
        info.format.check_size(info.width, info.height)?;
        if !info.frame_rate.is_positive() {
            return Err(SourceError::InvalidFrameRate {
                rate: info.frame_rate,
            });
        }
        Ok(Self {
            input: Box::new(BufReader::with_capacity(1 << 20, input)),
            what: what.into(),
            frame_bytes: info.format.frame_bytes(info.width, info.height),
            info,
            next: 0,
            pool: BufferPool::new(),
        })
    }

    /// Opens a file, or standard input for `-`.
    pub fn open(path: &str, info: SourceInfo) -> Result<Self, SourceError> {
        if path == "-" {
            return Self::new(std::io::stdin(), "standard input", info);
        }
        let file = std::fs::File::open(path).map_err(|e| SourceError::Io {
            what: path.to_string(),
            source: e,
        })?;
        Self::new(file, path, info)
    }
}

impl FrameSource for RawReader {
    fn info(&self) -> SourceInfo {
        self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let info = self.info;
        let mut img = CpuImage::new(info.format, info.width, info.height, Some(&self.pool))?;
        let got = read_full(&mut self.input, img.data_mut()).map_err(|e| SourceError::Io {
            what: self.what.clone(),
            source: e,
        })?;
        if got == 0 {
            return Ok(None);
        }
        if got != self.frame_bytes {
            return Err(SourceError::TruncatedFrame {
                frame: self.next,
                got,
                expected: self.frame_bytes,
            });
        }
        let pts = Timestamp::from_nanos(
            info.frame_rate
                .frames_to_nanos(i64::try_from(self.next).unwrap_or(i64::MAX)),
        );
        self.next += 1;
        Ok(Some(Frame::from_cpu(img, pts)))
    }
}
