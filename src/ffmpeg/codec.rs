//! libavcodec's encoders and libswscale's scaler (FFmpeg 5.1 and later).
//!
//! Everything `unsafe` that the software path needs lives here, behind three safe types:
//! [`AvEncoder`] (an opened `AVCodecContext` and its packet), [`AvPicture`] (a frame handed to
//! the encoder without a copy: its `AVBufferRef` owns our [`FrameBuffer`] and gives it back to its
//! pool when libavcodec lets go), and [`AvScaler`] (a `SwsContext` with its destination frame).

use std::ffi::{CStr, CString};
use std::os::raw::{c_int, c_void};
use std::ptr;

use ffmpeg_next::ffi as av;

use super::{error_string, quiet_logs};

use super::FfmpegError;
use crate::color::{ColorDescription, ColorMatrix, ColorPrimaries, ColorRange, TransferFunction};
use crate::format::PixelFormat;
use crate::frame::{CpuImage, FrameBuffer};
use crate::time::Rational;

/// True when libavcodec has an encoder of this name.
pub fn has_encoder(name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated string; the returned pointer is only compared to null.
    !unsafe { av::avcodec_find_encoder_by_name(c.as_ptr()) }.is_null()
}

/// The pixel formats an encoder lists as accepted (empty when it lists none or is absent).
pub fn encoder_pixel_formats(name: &str) -> Vec<PixelFormat> {
    let Ok(c) = CString::new(name) else {
        return Vec::new();
    };
    // SAFETY: c is a valid NUL-terminated string.
    let codec = unsafe { av::avcodec_find_encoder_by_name(c.as_ptr()) };
    if codec.is_null() {
        return Vec::new();
    }
    let mut out = Vec::new();
    // SAFETY: codec is a valid AVCodec from libavcodec's static table; pix_fmts, when not null,
    // is an array terminated by AV_PIX_FMT_NONE.
    unsafe {
        let mut p = (*codec).pix_fmts;
        while !p.is_null() && *p != av::AVPixelFormat::AV_PIX_FMT_NONE {
            if let Some(f) = from_av_format(*p) {
                out.push(f);
            }
            p = p.add(1);
        }
    }
    out
}

/// The libav pixel format of one of ours, where libav has it.
pub fn to_av_format(f: PixelFormat) -> Option<av::AVPixelFormat> {
    use av::AVPixelFormat::*;
    Some(match f {
        PixelFormat::Bgra8 => AV_PIX_FMT_BGRA,
        PixelFormat::Rgba8 => AV_PIX_FMT_RGBA,
        PixelFormat::Rgb10a2 => AV_PIX_FMT_X2BGR10LE,
        PixelFormat::Rgba16f => return None,
        PixelFormat::Nv12 => AV_PIX_FMT_NV12,
        PixelFormat::P010 => AV_PIX_FMT_P010LE,
        PixelFormat::I420 => AV_PIX_FMT_YUV420P,
        PixelFormat::I444 => AV_PIX_FMT_YUV444P,
        PixelFormat::I420P10 => AV_PIX_FMT_YUV420P10LE,
        PixelFormat::I444P10 => AV_PIX_FMT_YUV444P10LE,
        PixelFormat::I444P16 => AV_PIX_FMT_YUV444P16LE,
    })
}

fn from_av_format(f: av::AVPixelFormat) -> Option<PixelFormat> {
    PixelFormat::ALL
        .into_iter()
        .find(|&p| to_av_format(p) == Some(f))
}

pub(crate) fn av_matrix(m: ColorMatrix) -> av::AVColorSpace {
    match m {
        ColorMatrix::Bt601 => av::AVColorSpace::AVCOL_SPC_SMPTE170M,
        ColorMatrix::Bt709 => av::AVColorSpace::AVCOL_SPC_BT709,
        ColorMatrix::Bt2020Ncl => av::AVColorSpace::AVCOL_SPC_BT2020_NCL,
    }
}

pub(crate) fn av_transfer(t: TransferFunction) -> av::AVColorTransferCharacteristic {
    use av::AVColorTransferCharacteristic::*;
    match t {
        TransferFunction::Srgb => AVCOL_TRC_IEC61966_2_1,
        TransferFunction::Bt709 => AVCOL_TRC_BT709,
        TransferFunction::Pq => AVCOL_TRC_SMPTE2084,
        TransferFunction::Hlg => AVCOL_TRC_ARIB_STD_B67,
    }
}

pub(crate) fn av_primaries(p: ColorPrimaries) -> av::AVColorPrimaries {
    use av::AVColorPrimaries::*;
    match p {
        ColorPrimaries::Bt709 => AVCOL_PRI_BT709,
        ColorPrimaries::Bt601Pal => AVCOL_PRI_BT470BG,
        ColorPrimaries::Bt601Ntsc => AVCOL_PRI_SMPTE170M,
        ColorPrimaries::Bt2020 => AVCOL_PRI_BT2020,
        ColorPrimaries::DisplayP3 => AVCOL_PRI_SMPTE432,
    }
}

pub(crate) fn av_range(r: ColorRange) -> av::AVColorRange {
    match r {
        ColorRange::Limited => av::AVColorRange::AVCOL_RANGE_MPEG,
        ColorRange::Full => av::AVColorRange::AVCOL_RANGE_JPEG,
    }
}

/// Everything needed to open one libavcodec encoder. Built by the pure mapping in
/// `software.rs`, where it is unit-tested field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvEncoderParams {
    /// libavcodec encoder name (`libx264`, `libx265`, `libsvtav1`).
    pub encoder: &'static str,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The format the encoder is fed.
    pub input_format: PixelFormat,
    /// Time base of frame timestamps (one tick per nominal frame).
    pub time_base: Rational,
    /// Nominal frame rate.
    pub frame_rate: Rational,
    /// `bit_rate` (0: unset).
    pub bit_rate: i64,
    /// `rc_max_rate` (0: unset).
    pub rc_max_rate: i64,
    /// `rc_buffer_size` in bits (0: unset).
    pub rc_buffer_size: i64,
    /// `gop_size` (-1: leave the encoder's default).
    pub gop_size: i32,
    /// `keyint_min` (-1: leave).
    pub keyint_min: i32,
    /// `max_b_frames` (-1: leave).
    pub max_b_frames: i32,
    /// Sets `AV_CODEC_FLAG_CLOSED_GOP`.
    pub closed_gop: bool,
    /// `thread_count` (0: auto).
    pub threads: i32,
    /// Colour description for the stream's VUI / colour config.
    pub color: ColorDescription,
    /// Private options, in order (`preset`, `tune`, `x264-params`, ...).
    pub options: Vec<(String, String)>,
}

/// An opened libavcodec encoder.
pub struct AvEncoder {
    ctx: *mut av::AVCodecContext,
    packet: *mut av::AVPacket,
    name: &'static str,
    input_format: PixelFormat,
    width: u32,
    height: u32,
    /// Opened and not yet told the stream ended: dropping must drain it first (SVT-AV1's
    /// deinit blocks forever on an encoder that never saw the end of stream).
    needs_drain: bool,
    /// Pictures sent so far.
    pictures: u64,
}

// SAFETY: the context and packet are owned exclusively by this value and only touched through
// &mut self; libavcodec contexts may move between threads as long as calls are not concurrent.
unsafe impl Send for AvEncoder {}

/// One encoded packet copied out of libavcodec.
#[derive(Debug)]
pub struct AvPacketOut {
    /// Bytes.
    pub data: Vec<u8>,
    /// Presentation time in the encoder's time base.
    pub pts: i64,
    /// Decode time in the encoder's time base.
    pub dts: i64,
    /// `AV_PKT_FLAG_KEY`.
    pub keyframe: bool,
}

impl AvEncoder {
    /// Opens the encoder. Options the encoder does not recognise are an error, not a warning.
    pub fn open(p: &AvEncoderParams) -> Result<Self, FfmpegError> {
        quiet_logs();
        let libav = |op: &'static str, code: c_int| FfmpegError::Call {
            encoder: p.encoder.to_string(),
            op,
            code,
            message: error_string(code),
        };
        let name = CString::new(p.encoder).map_err(|_| FfmpegError::EncoderNotFound {
            name: p.encoder.into(),
        })?;
        // SAFETY: name is a valid NUL-terminated string.
        let codec = unsafe { av::avcodec_find_encoder_by_name(name.as_ptr()) };
        if codec.is_null() {
            return Err(FfmpegError::EncoderNotFound {
                name: p.encoder.to_string(),
            });
        }
        let fmt = to_av_format(p.input_format).ok_or(FfmpegError::UnsupportedInput {
            format: p.input_format,
            reason: "libavcodec has no matching pixel format".into(),
        })?;
        // SAFETY: codec is a valid encoder; the returned context is checked for null.
        let ctx = unsafe { av::avcodec_alloc_context3(codec) };
        if ctx.is_null() {
            return Err(libav("avcodec_alloc_context3", av::AVERROR(libc::ENOMEM)));
        }
        // SAFETY: ctx is a freshly allocated context that we own; we set plain fields before open.
        unsafe {
            let c = &mut *ctx;
            c.width = to_c_int(p.width);
            c.height = to_c_int(p.height);
            c.pix_fmt = fmt;
            c.time_base = av::AVRational {
                num: to_c_int(p.time_base.num),
                den: to_c_int(p.time_base.den),
            };
            c.framerate = av::AVRational {
                num: to_c_int(p.frame_rate.num),
                den: to_c_int(p.frame_rate.den),
            };
            c.bit_rate = p.bit_rate;
            c.rc_max_rate = p.rc_max_rate;
            c.rc_buffer_size = to_c_int(p.rc_buffer_size.min(i64::from(c_int::MAX)));
            if p.gop_size >= 0 {
                c.gop_size = p.gop_size;
            }
            if p.keyint_min >= 0 {
                c.keyint_min = p.keyint_min;
            }
            if p.max_b_frames >= 0 {
                c.max_b_frames = p.max_b_frames;
            }
            if p.closed_gop {
                // Bit 31: the flag as its bits (the `int` field is a bit set).
                c.flags |= c_int::from_ne_bytes(av::AV_CODEC_FLAG_CLOSED_GOP.to_ne_bytes());
            }
            c.thread_count = p.threads;
            // Make encoders fail on parameters they cannot parse instead of warning and
            // ignoring them (SVT-AV1's svtav1-params honours this).
            c.err_recognition |= av::AV_EF_EXPLODE as c_int;
            c.colorspace = av_matrix(p.color.matrix);
            c.color_trc = av_transfer(p.color.transfer);
            c.color_primaries = av_primaries(p.color.primaries);
            c.color_range = av_range(p.color.range);
            c.chroma_sample_location = av::AVChromaLocation::AVCHROMA_LOC_LEFT;
        }
        let mut enc = AvEncoder {
            ctx,
            packet: ptr::null_mut(),
            name: p.encoder,
            input_format: p.input_format,
            width: p.width,
            height: p.height,
            needs_drain: false,
            pictures: 0,
        };
        // SAFETY: allocation only; checked for null.
        enc.packet = unsafe { av::av_packet_alloc() };
        if enc.packet.is_null() {
            return Err(libav("av_packet_alloc", av::AVERROR(libc::ENOMEM)));
        }
        let mut dict: *mut av::AVDictionary = ptr::null_mut();
        for (k, v) in &p.options {
            let (Ok(k), Ok(v)) = (CString::new(k.as_str()), CString::new(v.as_str())) else {
                // SAFETY: dict is null or a dictionary we allocated.
                unsafe { av::av_dict_free(&raw mut dict) };
                return Err(FfmpegError::UnknownOption {
                    encoder: p.encoder.into(),
                    option: k.clone(),
                });
            };
            // SAFETY: dict is null or ours; av_dict_set copies both strings.
            unsafe { av::av_dict_set(&raw mut dict, k.as_ptr(), v.as_ptr(), 0) };
        }
        // SAFETY: ctx and codec are valid; dict is ours and receives the unrecognised options.
        let ret = unsafe { av::avcodec_open2(enc.ctx, codec, &raw mut dict) };
        // SAFETY: dict is null or ours; we read its first key (if any) and then free it.
        let leftover = unsafe {
            let e = av::av_dict_get(
                dict,
                c"".as_ptr(),
                ptr::null(),
                av::AV_DICT_IGNORE_SUFFIX as c_int,
            );
            let key =
                (!e.is_null()).then(|| CStr::from_ptr((*e).key).to_string_lossy().into_owned());
            av::av_dict_free(&raw mut dict);
            key
        };
        if ret < 0 {
            return Err(libav("avcodec_open2", ret));
        }
        enc.needs_drain = true;
        if let Some(option) = leftover {
            return Err(FfmpegError::UnknownOption {
                encoder: p.encoder.into(),
                option,
            });
        }
        Ok(enc)
    }

    /// The encoder's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The pixel format the encoder was opened for.
    pub fn input_format(&self) -> PixelFormat {
        self.input_format
    }

    /// Sends one picture (`None`: end of stream). The picture's buffer is referenced, not copied.
    /// A stream that ends before its first picture is not sent to the library (it has nothing
    /// to drain, and SVT-AV1 would wait forever for a packet): `receive` then returns `None`.
    pub fn send(&mut self, picture: Option<&AvPicture>) -> Result<(), FfmpegError> {
        if picture.is_none() && self.pictures == 0 {
            return Ok(());
        }
        let frame = picture.map_or(ptr::null(), |p| p.frame.cast_const());
        if let Some(p) = picture {
            if p.format != self.input_format {
                return Err(FfmpegError::UnsupportedInput {
                    format: p.format,
                    reason: format!("the encoder was opened for {}", self.input_format),
                });
            }
        }
        // SAFETY: ctx is an opened encoder; frame is null (flush) or a valid, filled AVFrame that
        // stays alive for the call; libavcodec takes its own reference.
        let ret = unsafe { av::avcodec_send_frame(self.ctx, frame) };
        match picture {
            Some(_) => self.pictures += 1,
            None => self.needs_drain = false,
        }
        if ret < 0 && ret != av::AVERROR_EOF {
            return Err(FfmpegError::Call {
                encoder: self.name.into(),
                op: "avcodec_send_frame",
                code: ret,
                message: error_string(ret),
            });
        }
        Ok(())
    }

    /// The next packet, or `None` when the encoder needs more input (or has finished).
    pub fn receive(&mut self) -> Result<Option<AvPacketOut>, FfmpegError> {
        if self.pictures == 0 {
            return Ok(None);
        }
        // SAFETY: ctx is opened and packet is ours; on success the packet holds a reference that
        // we copy out of and release before returning.
        unsafe {
            let ret = av::avcodec_receive_packet(self.ctx, self.packet);
            if ret == av::AVERROR(libc::EAGAIN) || ret == av::AVERROR_EOF {
                return Ok(None);
            }
            if ret < 0 {
                return Err(FfmpegError::Call {
                    encoder: self.name.into(),
                    op: "avcodec_receive_packet",
                    code: ret,
                    message: error_string(ret),
                });
            }
            let pkt = &*self.packet;
            let data = if pkt.data.is_null() || pkt.size <= 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(pkt.data, pkt.size.unsigned_abs() as usize).to_vec()
            };
            let out = AvPacketOut {
                data,
                pts: pkt.pts,
                dts: if pkt.dts == av::AV_NOPTS_VALUE {
                    pkt.pts
                } else {
                    pkt.dts
                },
                keyframe: pkt.flags & av::AV_PKT_FLAG_KEY != 0,
            };
            av::av_packet_unref(self.packet);
            Ok(Some(out))
        }
    }
}

impl Drop for AvEncoder {
    fn drop(&mut self) {
        if self.needs_drain && self.pictures == 0 && self.name == "libsvtav1" {
            // SVT-AV1 cannot be closed before it has coded a picture: give it one blank one.
            let blank = CpuImage::new(self.input_format, self.width, self.height, None)
                .ok()
                .and_then(|image| AvPicture::wrap(image, 0).ok());
            if let Some(blank) = blank {
                let _ = self.send(Some(&blank));
            }
        }
        if self.needs_drain && self.send(None).is_ok() {
            // The packets of a stream nobody will read: drained only so the library can stop.
            while let Ok(Some(_)) = self.receive() {}
        }
        // SAFETY: both pointers are ours (or null, which the free functions accept).
        unsafe {
            av::av_packet_free(&raw mut self.packet);
            av::avcodec_free_context(&raw mut self.ctx);
        }
    }
}

/// A picture ready for the encoder: an `AVFrame` whose planes point into a buffer it owns.
pub struct AvPicture {
    frame: *mut av::AVFrame,
    format: PixelFormat,
}

// SAFETY: the AVFrame and the buffer it references are owned by this value; the free callback
// only drops a FrameBuffer, which is Send.
unsafe impl Send for AvPicture {}

unsafe extern "C" fn release_frame_buffer(opaque: *mut c_void, _data: *mut u8) {
    // SAFETY: opaque is the Box<FrameBuffer> leaked in AvPicture::wrap; libavutil calls this
    // exactly once, when the last reference to the AVBufferRef goes.
    drop(unsafe { Box::from_raw(opaque.cast::<FrameBuffer>()) });
}

impl AvPicture {
    /// Wraps a CPU image for the encoder without copying its pixels. The image's buffer moves
    /// into libav's reference counting and goes back to its pool when the encoder releases it.
    pub fn wrap(image: CpuImage, pts: i64) -> Result<Self, FfmpegError> {
        let format = image.format();
        let fmt = to_av_format(format).ok_or(FfmpegError::UnsupportedInput {
            format,
            reason: "libavcodec has no matching pixel format".into(),
        })?;
        let (width, height) = (image.width(), image.height());
        let layouts = image.plane_layouts().to_vec();
        let buffer = Box::new(image.into_buffer());
        let (data_ptr, len) = (buffer.as_slice().as_ptr().cast_mut(), buffer.len());
        let opaque = Box::into_raw(buffer).cast::<c_void>();
        // SAFETY: data_ptr/len describe the Vec inside the boxed FrameBuffer, which stays alive
        // until release_frame_buffer drops it; the callback receives that box back.
        let buf =
            unsafe { av::av_buffer_create(data_ptr, len, Some(release_frame_buffer), opaque, 0) };
        if buf.is_null() {
            // SAFETY: av_buffer_create failed, so the box was not taken over; reclaim it.
            drop(unsafe { Box::from_raw(opaque.cast::<FrameBuffer>()) });
            return Err(FfmpegError::Call {
                encoder: "libavutil".into(),
                op: "av_buffer_create",
                code: av::AVERROR(libc::ENOMEM),
                message: "out of memory".into(),
            });
        }
        // SAFETY: allocation; checked for null below (the buffer ref is released on failure).
        let frame = unsafe { av::av_frame_alloc() };
        if frame.is_null() {
            // SAFETY: buf is ours.
            unsafe { av::av_buffer_unref(&mut buf.cast()) };
            return Err(FfmpegError::Call {
                encoder: "libavutil".into(),
                op: "av_frame_alloc",
                code: av::AVERROR(libc::ENOMEM),
                message: "out of memory".into(),
            });
        }
        // SAFETY: frame is a fresh AVFrame we own; the plane pointers stay inside the buffer that
        // buf[0] keeps alive (the layouts were checked against it when the CpuImage was built).
        unsafe {
            let f = &mut *frame;
            f.format = fmt as c_int;
            f.width = to_c_int(width);
            f.height = to_c_int(height);
            f.pts = pts;
            f.buf[0] = buf;
            for (i, l) in layouts.iter().enumerate() {
                f.data[i] = data_ptr.add(l.offset);
                f.linesize[i] = to_c_int(l.stride);
            }
        }
        Ok(Self { frame, format })
    }

    /// Asks the encoder to code this picture as a keyframe (an I picture; the encoders'
    /// wrappers make it a key/IDR frame).
    pub fn force_keyframe(&mut self) {
        // SAFETY: the frame is a live AVFrame owned by this value.
        unsafe { (*self.frame).pict_type = av::AVPictureType::AV_PICTURE_TYPE_I };
    }
}

impl Drop for AvPicture {
    fn drop(&mut self) {
        // SAFETY: the frame is ours; freeing it drops our reference to the buffer.
        unsafe { av::av_frame_free(&raw mut self.frame) };
    }
}

/// A libswscale converter from one format to another at the same size. The caller supplies each
/// destination image (from a pool), so a frame the encoder still references is never overwritten.
pub struct AvScaler {
    ctx: *mut av::SwsContext,
    from: PixelFormat,
    to: PixelFormat,
    width: u32,
    height: u32,
}

// SAFETY: the SwsContext is owned exclusively by this value and used through &mut self only.
unsafe impl Send for AvScaler {}

fn sws_colorspace(m: ColorMatrix) -> c_int {
    match m {
        ColorMatrix::Bt601 => av::SWS_CS_ITU601,
        ColorMatrix::Bt709 => av::SWS_CS_ITU709,
        ColorMatrix::Bt2020Ncl => av::SWS_CS_BT2020,
    }
}

impl AvScaler {
    /// A converter from `from` to `to`. For RGB input, `color` gives the YUV matrix and range
    /// of the output (RGB is taken as full range).
    pub fn new(
        from: PixelFormat,
        to: PixelFormat,
        width: u32,
        height: u32,
        color: ColorDescription,
    ) -> Result<Self, FfmpegError> {
        let unsupported = |f| FfmpegError::UnsupportedInput {
            format: f,
            reason: "the CPU converter has no such format; the GPU path converts it".into(),
        };
        let src = to_av_format(from).ok_or_else(|| unsupported(from))?;
        let dst = to_av_format(to).ok_or_else(|| unsupported(to))?;
        // SAFETY: valid formats and sizes; no filters or params; the result is checked for null.
        let ctx = unsafe {
            av::sws_getContext(
                to_c_int(width),
                to_c_int(height),
                src,
                to_c_int(width),
                to_c_int(height),
                dst,
                av::SWS_BILINEAR | av::SWS_ACCURATE_RND as c_int | av::SWS_FULL_CHR_H_INT as c_int,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null(),
            )
        };
        if ctx.is_null() {
            return Err(FfmpegError::UnsupportedInput {
                format: from,
                reason: format!("libswscale cannot convert {from} to {to}"),
            });
        }
        let cs = sws_colorspace(color.matrix);
        let src_full = from.is_rgb() || color.range == ColorRange::Full;
        let dst_full = color.range == ColorRange::Full;
        // SAFETY: ctx is valid; sws_getCoefficients returns a pointer into a static table.
        unsafe {
            let table = av::sws_getCoefficients(cs);
            av::sws_setColorspaceDetails(
                ctx,
                table,
                c_int::from(src_full),
                table,
                c_int::from(dst_full),
                0,
                1 << 16,
                1 << 16,
            );
        }
        Ok(Self {
            ctx,
            from,
            to,
            width,
            height,
        })
    }

    /// Converts `image` into a new tightly packed image of the target format.
    pub fn convert(&mut self, image: &CpuImage, out: &mut CpuImage) -> Result<(), FfmpegError> {
        if image.format() != self.from
            || (image.width(), image.height()) != (self.width, self.height)
            || out.format() != self.to
        {
            return Err(FfmpegError::UnsupportedInput {
                format: image.format(),
                reason: format!(
                    "converter was built for {} {}x{}",
                    self.from, self.width, self.height
                ),
            });
        }
        let mut src_ptrs = [ptr::null::<u8>(); 4];
        let mut src_strides = [0 as c_int; 4];
        for (i, l) in image.plane_layouts().iter().enumerate() {
            src_ptrs[i] = image.data()[l.offset..].as_ptr();
            src_strides[i] = to_c_int(l.stride);
        }
        let out_layouts = out.plane_layouts().to_vec();
        let base = out.data_mut().as_mut_ptr();
        let mut dst_ptrs = [ptr::null_mut::<u8>(); 4];
        let mut dst_strides = [0 as c_int; 4];
        for (i, l) in out_layouts.iter().enumerate() {
            // SAFETY: offsets come from the image's own checked layout.
            dst_ptrs[i] = unsafe { base.add(l.offset) };
            dst_strides[i] = to_c_int(l.stride);
        }
        // SAFETY: the plane pointers and strides describe the two images' buffers, checked when
        // the images were built for exactly these formats and sizes; both outlive the call.
        let rows = unsafe {
            av::sws_scale(
                self.ctx,
                src_ptrs.as_ptr(),
                src_strides.as_ptr(),
                0,
                to_c_int(self.height),
                dst_ptrs.as_ptr(),
                dst_strides.as_ptr(),
            )
        };
        if rows != to_c_int(self.height) {
            return Err(FfmpegError::Call {
                encoder: "libswscale".into(),
                op: "sws_scale",
                code: rows,
                message: format!("wrote {rows} of {} rows", self.height),
            });
        }
        Ok(())
    }
}

impl Drop for AvScaler {
    fn drop(&mut self) {
        // SAFETY: ctx is ours.
        unsafe { av::sws_freeContext(self.ctx) };
    }
}

/// `v` as the C `int` libav's fields hold. Every caller passes a size, stride, rate term or
/// buffer size that `SessionConfig::validate` and the images' checked layouts bound far below
/// `c_int::MAX`; a value past it would saturate rather than wrap.
fn to_c_int<T: TryInto<c_int>>(v: T) -> c_int {
    v.try_into().unwrap_or(c_int::MAX)
}
