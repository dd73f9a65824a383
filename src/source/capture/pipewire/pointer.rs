//! The pointer a producer sends as metadata (PipeWire's `SPA_META_Cursor`) rather than in its
//! pictures: kept between frames (producers send the picture only when it changes) and drawn
//! into each frame read out, with straight-alpha blending.

use std::sync::Arc;

use crate::format::PixelFormat;
use crate::frame::{CpuImage, PointerOverlay};

use super::buffer::{CursorBitmap, CursorUpdate};

/// The pointer as last described by the producer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pointer {
    /// Where the hot spot is, in frame pixels.
    position: (i32, i32),
    /// The hot spot inside the picture.
    hotspot: (i32, i32),
    /// The picture; `None` while the pointer is invisible or before the first.
    picture: Option<Arc<CursorBitmap>>,
    /// The picture's pixels shared with the frames that carry it (made once per picture).
    shared_rgba: Option<Arc<[u8]>>,
}

impl Pointer {
    /// Applies a producer's update.
    pub fn update(&mut self, update: CursorUpdate) {
        self.position = update.position;
        self.hotspot = update.hotspot;
        if let Some(picture) = update.bitmap {
            self.shared_rgba = picture.as_ref().map(|p| Arc::from(p.rgba.as_slice()));
            self.picture = picture.map(Arc::new);
        }
    }

    /// The pointer as an overlay for a frame the GPU reads in place (`None`: no picture).
    pub fn overlay(&self) -> Option<PointerOverlay> {
        let picture = self.picture.as_ref()?;
        Some(PointerOverlay {
            left: self.position.0 - self.hotspot.0,
            top: self.position.1 - self.hotspot.1,
            width: picture.width,
            height: picture.height,
            rgba: Arc::clone(self.shared_rgba.as_ref()?),
        })
    }

    /// Draws the pointer into `image` (clipped to it). 8-bit RGBA/BGRA and 10-bit RGB10A2
    /// frames take it; other formats are left as they are.
    #[expect(
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap,
        reason = "image and cursor sizes are far below 2^31; x and y are tested non-negative before the unsigned casts"
    )]
    pub fn draw(&self, image: &mut CpuImage) {
        let Some(picture) = &self.picture else { return };
        let format = image.format();
        let (width, height) = (image.width() as i32, image.height() as i32);
        let left = self.position.0 - self.hotspot.0;
        let top = self.position.1 - self.hotspot.1;
        for py in 0..picture.height as i32 {
            let y = top + py;
            if y < 0 || y >= height {
                continue;
            }
            let row = image.row_mut(0, y as u32);
            for px in 0..picture.width as i32 {
                let x = left + px;
                if x < 0 || x >= width {
                    continue;
                }
                let src = &picture.rgba[(py * picture.width as i32 + px) as usize * 4..][..4];
                let alpha = u32::from(src[3]);
                if alpha == 0 {
                    continue;
                }
                let dst = &mut row[x as usize * 4..][..4];
                match format {
                    PixelFormat::Rgba8 => blend8(dst, [0, 1, 2], src, alpha),
                    PixelFormat::Bgra8 => blend8(dst, [2, 1, 0], src, alpha),
                    PixelFormat::Rgb10a2 => blend10(dst, src, alpha),
                    _ => return,
                }
            }
        }
    }
}

/// Merges two updates of one batch: the later position wins, and a picture sent in either
/// is kept unless the later one sends another.
pub(crate) fn merge(
    earlier: Option<CursorUpdate>,
    later: Option<CursorUpdate>,
) -> Option<CursorUpdate> {
    match (earlier, later) {
        (Some(a), Some(mut b)) => {
            if b.bitmap.is_none() {
                b.bitmap = a.bitmap;
            }
            Some(b)
        }
        (a, b) => b.or(a),
    }
}

/// `src` (RGBA) over the 8-bit pixel `dst`, whose R, G, B sit at `rgb`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "a weighted mean of two bytes is at most 255"
)]
fn blend8(dst: &mut [u8], rgb: [usize; 3], src: &[u8], alpha: u32) {
    for (c, &i) in rgb.iter().enumerate() {
        dst[i] =
            ((u32::from(src[c]) * alpha + u32::from(dst[i]) * (255 - alpha) + 127) / 255) as u8;
    }
}

/// `src` (8-bit RGBA) over a little-endian RGB10A2 word (R in bits 0–9).
fn blend10(dst: &mut [u8], src: &[u8], alpha: u32) {
    let mut word = u32::from_le_bytes([dst[0], dst[1], dst[2], dst[3]]);
    for (c, &value) in src[..3].iter().enumerate() {
        #[expect(clippy::cast_possible_truncation, reason = "c < 3")]
        let shift = 10 * c as u32;
        let under = (word >> shift) & 0x3ff;
        let over = u32::from(value) << 2 | u32::from(value) >> 6;
        let out = (over * alpha + under * (255 - alpha) + 127) / 255;
        word = (word & !(0x3ff << shift)) | (out << shift);
    }
    dst.copy_from_slice(&word.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture() -> CursorBitmap {
        // 2x2: opaque red, transparent, half-transparent green, opaque white.
        CursorBitmap {
            width: 2,
            height: 2,
            rgba: vec![
                255, 0, 0, 255, 9, 9, 9, 0, 0, 255, 0, 128, 255, 255, 255, 255,
            ],
        }
    }

    fn pointer_at(x: i32, y: i32) -> Pointer {
        let mut p = Pointer::default();
        p.update(CursorUpdate {
            position: (x, y),
            hotspot: (1, 1),
            bitmap: Some(Some(picture())),
        });
        p
    }

    #[test]
    fn the_pointer_is_blended_at_its_hotspot_and_clipped() {
        let mut image = CpuImage::new(PixelFormat::Bgra8, 4, 3, None).unwrap();
        image.data_mut().fill(100);
        pointer_at(2, 2).draw(&mut image);
        let px = |x: usize, y: u32| image.row(0, y)[x * 4..x * 4 + 4].to_vec();
        // The picture's top left lands at (2,2) - (1,1) = (1,1).
        assert_eq!(px(1, 1), [0, 0, 255, 100]);
        assert_eq!(px(2, 1), [100; 4]);
        // 128/255 of green over 100: round((0*128 + 100*127)/255) and (255*128 + 100*127)/255.
        assert_eq!(px(1, 2), [50, 178, 50, 100]);
        assert_eq!(px(2, 2), [255, 255, 255, 100]);
        assert_eq!(px(0, 0), [100; 4]);
        // Half outside the frame: clipped, no panic.
        let mut small = CpuImage::new(PixelFormat::Rgba8, 2, 2, None).unwrap();
        pointer_at(0, 0).draw(&mut small);
        // The frame's own alpha byte is left as it was.
        assert_eq!(&small.row(0, 0)[..4], [255, 255, 255, 0]);
        pointer_at(-10, 50).draw(&mut small);
    }

    #[test]
    fn a_ten_bit_frame_gets_the_pointer_in_ten_bits() {
        let mut image = CpuImage::new(PixelFormat::Rgb10a2, 2, 2, None).unwrap();
        pointer_at(1, 1).draw(&mut image);
        let word = u32::from_le_bytes(image.row(0, 0)[..4].try_into().unwrap());
        assert_eq!(word & 0x3ff, 0x3ff, "red at full 10-bit scale");
        assert_eq!((word >> 10) & 0x3ff, 0);
    }

    #[test]
    fn a_batch_keeps_a_picture_sent_before_the_last_move() {
        let moved = CursorUpdate {
            position: (5, 6),
            hotspot: (0, 0),
            bitmap: None,
        };
        let with_picture = CursorUpdate {
            position: (1, 1),
            hotspot: (0, 0),
            bitmap: Some(Some(picture())),
        };
        let merged = merge(Some(with_picture), Some(moved)).unwrap();
        assert_eq!(merged.position, (5, 6));
        assert_eq!(merged.bitmap, Some(Some(picture())));
        assert_eq!(merge(None, None), None);
    }
}
