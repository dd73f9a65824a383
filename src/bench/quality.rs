//! Quality against the source: the encoded file decoded by the `ffmpeg` program to 8-bit luma,
//! then PSNR and SSIM of each frame's luma plane computed here.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::input::BenchInput;
use super::{Progress, Quality};

/// The decoder: the `ffmpeg` program found on PATH.
#[derive(Clone, Debug)]
pub(super) struct Decoder {
    ffmpeg: PathBuf,
    version: String,
}

impl Decoder {
    /// Finds `ffmpeg` on PATH (or `GHOSTSTREAM_FFMPEG`); the reason when there is none.
    pub(super) fn find() -> Result<Self, String> {
        let ffmpeg = match std::env::var_os("GHOSTSTREAM_FFMPEG") {
            Some(p) => PathBuf::from(p),
            None => find_on_path("ffmpeg").ok_or_else(|| {
                "the ffmpeg program is not on PATH (install ffmpeg to get PSNR and SSIM)"
                    .to_string()
            })?,
        };
        let out = Command::new(&ffmpeg)
            .args(["-hide_banner", "-version"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{} does not run: {e}", ffmpeg.display()))?;
        let version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("ffmpeg")
            .to_string();
        Ok(Self { ffmpeg, version })
    }

    /// How quality is computed, for the report.
    pub(super) fn describe(&self) -> String {
        format!(
            "luma PSNR and SSIM computed by GhostStream; streams decoded by {} ({})",
            self.ffmpeg.display(),
            self.version
        )
    }

    /// Decodes `file` and compares each frame's luma with the input's, in order. A decoded
    /// size other than the input's, or no frames, is an error naming it.
    pub(super) fn compare(&self, file: &Path, input: &BenchInput) -> Result<Quality, String> {
        let (w, h) = (input.width() as usize, input.height() as usize);
        let mut child = Command::new(&self.ffmpeg)
            .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
            .arg(file)
            .args([
                "-f",
                "rawvideo",
                "-pix_fmt",
                "gray",
                "-vsync",
                "passthrough",
                "-",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{} does not start: {e}", self.ffmpeg.display()))?;
        let mut stdout = child.stdout.take().ok_or("no pipe from ffmpeg")?;
        // Its messages are read as they come, so that a stream full of errors cannot fill the
        // pipe and stall ffmpeg while frames are read here.
        let mut stderr = child.stderr.take().ok_or("no pipe from ffmpeg")?;
        let messages = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut acc = Accumulator::default();
        let mut frame = vec![0u8; w * h];
        let mut n = 0usize;
        let read_result = loop {
            match stdout.read_exact(&mut frame) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(()),
                Err(e) => break Err(e.to_string()),
            }
            if n < input.frames() as usize {
                acc.add(&input.luma(n), &frame, w, h);
            }
            n += 1;
        };
        drop(stdout);
        let status = child.wait().map_err(|e| e.to_string())?;
        let messages = messages.join().unwrap_or_default();
        read_result?;
        if !status.success() {
            let last: Vec<&str> = messages.lines().rev().take(3).collect();
            return Err(format!(
                "ffmpeg could not decode {}: {}",
                file.display(),
                last.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
        }
        if n != input.frames() as usize {
            return Err(format!(
                "{} decoded to {n} frames of {w}x{h} luma, the input has {} (a different size or frame count cannot be compared)",
                file.display(),
                input.frames()
            ));
        }
        Ok(acc.finish())
    }
}

/// The first `name` in PATH's folders that is a file.
pub(super) fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Sums over frames.
#[derive(Default)]
pub(super) struct Accumulator {
    squared_error: f64,
    samples: f64,
    ssim_sum: f64,
    frames: u32,
}

impl Accumulator {
    /// Adds one frame's luma pair (`w` x `h`, packed rows).
    pub(super) fn add(&mut self, reference: &[u8], test: &[u8], w: usize, h: usize) {
        self.squared_error += reference
            .iter()
            .zip(test)
            .map(|(&a, &b)| {
                let d = f64::from(a) - f64::from(b);
                d * d
            })
            .sum::<f64>();
        self.samples += (w * h) as f64;
        self.ssim_sum += ssim(reference, test, w, h);
        self.frames += 1;
    }

    /// PSNR of the mean squared error over every sample (100 dB when identical), mean SSIM.
    pub(super) fn finish(&self) -> Quality {
        let mse = self.squared_error / self.samples.max(1.0);
        let psnr_db = if mse == 0.0 {
            100.0
        } else {
            10.0 * (255.0 * 255.0 / mse).log10()
        };
        Quality {
            psnr_db,
            ssim: self.ssim_sum / f64::from(self.frames.max(1)),
            frames: self.frames,
        }
    }
}

/// Mean SSIM over 8x8 windows placed every 4 samples, uniform weights, the usual constants
/// (K1 = 0.01, K2 = 0.03, L = 255).
pub(super) fn ssim(a: &[u8], b: &[u8], w: usize, h: usize) -> f64 {
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    if w < 8 || h < 8 {
        return f64::NAN;
    }
    let (mut sum, mut count) = (0.0, 0u32);
    for y0 in (0..=h - 8).step_by(4) {
        for x0 in (0..=w - 8).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let (p, q) = (f64::from(a[y * w + x]), f64::from(b[y * w + x]));
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = 64.0;
            let (ma, mb) = (sa / n, sb / n);
            let va = saa / n - ma * ma;
            let vb = sbb / n - mb * mb;
            let cov = sab / n - ma * mb;
            sum += ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                / ((ma * ma + mb * mb + C1) * (va + vb + C2));
            count += 1;
        }
    }
    sum / f64::from(count)
}

/// The quality of `file` against `input`, decoded by `decoder` (the phase reported to
/// `progress`), or why there is none.
pub(super) fn measure(
    decoder: Option<&Decoder>,
    file: &Path,
    input: &BenchInput,
    progress: &mut dyn FnMut(&Progress),
) -> (Option<Quality>, Option<String>) {
    let Some(d) = decoder else {
        return (None, Some("no decoder (see quality_method)".into()));
    };
    progress(&Progress::Phase {
        phase: "quality (decoding)",
        done: 0,
        of: 0,
    });
    match d.compare(file, input) {
        Ok(q) => (Some(q), None),
        Err(e) => (None, Some(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_frames_are_100_db_and_ssim_1() {
        let a: Vec<u8> = (0..64 * 64u32)
            .map(|i| u8::try_from(i * 7 % 251).unwrap())
            .collect();
        let mut acc = Accumulator::default();
        acc.add(&a, &a, 64, 64);
        let q = acc.finish();
        assert_eq!(q.psnr_db, 100.0);
        assert!((q.ssim - 1.0).abs() < 1e-12, "{}", q.ssim);
        assert_eq!(q.frames, 1);
    }

    #[test]
    fn a_file_ffmpeg_cannot_decode_is_an_error_naming_it() {
        let Ok(decoder) = Decoder::find() else {
            println!("SKIPPED: no ffmpeg on PATH");
            return;
        };
        let dir = std::env::temp_dir().join(format!("gs-bench-quality-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("garbage.ivf");
        std::fs::write(&file, [0x5au8; 4096]).unwrap();
        let input = BenchInput::pattern(64, 64, crate::time::Rational::new(30, 1), 2).unwrap();
        let e = decoder.compare(&file, &input).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        let cannot = format!("ffmpeg could not decode {}: ", file.display());
        let none = format!("{} decoded to 0 frames", file.display());
        assert!(e.starts_with(&cannot) || e.starts_with(&none), "{e}");
    }

    #[test]
    fn psnr_of_a_known_error() {
        // Every sample off by 4: MSE 16, PSNR = 10 log10(65025 / 16) = 36.09 dB.
        let a = vec![100u8; 64 * 64];
        let b = vec![104u8; 64 * 64];
        let mut acc = Accumulator::default();
        acc.add(&a, &b, 64, 64);
        let q = acc.finish();
        assert!((q.psnr_db - 36.0894).abs() < 1e-3, "{}", q.psnr_db);
        // Flat windows: SSIM is the luminance term (2*100*104 + C1) / (100^2 + 104^2 + C1).
        let c1 = (0.01f64 * 255.0).powi(2);
        let expect = (2.0 * 100.0 * 104.0 + c1) / (100.0f64 * 100.0 + 104.0 * 104.0 + c1);
        assert!((q.ssim - expect).abs() < 1e-12, "{}", q.ssim);
    }
}
