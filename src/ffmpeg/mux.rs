//! libavformat's muxers (FFmpeg 5.1 and later): one output file or URL with one video stream,
//! behind [`Muxer`]; `output::container` and `output::live` decide what goes in.

use std::ffi::CString;
use std::os::raw::c_int;
use std::ptr;

use ffmpeg_next::ffi as av;

use super::codec::{av_matrix, av_primaries, av_range, av_transfer};
use super::{error_string, FfmpegError};
use crate::codec::Codec;
use crate::color::ColorDescription;
use crate::hdr::HdrMetadata;
use crate::time::Rational;

/// What the stream carries, written into the container's header.
#[derive(Clone, Debug)]
pub(crate) struct TrackParams {
    pub codec: Codec,
    pub width: u32,
    pub height: u32,
    pub frame_rate: Rational,
    pub color: ColorDescription,
    pub hdr: Option<HdrMetadata>,
    /// The codec configuration record (`avcC`, `hvcC`, `av1C`); empty for none.
    pub extradata: Vec<u8>,
}

/// libavutil's `AVMasteringDisplayMetadata` (mastering_display_metadata.h): primaries as
/// [R, G, B][x, y], the white point, then min and max luminance, with two presence flags.
#[repr(C)]
struct MasteringDisplayMetadata {
    display_primaries: [[av::AVRational; 2]; 3],
    white_point: [av::AVRational; 2],
    min_luminance: av::AVRational,
    max_luminance: av::AVRational,
    has_primaries: c_int,
    has_luminance: c_int,
}

/// libavutil's `AVContentLightMetadata`: MaxCLL and MaxFALL in cd/m².
#[repr(C)]
struct ContentLightMetadata {
    max_cll: u32,
    max_fall: u32,
}

/// An output file being muxed.
pub(crate) struct Muxer {
    ctx: *mut av::AVFormatContext,
    stream: *mut av::AVStream,
    packet: *mut av::AVPacket,
    header_written: bool,
}

// SAFETY: the contexts are owned by this value alone and used from one thread at a time
// (`&mut self`); libavformat keeps no thread affinity.
unsafe impl Send for Muxer {}

impl std::fmt::Debug for Muxer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Muxer")
            .field("header_written", &self.header_written)
            .finish_non_exhaustive()
    }
}

fn c_string(s: &str) -> Result<CString, FfmpegError> {
    CString::new(s).map_err(|_| FfmpegError::Muxer {
        reason: format!("{s:?} holds a NUL byte"),
    })
}

/// An `AVDictionary` of `options`; the caller frees it (av_dict_free).
fn dictionary(options: &[(&str, String)]) -> Result<*mut av::AVDictionary, FfmpegError> {
    let mut dict = ptr::null_mut();
    for (key, value) in options {
        let (k, v) = (c_string(key)?, c_string(value)?);
        // SAFETY: valid NUL-terminated strings; av_dict_set copies them.
        let r = unsafe { av::av_dict_set(&raw mut dict, k.as_ptr(), v.as_ptr(), 0) };
        if r < 0 {
            // SAFETY: `dict` is null or a dictionary built above.
            unsafe { av::av_dict_free(&raw mut dict) };
            return Err(FfmpegError::Muxer {
                reason: error_string(r),
            });
        }
    }
    Ok(dict)
}

impl Muxer {
    /// Opens `url` (a file path, `rtmp://…`, `srt://…`) for the libavformat muxer `format`
    /// (`matroska`, `mp4`, `mpegts`, `flv`), with the protocol's `io_options` (timeouts,
    /// latency); a file exists, a connection is made, when this returns.
    pub fn create(
        url: &str,
        format: &str,
        io_options: &[(&str, String)],
    ) -> Result<Self, FfmpegError> {
        super::quiet_logs();
        static NETWORK: std::sync::Once = std::sync::Once::new();
        // SAFETY: global network setup, once, before any network protocol is opened.
        NETWORK.call_once(|| unsafe {
            av::avformat_network_init();
        });
        let name = c_string(format)?;
        let file = c_string(url)?;
        let mut ctx = ptr::null_mut();
        // SAFETY: valid NUL-terminated strings; `ctx` receives a new context or stays null.
        let r = unsafe {
            av::avformat_alloc_output_context2(
                &raw mut ctx,
                ptr::null(),
                name.as_ptr(),
                file.as_ptr(),
            )
        };
        if r < 0 || ctx.is_null() {
            return Err(FfmpegError::Muxer {
                reason: format!("no {format} muxer: {}", error_string(r)),
            });
        }
        // SAFETY: `packet` is freed in Drop; a null return is checked.
        let packet = unsafe { av::av_packet_alloc() };
        let muxer = Self {
            ctx,
            stream: ptr::null_mut(),
            packet,
            header_written: false,
        };
        if packet.is_null() {
            return Err(FfmpegError::Muxer {
                reason: "out of memory for a packet".into(),
            });
        }
        let mut dict = dictionary(io_options)?;
        // SAFETY: `ctx` is a fresh output context; `pb` receives the opened output or stays
        // null on failure (Drop closes it only when set); `dict` is freed after.
        let r = unsafe {
            let r = av::avio_open2(
                &raw mut (*muxer.ctx).pb,
                file.as_ptr(),
                av::AVIO_FLAG_WRITE,
                ptr::null(),
                &raw mut dict,
            );
            av::av_dict_free(&raw mut dict);
            r
        };
        if r < 0 {
            return Err(FfmpegError::Muxer {
                reason: error_string(r),
            });
        }
        Ok(muxer)
    }

    /// Adds the stream and writes the header with the muxer's private `options`.
    pub fn write_header(
        &mut self,
        params: &TrackParams,
        options: &[(&str, String)],
    ) -> Result<(), FfmpegError> {
        // SAFETY: `ctx` is a live output context without streams yet.
        let stream = unsafe { av::avformat_new_stream(self.ctx, ptr::null()) };
        if stream.is_null() {
            return Err(FfmpegError::Muxer {
                reason: "cannot add a stream".into(),
            });
        }
        self.stream = stream;
        let rate = av::AVRational {
            num: c_int_of(params.frame_rate.num, "frame rate numerator")?,
            den: c_int_of(params.frame_rate.den, "frame rate denominator")?,
        };
        let (width, height) = (
            c_int_of(params.width, "width")?,
            c_int_of(params.height, "height")?,
        );
        let extradata_size = c_int_of(params.extradata.len(), "codec record size")?;
        // SAFETY: `stream` is live and owned by `ctx`; its codecpar was allocated with it.
        // Extradata is copied into an av_malloc'd buffer with the padding libavformat expects.
        unsafe {
            let par = &mut *(*stream).codecpar;
            par.codec_type = av::AVMediaType::AVMEDIA_TYPE_VIDEO;
            par.codec_id = match params.codec {
                Codec::H264 => av::AVCodecID::AV_CODEC_ID_H264,
                Codec::Hevc => av::AVCodecID::AV_CODEC_ID_HEVC,
                Codec::Av1 => av::AVCodecID::AV_CODEC_ID_AV1,
            };
            par.width = width;
            par.height = height;
            par.color_range = av_range(params.color.range);
            par.color_primaries = av_primaries(params.color.primaries);
            par.color_trc = av_transfer(params.color.transfer);
            par.color_space = av_matrix(params.color.matrix);
            par.chroma_location = av::AVChromaLocation::AVCHROMA_LOC_LEFT;
            if !params.extradata.is_empty() {
                let padding = av::AV_INPUT_BUFFER_PADDING_SIZE as usize;
                let buf = av::av_mallocz(params.extradata.len() + padding).cast::<u8>();
                if buf.is_null() {
                    return Err(FfmpegError::Muxer {
                        reason: "out of memory for the codec record".into(),
                    });
                }
                ptr::copy_nonoverlapping(params.extradata.as_ptr(), buf, params.extradata.len());
                par.extradata = buf;
                par.extradata_size = extradata_size;
            }
            (*stream).time_base = av::AVRational {
                num: rate.den,
                den: rate.num,
            };
            (*stream).avg_frame_rate = rate;
            (*stream).r_frame_rate = rate;
        }
        if let Some(hdr) = &params.hdr {
            self.add_hdr_side_data(hdr)?;
        }
        let mut dict = dictionary(options)?;
        // SAFETY: `ctx` has its stream and an open `pb`; `dict` is consumed or left with the
        // options the muxer did not take, and freed.
        let r = unsafe {
            let r = av::avformat_write_header(self.ctx, &raw mut dict);
            av::av_dict_free(&raw mut dict);
            r
        };
        if r < 0 {
            return Err(FfmpegError::Muxer {
                reason: error_string(r),
            });
        }
        self.header_written = true;
        self.flush().map_err(|r| FfmpegError::Muxer {
            reason: error_string(r),
        })
    }

    fn add_hdr_side_data(&mut self, hdr: &HdrMetadata) -> Result<(), FfmpegError> {
        let q = |num: c_int, den: c_int| av::AVRational { num, den };
        let d = &hdr.display;
        let chroma =
            |c: crate::hdr::Chromaticity| [q(c_int::from(c.x), 50000), q(c_int::from(c.y), 50000)];
        let mastering = MasteringDisplayMetadata {
            display_primaries: [chroma(d.red), chroma(d.green), chroma(d.blue)],
            white_point: chroma(d.white),
            min_luminance: q(c_int_of(d.min_luminance, "HDR minimum luminance")?, 10000),
            max_luminance: q(c_int_of(d.max_luminance, "HDR maximum luminance")?, 10000),
            has_primaries: 1,
            has_luminance: 1,
        };
        self.add_side_data(
            av::AVPacketSideDataType::AV_PKT_DATA_MASTERING_DISPLAY_METADATA,
            mastering,
        )?;
        if let Some(light) = hdr.light {
            let cll = ContentLightMetadata {
                max_cll: u32::from(light.max_cll),
                max_fall: u32::from(light.max_fall),
            };
            self.add_side_data(
                av::AVPacketSideDataType::AV_PKT_DATA_CONTENT_LIGHT_LEVEL,
                cll,
            )?;
        }
        Ok(())
    }

    fn add_side_data<T>(
        &mut self,
        kind: av::AVPacketSideDataType,
        value: T,
    ) -> Result<(), FfmpegError> {
        let size = std::mem::size_of::<T>();
        // SAFETY: a fresh av_malloc'd buffer of T's size receives `value`; on success the
        // stream owns it, on failure it is freed here.
        unsafe {
            let buf = av::av_malloc(size).cast::<T>();
            if buf.is_null() {
                return Err(FfmpegError::Muxer {
                    reason: "out of memory for stream side data".into(),
                });
            }
            ptr::write(buf, value);
            let r = av::av_stream_add_side_data(self.stream, kind, buf.cast::<u8>(), size);
            if r < 0 {
                av::av_free(buf.cast());
                return Err(FfmpegError::Muxer {
                    reason: error_string(r),
                });
            }
        }
        Ok(())
    }

    /// The stream's time base as the muxer settled it (after the header).
    pub fn time_base(&self) -> Rational {
        // SAFETY: `stream` is set by `write_header`, which callers run first.
        let tb = unsafe { (*self.stream).time_base };
        Rational::new(i64::from(tb.num), i64::from(tb.den))
    }

    /// Hands one packet (timestamps in [`Self::time_base`]) to the muxer without copying it.
    pub fn write(
        &mut self,
        data: &[u8],
        pts: i64,
        dts: i64,
        duration: i64,
        keyframe: bool,
    ) -> Result<(), c_int> {
        let size = c_int::try_from(data.len()).map_err(|_| av::AVERROR(libc::EINVAL))?;
        // SAFETY: `packet` is live; it points at `data` (not reference-counted) only for the
        // duration of av_write_frame, which does not keep it (single stream, no interleaving
        // queue), and is reset before returning.
        unsafe {
            let p = &mut *self.packet;
            p.data = data.as_ptr().cast_mut();
            p.size = size;
            p.pts = pts;
            p.dts = dts;
            p.duration = duration;
            p.stream_index = 0;
            p.flags = if keyframe { av::AV_PKT_FLAG_KEY } else { 0 };
            let r = av::av_write_frame(self.ctx, self.packet);
            p.data = ptr::null_mut();
            p.size = 0;
            av::av_packet_unref(self.packet);
            if r < 0 {
                return Err(r);
            }
        }
        self.flush()
    }

    /// Pushes what the muxer has handed to its I/O buffer into the file; the I/O context's
    /// sticky error, if any, is returned.
    pub fn flush(&mut self) -> Result<(), c_int> {
        // SAFETY: `ctx` and its `pb` are live (opened in `create`).
        unsafe {
            let pb = (*self.ctx).pb;
            av::avio_flush(pb);
            if (*pb).error < 0 {
                return Err((*pb).error);
            }
        }
        Ok(())
    }

    /// Writes the trailer (index, duration) and closes the file.
    pub fn finish(&mut self) -> Result<(), c_int> {
        if self.header_written {
            // SAFETY: the header was written; the trailer is written once.
            let r = unsafe { av::av_write_trailer(self.ctx) };
            self.header_written = false;
            if r < 0 {
                return Err(r);
            }
            self.flush()?;
        }
        // SAFETY: `pb` was opened by avio_open; closing sets it to null.
        let r = unsafe { av::avio_closep(&raw mut (*self.ctx).pb) };
        if r < 0 {
            return Err(r);
        }
        Ok(())
    }
}

impl Drop for Muxer {
    fn drop(&mut self) {
        // SAFETY: each pointer is live or null; avio_closep and the frees accept null and
        // reset what they free. No trailer is written here: a dropped muxer leaves the file
        // as the last flush did (crash-safe containers play up to there).
        unsafe {
            if !self.ctx.is_null() {
                if !(*self.ctx).pb.is_null() {
                    av::avio_closep(&raw mut (*self.ctx).pb);
                }
                av::avformat_free_context(self.ctx);
                self.ctx = ptr::null_mut();
            }
            av::av_packet_free(&raw mut self.packet);
        }
    }
}

/// `v` as the C `int` FFmpeg's fields hold, or an error naming the value.
fn c_int_of<T: TryInto<c_int> + Copy + std::fmt::Display>(
    v: T,
    what: &str,
) -> Result<c_int, FfmpegError> {
    v.try_into().map_err(|_| FfmpegError::Muxer {
        reason: format!(
            "{what} {v} does not fit FFmpeg's int (at most {})",
            c_int::MAX
        ),
    })
}
