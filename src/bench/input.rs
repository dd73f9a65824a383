//! The benchmark's input: deterministic 8-bit 4:2:0 frames held in memory (the moving test
//! pattern, or the first frames of a Y4M file), copied fresh for each run.

use std::path::{Path, PathBuf};

use super::{BenchConfig, BenchError};
use crate::format::PixelFormat;
use crate::frame::{CpuImage, FrameImage};
use crate::source::{FrameSource, SourceInfo, TestPattern, Y4mReader, Y4mWriter};
use crate::time::Rational;

/// Frames every path encodes, kept as the quality reference.
#[derive(Debug)]
pub struct BenchInput {
    info: InputInfo,
    frames: Vec<CpuImage>,
}

/// What the input was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputInfo {
    /// "pattern" (the moving test pattern) or "y4m".
    pub kind: &'static str,
    /// The Y4M file, for a file input.
    pub path: Option<PathBuf>,
    /// Frames encoded in each throughput run.
    pub frames: u32,
    /// Nominal frame rate, frames per second.
    pub frame_rate: Rational,
    /// Pixel format of the frames held (I420).
    pub format: PixelFormat,
    /// True when the sessions were given the frames as BGRA8 (`--rgb`).
    pub rgb: bool,
}

impl InputInfo {
    /// The input of a run with no encode input (GPU passes only).
    pub(super) fn none(config: &BenchConfig) -> Self {
        Self {
            kind: "none",
            path: None,
            frames: 0,
            frame_rate: config.frame_rate,
            format: PixelFormat::I420,
            rgb: config.rgb,
        }
    }
}

impl BenchInput {
    /// `frames` frames of the moving test pattern (I420) at `width` x `height`.
    pub fn pattern(
        width: u32,
        height: u32,
        frame_rate: Rational,
        frames: u32,
    ) -> Result<Self, BenchError> {
        let bad = |e: &dyn std::fmt::Display| BenchError::BadSize {
            value: format!("{width}x{height}"),
            reason: e.to_string(),
        };
        let pattern = TestPattern::new(
            PixelFormat::I420,
            width,
            height,
            frame_rate,
            Some(u64::from(frames)),
        )
        .map_err(|e| bad(&e))?;
        let frames_v = (0..u64::from(frames))
            .map(|n| pattern.frame(n).map_err(|e| bad(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            info: InputInfo {
                kind: "pattern",
                path: None,
                frames,
                frame_rate,
                format: PixelFormat::I420,
                rgb: false,
            },
            frames: frames_v,
        })
    }

    /// The first `frames` frames of an 8-bit 4:2:0 Y4M file (fewer when it has fewer); its own
    /// size and frame rate.
    pub fn from_y4m(path: &Path, frames: u32) -> Result<Self, BenchError> {
        let err = |reason: String| BenchError::Input {
            path: path.to_path_buf(),
            reason,
        };
        let text = path
            .to_str()
            .ok_or_else(|| err("the path is not UTF-8; rename the file".into()))?;
        let mut reader = Y4mReader::open(text).map_err(|e| err(e.to_string()))?;
        let info = reader.info();
        if info.format != PixelFormat::I420 {
            return Err(err(format!(
                "its frames are {}; the bench reads 8-bit 4:2:0 (C420jpeg, C420mpeg2, C420paldv): convert with ffmpeg -i IN -pix_fmt yuv420p OUT.y4m",
                info.format
            )));
        }
        let mut out = Vec::new();
        while out.len() < frames as usize {
            match reader.next_frame().map_err(|e| err(e.to_string()))? {
                Some(f) => match f.image {
                    FrameImage::Cpu(img) => out.push(img),
                    _ => {
                        return Err(err("the reader gave a GPU frame".into()));
                    }
                },
                None => break,
            }
        }
        if out.is_empty() {
            return Err(err(
                "it holds no frames; give a file with at least one".into()
            ));
        }
        Ok(Self {
            info: InputInfo {
                kind: "y4m",
                path: Some(path.to_path_buf()),
                frames: u32::try_from(out.len()).unwrap_or(u32::MAX),
                frame_rate: info.frame_rate,
                format: PixelFormat::I420,
                rgb: false,
            },
            frames: out,
        })
    }

    /// What the input is.
    pub fn info(&self) -> InputInfo {
        self.info.clone()
    }

    /// Frame width.
    pub fn width(&self) -> u32 {
        self.frames.first().map_or(0, CpuImage::width)
    }

    /// Frame height.
    pub fn height(&self) -> u32 {
        self.frames.first().map_or(0, CpuImage::height)
    }

    /// Frames held.
    pub fn frames(&self) -> u32 {
        u32::try_from(self.frames.len()).unwrap_or(u32::MAX)
    }

    /// The nominal frame rate.
    pub fn frame_rate(&self) -> Rational {
        self.info.frame_rate
    }

    /// The luma plane of frame `n`, rows packed (width bytes each).
    pub fn luma(&self, n: usize) -> Vec<u8> {
        let img = &self.frames[n];
        let mut out = Vec::with_capacity(img.width() as usize * img.height() as usize);
        for y in 0..img.height() {
            out.extend_from_slice(&img.row(0, y)[..img.width() as usize]);
        }
        out
    }

    /// A fresh copy of frame `n` (the session takes it); `None` past the last frame.
    pub fn copy(&self, n: usize) -> Option<CpuImage> {
        let f = self.frames.get(n)?;
        let mut c = CpuImage::new(f.format(), f.width(), f.height(), None).ok()?;
        for (plane, g) in f.format().planes(f.width(), f.height()).iter().enumerate() {
            for y in 0..g.height {
                let row = g.row_bytes();
                c.row_mut(plane, y)[..row].copy_from_slice(&f.row(plane, y)[..row]);
            }
        }
        Some(c)
    }

    /// Frame `n` as BGRA8 (as screen capture gives frames): the I420 frame turned to RGB with the
    /// BT.709 limited-range matrix, chroma taken from the 2x2 block's sample.
    pub fn bgra(&self, n: usize) -> Result<CpuImage, BenchError> {
        let src = &self.frames[n];
        let (w, h) = (src.width(), src.height());
        let mut out =
            CpuImage::new(PixelFormat::Bgra8, w, h, None).map_err(|e| BenchError::BadSize {
                value: format!("{w}x{h}"),
                reason: e.to_string(),
            })?;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "rounded and clamped to 0..=255 first"
        )]
        let byte = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        for y in 0..h {
            let (luma, u, v) = (src.row(0, y), src.row(1, y / 2), src.row(2, y / 2));
            let row = out.row_mut(0, y);
            for x in 0..w as usize {
                let l = 1.164_383_6 * (f64::from(luma[x]) - 16.0);
                let cb = f64::from(u[x / 2]) - 128.0;
                let cr = f64::from(v[x / 2]) - 128.0;
                row[4 * x] = byte(l + 2.112_402 * cb);
                row[4 * x + 1] = byte(l - 0.213_249 * cb - 0.532_909 * cr);
                row[4 * x + 2] = byte(l + 1.792_741 * cr);
                row[4 * x + 3] = 255;
            }
        }
        Ok(out)
    }

    /// Writes the frames as a Y4M file (the comparison's input).
    pub fn write_y4m(&self, path: &Path) -> Result<(), BenchError> {
        let err = |e: std::io::Error| BenchError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let file = std::io::BufWriter::new(std::fs::File::create(path).map_err(err)?);
        let mut w = Y4mWriter::new(
            file,
            SourceInfo {
                format: PixelFormat::I420,
                width: self.width(),
                height: self.height(),
                frame_rate: self.info.frame_rate,
            },
        )
        .map_err(err)?;
        for f in &self.frames {
            w.write(f).map_err(err)?;
        }
        w.finish().map_err(err)?;
        Ok(())
    }
}
