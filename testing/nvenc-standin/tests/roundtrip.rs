//! The STAND-IN against a correct caller: the backend's sequence (open, preset, initialise,
//! IO stream, register and bitstream buffers per slot, then per frame map, encode, lock,
//! unlock, unmap; end of stream; unregister, destroy buffers, destroy) records no violation,
//! and the H.264 and HEVC streams decode with ffmpeg to exactly the pixels put in device
//! memory, at a size that is not a multiple of 16 (cropped), with a forced IDR in the middle.

mod common;

use common::{ffmpeg_decode, pattern, st, Fmt, Session};
use ghoststream_nvenc_standin::log::Kind;
use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

const FRAMES: u32 = 8;
const SLOTS: usize = 3;

/// Runs the whole sequence; returns the stream and the expected decoded bytes.
fn run(codec: nv::GUID, fmt: Fmt, force_idr_at: u32) -> (Session, Vec<u8>, Vec<u8>) {
    // 256x144: inside every codec's smallest size (AV1's is 192x128).
    let s = Session::open(codec, 256, 144, fmt);
    let _cfg = s.initialize();
    let stream_handle = Box::new(s.host.new_stream(s.ctx));
    let p = (&raw const *stream_handle).cast_mut().cast();
    // SAFETY: a pointer to a CUstream handle that outlives the session.
    let io = unsafe { (s.l.nvEncSetIOCudaStreams.unwrap())(s.enc, p, p) } as u32;
    assert_eq!(io, st::SUCCESS, "{}", s.last_error());
    let slots: Vec<_> = (0..SLOTS)
        .map(|_| {
            let memory = s.alloc_frame();
            let (r, reg) = s.register(memory);
            assert_eq!(r, st::SUCCESS, "{}", s.last_error());
            let (b, buf) = s.create_buffer();
            assert_eq!(b, st::SUCCESS);
            (memory, reg, buf)
        })
        .collect();
    let (mut stream, mut expected) = (Vec::new(), Vec::new());
    for n in 0..FRAMES {
        let (memory, reg, buf) = slots[n as usize % SLOTS];
        let (frame, want) = pattern(&s, n);
        s.host.write(memory, &frame);
        let (m, mapped) = s.map(reg);
        assert_eq!(m, st::SUCCESS, "{}", s.last_error());
        let mut pic = s.picture(mapped, buf, 1000 + u64::from(n));
        if n == force_idr_at {
            pic.encodePicFlags = nv::NV_ENC_PIC_FLAGS::NV_ENC_PIC_FLAG_FORCEIDR as u32
                | nv::NV_ENC_PIC_FLAGS::NV_ENC_PIC_FLAG_OUTPUT_SPSPPS as u32;
        }
        assert_eq!(s.encode_with(&mut pic), st::SUCCESS, "{}", s.last_error());
        let (l, data, kind, ts) = s.lock_copy(buf);
        assert_eq!(l, st::SUCCESS, "{}", s.last_error());
        let idr = n == 0 || n == force_idr_at;
        assert_eq!(kind, if idr { 3 } else { 0 }, "picture {n}: IDR or P");
        assert_eq!(ts, 1000 + u64::from(n), "the timestamp comes back");
        assert_eq!(s.unmap(mapped), st::SUCCESS);
        stream.extend(data);
        expected.extend(want);
    }
    assert_eq!(s.end_of_stream(), st::SUCCESS);
    for (_, reg, buf) in slots {
        assert_eq!(s.unregister(reg), st::SUCCESS);
        assert_eq!(s.destroy_buffer(buf), st::SUCCESS);
    }
    assert_eq!(s.destroy(), st::SUCCESS, "{:#?}", s.violations());
    assert!(s.violations().is_empty(), "{:#?}", s.violations());
    let records = ghoststream_nvenc_standin::log::records(s.enc);
    assert!(records.iter().all(|r| r.kind == Kind::Call));
    drop(stream_handle);
    (s, stream, expected)
}

#[test]
fn h264_nv12_decodes_to_exactly_the_input() {
    let (_, stream, expected) = run(nv::NV_ENC_CODEC_H264_GUID, Fmt::Nv12, 5);
    assert_eq!(stream[..5], [0, 0, 0, 1, 0x67], "an SPS first");
    if let Some(decoded) = ffmpeg_decode(&stream, "h264", "nv12") {
        assert_eq!(decoded.len(), expected.len());
        assert!(decoded == expected, "decoded pixels differ");
    }
}

#[test]
fn hevc_nv12_decodes_to_exactly_the_input() {
    let (_, stream, expected) = run(nv::NV_ENC_CODEC_HEVC_GUID, Fmt::Nv12, 3);
    assert_eq!(stream[..5], [0, 0, 0, 1, 0x40], "a VPS first");
    if let Some(decoded) = ffmpeg_decode(&stream, "hevc", "nv12") {
        assert_eq!(decoded.len(), expected.len());
        assert!(decoded == expected, "decoded pixels differ");
    }
}

#[test]
fn hevc_p010_decodes_to_exactly_the_input() {
    let (_, stream, expected) = run(nv::NV_ENC_CODEC_HEVC_GUID, Fmt::P010, 6);
    if let Some(decoded) = ffmpeg_decode(&stream, "hevc", "p010le") {
        assert_eq!(decoded.len(), expected.len());
        assert!(decoded == expected, "decoded pixels differ");
    }
}

#[test]
fn av1_gives_temporal_units_of_placeholder_obus() {
    let (_, stream, _) = run(nv::NV_ENC_CODEC_AV1_GUID, Fmt::Nv12, 4);
    // Walk the low-overhead OBUs: a temporal delimiter (type 2) then a padding OBU (15) per
    // picture, each with a size field.
    let (mut at, mut kinds) = (0, Vec::new());
    while at < stream.len() {
        let header = stream[at];
        assert_eq!(
            header & 0b1000_0111,
            0b10,
            "forbidden bit 0, has_size_field 1"
        );
        kinds.push(header >> 3);
        let (mut size, mut shift) = (0usize, 0);
        at += 1;
        loop {
            let b = stream[at];
            at += 1;
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        at += size;
    }
    assert_eq!(at, stream.len());
    assert_eq!(kinds.len(), 2 * FRAMES as usize);
    assert!(kinds.chunks(2).all(|k| k == [2, 15]), "{kinds:?}");
}

/// The backend's threading: one thread maps and submits, another locks, unlocks and unmaps
/// in submission order (handing slots back through a channel); no violation, and the stream
/// decodes to exactly the input.
#[test]
fn an_output_thread_locks_while_the_submitter_goes_on() {
    use std::sync::mpsc;
    const N: u32 = 24;
    let s = Session::open(nv::NV_ENC_CODEC_H264_GUID, 176, 144, Fmt::Nv12);
    let _cfg = s.initialize();
    let slots: Vec<_> = (0..4)
        .map(|_| {
            let memory = s.alloc_frame();
            let (_, reg) = s.register(memory);
            let (_, buf) = s.create_buffer();
            (memory, reg as usize, buf as usize)
        })
        .collect();
    let (to_output, pending) = mpsc::channel::<(usize, usize, usize)>();
    let (free_tx, free) = mpsc::channel::<usize>();
    for i in 0..slots.len() {
        free_tx.send(i).unwrap();
    }
    let (l, enc) = (s.l, s.enc as usize);
    let output = std::thread::Builder::new()
        .name("standin-test-output".into())
        .spawn(move || {
            let mut stream = Vec::new();
            for (slot, mapped, buf) in pending {
                let mut p = nv::NV_ENC_LOCK_BITSTREAM {
                    version: nv::NV_ENC_LOCK_BITSTREAM_VER,
                    outputBitstream: buf as *mut std::ffi::c_void,
                    ..Default::default()
                };
                let enc = enc as *mut std::ffi::c_void;
                // SAFETY: a valid structure; the stand-in's handles.
                let r = unsafe { (l.nvEncLockBitstream.unwrap())(enc, &raw mut p) } as u32;
                assert_eq!(r, st::SUCCESS);
                // SAFETY: valid until the unlock.
                stream.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(
                        p.bitstreamBufferPtr.cast::<u8>(),
                        p.bitstreamSizeInBytes as usize,
                    )
                });
                // SAFETY: the stand-in's handles.
                let u = unsafe { (l.nvEncUnlockBitstream.unwrap())(enc, buf as *mut _) } as u32;
                // SAFETY: as above.
                let m = unsafe { (l.nvEncUnmapInputResource.unwrap())(enc, mapped as *mut _) };
                assert_eq!((u, m as u32), (st::SUCCESS, st::SUCCESS));
                free_tx.send(slot).unwrap();
            }
            stream
        })
        .unwrap();
    let mut expected = Vec::new();
    for n in 0..N {
        let slot = free.recv().unwrap();
        let (memory, reg, buf) = slots[slot];
        let (frame, want) = pattern(&s, n);
        s.host.write(memory, &frame);
        let (m, mapped) = s.map(reg as *mut _);
        assert_eq!(m, st::SUCCESS);
        assert_eq!(s.encode(mapped, buf as *mut _, u64::from(n)), st::SUCCESS);
        to_output.send((slot, mapped as usize, buf)).unwrap();
        expected.extend(want);
    }
    assert_eq!(s.end_of_stream(), st::SUCCESS);
    drop(to_output);
    let stream = output.join().unwrap();
    for (_, reg, buf) in slots {
        assert_eq!(s.unregister(reg as *mut _), st::SUCCESS);
        assert_eq!(s.destroy_buffer(buf as *mut _), st::SUCCESS);
    }
    assert_eq!(s.destroy(), st::SUCCESS);
    assert!(s.violations().is_empty(), "{:#?}", s.violations());
    if let Some(decoded) = ffmpeg_decode(&stream, "h264", "nv12") {
        assert!(decoded == expected, "decoded pixels differ");
    }
}
