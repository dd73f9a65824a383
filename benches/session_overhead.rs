//! The session's own per-frame cost, with the encoder's time taken out.
//!
//! A null backend (it emits a 16-byte packet per frame and does nothing else) runs behind a real
//! `Session`; 1080p I420 frames come from a buffer pool as a capture source's would. Measured:
//! process CPU time per frame (both threads: submit, queueing, the worker, receive) and the wall
//! time of one `submit` call, as medians over several runs.
//!
//! Run: `cargo bench --bench session_overhead`

use std::time::Instant;

use ghoststream::encode::{EncodeError, EncodedUnit, EncoderBackend};
use ghoststream::{
    BackendKind, BufferPool, Codec, CpuImage, Frame, PixelFormat, Rational, Session, SessionConfig,
    SessionOutput, Timestamp,
};

struct NullBackend {
    pending: Option<i64>,
}

impl EncoderBackend for NullBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Software
    }
    fn describe(&self) -> String {
        "null".into()
    }
    fn encode(&mut self, frame: Frame, pts: i64) -> Result<(), EncodeError> {
        drop(frame);
        self.pending = Some(pts);
        Ok(())
    }
    fn finish(&mut self) -> Result<(), EncodeError> {
        Ok(())
    }
    fn receive(&mut self) -> Result<Option<EncodedUnit>, EncodeError> {
        Ok(self.pending.take().map(|pts| EncodedUnit {
            data: vec![0, 0, 0, 1, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            pts,
            dts: pts,
            keyframe: false,
            gpu_time: None,
        }))
    }
}

fn cpu_ns() -> i64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec * 1_000_000_000 + t.tv_nsec
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    const FRAMES: i64 = 3000;
    const RUNS: usize = 7;
    let (w, h) = (1920, 1080);
    let mut cfg = SessionConfig::new(Codec::H264, w, h, Rational::new(60, 1));
    cfg.queue_depth = 4;
    let pool = BufferPool::new();
    let mut cpu_per_frame = Vec::new();
    let mut submit_ns = Vec::new();
    for _ in 0..RUNS {
        let mut session =
            Session::with_backend(cfg.clone(), Box::new(NullBackend { pending: None }))
                .expect("session");
        let mut calls = Vec::with_capacity(usize::try_from(FRAMES).unwrap());
        let cpu0 = cpu_ns();
        let mut packets = 0u64;
        for n in 0..FRAMES {
            let img = CpuImage::new(PixelFormat::I420, w, h, Some(&pool)).expect("image");
            let frame = Frame::from_cpu(img, Timestamp::from_nanos(n * 16_666_667));
            let t = Instant::now();
            session.submit(frame).expect("submit");
            calls.push(t.elapsed().as_nanos() as f64);
            while let Some(out) = session.try_receive().expect("receive") {
                if let SessionOutput::Packet(_) = out {
                    packets += 1;
                }
            }
        }
        packets += session.close().expect("close").len() as u64;
        let cpu = cpu_ns() - cpu0;
        assert_eq!(packets, FRAMES as u64);
        cpu_per_frame.push(cpu as f64 / FRAMES as f64);
        submit_ns.push(median(&mut calls));
    }
    let cpu = median(&mut cpu_per_frame);
    let submit = median(&mut submit_ns);
    println!(
        "session overhead, 1080p I420, null encoder, {FRAMES} frames x {RUNS} runs (medians):"
    );
    println!(
        "  process CPU per frame (all threads): {:.2} us",
        cpu / 1000.0
    );
    println!(
        "  one submit() call (wall):            {:.2} us",
        submit / 1000.0
    );
}
