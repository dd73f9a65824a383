//! Explicit synchronization of PipeWire DMA-BUF buffers (PipeWire ≥ 1.2's
//! `SPA_META_SyncTimeline`): whether to negotiate it, the producer's timeline points carried
//! with each frame, and the DRM syncobj calls that wait for the acquire point and signal the
//! release point (the thin unsafe layer over `DRM_IOCTL_SYNCOBJ_*` on a render node).
//!
//! The consumer asks for the metadata only when the libpipewire it runs against is 1.2 or newer
//! (the version is read at run time: the bindings were built against 0.3.65's headers) and a
//! render node can wait on and signal timeline syncobjs (`DRM_CAP_SYNCOBJ_TIMELINE`); otherwise
//! the stream stays on implicit sync. A producer that negotiated it waits for the release point
//! of each buffer before writing it again, so every buffer dequeued with the metadata has its
//! release point signaled: when the last frame made from it is dropped (after the GPU pass),
//! or at once for a buffer skipped unread.
//!
//! The acquire point is waited for on the CPU (`DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT` with
//! `WAIT_FOR_SUBMIT`, bounded) before a frame leaves the capture, and the release point is
//! signaled from the CPU (`DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL`) once nothing reads the frame.
//! Both need a render node; where none exists (CI), [`SyncError::NoRenderNode`] says so and the
//! metadata is only negotiated when a test asks for it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::frame::{ExplicitSync, Lease, SyncPoint};

// SPA facts PipeWire 0.3.65's headers (those the bindings were generated from) lack, from
// PipeWire 1.2's spa/include/spa/buffer/meta.h, buffer.h and param/buffers.h.

/// `SPA_META_SyncTimeline` (`enum spa_meta_type`): a `struct spa_meta_sync_timeline`.
pub(crate) const SPA_META_SYNC_TIMELINE: u32 = 9;
/// `SPA_DATA_SyncObj` (`enum spa_data_type`): a data block holding a DRM syncobj fd.
pub(crate) const SPA_DATA_SYNC_OBJ: u32 = 5;
/// `SPA_PARAM_BUFFERS_metaType` (`enum spa_param_buffers`): the metadata a buffer layout
/// requires, as a bit mask of `1 << SPA_META_*` (Int).
pub(crate) const SPA_PARAM_BUFFERS_META_TYPE: u32 = 7;

/// `struct spa_meta_sync_timeline`: the producer's points on the acquire and release timelines
/// (the buffer's last two data blocks, in that order, are the two syncobjs).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SpaMetaSyncTimeline {
    /// No flags are defined in PipeWire 1.4.
    pub flags: u32,
    /// Unused.
    pub padding: u32,
    /// The point signaled when the buffer can be read.
    pub acquire_point: u64,
    /// The point the consumer signals when it no longer reads the buffer.
    pub release_point: u64,
}

/// The `(major, minor, micro)` of a PipeWire version string such as "1.4.2" or "0.3.65".
pub fn parse_library_version(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.trim().split('.').map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// The version of the libpipewire this process runs against (not the one it was built with).
pub fn library_version() -> Option<(u32, u32, u32)> {
    // SAFETY: pw_get_library_version takes nothing and returns a static NUL-terminated string.
    let raw = unsafe { pipewire::sys::pw_get_library_version() };
    if raw.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated and static (above).
    let version = unsafe { std::ffi::CStr::from_ptr(raw) };
    parse_library_version(&version.to_string_lossy())
}

/// Whether the libpipewire this process runs against knows `SPA_META_SyncTimeline` and
/// `SPA_DATA_SyncObj` buffers (1.2 and newer).
pub fn library_has_sync_timeline() -> bool {
    library_version().is_some_and(|v| v >= (1, 2, 0))
}

/// Set by a test: negotiate explicit sync although no render node can wait or signal.
static WITHOUT_RENDER_NODE: AtomicBool = AtomicBool::new(false);

/// Makes captures opened from now on negotiate explicit sync (when the library has it) even
/// without a render node, so that the negotiation and the metadata can be tested where no
/// /dev/dri exists. The frames then carry the points, but nothing waits for or signals them.
#[cfg(feature = "test-support")]
pub fn negotiate_without_render_node(on: bool) {
    WITHOUT_RENDER_NODE.store(on, Ordering::Relaxed);
}

/// Whether a capture asks its producer for explicit sync: the library has it, and a render
/// node can honor it (or a test asked to negotiate without one).
pub(crate) fn negotiate() -> bool {
    if !library_has_sync_timeline() {
        return false;
    }
    render_node().is_some() || WITHOUT_RENDER_NODE.load(Ordering::Relaxed)
}

/// What went wrong waiting for or signaling a timeline point.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No /dev/dri/renderD* that supports timeline syncobjs.
    #[error(
        "no DRM render node with timeline syncobjs (DRM_CAP_SYNCOBJ_TIMELINE) in /dev/dri: \
         explicit sync needs the GPU's driver (Linux 5.2 or newer)"
    )]
    NoRenderNode,
    /// A syncobj ioctl failed.
    #[error("{what} on {node}: {source}")]
    Ioctl {
        /// The call.
        what: &'static str,
        /// The render node.
        node: String,
        /// The kernel's error.
        source: std::io::Error,
    },
    /// The acquire point was not signaled in time.
    #[error(
        "the producer's acquire point {point} was not signaled within {waited_ms} ms \
         (its rendering of the frame never finished)"
    )]
    AcquireTimeout {
        /// The point waited for.
        point: u64,
        /// How long.
        waited_ms: u64,
    },
}

// DRM uapi (include/uapi/drm/drm.h): the structs are the kernel's, at the size every kernel
// since 5.2 accepts (newer kernels take shorter structs from older callers as zero-extended).

/// `struct drm_get_cap`.
#[repr(C)]
struct DrmGetCap {
    capability: u64,
    value: u64,
}

/// `struct drm_syncobj_handle` (without the `point` later kernels appended).
#[repr(C)]
struct DrmSyncobjHandle {
    handle: u32,
    flags: u32,
    fd: i32,
    pad: u32,
}

/// `struct drm_syncobj_destroy`.
#[repr(C)]
struct DrmSyncobjDestroy {
    handle: u32,
    pad: u32,
}

/// `struct drm_syncobj_timeline_wait` (without the `deadline_nsec` later kernels appended).
#[repr(C)]
struct DrmSyncobjTimelineWait {
    handles: u64,
    points: u64,
    /// Absolute, CLOCK_MONOTONIC.
    timeout_nsec: i64,
    count_handles: u32,
    flags: u32,
    first_signaled: u32,
    pad: u32,
}

/// `struct drm_syncobj_timeline_array`.
#[repr(C)]
struct DrmSyncobjTimelineArray {
    handles: u64,
    points: u64,
    count_handles: u32,
    flags: u32,
}

const DRM_CAP_SYNCOBJ_TIMELINE: u64 = 0x14;
const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT: u32 = 1 << 1;

/// `DRM_IOWR(nr, T)`: read-write, type 'd'.
const fn drm_iowr<T>(nr: u32) -> u32 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the ioctl structs above are a few dozen bytes: the size field holds 14 bits"
    )]
    let size = std::mem::size_of::<T>() as u32;
    (3 << 30) | (size << 16) | ((b'd' as u32) << 8) | nr
}

const DRM_IOCTL_GET_CAP: u32 = drm_iowr::<DrmGetCap>(0x0c);
const DRM_IOCTL_SYNCOBJ_DESTROY: u32 = drm_iowr::<DrmSyncobjDestroy>(0xc0);
const DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE: u32 = drm_iowr::<DrmSyncobjHandle>(0xc2);
const DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT: u32 = drm_iowr::<DrmSyncobjTimelineWait>(0xca);
const DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL: u32 = drm_iowr::<DrmSyncobjTimelineArray>(0xcd);

/// An open DRM render node that supports timeline syncobjs.
#[derive(Debug)]
pub struct RenderNode {
    fd: OwnedFd,
    path: PathBuf,
}

/// A syncobj imported into a render node; destroyed (the import, not the syncobj) on drop.
struct Imported<'a> {
    node: &'a RenderNode,
    handle: u32,
}

impl Drop for Imported<'_> {
    fn drop(&mut self) {
        let mut arg = DrmSyncobjDestroy {
            handle: self.handle,
            pad: 0,
        };
        if let Err(e) = self.node.ioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &mut arg) {
            tracing::debug!(error = %e, "destroying an imported syncobj handle");
        }
    }
}

impl RenderNode {
    /// Opens `path` and checks that it supports timeline syncobjs.
    pub fn open(path: &Path) -> Result<Self, SyncError> {
        let node = |source| SyncError::Ioctl {
            what: "open",
            node: path.display().to_string(),
            source,
        };
        let fd = rustix::fs::open(
            path,
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| node(e.into()))?;
        let node = Self {
            fd,
            path: path.to_path_buf(),
        };
        let mut cap = DrmGetCap {
            capability: DRM_CAP_SYNCOBJ_TIMELINE,
            value: 0,
        };
        node.ioctl(DRM_IOCTL_GET_CAP, &mut cap)
            .map_err(|source| node.error("DRM_IOCTL_GET_CAP(SYNCOBJ_TIMELINE)", source))?;
        if cap.value == 0 {
            return Err(SyncError::NoRenderNode);
        }
        Ok(node)
    }

    /// The first render node in /dev/dri that supports timeline syncobjs.
    pub fn find() -> Result<Self, SyncError> {
        let mut nodes: Vec<PathBuf> = std::fs::read_dir("/dev/dri")
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("renderD"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        nodes.sort();
        nodes
            .iter()
            .find_map(|p| match Self::open(p) {
                Ok(node) => Some(node),
                Err(e) => {
                    tracing::debug!(node = %p.display(), error = %e, "not used for explicit sync");
                    None
                }
            })
            .ok_or(SyncError::NoRenderNode)
    }

    fn error(&self, what: &'static str, source: std::io::Error) -> SyncError {
        SyncError::Ioctl {
            what,
            node: self.path.display().to_string(),
            source,
        }
    }

    /// Runs DRM ioctl `request` with `arg`, retrying on EINTR/EAGAIN as libdrm does.
    fn ioctl<T>(&self, request: u32, arg: &mut T) -> std::io::Result<()> {
        loop {
            // SAFETY: `request` is a DRM_IOWR whose size is that of `T`, one of the uapi
            // structs above laid out as the kernel's; `arg` is a live, exclusive borrow.
            let rc = unsafe {
                libc::ioctl(
                    self.fd.as_raw_fd(),
                    libc::c_ulong::from(request),
                    std::ptr::from_mut(arg),
                )
            };
            if rc == 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if !matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
                return Err(e);
            }
        }
    }

    fn import(&self, syncobj: BorrowedFd<'_>) -> Result<Imported<'_>, SyncError> {
        let mut arg = DrmSyncobjHandle {
            handle: 0,
            flags: 0,
            fd: syncobj.as_raw_fd(),
            pad: 0,
        };
        self.ioctl(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &mut arg)
            .map_err(|e| self.error("DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE", e))?;
        Ok(Imported {
            node: self,
            handle: arg.handle,
        })
    }

    /// Waits until `point` is signaled (or submitted and then signaled), at most `timeout`.
    pub fn wait(&self, point: &SyncPoint, timeout: Duration) -> Result<(), SyncError> {
        let imported = self.import(point.fd())?;
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let now_ns = i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec);
        let deadline = i64::try_from(now_ns + i128::try_from(timeout.as_nanos()).unwrap_or(0))
            .unwrap_or(i64::MAX);
        let handles = [imported.handle];
        let points = [point.point()];
        let mut arg = DrmSyncobjTimelineWait {
            handles: handles.as_ptr() as u64,
            points: points.as_ptr() as u64,
            timeout_nsec: deadline,
            count_handles: 1,
            flags: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
            first_signaled: 0,
            pad: 0,
        };
        match self.ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &mut arg) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Err(SyncError::AcquireTimeout {
                point: point.point(),
                waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Err(e) => Err(self.error("DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT", e)),
        }
    }

    /// Signals `point` now (from the CPU).
    pub fn signal(&self, point: &SyncPoint) -> Result<(), SyncError> {
        let imported = self.import(point.fd())?;
        let handles = [imported.handle];
        let points = [point.point()];
        let mut arg = DrmSyncobjTimelineArray {
            handles: handles.as_ptr() as u64,
            points: points.as_ptr() as u64,
            count_handles: 1,
            flags: 0,
        };
        self.ioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &mut arg)
            .map_err(|e| self.error("DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL", e))
    }
}

/// The render node explicit sync uses, looked for once per process.
pub fn render_node() -> Option<&'static RenderNode> {
    static NODE: OnceLock<Option<RenderNode>> = OnceLock::new();
    NODE.get_or_init(|| match RenderNode::find() {
        Ok(node) => {
            tracing::debug!(node = %node.path.display(), "explicit sync: render node");
            Some(node)
        }
        Err(e) => {
            tracing::debug!(error = %e, "explicit sync unavailable");
            None
        }
    })
    .as_ref()
}

/// Signals a buffer's release point when the last frame holding it is dropped.
struct ReleaseGuard {
    release: SyncPoint,
}

impl std::fmt::Debug for ReleaseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseGuard")
            .field("point", &self.release.point())
            .finish_non_exhaustive()
    }
}

impl Lease for ReleaseGuard {}

impl Drop for ReleaseGuard {
    fn drop(&mut self) {
        match render_node() {
            Some(node) => {
                if let Err(e) = node.signal(&self.release) {
                    tracing::warn!(error = %e, point = self.release.point(), "explicit sync: the release point could not be signaled; the producer may stall");
                }
            }
            None => tracing::trace!(
                point = self.release.point(),
                "explicit sync without a render node: release point not signaled"
            ),
        }
    }
}

/// The producer's timeline of a buffer, its fds borrowed from PipeWire (valid while the
/// buffer is held).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawSyncTimeline {
    /// The acquire syncobj's fd (the second-to-last data block).
    pub acquire_fd: i32,
    /// The release syncobj's fd (the last data block).
    pub release_fd: i32,
    /// The metadata.
    pub meta: SpaMetaSyncTimeline,
}

/// Takes a held buffer's timeline into owned values: duplicates of both syncobj fds and the
/// points, with the release point signaled when the last clone is dropped.
pub(crate) fn take(raw: RawSyncTimeline) -> std::io::Result<ExplicitSync> {
    let dup = |fd: i32| -> std::io::Result<Arc<OwnedFd>> {
        // SAFETY: PipeWire keeps a dequeued buffer's fds open until it is queued back or
        // removed; the caller reads them from a buffer it holds dequeued.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        Ok(Arc::new(borrowed.as_fd().try_clone_to_owned()?))
    };
    let acquire = SyncPoint::new(dup(raw.acquire_fd)?, raw.meta.acquire_point);
    let release = SyncPoint::new(dup(raw.release_fd)?, raw.meta.release_point);
    let guard = Arc::new(ReleaseGuard {
        release: release.clone(),
    });
    Ok(ExplicitSync::new(acquire, release, guard))
}

/// Waits for `sync`'s acquire point before its frame is read, at most `timeout`.
pub(crate) fn wait_acquire(sync: &ExplicitSync, timeout: Duration) -> Result<(), SyncError> {
    let node = render_node().ok_or(SyncError::NoRenderNode)?;
    let started = Instant::now();
    let result = node.wait(sync.acquire(), timeout);
    tracing::trace!(
        point = sync.acquire().point(),
        waited_us = started.elapsed().as_micros(),
        "explicit sync: acquire point"
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_versions_parse_and_compare() {
        assert_eq!(parse_library_version("0.3.65"), Some((0, 3, 65)));
        assert_eq!(parse_library_version("1.4.2"), Some((1, 4, 2)));
        assert_eq!(parse_library_version("1.2"), Some((1, 2, 0)));
        assert_eq!(parse_library_version("1.5.81-rc1"), Some((1, 5, 81)));
        assert_eq!(parse_library_version("x"), None);
        assert!(parse_library_version("0.3.65").unwrap() < (1, 2, 0));
        assert!(parse_library_version("1.2.0").unwrap() >= (1, 2, 0));
    }

    #[test]
    fn the_uapi_structs_and_ioctl_numbers_are_the_kernels() {
        // Sizes and numbers as include/uapi/drm/drm.h gives them.
        assert_eq!(std::mem::size_of::<SpaMetaSyncTimeline>(), 24);
        assert_eq!(DRM_IOCTL_GET_CAP, 0xc010_640c);
        assert_eq!(DRM_IOCTL_SYNCOBJ_DESTROY, 0xc008_64c0);
        assert_eq!(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, 0xc010_64c2);
        assert_eq!(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, 0xc028_64ca);
        assert_eq!(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, 0xc018_64cd);
    }

    #[test]
    fn without_dev_dri_the_render_node_is_absent_and_the_wait_says_why() {
        if Path::new("/dev/dri").exists() {
            return;
        }
        assert!(render_node().is_none());
        assert!(matches!(RenderNode::find(), Err(SyncError::NoRenderNode)));
        let fd = Arc::new(rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).unwrap());
        #[derive(Debug)]
        struct Nothing;
        impl Lease for Nothing {}
        let sync = ExplicitSync::new(
            SyncPoint::new(Arc::clone(&fd), 1),
            SyncPoint::new(fd, 2),
            Arc::new(Nothing),
        );
        let e = wait_acquire(&sync, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, SyncError::NoRenderNode), "{e}");
        assert!(e.to_string().contains("DRM_CAP_SYNCOBJ_TIMELINE"), "{e}");
    }
}
