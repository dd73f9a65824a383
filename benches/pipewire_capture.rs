//! CPU time per frame of a PipeWire capture, the DMA-BUF path beside the shared-memory path,
//! in one run: GhostStream's test node (a child process, so its own drawing is not counted)
//! sends a 1080p and a 4K picture at 60 frames a second to a private PipeWire, once in shared
//! memory and once in DMA-BUF buffers (memfds typed `SPA_DATA_DmaBuf`: this machine has no
//! GPU, and Mesa 25's lavapipe imports them, as tests/pipewire_dmabuf.rs checks). The capture
//! takes every frame as the session would (`last_frame_image`): the shared-memory path copies
//! it into CPU memory, the DMA-BUF path hands the buffer on untouched. Counted: this process's
//! CPU time (all threads: PipeWire's loop and the caller) per frame taken, and the bytes the
//! CPU copied per frame. The conversion after it is not counted (on a GPU it is GPU work; on
//! lavapipe it would be CPU work of either path).
//!
//! Run: `cargo bench --bench pipewire_capture` (needs pipewire, wireplumber and Mesa 25's
//! lavapipe from .ci/get-mesa25-lavapipe.sh; `BENCH_SECONDS=N` sets each measurement's length,
//! default 10).

#[path = "../tests/pipewire_env/mod.rs"]
mod pipewire_env;
#[path = "../tests/unprivileged/mod.rs"]
mod unprivileged;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ghoststream::capture::{
    LiveCapture, PipeWireCapture, PipeWireOptions, PipeWireTestNode, TestNodeBuffers,
};
use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions, DRM_FORMAT_MOD_LINEAR};
use ghoststream::{FrameImage, Rational};

/// CPU time (user + system) this process has used, all threads.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

fn buffers(dmabuf: bool) -> TestNodeBuffers {
    if dmabuf {
        TestNodeBuffers::DmaBuf {
            modifiers: vec![DRM_FORMAT_MOD_LINEAR],
            shm_fallback: false,
        }
    } else {
        TestNodeBuffers::SharedMemory
    }
}

/// The child: publishes the test node until its standard input closes.
fn producer(args: &[String]) {
    let dmabuf = args[0] == "dmabuf";
    let w: u32 = args[1].parse().unwrap();
    let h: u32 = args[2].parse().unwrap();
    let _node = PipeWireTestNode::start_with(
        "gs-bench-node",
        (w, h),
        Rational::new(60, 1),
        None,
        buffers(dmabuf),
    )
    .expect("the test node starts");
    println!("ready");
    let _ = std::io::stdin().read(&mut [0u8; 1]);
}

struct Measured {
    frames: u64,
    cpu_per_frame: Duration,
    copied_per_frame: u64,
}

fn measure(
    env: &pipewire_env::PrivatePipeWire,
    gpu: Option<&Arc<GpuContext>>,
    (w, h): (u32, u32),
    seconds: u64,
) -> Measured {
    let dmabuf = gpu.is_some();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--producer",
            if dmabuf { "dmabuf" } else { "shm" },
            &w.to_string(),
            &h.to_string(),
        ])
        .env("PIPEWIRE_RUNTIME_DIR", env.runtime_dir())
        .env("PIPEWIRE_REMOTE", "pipewire-0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 6];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut ready)
        .expect("the producer starts");
    let mut capture = PipeWireCapture::open(PipeWireOptions {
        node: Some("gs-bench-node".parse().unwrap()),
        remote: Some(env.connection()),
        negotiation_timeout: Duration::from_secs(10),
        cursor: false,
        gpu: gpu.cloned(),
    })
    .expect("the capture opens");
    let mut take = |count: bool, until: Instant| -> (u64, u64) {
        let (mut frames, mut copied) = (0, 0);
        while Instant::now() < until {
            if capture
                .wait_frame_before(Instant::now() + Duration::from_millis(200))
                .expect("no capture error")
                .is_none()
            {
                continue;
            }
            let (image, _) = capture.last_frame_image().unwrap().expect("a frame");
            match &image {
                FrameImage::Cpu(i) => {
                    assert!(!dmabuf, "a shared-memory frame on the DMA-BUF path");
                    copied += i.data().len() as u64;
                }
                FrameImage::DmaBuf(_) => assert!(dmabuf, "a DMA-BUF frame on the shm path"),
                _ => unreachable!(),
            }
            if count {
                frames += 1;
            }
        }
        (frames, copied)
    };
    take(false, Instant::now() + Duration::from_secs(2));
    let before = cpu_time();
    let (frames, copied) = take(true, Instant::now() + Duration::from_secs(seconds));
    let cpu = cpu_time() - before;
    drop(capture);
    drop(child.stdin.take());
    let _ = child.wait();
    Measured {
        frames,
        cpu_per_frame: cpu / u32::try_from(frames.max(1)).unwrap_or(u32::MAX),
        copied_per_frame: copied / frames.max(1),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--producer") {
        producer(&args[1..]);
        return;
    }
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let icd = format!(
        "{}/.cache/ghoststream/mesa25/lvp.json",
        std::env::var("HOME").unwrap_or_default()
    );
    if !std::path::Path::new(&icd).exists() {
        println!("SKIPPED: no Mesa 25 lavapipe at {icd} (run .ci/get-mesa25-lavapipe.sh)");
        return;
    }
    std::env::set_var("VK_DRIVER_FILES", &icd);
    std::env::set_var("VK_ICD_FILENAMES", &icd);
    let ctx = GpuContext::new(&GpuOptions {
        device: DeviceSelector::Auto,
        validation: false,
    })
    .expect("Mesa 25 lavapipe");
    let Some(env) = pipewire_env::PrivatePipeWire::start() else {
        return;
    };
    println!("| size | path | frames taken in {seconds} s | CPU per frame | CPU bytes copied per frame | DMA-BUF / shm CPU |");
    println!("|---|---|---|---|---|---|");
    for size in [(1920, 1080), (3840, 2160)] {
        let shm = measure(&env, None, size, seconds);
        let dma = measure(&env, Some(&ctx), size, seconds);
        for (name, m, is_dma) in [("shared memory", &shm, false), ("DMA-BUF", &dma, true)] {
            println!(
                "| {}x{} | {name} | {} | {:.3} ms | {} | {} |",
                size.0,
                size.1,
                m.frames,
                m.cpu_per_frame.as_secs_f64() * 1e3,
                m.copied_per_frame,
                if is_dma {
                    format!(
                        "{:.2}x",
                        dma.cpu_per_frame.as_secs_f64() / shm.cpu_per_frame.as_secs_f64()
                    )
                } else {
                    "—".into()
                }
            );
        }
    }
}
