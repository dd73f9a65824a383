//! The STAND-IN's fault injection: each fault asked for gives its status at exactly the
//! picture it names (and only there), recorded as a fault, not a violation.

mod common;

use common::{st, Fmt, Session};
use ghoststream_nvenc_standin::fault::{set_thread_faults, Fault, Faults};
use ghoststream_nvenc_standin::log::{self, Kind};
use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

/// Encodes pictures 0..n with one slot (lock, unlock, unmap after each success); the status
/// of each encode.
fn statuses(spec: &str, n: u64) -> (Session, Vec<u32>) {
    set_thread_faults(Some(spec));
    let s = Session::open(nv::NV_ENC_CODEC_HEVC_GUID, 256, 144, Fmt::Nv12);
    set_thread_faults(None);
    let _ = s.initialize();
    let (_, reg) = s.register(s.alloc_frame());
    let (_, buf) = s.create_buffer();
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for i in 0..n {
        let (m, mapped) = s.map(reg);
        if m != st::SUCCESS {
            out.push(m);
            continue;
        }
        let e = s.encode(mapped, buf, i);
        out.push(e);
        match e {
            x if x == st::SUCCESS => {
                pending.push(mapped);
                assert_eq!(s.lock_copy(buf).0, st::SUCCESS);
                for m in pending.drain(..) {
                    assert_eq!(s.unmap(m), st::SUCCESS);
                }
            }
            x if x == st::NEED_MORE_INPUT => {
                // Held: the buffer cannot take the next picture, so this test stops here.
                pending.push(mapped);
                break;
            }
            // After a lost device every call fails, the unmap too.
            x if x == st::DEVICE_NOT_EXIST => assert_eq!(s.unmap(mapped), st::DEVICE_NOT_EXIST),
            _ => assert_eq!(s.unmap(mapped), st::SUCCESS),
        }
    }
    (s, out)
}

#[test]
fn the_fault_list_parses_and_refuses_what_it_cannot_read() {
    let f = Faults::parse("busy@3, oom@5,lost@7,need_more_input@2,no_encoder").unwrap();
    assert_eq!(
        f.at,
        [
            (3, Fault::Busy),
            (5, Fault::OutOfMemory),
            (7, Fault::Lost),
            (2, Fault::NeedMoreInput)
        ]
    );
    assert!(f.no_encoder && !f.require_io_streams);
    assert!(
        Faults::parse("require_io_streams")
            .unwrap()
            .require_io_streams
    );
    assert_eq!(f.at(5), Some(Fault::OutOfMemory));
    assert_eq!(f.at(4), None);
    assert_eq!(Faults::parse("").unwrap(), Faults::default());
    assert!(Faults::parse("busy").unwrap_err().contains("kind@N"));
    assert!(Faults::parse("slow@1")
        .unwrap_err()
        .contains("unknown kind \"slow\""));
    assert!(Faults::parse("oom@x")
        .unwrap_err()
        .contains("\"x\" is not a picture index"));
}

#[test]
fn busy_and_out_of_memory_come_at_their_pictures_only() {
    let (s, got) = statuses("busy@1,oom@3", 5);
    assert_eq!(
        got,
        [
            st::SUCCESS,
            st::ENCODER_BUSY,
            st::SUCCESS,
            st::OUT_OF_MEMORY,
            st::SUCCESS
        ]
    );
    let faults: Vec<_> = log::records(s.enc)
        .into_iter()
        .filter(|r| r.kind == Kind::Fault)
        .map(|r| (r.status, r.message))
        .collect();
    assert_eq!(
        faults,
        [
            (
                st::ENCODER_BUSY,
                "encoder busy at picture 1 (injected fault)".to_string()
            ),
            (
                st::OUT_OF_MEMORY,
                "out of memory at picture 3 (injected fault)".to_string()
            )
        ]
    );
    assert!(s.violations().is_empty());
}

#[test]
fn a_lost_device_fails_every_later_call() {
    let (s, got) = statuses("lost@2", 4);
    assert_eq!(
        got,
        [
            st::SUCCESS,
            st::SUCCESS,
            st::DEVICE_NOT_EXIST,
            st::DEVICE_NOT_EXIST
        ]
    );
    assert!(
        s.last_error().contains("device was lost"),
        "{}",
        s.last_error()
    );
    assert_eq!(
        s.destroy(),
        st::SUCCESS,
        "destroy still ends a lost session"
    );
}

#[test]
fn need_more_input_holds_the_picture() {
    let (s, got) = statuses("need_more_input@1", 3);
    assert_eq!(got, [st::SUCCESS, st::NEED_MORE_INPUT]);
    assert!(s.violations().is_empty());
}

#[test]
fn no_encoder_fails_the_open_as_a_gpu_without_an_engine() {
    set_thread_faults(Some("no_encoder"));
    let host = ghoststream_nvenc_standin::cuda::host_cuda();
    let l = common::table();
    let mut p = common::open_params(host.new_context());
    let mut enc = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let s = unsafe { (l.nvEncOpenEncodeSessionEx.unwrap())(&raw mut p, &raw mut enc) } as u32;
    set_thread_faults(None);
    assert_eq!(s, st::UNSUPPORTED_DEVICE);
    // SAFETY: the handle the open returned.
    let destroyed = unsafe { (l.nvEncDestroyEncoder.unwrap())(enc) } as u32;
    assert_eq!(destroyed, st::SUCCESS);
}

#[test]
fn require_io_streams_makes_a_picture_before_them_a_violation() {
    set_thread_faults(Some("require_io_streams"));
    let s = Session::open(nv::NV_ENC_CODEC_H264_GUID, 256, 144, Fmt::Nv12);
    set_thread_faults(None);
    let _ = s.initialize();
    let (_, reg) = s.register(s.alloc_frame());
    let (_, buf) = s.create_buffer();
    let (_, mapped) = s.map(reg);
    assert_eq!(s.encode(mapped, buf, 0), st::INVALID_CALL);
    s.assert_violation(st::INVALID_CALL, "a picture before nvEncSetIOCudaStreams");
}
