//! YUV4MPEG2 (Y4M) reading and writing.
//!
//! Accepted: progressive 4:2:0 at 8 and 10 bits and 4:4:4 at 8, 10 and 16 bits. Anything else is
//! refused with an error naming the tag, and a stream that ends inside a frame is an error, never
//! a silently shortened frame.

use std::io::{BufRead, BufReader, Read, Write};

use super::{read_full, FrameSource, SourceError, SourceInfo};
use crate::format::PixelFormat;
use crate::frame::{BufferPool, CpuImage, Frame};
use crate::time::{Rational, Timestamp};

const MAGIC: &[u8] = b"YUV4MPEG2 ";
const HEADER_LIMIT: usize = 4096;
const FRAME_LINE_LIMIT: usize = 1024;

/// Reads frames from a Y4M stream.
pub struct Y4mReader {
    input: Box<dyn BufRead + Send>,
    what: String,
    info: SourceInfo,
    frame_bytes: usize,
    next: u64,
    pool: std::sync::Arc<BufferPool>,
}

impl std::fmt::Debug for Y4mReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Y4mReader")
            .field("what", &self.what)
            .field("info", &self.info)
            .finish()
    }
}

/// Reads one line of at most `limit` bytes (without the newline).
fn read_line(
    input: &mut dyn BufRead,
    limit: usize,
    what: &'static str,
    source: &str,
) -> Result<Option<Vec<u8>>, SourceError> {
    let mut line = Vec::new();
    let n = input
        .take(limit as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| SourceError::Io {
            what: source.to_string(),
            source: e,
        })?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(SourceError::Y4mLineTooLong { what, limit });
    }
    line.pop();
    Ok(Some(line))
}

fn chroma_format(tag: &[u8]) -> Result<PixelFormat, SourceError> {
    Ok(match tag {
        b"420jpeg" | b"420paldv" | b"420mpeg2" | b"420" => PixelFormat::I420,
        b"420p10" => PixelFormat::I420P10,
        b"444" => PixelFormat::I444,
        b"444p10" => PixelFormat::I444P10,
        b"444p16" => PixelFormat::I444P16,
        _ => return Err(SourceError::UnsupportedChroma { value: shown(tag) }),
    })
}

/// Header bytes as they can be shown in an error: ASCII as it is, any other byte escaped
/// (`\xc3`), so that the message names exactly what was found.
fn shown(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl Y4mReader {
    /// Opens a Y4M stream; `what` names it in errors (a path, or "standard input").
    pub fn new(
        input: impl Read + Send + 'static,
        what: impl Into<String>,
    ) -> Result<Self, SourceError> {
        let what = what.into();
        let mut input: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 20, input));
        let line = read_line(&mut input, HEADER_LIMIT, "header", &what)?.unwrap_or_default();
        if !line.starts_with(MAGIC) {
            let found = shown(&line[..line.len().min(10)]);
            return Err(SourceError::Y4mBadMagic { found });
        }
        let (mut width, mut height, mut rate, mut format) = (None, None, None, PixelFormat::I420);
        // The header is bytes, not text: each token is a tag letter and an ASCII value, and a
        // byte that is not ASCII is named in the error, never sliced through.
        for token in line[MAGIC.len()..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
        {
            let Some((&tag, value)) = token.split_first() else {
                continue;
            };
            match tag {
                b'W' => width = Some(parse_u32(value, "W (width)")?),
                b'H' => height = Some(parse_u32(value, "H (height)")?),
                b'F' => rate = Some(parse_rate(value)?),
                b'I' if value != b"p" && value != b"?" => {
                    return Err(SourceError::UnsupportedInterlace {
                        value: shown(value),
                    });
                }
                b'C' => format = chroma_format(value)?,
                // A (aspect), X (extensions), I (p or ?), and tags a later revision may add: not
                // needed.
                t if t.is_ascii_alphabetic() => {}
                _ => {
                    return Err(SourceError::Y4mBadField {
                        field: "tag",
                        value: shown(token),
                        expected: "each token starts with a tag letter (W, H, F, I, A, C or X)",
                    })
                }
            }
        }
        let width = width.ok_or(SourceError::Y4mMissingField { field: "W (width)" })?;
        let height = height.ok_or(SourceError::Y4mMissingField {
            field: "H (height)",
        })?;
        let frame_rate = rate.ok_or(SourceError::Y4mMissingField {
            field: "F (frame rate)",
        })?;
        format.check_size(width, height)?;
        Ok(Self {
            input,
            what,
            info: SourceInfo {
                format,
                width,
                height,
                frame_rate,
            },
            frame_bytes: format.frame_bytes(width, height),
            next: 0,
            pool: BufferPool::new(),
        })
    }

    /// Opens a file, or standard input for `-`.
    pub fn open(path: &str) -> Result<Self, SourceError> {
        if path == "-" {
            return Self::new(std::io::stdin(), "standard input");
        }
        let file = std::fs::File::open(path).map_err(|e| SourceError::Io {
            what: path.to_string(),
            source: e,
        })?;
        Self::new(file, path)
    }
}

/// A decimal number of digits only (no sign, no spaces) that fits in 32 bits.
fn decimal_u32(value: &[u8]) -> Option<u32> {
    if value.is_empty() || value.len() > 10 {
        return None;
    }
    value.iter().try_fold(0u32, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u32::from(digit))
    })
}

fn parse_u32(value: &[u8], field: &'static str) -> Result<u32, SourceError> {
    decimal_u32(value).ok_or_else(|| SourceError::Y4mBadField {
        field,
        value: shown(value),
        expected: "a whole number of pixels (0 to 4294967295)",
    })
}

/// `F` is `num:den`, both positive and at most 4294967295 (the 32-bit fields that encoders and
/// containers carry rates in). Whether the rate is one an encoder takes is checked later, by
/// [`crate::SessionConfig::validate`].
fn parse_rate(value: &[u8]) -> Result<Rational, SourceError> {
    let bad = || SourceError::Y4mBadField {
        field: "F (frame rate)",
        value: shown(value),
        expected: "num:den, two whole numbers from 1 to 4294967295",
    };
    let colon = value.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let (num, den) = (&value[..colon], &value[colon + 1..]);
    let (num, den) = (
        decimal_u32(num).ok_or_else(bad)?,
        decimal_u32(den).ok_or_else(bad)?,
    );
    if num == 0 || den == 0 {
        return Err(bad());
    }
    Ok(Rational::new(i64::from(num), i64::from(den)))
}

impl FrameSource for Y4mReader {
    fn info(&self) -> SourceInfo {
        self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let Some(line) = read_line(&mut self.input, FRAME_LINE_LIMIT, "FRAME", &self.what)? else {
            return Ok(None);
        };
        // `FRAME`, then nothing or parameters after a space.
        let marker = line.strip_prefix(b"FRAME");
        if !matches!(marker, Some([] | [b' ', ..])) {
            return Err(SourceError::Y4mBadFrameMarker {
                frame: self.next,
                found: shown(&line[..line.len().min(16)]),
            });
        }
        // A frame header with nothing after it (a stream cut there) is refused before the
        // frame's buffer is allocated: a header may declare 8192x4352 at 16 bits (204 MiB).
        let available = self.input.fill_buf().map_err(|e| SourceError::Io {
            what: self.what.clone(),
            source: e,
        })?;
        if available.is_empty() {
            return Err(SourceError::TruncatedFrame {
                frame: self.next,
                got: 0,
                expected: self.frame_bytes,
            });
        }
        let info = self.info;
        let mut img = CpuImage::new(info.format, info.width, info.height, Some(&self.pool))?;
        let got = read_full(&mut self.input, img.data_mut()).map_err(|e| SourceError::Io {
            what: self.what.clone(),
            source: e,
        })?;
        if got != self.frame_bytes {
            return Err(SourceError::TruncatedFrame {
                frame: self.next,
                got,
                expected: self.frame_bytes,
            });
        }
        let pts = Timestamp::from_nanos(
            info.frame_rate
                .frames_to_nanos(i64::try_from(self.next).unwrap_or(i64::MAX)),
        );
        self.next += 1;
        Ok(Some(Frame::from_cpu(img, pts)))
    }
}

/// Writes frames as Y4M (used by tests and the benchmark to make inputs).
#[derive(Debug)]
pub struct Y4mWriter<W: Write> {
    out: W,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the stream header. `format` must be one Y4M can carry.
    pub fn new(mut out: W, info: SourceInfo) -> std::io::Result<Self> {
        let tag = match info.format {
            PixelFormat::I420 => "420jpeg",
            PixelFormat::I420P10 => "420p10 XYSCSS=420P10",
            PixelFormat::I444 => "444",
            PixelFormat::I444P10 => "444p10 XYSCSS=444P10",
            PixelFormat::I444P16 => "444p16 XYSCSS=444P16",
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("Y4M cannot carry {other}"),
                ))
            }
        };
        writeln!(
            out,
            "YUV4MPEG2 W{} H{} F{}:{} Ip A1:1 C{}",
            info.width, info.height, info.frame_rate.num, info.frame_rate.den, tag
        )?;
        Ok(Self { out })
    }

    /// Writes one frame, row by row.
    pub fn write(&mut self, img: &CpuImage) -> std::io::Result<()> {
        self.out.write_all(b"FRAME\n")?;
        for plane in 0..img.format().plane_count() {
            let rows = img.format().planes(img.width(), img.height())[plane].height;
            for y in 0..rows {
                self.out.write_all(img.row(plane, y))?;
            }
        }
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> Result<Y4mReader, SourceError> {
        Y4mReader::new(std::io::Cursor::new(bytes.to_vec()), "test")
    }

    #[test]
    fn reads_header_and_frames() {
        let mut data = b"YUV4MPEG2 W4 H2 F30000:1001 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
        data.extend(0..12u8);
        data.extend_from_slice(b"FRAME Ixyz\n");
        data.extend([7u8; 12]);
        let mut r = reader(&data).unwrap();
        assert_eq!(r.info().frame_rate, Rational::new(30000, 1001));
        let f0 = r.next_frame().unwrap().unwrap();
        let crate::frame::FrameImage::Cpu(img) = &f0.image else {
            panic!("a y4m frame is a CPU frame");
        };
        assert_eq!(img.data(), &(0..12u8).collect::<Vec<_>>()[..]);
        let f1 = r.next_frame().unwrap().unwrap();
        assert_eq!(f1.pts.as_nanos(), 33_366_667);
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn missing_width_is_named() {
        let e = reader(b"YUV4MPEG2 H2 F30:1\n").unwrap_err();
        assert!(
            matches!(e, SourceError::Y4mMissingField { field: "W (width)" }),
            "{e}"
        );
    }

    #[test]
    fn ten_bit_and_444_map_to_formats() {
        let r = reader(b"YUV4MPEG2 W4 H2 F30:1 C420p10 XYSCSS=420P10\n").unwrap();
        assert_eq!(r.info().format, PixelFormat::I420P10);
        let r = reader(b"YUV4MPEG2 W3 H3 F30:1 C444\n").unwrap();
        assert_eq!(r.info().format, PixelFormat::I444);
    }
}
