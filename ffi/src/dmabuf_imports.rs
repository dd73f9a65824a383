//! A session's DMA-BUF imports, reused when a producer submits the same buffer again (a
//! compositor or PipeWire cycles a few buffers), so that a frame costs an import only the
//! first time its buffer is seen; each import lives until no frame in flight reads it.

use std::sync::Arc;

use ghoststream::gpu::{DmaBuf, DmaBufImage, GpuContext, GpuError};

/// Imports kept for reuse once no frame in flight reads them (beyond these, the oldest go).
const IDLE_KEPT: usize = 8;

/// What makes two submissions the same import: the buffer itself (its inode, which stays
/// alive, and so unique, while the import holds the memory) and how it is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImportKey {
    device: u64,
    inode: u64,
    format: ghoststream::PixelFormat,
    width: u32,
    height: u32,
    modifier: u64,
    offset: u64,
    stride: u64,
}

impl ImportKey {
    /// The key of `buf`; fails when its fd is not an open file (the error names why).
    pub fn of(buf: &DmaBuf<'_>) -> std::io::Result<Self> {
        let stat = rustix::fs::fstat(buf.fd)?;
        Ok(Self {
            device: stat.st_dev,
            inode: stat.st_ino,
            format: buf.format,
            width: buf.width,
            height: buf.height,
            modifier: buf.modifier,
            offset: buf.offset,
            stride: buf.stride,
        })
    }
}

struct Entry {
    key: ImportKey,
    /// The last frame that reads it; `None` before one was accepted.
    last_frame: Option<u64>,
    image: DmaBufImage,
}

/// The imports of one session.
#[derive(Default)]
pub(crate) struct DmaBufImports {
    entries: Vec<Entry>,
}

impl DmaBufImports {
    /// The import for `buf` (whose key is `key`): the one made before for the same buffer, or
    /// a new one.
    pub fn get_or_import(
        &mut self,
        ctx: &Arc<GpuContext>,
        buf: &DmaBuf<'_>,
        key: ImportKey,
    ) -> Result<&DmaBufImage, GpuError> {
        let at = match self.entries.iter().position(|e| e.key == key) {
            Some(at) => at,
            None => {
                let image = DmaBufImage::import(ctx, buf)?;
                self.entries.push(Entry {
                    key,
                    last_frame: None,
                    image,
                });
                self.entries.len() - 1
            }
        };
        Ok(&self.entries[at].image)
    }

    /// Frame `frame` reads the import of `key` (called once the session accepted it).
    pub fn used_by(&mut self, key: ImportKey, frame: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == key) {
            e.last_frame = Some(frame);
        }
    }

    /// Frames up to `through` have come out: imports only they read are idle; beyond
    /// `IDLE_KEPT` idle ones, the least recently used are freed.
    pub fn frames_done(&mut self, through: u64) {
        let idle = |e: &Entry| e.last_frame.is_none_or(|f| f <= through);
        let mut idle_count = self.entries.iter().filter(|e| idle(e)).count();
        while idle_count > IDLE_KEPT {
            let oldest = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| idle(e))
                .min_by_key(|(_, e)| e.last_frame)
                .map(|(i, _)| i);
            let Some(oldest) = oldest else { break };
            self.entries.swap_remove(oldest);
            idle_count -= 1;
        }
    }

    /// Every frame has come out (the session was flushed): nothing is read any more.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
