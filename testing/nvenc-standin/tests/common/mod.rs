//! Helpers of the STAND-IN's tests: the function table, a session on a host-memory CUDA
//! context, and the calls the backend makes, each returning the raw status.

#![allow(dead_code)]

use std::ffi::{c_void, CStr};
use std::sync::Arc;

use ghoststream_nvenc_standin::cuda::{host_cuda, HostCuda};
use ghoststream_nvenc_standin::ffi::NvEncodeAPICreateInstance;
use ghoststream_nvenc_standin::log::{self, Kind, Record};
use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

pub use ghoststream_nvenc_standin::status as st;

/// The function table, as the backend's loader fills it.
pub fn table() -> nv::NV_ENCODE_API_FUNCTION_LIST {
    let mut list = nv::NV_ENCODE_API_FUNCTION_LIST {
        version: nv::NV_ENCODE_API_FUNCTION_LIST_VER,
        ..Default::default()
    };
    // SAFETY: a zeroed table with its version.
    let s = unsafe { NvEncodeAPICreateInstance(&raw mut list) };
    assert_eq!(s, st::SUCCESS);
    list
}

/// The picture format under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    Nv12,
    P010,
}

impl Fmt {
    pub fn nv(self) -> nv::NV_ENC_BUFFER_FORMAT {
        match self {
            Fmt::Nv12 => nv::NV_ENC_BUFFER_FORMAT::NV_ENC_BUFFER_FORMAT_NV12,
            Fmt::P010 => nv::NV_ENC_BUFFER_FORMAT::NV_ENC_BUFFER_FORMAT_YUV420_10BIT,
        }
    }
    pub fn bytes(self) -> u32 {
        match self {
            Fmt::Nv12 => 1,
            Fmt::P010 => 2,
        }
    }
}

/// An open session on a fresh host-memory context.
pub struct Session {
    pub l: nv::NV_ENCODE_API_FUNCTION_LIST,
    pub host: Arc<HostCuda>,
    pub ctx: usize,
    pub enc: *mut c_void,
    pub codec: nv::GUID,
    pub width: u32,
    pub height: u32,
    pub pitch: u32,
    pub fmt: Fmt,
}

pub fn open_params(ctx: usize) -> nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {
    nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {
        version: nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER,
        deviceType: nv::NV_ENC_DEVICE_TYPE::NV_ENC_DEVICE_TYPE_CUDA,
        device: ctx as *mut c_void,
        apiVersion: nv::NVENCAPI_VERSION,
        ..Default::default()
    }
}

impl Session {
    /// Opens a session (asserting success) for `codec` pictures of `width`x`height`.
    pub fn open(codec: nv::GUID, width: u32, height: u32, fmt: Fmt) -> Self {
        let host = host_cuda();
        let ctx = host.new_context();
        let l = table();
        let mut p = open_params(ctx);
        let mut enc = std::ptr::null_mut();
        // SAFETY: a valid structure and handle slot.
        let s = unsafe { (l.nvEncOpenEncodeSessionEx.unwrap())(&raw mut p, &raw mut enc) };
        assert_eq!(s as u32, st::SUCCESS);
        let pitch = (width * fmt.bytes()).div_ceil(256) * 256;
        Self {
            l,
            host,
            ctx,
            enc,
            codec,
            width,
            height,
            pitch,
            fmt,
        }
    }

    pub fn violations(&self) -> Vec<Record> {
        log::violations(self.enc)
    }

    /// The only violation recorded: asserts there is one, with `status`, mentioning `text`.
    pub fn assert_violation(&self, status: u32, text: &str) {
        let v = self.violations();
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].status, status, "{v:#?}");
        assert_eq!(v[0].kind, Kind::Violation);
        assert!(
            v[0].message.contains(text),
            "{:?} lacks {text:?}",
            v[0].message
        );
        let last = self.last_error();
        assert!(last.contains(text), "last error {last:?} lacks {text:?}");
    }

    pub fn last_error(&self) -> String {
        // SAFETY: a session handle; the string is NUL-terminated.
        let p = unsafe { (self.l.nvEncGetLastErrorString.unwrap())(self.enc) };
        // SAFETY: as above.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// The preset configuration for `tuning`.
    pub fn preset(&self, tuning: nv::NV_ENC_TUNING_INFO) -> (u32, Box<nv::NV_ENC_CONFIG>) {
        let mut p = Box::new(nv::NV_ENC_PRESET_CONFIG {
            version: nv::NV_ENC_PRESET_CONFIG_VER,
            ..Default::default()
        });
        p.presetCfg.version = nv::NV_ENC_CONFIG_VER;
        // SAFETY: valid structures.
        let s = unsafe {
            (self.l.nvEncGetEncodePresetConfigEx.unwrap())(
                self.enc,
                self.codec,
                nv::NV_ENC_PRESET_P4_GUID,
                tuning,
                &raw mut *p,
            )
        };
        (s as u32, Box::new(p.presetCfg))
    }

    pub fn init_params(&self, cfg: &mut nv::NV_ENC_CONFIG) -> nv::NV_ENC_INITIALIZE_PARAMS {
        nv::NV_ENC_INITIALIZE_PARAMS {
            version: nv::NV_ENC_INITIALIZE_PARAMS_VER,
            encodeGUID: self.codec,
            presetGUID: nv::NV_ENC_PRESET_P4_GUID,
            encodeWidth: self.width,
            encodeHeight: self.height,
            darWidth: self.width,
            darHeight: self.height,
            frameRateNum: 30,
            frameRateDen: 1,
            enablePTD: 1,
            encodeConfig: cfg,
            maxEncodeWidth: self.width,
            maxEncodeHeight: self.height,
            tuningInfo: nv::NV_ENC_TUNING_INFO::NV_ENC_TUNING_INFO_LOW_LATENCY,
            ..Default::default()
        }
    }

    pub fn initialize_with(&self, p: &mut nv::NV_ENC_INITIALIZE_PARAMS) -> u32 {
        // SAFETY: valid structures alive for the call.
        unsafe { (self.l.nvEncInitializeEncoder.unwrap())(self.enc, p) as u32 }
    }

    /// Preset (low latency) then initialise, as the backend does; both asserted.
    pub fn initialize(&self) -> Box<nv::NV_ENC_CONFIG> {
        self.initialize_tuned(nv::NV_ENC_TUNING_INFO::NV_ENC_TUNING_INFO_LOW_LATENCY)
    }

    pub fn initialize_tuned(&self, tuning: nv::NV_ENC_TUNING_INFO) -> Box<nv::NV_ENC_CONFIG> {
        let (s, mut cfg) = self.preset(tuning);
        assert_eq!(s, st::SUCCESS, "{}", self.last_error());
        cfg.profileGUID = if self.fmt == Fmt::P010 {
            nv::NV_ENC_HEVC_PROFILE_MAIN10_GUID
        } else {
            nv::NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID
        };
        let mut p = self.init_params(&mut cfg);
        p.tuningInfo = tuning;
        assert_eq!(
            self.initialize_with(&mut p),
            st::SUCCESS,
            "{}",
            self.last_error()
        );
        cfg
    }

    /// Device memory for one frame.
    pub fn alloc_frame(&self) -> u64 {
        let len = self.pitch as usize * (self.height + self.height.div_ceil(2)) as usize;
        self.host.alloc(self.ctx, vec![0; len])
    }

    pub fn register_params(&self, pointer: u64) -> nv::NV_ENC_REGISTER_RESOURCE {
        nv::NV_ENC_REGISTER_RESOURCE {
            version: nv::NV_ENC_REGISTER_RESOURCE_VER,
            resourceType: nv::NV_ENC_INPUT_RESOURCE_TYPE::NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR,
            width: self.width,
            height: self.height,
            pitch: self.pitch,
            resourceToRegister: pointer as *mut c_void,
            bufferFormat: self.fmt.nv(),
            bufferUsage: nv::NV_ENC_BUFFER_USAGE::NV_ENC_INPUT_IMAGE,
            ..Default::default()
        }
    }

    pub fn register_with(&self, p: &mut nv::NV_ENC_REGISTER_RESOURCE) -> (u32, *mut c_void) {
        // SAFETY: a valid structure alive for the call.
        let s = unsafe { (self.l.nvEncRegisterResource.unwrap())(self.enc, p) };
        (s as u32, p.registeredResource)
    }

    pub fn register(&self, pointer: u64) -> (u32, *mut c_void) {
        self.register_with(&mut self.register_params(pointer))
    }

    pub fn unregister(&self, r: *mut c_void) -> u32 {
        // SAFETY: plain handles.
        unsafe { (self.l.nvEncUnregisterResource.unwrap())(self.enc, r) as u32 }
    }

    pub fn create_buffer(&self) -> (u32, *mut c_void) {
        let mut p = nv::NV_ENC_CREATE_BITSTREAM_BUFFER {
            version: nv::NV_ENC_CREATE_BITSTREAM_BUFFER_VER,
            ..Default::default()
        };
        // SAFETY: a valid structure.
        let s = unsafe { (self.l.nvEncCreateBitstreamBuffer.unwrap())(self.enc, &raw mut p) };
        (s as u32, p.bitstreamBuffer)
    }

    pub fn destroy_buffer(&self, b: *mut c_void) -> u32 {
        // SAFETY: plain handles.
        unsafe { (self.l.nvEncDestroyBitstreamBuffer.unwrap())(self.enc, b) as u32 }
    }

    pub fn map(&self, r: *mut c_void) -> (u32, *mut c_void) {
        let mut p = nv::NV_ENC_MAP_INPUT_RESOURCE {
            version: nv::NV_ENC_MAP_INPUT_RESOURCE_VER,
            registeredResource: r,
            ..Default::default()
        };
        // SAFETY: a valid structure.
        let s = unsafe { (self.l.nvEncMapInputResource.unwrap())(self.enc, &raw mut p) };
        (s as u32, p.mappedResource)
    }

    pub fn unmap(&self, m: *mut c_void) -> u32 {
        // SAFETY: plain handles.
        unsafe { (self.l.nvEncUnmapInputResource.unwrap())(self.enc, m) as u32 }
    }

    /// The backend's picture parameters.
    pub fn picture(&self, mapped: *mut c_void, out: *mut c_void, ts: u64) -> nv::NV_ENC_PIC_PARAMS {
        nv::NV_ENC_PIC_PARAMS {
            version: nv::NV_ENC_PIC_PARAMS_VER,
            inputWidth: self.width,
            inputHeight: self.height,
            inputPitch: self.pitch,
            inputBuffer: mapped,
            outputBitstream: out,
            bufferFmt: self.fmt.nv(),
            pictureStruct: nv::NV_ENC_PIC_STRUCT::NV_ENC_PIC_STRUCT_FRAME,
            inputTimeStamp: ts,
            ..Default::default()
        }
    }

    pub fn encode_with(&self, p: &mut nv::NV_ENC_PIC_PARAMS) -> u32 {
        // SAFETY: a valid structure; its handles are the stand-in's.
        unsafe { (self.l.nvEncEncodePicture.unwrap())(self.enc, p) as u32 }
    }

    pub fn encode(&self, mapped: *mut c_void, out: *mut c_void, ts: u64) -> u32 {
        self.encode_with(&mut self.picture(mapped, out, ts))
    }

    pub fn end_of_stream(&self) -> u32 {
        let mut p = nv::NV_ENC_PIC_PARAMS {
            version: nv::NV_ENC_PIC_PARAMS_VER,
            encodePicFlags: nv::NV_ENC_PIC_FLAGS::NV_ENC_PIC_FLAG_EOS as u32,
            ..Default::default()
        };
        self.encode_with(&mut p)
    }

    /// Lock, copy, unlock: (lock status, bytes, picture type, timestamp).
    pub fn lock_copy(&self, out: *mut c_void) -> (u32, Vec<u8>, u32, u64) {
        let mut p = nv::NV_ENC_LOCK_BITSTREAM {
            version: nv::NV_ENC_LOCK_BITSTREAM_VER,
            outputBitstream: out,
            ..Default::default()
        };
        // SAFETY: a valid structure.
        let s = unsafe { (self.l.nvEncLockBitstream.unwrap())(self.enc, &raw mut p) } as u32;
        if s != st::SUCCESS {
            return (s, Vec::new(), 0, 0);
        }
        // SAFETY: valid for the size until the unlock.
        let data = unsafe {
            std::slice::from_raw_parts(
                p.bitstreamBufferPtr.cast::<u8>(),
                p.bitstreamSizeInBytes as usize,
            )
        }
        .to_vec();
        // SAFETY: plain handles.
        let u = unsafe { (self.l.nvEncUnlockBitstream.unwrap())(self.enc, out) } as u32;
        assert_eq!(u, st::SUCCESS);
        (s, data, p.pictureType as u32, p.outputTimeStamp)
    }

    pub fn destroy(&self) -> u32 {
        // SAFETY: the session handle.
        unsafe { (self.l.nvEncDestroyEncoder.unwrap())(self.enc) as u32 }
    }
}

/// A test pattern frame in the session's layout (pitch rows, chroma after luma), and the
/// picture ffmpeg should decode (`nv12` or `p010le` rows of the visible size).
pub fn pattern(s: &Session, n: u32) -> (Vec<u8>, Vec<u8>) {
    let (w, h, pitch) = (s.width as usize, s.height as usize, s.pitch as usize);
    let bps = s.fmt.bytes() as usize;
    let rows = h + h.div_ceil(2);
    let mut frame = vec![0u8; pitch * rows];
    let mut expected = Vec::with_capacity(w * bps * rows);
    for y in 0..rows {
        for x in 0..w {
            let v = u32::try_from(x * 3 + y * 7 + n as usize * 11 + (x * y) % 13).unwrap();
            let at = y * pitch + x * bps;
            match s.fmt {
                Fmt::Nv12 => frame[at] = v.to_le_bytes()[0],
                Fmt::P010 => {
                    let word = ((v * 5) & 0x3ff) << 6;
                    frame[at..at + 2].copy_from_slice(&u16::try_from(word).unwrap().to_le_bytes());
                }
            }
        }
        expected.extend_from_slice(&frame[y * pitch..y * pitch + w * bps]);
    }
    (frame, expected)
}

/// Decodes `stream` with ffmpeg (`demuxer` h264 or hevc) to raw `pix_fmt`; None without
/// ffmpeg.
pub fn ffmpeg_decode(stream: &[u8], demuxer: &str, pix_fmt: &str) -> Option<Vec<u8>> {
    use std::process::Command;
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("SKIPPED: no ffmpeg on PATH");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("stream.{demuxer}"));
    std::fs::write(&path, stream).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-f", demuxer, "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}
