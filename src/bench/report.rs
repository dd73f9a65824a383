//! The report's files: `bench.json` (every field in docs/BENCH.md), `bench.md` (the table) and
//! the SVG charts, written by [`BenchReport::write_to`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{chart, BenchError, BenchReport, BenchResult, GpuPasses, RowKind};

/// The JSON format's version (docs/BENCH.md); raised when a field changes meaning or goes.
pub const SCHEMA_VERSION: u32 = 1;

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub(super) fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ` (the proleptic Gregorian calendar).
pub(super) fn utc_from_unix(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm, unsigned form).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn result_json(r: &BenchResult) -> Value {
    json!({
        "kind": match r.kind { RowKind::Encode => "encode", RowKind::Compare => "compare" },
        "label": r.label,
        "encoder": r.encoder,
        "detail": r.detail,
        "codec": r.codec.map(|c| c.name()),
        "preset": r.preset,
        "width": r.width,
        "height": r.height,
        "frames": r.frames,
        "fps": r.fps,
        "wall_s": r.wall_s,
        "latency_ms": r.latency.map(|l| json!({
            "median": l.median_ms,
            "p99": l.p99_ms,
            "frames": l.frames,
            "serial": l.serial,
        })),
        "cpu_ms_per_frame": r.cpu_ms_per_frame,
        "bytes": r.bytes,
        "bitrate_kbps": r.bitrate_kbps,
        "quality": r.quality.map(|q| json!({
            "psnr_db": q.psnr_db,
            "ssim": q.ssim,
            "frames": q.frames,
        })),
        "quality_note": r.quality_note,
        "gpu": r.gpu.as_ref().map(|g| json!({
            "processing": g.processing,
            "frame_pass_ms": opt(g.frame_pass_ms),
            "convert_us": opt(g.convert_us),
            "copy_us": opt(g.copy_us),
        })),
        "gpu_note": r.gpu_note,
    })
}

fn gpu_json(g: &GpuPasses) -> Value {
    json!({
        "device": g.device,
        "iterations": g.iterations,
        "passes": g.passes.iter().map(|p| json!({
            "name": p.name,
            "input": p.input,
            "output": p.output,
            "bytes": p.bytes,
            "gpu_us": p.gpu_us,
            "copy_us": opt(p.copy_us),
            "shader_copy_us": opt(p.shader_copy_us),
            "fraction_of_copy": opt(p.copy_us.map(|c| c / p.gpu_us)),
            "fraction_of_shader_copy": opt(p.shader_copy_us.map(|c| c / p.gpu_us)),
            "record_submit_us": p.record_submit_us,
        })).collect::<Vec<_>>(),
        "failed": g.failed.iter().map(|(name, reason)| json!({
            "name": name,
            "reason": reason,
        })).collect::<Vec<_>>(),
    })
}

/// A number for the table: `-` when not finite.
fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".into()
    }
}

impl BenchReport {
    /// The report as JSON (docs/BENCH.md lists every field).
    pub fn to_json(&self) -> Value {
        json!({
            "schema": SCHEMA_VERSION,
            "tool": "ghoststream bench",
            "version": self.version,
            "started_utc": self.started_utc,
            "machine": {
                "cpus": self.machine.cpus,
                "cpu_model": self.machine.cpu_model,
                "kernel": self.machine.kernel,
            },
            "input": {
                "kind": self.input.kind,
                "path": self.input.path.as_ref().map(|p| p.display().to_string()),
                "frames": self.input.frames,
                "fps": self.input.frame_rate.as_f64(),
                "format": self.input.format.to_string(),
                "rgb": self.input.rgb,
            },
            "quality_method": self.quality_method,
            "results": self.results.iter().map(result_json).collect::<Vec<_>>(),
            "unavailable": self.unavailable.iter().map(|u| json!({
                "label": u.label,
                "reason": u.reason,
            })).collect::<Vec<_>>(),
            "gpu_passes": self.gpu_passes.as_ref().map(gpu_json),
        })
    }

    /// The report as Markdown: the results table, the unavailable paths, the GPU passes.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# ghoststream bench\n\nGhostStream {}, {} UTC; {} CPUs ({}), kernel {}.\n",
            self.version,
            self.started_utc,
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.kernel
        );
        if self.input.frames > 0 {
            let _ = writeln!(
                s,
                "Input: {} ({} frames at {} fps, {}). Quality: {}.\n",
                self.input
                    .path
                    .as_ref()
                    .map_or_else(|| self.input.kind.to_string(), |p| p.display().to_string()),
                self.input.frames,
                num(self.input.frame_rate.as_f64(), 2),
                self.input.format,
                self.quality_method
            );
        }
        if !self.results.is_empty() {
            s.push_str("| path | size | fps | latency median ms | latency p99 ms | CPU ms/frame | bitrate kbit/s | PSNR dB | SSIM | GPU pass |\n");
            s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
            for r in &self.results {
                let label = match r.kind {
                    RowKind::Encode => r.label.clone(),
                    RowKind::Compare => format!("`{}`", r.label.replace('|', "\\|")),
                };
                let (lm, lp) = r.latency.map_or(("-".into(), "-".into()), |l| {
                    let mark = if l.serial { "" } else { " (paced)" };
                    (format!("{}{mark}", num(l.median_ms, 2)), num(l.p99_ms, 2))
                });
                let (psnr, ssim) = r.quality.map_or(("-".into(), "-".into()), |q| {
                    (num(q.psnr_db, 2), num(q.ssim, 4))
                });
                let gpu = match &r.gpu {
                    Some(g) => match (g.convert_us, g.copy_us) {
                        (Some(c), Some(k)) => format!("{} µs (copy {} µs)", num(c, 1), num(k, 1)),
                        _ => g
                            .frame_pass_ms
                            .map_or("yes".into(), |m| format!("{} ms", num(m, 2))),
                    },
                    None => "-".into(),
                };
                let _ = writeln!(
                    s,
                    "| {label} | {}x{} | {} | {lm} | {lp} | {} | {} | {psnr} | {ssim} | {gpu} |",
                    r.width,
                    r.height,
                    num(r.fps, 1),
                    num(r.cpu_ms_per_frame, 2),
                    num(r.bitrate_kbps, 0),
                );
            }
            if self
                .results
                .iter()
                .any(|r| r.latency.is_some_and(|l| !l.serial))
            {
                s.push_str("\n(paced): the encoder holds frames back, so its frames were sent at the frame rate and its latency includes the frames it holds.\n");
            }
            s.push('\n');
        }
        if !self.unavailable.is_empty() {
            s.push_str("Not measured here:\n\n");
            for u in &self.unavailable {
                let _ = writeln!(s, "- {}: {}", u.label, u.reason);
            }
            s.push('\n');
        }
        if let Some(g) = &self.gpu_passes {
            let _ = writeln!(
                s,
                "## GPU passes\n\nDevice: {}; {} timed dispatches each (medians).\n",
                g.device, g.iterations
            );
            if !g.passes.is_empty() {
                s.push_str("| pass | input | output | bytes moved | GPU µs | copy µs | shader copy µs | pass / shader copy time | CPU record+submit µs |\n");
                s.push_str("|---|---|---|---|---|---|---|---|---|\n");
                for p in &g.passes {
                    let o = |v: Option<f64>| v.map_or("-".into(), |v| num(v, 1));
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {:.1} MB | {} | {} | {} | {} | {} |",
                        p.name,
                        p.input,
                        p.output,
                        p.bytes as f64 / 1e6,
                        num(p.gpu_us, 1),
                        o(p.copy_us),
                        o(p.shader_copy_us),
                        p.shader_copy_us
                            .map_or("-".into(), |c| format!("{}x", num(p.gpu_us / c, 2))),
                        num(p.record_submit_us, 1)
                    );
                }
                s.push('\n');
            }
            for (name, reason) in &g.failed {
                let _ = writeln!(s, "- {name} failed: {reason}");
            }
        }
        s
    }

    /// Writes `bench.json`, `bench.md` and the charts (`fps.svg`, `latency.svg`,
    /// `quality.svg`, and `gpu_passes.svg` with GPU passes) into `dir`, made if missing;
    /// returns the files written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
        let werr = |path: &Path, e: std::io::Error| BenchError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| werr(dir, e))?;
        let mut files = Vec::new();
        let mut put = |name: &str, text: &str| -> Result<(), BenchError> {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| werr(&path, e))?;
            files.push(path);
            Ok(())
        };
        let json =
            serde_json::to_string_pretty(&self.to_json()).map_err(|e| BenchError::Write {
                path: dir.join("bench.json"),
                reason: e.to_string(),
            })?;
        put("bench.json", &json)?;
        put("bench.md", &self.to_markdown())?;
        for (name, svg) in chart::all(self)? {
            put(&name, &svg)?;
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_become_utc_dates() {
        assert_eq!(utc_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_from_unix(1_796_410_261), "2026-12-04T18:51:01Z");
    }
}
