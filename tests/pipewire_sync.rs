//! PipeWire explicit sync (`SPA_META_SyncTimeline`, PipeWire ≥ 1.2): GhostStream's test node
//! offers the metadata and a buffer layout with two syncobj blocks (memfds standing in for DRM
//! syncobjs: this machine has no /dev/dri, and PipeWire passes an fd on without checking its
//! kind), writing increasing acquire/release points into every frame.
//!
//! - Against PipeWire 1.4 (from bookworm-backports, unpacked privately by
//!   `.ci/get-pipewire14.sh`): the test re-executes itself with libpipewire 1.4 loaded
//!   (`LD_LIBRARY_PATH`) and a private 1.4 daemon; the capture asks for the metadata, and every
//!   DMA-BUF frame reaches the caller carrying the producer's acquire and release syncobjs (the
//!   right memfds, in order) and the points written into that frame.
//! - Against the system's PipeWire 0.3.65 (no SyncTimeline): the capture asks for nothing, the
//!   producer falls back to its plain layout, and DMA-BUF frames flow with implicit sync.
//!
//! The wait for the acquire point and the release signal need a DRM render node (none here):
//! the captures are told to negotiate without one, and nothing waits or signals.
//!
//! One test: it points the Vulkan loader at Mesa 25 through the environment.
#![cfg(feature = "pipewire")]

mod pipewire_env;
mod unprivileged;

use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ghoststream::capture::pipewire::sync;
use ghoststream::capture::pipewire::test_node::test_node_sync_points;
use ghoststream::capture::{
    test_node_frame_number, test_node_pixel, LiveCapture, PipeWireCapture, PipeWireOptions,
    PipeWireTestNode, TestNodeBuffers,
};
use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions, DRM_FORMAT_MOD_LINEAR};
use ghoststream::{DmaBufFrame, FrameImage, Rational};
use pipewire_env::{pipewire14_env, pipewire14_root, PrivatePipeWire};

const W: u32 = 96;
const H: u32 = 64;
/// Set in the re-executed test: it runs against PipeWire 1.4.
const CHILD: &str = "GHOSTSTREAM_PIPEWIRE14_CHILD";

/// Mesa 25's lavapipe ICD manifest, `None` with the reason printed (a failure under
/// GHOSTSTREAM_REQUIRE_GPU).
fn mesa25_icd() -> Option<PathBuf> {
    let icd = std::env::var_os("GHOSTSTREAM_DMABUF_ICD")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/ghoststream/mesa25/lvp.json")
        });
    if icd.exists() {
        return Some(icd);
    }
    let why = format!(
        "no Mesa 25 lavapipe at {} (run .ci/get-mesa25-lavapipe.sh)",
        icd.display()
    );
    assert!(
        std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
        "GHOSTSTREAM_REQUIRE_GPU is set: {why}"
    );
    eprintln!("SKIPPED: {why}");
    None
}

/// A context on the lavapipe `icd` names (the process environment is set for the loader).
fn gpu(icd: &Path) -> Arc<GpuContext> {
    std::env::set_var("VK_DRIVER_FILES", icd);
    std::env::set_var("VK_ICD_FILENAMES", icd);
    GpuContext::new(&GpuOptions {
        device: DeviceSelector::Auto,
        validation: true,
    })
    .unwrap_or_else(|e| panic!("Mesa 25 lavapipe starts: {e}"))
}

fn sync_node(env: &PrivatePipeWire, name: &str) -> PipeWireTestNode {
    PipeWireTestNode::start_with(
        name,
        (W, H),
        Rational::new(30, 1),
        Some(env.connection()),
        TestNodeBuffers::DmaBufExplicitSync {
            modifiers: vec![DRM_FORMAT_MOD_LINEAR],
        },
    )
    .unwrap_or_else(|e| panic!("test node starts: {e}\n{}", env.log("pipewire.log")))
}

fn open(env: &PrivatePipeWire, name: &str, gpu: Arc<GpuContext>) -> PipeWireCapture {
    PipeWireCapture::open(PipeWireOptions {
        node: Some(name.parse().unwrap()),
        remote: Some(env.connection()),
        negotiation_timeout: Duration::from_secs(10),
        cursor: false,
        gpu: Some(gpu),
    })
    .unwrap_or_else(|e| {
        panic!(
            "capture opens: {e}\n{}\n{}",
            env.log("pipewire.log"),
            env.log("wireplumber.log")
        )
    })
}

/// The next DMA-BUF frame (5 s at most), after the ones already queued.
fn next_dmabuf(capture: &mut PipeWireCapture, env: &PrivatePipeWire) -> DmaBufFrame {
    capture
        .wait_frame_before(Instant::now() + Duration::from_secs(5))
        .expect("no capture error")
        .unwrap_or_else(|| panic!("a frame within 5 s\n{}", env.log("pipewire.log")));
    while capture
        .wait_frame_before(Instant::now())
        .expect("no capture error")
        .is_some()
    {}
    match capture.last_frame_image().expect("no capture error") {
        Some((FrameImage::DmaBuf(frame), _)) => frame,
        other => panic!("a DMA-BUF frame, got {other:?}"),
    }
}

/// The frame number in a DMA-BUF frame (a memfd here, read through its fd), after checking
/// its first row against the test node's pattern.
fn frame_number(frame: &DmaBufFrame) -> u64 {
    let layout = frame.layout();
    let file = std::fs::File::from(frame.fd().try_clone_to_owned().unwrap());
    let mut row = vec![0u8; W as usize * 4];
    file.read_exact_at(&mut row, layout.offset).unwrap();
    let n = test_node_frame_number(&row[..4]);
    for (x, px) in row.chunks_exact(4).enumerate() {
        assert_eq!(
            px,
            test_node_pixel(n, u32::try_from(x).unwrap(), 0),
            "frame {n} pixel ({x},0)"
        );
    }
    n
}

/// What an fd of this process is (`/memfd:NAME (deleted)` for a memfd).
fn fd_target(fd: impl AsRawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn explicit_sync() {
    if std::env::var_os(CHILD).is_some() {
        against_pipewire14();
        return;
    }
    let Some(icd) = mesa25_icd() else { return };
    // PipeWire 0.3.65, the system's, in this process: implicit sync.
    if let Some(env) = PrivatePipeWire::start() {
        against_pipewire_0_3(&env, gpu(&icd));
    }
    // PipeWire 1.4, in a child process that loads its library.
    let Some(root) = pipewire14_root() else {
        let why = "no private PipeWire 1.4 (run .ci/get-pipewire14.sh)";
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_PIPEWIRE14").is_none(),
            "GHOSTSTREAM_REQUIRE_PIPEWIRE14 is set: {why}"
        );
        eprintln!("SKIPPED: {why}; set GHOSTSTREAM_REQUIRE_PIPEWIRE14=1 to make this a failure");
        return;
    };
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "explicit_sync",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .envs(pipewire14_env(&root))
        .env("VK_DRIVER_FILES", &icd)
        .env("VK_ICD_FILENAMES", &icd)
        .env(CHILD, &root)
        .output()
        .expect("the test re-executes itself");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "--- against PipeWire 1.4 ({:?}) ---\n{text}",
        started.elapsed()
    );
    assert!(output.status.success(), "the PipeWire 1.4 run failed");
    assert!(
        text.contains("explicit sync: 10 frames"),
        "the child ran the 1.4 test"
    );
}

/// The system's 0.3.65: no SyncTimeline in the library, so the capture asks for none (even when
/// told to negotiate without a render node) and DMA-BUF frames come with implicit sync.
fn against_pipewire_0_3(env: &PrivatePipeWire, gpu: Arc<GpuContext>) {
    let version = sync::library_version().expect("libpipewire's version");
    if version >= (1, 2, 0) {
        eprintln!("the system's libpipewire is {version:?}: the 0.3 case does not apply");
        return;
    }
    assert!(!sync::library_has_sync_timeline());
    sync::negotiate_without_render_node(true);
    let _node = sync_node(env, "gs-sync-implicit");
    let mut capture = open(env, "gs-sync-implicit", gpu);
    let mut last = None;
    for _ in 0..5 {
        let frame = next_dmabuf(&mut capture, env);
        assert!(
            frame.explicit_sync().is_none(),
            "no explicit sync on libpipewire {version:?}"
        );
        let n = frame_number(&frame);
        assert!(last.is_none_or(|l| n > l), "frame {n} after {last:?}");
        last = Some(n);
    }
    sync::negotiate_without_render_node(false);
    eprintln!("implicit sync on libpipewire {version:?}: 5 DMA-BUF frames");
}

/// In the re-executed test: libpipewire 1.4 in this process, a 1.4 daemon; every frame
/// carries the producer's syncobjs and points.
fn against_pipewire14() {
    let root = PathBuf::from(std::env::var_os(CHILD).unwrap());
    let version = sync::library_version().expect("libpipewire's version");
    assert!(
        version >= (1, 2, 0),
        "the re-executed test loads libpipewire {version:?}, not 1.4 (LD_LIBRARY_PATH)"
    );
    assert!(sync::library_has_sync_timeline());
    assert!(
        !Path::new("/dev/dri").exists() || sync::render_node().is_some(),
        "a render node without timeline syncobjs"
    );
    sync::negotiate_without_render_node(true);
    let env = PrivatePipeWire::start_pipewire14(&root);
    let gpu = {
        let icd = std::env::var_os("VK_DRIVER_FILES").expect("the parent sets the ICD");
        gpu(Path::new(&icd))
    };
    let _node = sync_node(&env, "gs-sync-explicit");
    let mut capture = open(&env, "gs-sync-explicit", gpu);
    let mut last = None;
    for _ in 0..10 {
        let frame = next_dmabuf(&mut capture, &env);
        let n = frame_number(&frame);
        assert!(last.is_none_or(|l| n > l), "frame {n} after {last:?}");
        last = Some(n);
        let sync = frame.explicit_sync().unwrap_or_else(|| {
            panic!(
                "frame {n} has no explicit sync on libpipewire {version:?}\n{}",
                env.log("pipewire.log")
            )
        });
        assert_eq!(
            (sync.acquire().point(), sync.release().point()),
            test_node_sync_points(n),
            "frame {n}'s points"
        );
        let (acquire, release) = (
            fd_target(sync.acquire().fd()),
            fd_target(sync.release().fd()),
        );
        assert!(
            acquire.starts_with("/memfd:ghoststream-test-acquire"),
            "frame {n}'s acquire syncobj is {acquire}"
        );
        assert!(
            release.starts_with("/memfd:ghoststream-test-release"),
            "frame {n}'s release syncobj is {release}"
        );
        assert!(
            fd_target(frame.fd()).starts_with("/memfd:ghoststream-test-node"),
            "the DMA-BUF stays the first block"
        );
    }
    eprintln!(
        "explicit sync: 10 frames on libpipewire {version:?}, points and syncobjs as sent (last frame {last:?})"
    );
}
