//! H.264 I_PCM slice writer (a stub in this branch: the real writer comes from its own
//! branch; this one keeps the signature the encode command calls).

use ash::vk::native::{
    StdVideoEncodeH264PictureInfo, StdVideoEncodeH264SliceHeader, StdVideoH264PictureParameterSet,
    StdVideoH264SequenceParameterSet,
};

/// An NV12 picture in host memory: the luma plane, then the interleaved CbCr plane at half
/// size; `width` and `height` are the coded size in pixels (multiples of 16).
#[derive(Clone, Copy, Debug)]
pub struct Nv12Picture<'a> {
    /// Luma rows, `luma_stride` bytes apart.
    pub luma: &'a [u8],
    /// Bytes between luma rows.
    pub luma_stride: usize,
    /// Interleaved Cb, Cr rows (`height / 2` of them), `chroma_stride` bytes apart.
    pub chroma: &'a [u8],
    /// Bytes between chroma rows.
    pub chroma_stride: usize,
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
}

/// The picture's slice NAL unit(s). The stub writes one filler-data NAL unit (type 12) as
/// long as the picture's samples, so that the plumbing around it has bytes to move.
pub fn encode_picture(
    _sps: &StdVideoH264SequenceParameterSet,
    _pps: &StdVideoH264PictureParameterSet,
    _picture: &StdVideoEncodeH264PictureInfo,
    _slice: &StdVideoEncodeH264SliceHeader,
    source: &Nv12Picture<'_>,
) -> Vec<u8> {
    let samples = usize::try_from(source.width).unwrap_or(0)
        * usize::try_from(source.height).unwrap_or(0)
        * 3
        / 2;
    let mut out = vec![0, 0, 0, 1, 0x0c];
    out.resize(5 + samples, 0xff);
    out.push(0x80);
    out
}
