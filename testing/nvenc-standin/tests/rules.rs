//! Each rule the STAND-IN holds a caller to, broken once: the exact status returned, the one
//! violation recorded (kind, status, message) and the same message from
//! `nvEncGetLastErrorString`.

mod common;

use std::ffi::c_void;

use common::{open_params, st, table, Fmt, Session};
use ghoststream_nvenc_standin::cuda::host_cuda;
use ghoststream_nvenc_standin::log::{self, Kind};
use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

fn h264() -> Session {
    Session::open(nv::NV_ENC_CODEC_H264_GUID, 320, 240, Fmt::Nv12)
}

/// An initialised session with one registered, mapped input and one buffer.
fn ready() -> (Session, u64, *mut c_void, *mut c_void, *mut c_void) {
    let s = h264();
    let _ = s.initialize();
    let memory = s.alloc_frame();
    let (r, reg) = s.register(memory);
    assert_eq!(r, st::SUCCESS);
    let (b, buf) = s.create_buffer();
    assert_eq!(b, st::SUCCESS);
    let (m, mapped) = s.map(reg);
    assert_eq!(m, st::SUCCESS);
    (s, memory, reg, buf, mapped)
}

#[test]
fn registering_before_initialising_is_out_of_order() {
    let s = h264();
    let memory = s.alloc_frame();
    let (r, _) = s.register(memory);
    assert_eq!(r, st::ENCODER_NOT_INITIALIZED);
    s.assert_violation(
        st::ENCODER_NOT_INITIALIZED,
        "call nvEncInitializeEncoder first",
    );
}

#[test]
fn initialising_twice_is_out_of_order() {
    let s = h264();
    let mut cfg = s.initialize();
    let mut p = s.init_params(&mut cfg);
    assert_eq!(s.initialize_with(&mut p), st::INVALID_CALL);
    s.assert_violation(st::INVALID_CALL, "already initialised");
}

#[test]
fn a_wrong_picture_structure_version_is_refused() {
    let (s, _, _, buf, mapped) = ready();
    let mut pic = s.picture(mapped, buf, 0);
    pic.version ^= 0xf << 16;
    assert_eq!(s.encode_with(&mut pic), st::INVALID_VERSION);
    s.assert_violation(st::INVALID_VERSION, "NV_ENC_PIC_PARAMS::version is");
}

#[test]
fn a_wrong_open_version_is_refused_and_the_handle_must_still_be_destroyed() {
    let host = host_cuda();
    let l = table();
    let mut p = open_params(host.new_context());
    p.version = nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER ^ (1 << 16);
    let mut enc = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let s = unsafe { (l.nvEncOpenEncodeSessionEx.unwrap())(&raw mut p, &raw mut enc) } as u32;
    assert_eq!(s, st::INVALID_VERSION);
    let v = log::violations(enc);
    assert_eq!(v.len(), 1);
    assert!(v[0]
        .message
        .contains("NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS::version"));
    // Only the last error and destroy may follow a failed open.
    let mut count = 0;
    // SAFETY: valid pointers.
    let c = unsafe { (l.nvEncGetEncodeGUIDCount.unwrap())(enc, &raw mut count) } as u32;
    assert_eq!(c, st::INVALID_CALL);
    // SAFETY: the handle the open returned.
    let destroyed = unsafe { (l.nvEncDestroyEncoder.unwrap())(enc) } as u32;
    assert_eq!(destroyed, st::SUCCESS);
}

#[test]
fn a_wrong_function_table_version_is_refused() {
    let mut list = nv::NV_ENCODE_API_FUNCTION_LIST {
        version: nv::NV_ENCODE_API_FUNCTION_LIST_VER - (1 << 16),
        ..Default::default()
    };
    // SAFETY: a valid table.
    let s = unsafe { ghoststream_nvenc_standin::ffi::NvEncodeAPICreateInstance(&raw mut list) };
    assert_eq!(s, st::INVALID_VERSION);
    assert!(list.nvEncEncodePicture.is_none(), "nothing filled");
}

#[test]
fn an_invalid_cuda_context_is_refused() {
    let host = host_cuda();
    let ctx = host.new_context();
    host.destroy_context(ctx);
    let l = table();
    let mut p = open_params(ctx);
    let mut enc = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let s = unsafe { (l.nvEncOpenEncodeSessionEx.unwrap())(&raw mut p, &raw mut enc) } as u32;
    assert_eq!(s, st::INVALID_DEVICE);
    assert!(log::violations(enc)[0]
        .message
        .contains("is not a valid CUcontext"));
    // SAFETY: the handle the open returned.
    unsafe { (l.nvEncDestroyEncoder.unwrap())(enc) };
}

#[test]
fn a_non_zero_reserved_field_is_refused() {
    let s = h264();
    let _ = s.initialize();
    let mut p = s.register_params(s.alloc_frame());
    p.reserved1[7] = 1;
    assert_eq!(s.register_with(&mut p).0, st::INVALID_PARAM);
    s.assert_violation(
        st::INVALID_PARAM,
        "NV_ENC_REGISTER_RESOURCE::reserved1 is not zero",
    );
}

#[test]
fn a_missing_frame_rate_is_refused() {
    let s = h264();
    let (_, mut cfg) = s.preset(nv::NV_ENC_TUNING_INFO::NV_ENC_TUNING_INFO_LOW_LATENCY);
    let mut p = s.init_params(&mut cfg);
    p.frameRateDen = 0;
    assert_eq!(s.initialize_with(&mut p), st::INVALID_PARAM);
    s.assert_violation(st::INVALID_PARAM, "frameRateNum/frameRateDen 30/0");
}

#[test]
fn an_undefined_tuning_is_refused() {
    let s = h264();
    let (_, mut cfg) = s.preset(nv::NV_ENC_TUNING_INFO::NV_ENC_TUNING_INFO_LOW_LATENCY);
    let mut p = s.init_params(&mut cfg);
    p.tuningInfo = nv::NV_ENC_TUNING_INFO::NV_ENC_TUNING_INFO_UNDEFINED;
    assert_eq!(s.initialize_with(&mut p), st::INVALID_PARAM);
    s.assert_violation(st::INVALID_PARAM, "tuningInfo 0 is not a tuning");
}

#[test]
fn an_enum_value_outside_the_header_is_refused_not_trusted() {
    let s = h264();
    let _ = s.initialize();
    let mut p = s.register_params(s.alloc_frame());
    // SAFETY: writing a number the enumeration lacks, as a buggy caller could.
    unsafe {
        std::ptr::addr_of_mut!(p.bufferFormat)
            .cast::<u32>()
            .write(0x3);
    }
    assert_eq!(s.register_with(&mut p).0, st::INVALID_PARAM);
    s.assert_violation(
        st::INVALID_PARAM,
        "bufferFormat 0x3 is not an input NV_ENC_BUFFER_FORMAT",
    );
}

#[test]
fn a_pitch_smaller_than_a_row_is_refused() {
    let s = h264();
    let _ = s.initialize();
    let mut p = s.register_params(s.alloc_frame());
    p.pitch = 316;
    assert_eq!(s.register_with(&mut p).0, st::INVALID_PARAM);
    s.assert_violation(st::INVALID_PARAM, "pitch 316");
}

#[test]
fn memory_shorter_than_the_frame_is_refused() {
    let s = h264();
    let _ = s.initialize();
    let short = s.host.alloc(s.ctx, vec![0; 1000]);
    assert_eq!(s.register(short).0, st::INVALID_PARAM);
    s.assert_violation(st::INVALID_PARAM, "its allocation ends 1000 bytes after it");
}

#[test]
fn encoding_an_unmapped_input_is_refused() {
    let (s, _, _, buf, mapped) = ready();
    assert_eq!(s.unmap(mapped), st::SUCCESS);
    assert_eq!(s.encode(mapped, buf, 0), st::RESOURCE_NOT_MAPPED);
    s.assert_violation(
        st::RESOURCE_NOT_MAPPED,
        "is not a mapped input of this session",
    );
}

#[test]
fn unregistering_a_mapped_input_is_refused() {
    let (s, _, reg, _, _) = ready();
    assert_eq!(s.unregister(reg), st::INVALID_CALL);
    s.assert_violation(st::INVALID_CALL, "still mapped");
}

#[test]
fn unmapping_before_the_bitstream_is_locked_is_refused() {
    let (s, _, _, buf, mapped) = ready();
    assert_eq!(s.encode(mapped, buf, 0), st::SUCCESS);
    assert_eq!(s.unmap(mapped), st::INVALID_CALL);
    s.assert_violation(st::INVALID_CALL, "unmap after NvEncLockBitstream");
}

#[test]
fn a_wrong_input_pitch_in_the_picture_is_refused() {
    let (s, _, _, buf, mapped) = ready();
    let mut pic = s.picture(mapped, buf, 0);
    pic.inputPitch = 320;
    assert_eq!(s.encode_with(&mut pic), st::INVALID_PARAM);
    s.assert_violation(
        st::INVALID_PARAM,
        "inputPitch 320 is not the registered resource's pitch 512",
    );
}

/// A session shared with a second thread, to break the one-locking-thread rule.
struct Shared<'a>(&'a Session);
// SAFETY: the stand-in's handles are plain numbers behind its own lock; the test's threads
// call it one after the other (the second is joined before the first goes on).
unsafe impl Sync for Shared<'_> {}

/// A session with two pictures encoded and not yet locked, and their two bitstream buffers.
fn two_in_flight() -> (Session, *mut c_void, *mut c_void) {
    let (s, _memory, _reg, buf, mapped) = ready();
    let second = s.alloc_frame();
    let (_, reg2) = s.register(second);
    let (_, buf2) = s.create_buffer();
    let (_, mapped2) = s.map(reg2);
    assert_eq!(s.encode(mapped, buf, 0), st::SUCCESS);
    assert_eq!(s.encode(mapped2, buf2, 1), st::SUCCESS);
    (s, buf, buf2)
}

#[test]
fn locking_on_a_second_thread_is_refused() {
    let (s, buf, buf2) = two_in_flight();
    assert_eq!(s.lock_copy(buf).0, st::SUCCESS);
    let shared = Shared(&s);
    let buf2 = buf2 as usize;
    let status = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let shared = &shared;
                shared.0.lock_copy(buf2 as *mut c_void).0
            })
            .join()
            .unwrap()
    });
    assert_eq!(status, st::INVALID_CALL);
    s.assert_violation(
        st::INVALID_CALL,
        "one worker thread that locks every output buffer",
    );
}

#[test]
fn locking_out_of_submission_order_is_refused() {
    let (s, _buf, buf2) = two_in_flight();
    assert_eq!(s.lock_copy(buf2).0, st::INVALID_CALL);
    s.assert_violation(st::INVALID_CALL, "locked out of order");
}

#[test]
fn destroying_with_live_resources_is_reported() {
    let (s, ..) = ready();
    assert_eq!(s.destroy(), st::INVALID_CALL);
    s.assert_violation_after_destroy();
}

trait AfterDestroy {
    fn assert_violation_after_destroy(&self);
}

impl AfterDestroy for Session {
    fn assert_violation_after_destroy(&self) {
        let v = self.violations();
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].status, st::INVALID_CALL);
        assert!(
            v[0].message.contains("destroyed with 1 registered resource(s), 1 mapped input(s), 1 bitstream buffer(s) alive"),
            "{}",
            v[0].message
        );
    }
}

#[test]
fn destroying_without_end_of_stream_is_reported() {
    let (s, _, reg, buf, mapped) = ready();
    assert_eq!(s.encode(mapped, buf, 0), st::SUCCESS);
    assert_eq!(s.lock_copy(buf).0, st::SUCCESS);
    assert_eq!(s.unmap(mapped), st::SUCCESS);
    assert_eq!(s.unregister(reg), st::SUCCESS);
    assert_eq!(s.destroy_buffer(buf), st::SUCCESS);
    assert_eq!(s.destroy(), st::INVALID_CALL);
    let v = s.violations();
    assert_eq!(v.len(), 1);
    assert!(v[0]
        .message
        .contains("destroyed without flushing: 1 picture(s)"));
}

#[test]
fn a_closed_session_handle_is_refused() {
    let s = h264();
    assert_eq!(s.destroy(), st::SUCCESS);
    let mut count = 0;
    // SAFETY: valid pointers; a stale handle.
    let c = unsafe { (s.l.nvEncGetEncodeGUIDCount.unwrap())(s.enc, &raw mut count) } as u32;
    assert_eq!(c, st::INVALID_ENCODERDEVICE);
}

#[test]
fn reconfigure_takes_a_new_bitrate_but_not_a_new_gop() {
    let s = h264();
    let mut cfg = s.initialize();
    cfg.rcParams.averageBitRate = 2_000_000;
    let mut p = nv::NV_ENC_RECONFIGURE_PARAMS {
        version: nv::NV_ENC_RECONFIGURE_PARAMS_VER,
        reInitEncodeParams: s.init_params(&mut cfg),
        ..Default::default()
    };
    // SAFETY: valid structures.
    let r = unsafe { (s.l.nvEncReconfigureEncoder.unwrap())(s.enc, &raw mut p) } as u32;
    assert_eq!(r, st::SUCCESS, "{}", s.last_error());
    let last = log::records(s.enc).pop().unwrap();
    assert!(last.message.contains("avg 2000000"), "{}", last.message);
    cfg.gopLength = 30;
    let mut p = nv::NV_ENC_RECONFIGURE_PARAMS {
        version: nv::NV_ENC_RECONFIGURE_PARAMS_VER,
        reInitEncodeParams: s.init_params(&mut cfg),
        ..Default::default()
    };
    // SAFETY: valid structures.
    let r = unsafe { (s.l.nvEncReconfigureEncoder.unwrap())(s.enc, &raw mut p) } as u32;
    assert_eq!(r, st::UNSUPPORTED_PARAM);
    s.assert_violation(st::UNSUPPORTED_PARAM, "GOP structure (gopLength 250 → 30");
}

#[test]
fn io_streams_must_belong_to_the_sessions_context() {
    let s = h264();
    let _ = s.initialize();
    let other = s.host.new_context();
    let stream = Box::new(s.host.new_stream(other));
    let p = (&raw const *stream).cast_mut().cast();
    // SAFETY: a pointer to a stream handle.
    let r = unsafe { (s.l.nvEncSetIOCudaStreams.unwrap())(s.enc, p, p) } as u32;
    assert_eq!(r, st::INVALID_PARAM);
    s.assert_violation(st::INVALID_PARAM, "not of the session's");
}

#[test]
fn ten_bit_h264_is_unsupported() {
    let s = Session::open(nv::NV_ENC_CODEC_H264_GUID, 320, 240, Fmt::P010);
    let (_, mut cfg) = s.preset(nv::NV_ENC_TUNING_INFO::NV_ENC_TUNING_INFO_LOW_LATENCY);
    let mut p = s.init_params(&mut cfg);
    assert_eq!(s.initialize_with(&mut p), st::SUCCESS);
    assert_eq!(s.register(s.alloc_frame()).0, st::UNSUPPORTED_PARAM);
    s.assert_violation(st::UNSUPPORTED_PARAM, "YUV420_10BIT input for H.264");
}

#[test]
fn b_frames_hold_pictures_until_the_next_reference() {
    // The high-quality preset is IBBP: pictures 1 and 2 are held (NEED_MORE_INPUT), 3
    // releases them; a held buffer may not be locked before that.
    let s = h264();
    let _ = s.initialize_tuned(nv::NV_ENC_TUNING_INFO::NV_ENC_TUNING_INFO_HIGH_QUALITY);
    let slots: Vec<_> = (0..4)
        .map(|_| {
            let (_, reg) = s.register(s.alloc_frame());
            let (_, buf) = s.create_buffer();
            (reg, buf)
        })
        .collect();
    let mut mapped = Vec::new();
    let mut statuses = Vec::new();
    for (n, (reg, buf)) in slots.iter().enumerate() {
        let (_, m) = s.map(*reg);
        statuses.push(s.encode(m, *buf, n as u64));
        mapped.push(m);
        if n == 1 {
            assert_eq!(s.lock_copy(*buf).0, st::INVALID_CALL);
        }
    }
    assert_eq!(
        statuses,
        [
            st::SUCCESS,
            st::NEED_MORE_INPUT,
            st::NEED_MORE_INPUT,
            st::SUCCESS
        ]
    );
    s.assert_violation(st::INVALID_CALL, "returned NV_ENC_ERR_NEED_MORE_INPUT");
    for (n, (_, buf)) in slots.iter().enumerate() {
        let (l, _, _, ts) = s.lock_copy(*buf);
        assert_eq!(
            (l, ts),
            (st::SUCCESS, n as u64),
            "locked in submission order"
        );
    }
}

#[test]
fn blackwell_has_three_engines_and_ten_bit_h264_where_ada_has_neither() {
    use ghoststream_nvenc_standin::caps::{value_on, Codec, Generation};
    use nv::NV_ENC_CAPS as C;
    let v = |g, codec, c: C| value_on(g, codec, c as u32);
    assert_eq!(
        v(
            Generation::Ada,
            Codec::Hevc,
            C::NV_ENC_CAPS_NUM_ENCODER_ENGINES
        ),
        2
    );
    assert_eq!(
        v(
            Generation::Blackwell,
            Codec::Hevc,
            C::NV_ENC_CAPS_NUM_ENCODER_ENGINES
        ),
        3
    );
    assert_eq!(
        v(
            Generation::Ada,
            Codec::H264,
            C::NV_ENC_CAPS_SUPPORT_10BIT_ENCODE
        ),
        0
    );
    assert_eq!(
        v(
            Generation::Blackwell,
            Codec::H264,
            C::NV_ENC_CAPS_SUPPORT_10BIT_ENCODE
        ),
        1
    );
    for g in [Generation::Ada, Generation::Blackwell] {
        assert_eq!(v(g, Codec::Av1, C::NV_ENC_CAPS_WIDTH_MIN), 192);
        assert_eq!(v(g, Codec::Av1, C::NV_ENC_CAPS_HEIGHT_MIN), 128);
        assert_eq!(v(g, Codec::Av1, C::NV_ENC_CAPS_NUM_MAX_BFRAMES), 7);
        assert_eq!(v(g, Codec::Hevc, C::NV_ENC_CAPS_NUM_MAX_BFRAMES), 5);
    }
}

#[test]
fn caps_come_from_the_ada_table() {
    let s = h264();
    let cap = |codec: nv::GUID, c: nv::NV_ENC_CAPS| {
        let mut p = nv::NV_ENC_CAPS_PARAM {
            version: nv::NV_ENC_CAPS_PARAM_VER,
            capsToQuery: c,
            ..Default::default()
        };
        let mut v = -1;
        // SAFETY: valid pointers.
        let r = unsafe { (s.l.nvEncGetEncodeCaps.unwrap())(s.enc, codec, &raw mut p, &raw mut v) };
        assert_eq!(r as u32, st::SUCCESS);
        v
    };
    use nv::NV_ENC_CAPS as C;
    assert_eq!(
        cap(nv::NV_ENC_CODEC_H264_GUID, C::NV_ENC_CAPS_WIDTH_MAX),
        4096
    );
    assert_eq!(
        cap(nv::NV_ENC_CODEC_HEVC_GUID, C::NV_ENC_CAPS_WIDTH_MAX),
        8192
    );
    assert_eq!(
        cap(
            nv::NV_ENC_CODEC_H264_GUID,
            C::NV_ENC_CAPS_SUPPORT_10BIT_ENCODE
        ),
        0
    );
    assert_eq!(
        cap(
            nv::NV_ENC_CODEC_AV1_GUID,
            C::NV_ENC_CAPS_SUPPORT_10BIT_ENCODE
        ),
        1
    );
    assert_eq!(
        cap(
            nv::NV_ENC_CODEC_AV1_GUID,
            C::NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE
        ),
        0
    );
    assert_eq!(
        cap(
            nv::NV_ENC_CODEC_HEVC_GUID,
            C::NV_ENC_CAPS_NUM_ENCODER_ENGINES
        ),
        2
    );
    let mut p = nv::NV_ENC_CAPS_PARAM {
        version: nv::NV_ENC_CAPS_PARAM_VER,
        ..Default::default()
    };
    // SAFETY: a number outside NV_ENC_CAPS, as a caller could pass.
    unsafe {
        std::ptr::addr_of_mut!(p.capsToQuery)
            .cast::<u32>()
            .write(99)
    };
    let mut v = 0;
    // SAFETY: valid pointers.
    let r = unsafe {
        (s.l.nvEncGetEncodeCaps.unwrap())(s.enc, nv::NV_ENC_CODEC_H264_GUID, &raw mut p, &raw mut v)
    };
    assert_eq!(r as u32, st::INVALID_PARAM);
    s.assert_violation(st::INVALID_PARAM, "capsToQuery 99");
    assert!(log::records(s.enc)
        .iter()
        .all(|r| r.kind != Kind::Limitation));
}
