//! Another tool's command line on the same input (`--compare`): the input written to a Y4M
//! file, the command run through `sh -c` with its placeholders filled in, its wall time and CPU
//! (the child's rusage from `wait4`) measured, and its output's size and quality taken the same
//! way as GhostStream's.
//!
//! Placeholders: `{input}` (the Y4M file), `{output}` (a file in the work folder ending in
//! `.mkv`, which ffmpeg muxes by its extension), `{width}`, `{height}`, `{fps}` (as a fraction,
//! 60/1), `{frames}`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::input::BenchInput;
use super::quality::{self, Decoder};
use super::rusage::wait_child;
use super::{BenchConfig, BenchError, BenchResult, Progress, RowKind};

/// The longest a comparison command may run before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// A value as one shell word (single-quoted).
fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `command` with its placeholders replaced.
pub(super) fn fill(command: &str, input: &Path, output: &Path, src: &BenchInput) -> String {
    let rate = src.frame_rate();
    command
        .replace("{input}", &shell_word(&input.to_string_lossy()))
        .replace("{output}", &shell_word(&output.to_string_lossy()))
        .replace("{width}", &src.width().to_string())
        .replace("{height}", &src.height().to_string())
        .replace("{fps}", &format!("{}/{}", rate.num, rate.den))
        .replace("{frames}", &src.frames().to_string())
}

/// Refuses a command without `{input}` or `{output}`.
pub(super) fn check(command: &str) -> Result<(), BenchError> {
    for p in ["{input}", "{output}"] {
        if !command.contains(p) {
            return Err(BenchError::Compare {
                command: command.into(),
                reason: format!(
                    "it has no {p}: write the command with {{input}} for the Y4M input and {{output}} for its file, e.g. 'ffmpeg -y -i {{input}} -c:v libx264 -preset veryfast {{output}}'"
                ),
            });
        }
    }
    Ok(())
}

/// Runs comparison `index` (`command`) on `input`. Errors: a command without `{input}` or
/// `{output}`, one that does not start, fails, or writes nothing.
pub(super) fn measure(
    command: &str,
    index: usize,
    input: &BenchInput,
    config: &BenchConfig,
    decoder: Option<&Decoder>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<BenchResult, BenchError> {
    let err = |reason: String| BenchError::Compare {
        command: command.into(),
        reason,
    };
    check(command)?;
    let (w, h) = (input.width(), input.height());
    let y4m = config.work_dir.join(format!("input-{w}x{h}.y4m"));
    if !y4m.exists() {
        input.write_y4m(&y4m)?;
    }
    let output = config
        .work_dir
        .join(format!("compare{}-{w}x{h}.mkv", index + 1));
    // A stale output from an earlier run would be measured if the command wrote nothing.
    let _ = std::fs::remove_file(&output);
    let line = fill(command, &y4m, &output, input);
    let log_path = config
        .work_dir
        .join(format!("compare{}-{w}x{h}.log", index + 1));
    let log = std::fs::File::create(&log_path).map_err(|e| BenchError::Write {
        path: log_path.clone(),
        reason: e.to_string(),
    })?;
    let log_err = log.try_clone().map_err(|e| BenchError::Write {
        path: log_path.clone(),
        reason: e.to_string(),
    })?;
    progress(&Progress::Phase {
        phase: "running the command",
        done: 0,
        of: 0,
    });
    let t0 = Instant::now();
    let child = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| err(format!("sh does not start: {e}")))?;
    let end = wait_child(child.id(), COMMAND_TIMEOUT).map_err(err)?;
    let wall_s = t0.elapsed().as_secs_f64();
    if end.code != Some(0) {
        return Err(err(format!(
            "it ended with {} (its output is in {}); run it by hand to see why",
            end.code.map_or(
                "a signal (killed after 10 minutes, or crashed)".into(),
                |c| format!("exit code {c}")
            ),
            log_path.display()
        )));
    }
    let bytes = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
    if bytes == 0 {
        return Err(err(format!(
            "it wrote nothing to {{output}} ({}); point its output at {{output}}",
            output.display()
        )));
    }
    let frames = input.frames();
    let duration_s = f64::from(frames) / input.frame_rate().as_f64();
    let (quality, quality_note) = quality::measure(decoder, &output, input, progress);
    Ok(BenchResult {
        kind: RowKind::Compare,
        label: command.into(),
        encoder: None,
        detail: line,
        codec: None,
        preset: None,
        width: w,
        height: h,
        frames,
        fps: f64::from(frames) / wall_s,
        wall_s,
        latency: None,
        cpu_ms_per_frame: end.cpu_s * 1e3 / f64::from(frames),
        bytes,
        bitrate_kbps: bytes as f64 * 8.0 / duration_s / 1e3,
        quality,
        quality_note,
        gpu: None,
        gpu_note: Some("another tool: its GPU use is not visible from here".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Rational;

    #[test]
    fn placeholders_are_filled_and_paths_quoted() {
        let src = BenchInput::pattern(64, 64, Rational::new(30, 1), 2).unwrap();
        let line = fill(
            "ffmpeg -i {input} -s {width}x{height} -r {fps} -frames:v {frames} {output}",
            Path::new("/tmp/a b/in.y4m"),
            Path::new("/tmp/it's.mkv"),
            &src,
        );
        assert_eq!(
            line,
            r"ffmpeg -i '/tmp/a b/in.y4m' -s 64x64 -r 30/1 -frames:v 2 '/tmp/it'\''s.mkv'"
        );
    }
}
