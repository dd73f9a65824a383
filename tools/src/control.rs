//! `ghoststream save|status|stop|keyframe|bitrate`: ask a running recording through its
//! control socket (the library's `control::request`), print its answer, exit 0; or print one
//! line that says why not, exit 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ghoststream::control::{self, ControlError};
use ghoststream::units;

/// How long `save` waits by default: the answer comes once the file is written.
const SAVE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the other requests wait by default.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the recording's control socket is, and how long to wait for its answer.
#[derive(Args, Debug)]
pub struct Connection {
    /// The recording's control socket [default: $XDG_RUNTIME_DIR/ghoststream/control.sock].
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,

    /// How long to wait for the answer (5, 10s, 1.5m) [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    timeout: Option<Duration>,
}

/// `ghoststream save [SECONDS]`.
#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Save only the last SECONDS of the replay buffer (30, 10s, 1.5m); without it, all it
    /// holds.
    #[arg(value_name = "SECONDS", value_parser = parse_duration, allow_hyphen_values = true)]
    seconds: Option<Duration>,

    /// The recording's control socket [default: $XDG_RUNTIME_DIR/ghoststream/control.sock].
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,

    /// How long to wait for the answer, which comes once the file is written (5, 10s, 1.5m)
    /// [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    timeout: Option<Duration>,
}

/// `ghoststream status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print the recording's answer as it came: one line holding a JSON object.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    connection: Connection,
}

/// `ghoststream bitrate RATE`.
#[derive(Args, Debug)]
pub struct BitrateArgs {
    /// The new bitrate in bits per second: 6M, 6000k, 6Mbps.
    #[arg(value_name = "RATE", value_parser = parse_rate, allow_hyphen_values = true)]
    rate: String,

    #[command(flatten)]
    connection: Connection,
}

/// `save --help`'s examples.
pub const SAVE_EXAMPLES: &str = "Examples:
  ghoststream save            # the whole replay buffer; prints the file's path
  ghoststream save 30s        # the last 30 seconds
  mpv \"$(ghoststream save)\"   # watch it

The recording must keep a replay buffer (`ghoststream record --replay 60s`).";

fn parse_duration(s: &str) -> Result<Duration, String> {
    units::parse_duration(s).map_err(|e| e.to_string())
}

/// Checked here with the library's parser; sent as typed, so the recording reads the same text.
fn parse_rate(s: &str) -> Result<String, String> {
    units::parse_bitrate(s)
        .map(|_| s.trim().to_string())
        .map_err(|e| e.to_string())
}

/// `save SECONDS` as the control socket takes it: a plain number of seconds.
fn save_line(seconds: Option<Duration>) -> String {
    match seconds {
        None => "save".to_string(),
        Some(d) if d.subsec_nanos() == 0 => format!("save {}", d.as_secs()),
        Some(d) => format!("save {}", d.as_secs_f64()),
    }
}

/// Sends `line` and returns the answer, or the one line that says why there is none.
fn ask(connection: &Connection, line: &str) -> Result<String, String> {
    let (path, given) = match &connection.control {
        Some(p) => (p.clone(), true),
        None => (
            control::default_socket_path().ok_or(
                "XDG_RUNTIME_DIR is not set, so there is no default control socket: give --control PATH (the --control given to `ghoststream record`)",
            )?,
            false,
        ),
    };
    let timeout = connection.timeout.unwrap_or(TIMEOUT);
    control::request(&path, line, timeout).map_err(|e| explain(&e, &path, given))
}

/// One line for a request that got no answer, with what to do.
fn explain(e: &ControlError, path: &Path, given: bool) -> String {
    let start = if given {
        format!("ghoststream record --control {}", path.display())
    } else {
        "ghoststream record".to_string()
    };
    match e {
        ControlError::NoServer { .. } => format!(
            "no recording is running (nothing at {}): start one with `{start}`",
            path.display()
        ),
        ControlError::Stale { .. } => format!(
            "no recording is running: {} was left by a recording that was killed (the next `{start}` replaces it)",
            path.display()
        ),
        ControlError::Timeout { timeout, .. } => format!(
            "the recording at {} did not answer within {timeout:?}: it may be stalled; try again, or give a longer --timeout",
            path.display()
        ),
        // The recording's own words (`error: ...` answers).
        ControlError::Server { message } => message.clone(),
        other => crate::one_line(other),
    }
}

/// Expects `ok` (`stop`, `keyframe`, `bitrate`).
fn expect_ok(answer: &str, line: &str) -> Result<(), String> {
    if answer == "ok" {
        Ok(())
    } else {
        Err(format!(
            "the recording answered {answer:?} to {line:?}, not \"ok\""
        ))
    }
}

/// `ghoststream save [SECONDS]`: prints the saved file's path.
pub fn save(args: SaveArgs) -> Result<(), String> {
    let line = save_line(args.seconds);
    let connection = Connection {
        control: args.control,
        timeout: Some(args.timeout.unwrap_or(SAVE_TIMEOUT)),
    };
    let answer = ask(&connection, &line)?;
    let path = answer.strip_prefix("saved ").ok_or_else(|| {
        format!("the recording answered {answer:?} to {line:?}, not \"saved PATH\"")
    })?;
    println!("{path}");
    Ok(())
}

/// `ghoststream status`: the recording's JSON object as `key: value` lines, or raw.
pub fn status(args: StatusArgs) -> Result<(), String> {
    let answer = ask(&args.connection, "status")?;
    if args.json {
        println!("{answer}");
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(&answer) {
        Ok(serde_json::Value::Object(object)) => {
            let mut lines = Vec::new();
            flatten("", &serde_json::Value::Object(object), &mut lines);
            for line in lines {
                println!("{line}");
            }
        }
        // Not an object: shown as it came (its form is the recording's business).
        _ => println!("{answer}"),
    }
    Ok(())
}

/// `key: value` lines for `value`; nested objects' keys joined with dots, lists of plain
/// values joined with commas.
fn flatten(prefix: &str, value: &serde_json::Value, lines: &mut Vec<String>) {
    use serde_json::Value;
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(object) => {
            for (k, v) in object {
                flatten(&key(k), v, lines);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&key(&i.to_string()), v, lines);
            }
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(plain).collect();
            lines.push(format!("{prefix}: {}", parts.join(", ")));
        }
        other => lines.push(format!("{prefix}: {}", plain(other))),
    }
}

/// A plain JSON value as a person reads it: strings without quotes.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `ghoststream stop`.
pub fn stop(connection: Connection) -> Result<(), String> {
    expect_ok(&ask(&connection, "stop")?, "stop")
}

/// `ghoststream keyframe`.
pub fn keyframe(connection: Connection) -> Result<(), String> {
    expect_ok(&ask(&connection, "keyframe")?, "keyframe")
}

/// `ghoststream bitrate RATE`.
pub fn bitrate(args: BitrateArgs) -> Result<(), String> {
    let line = format!("bitrate {}", args.rate);
    expect_ok(&ask(&args.connection, &line)?, &line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_lines_are_plain_seconds() {
        assert_eq!(save_line(None), "save");
        assert_eq!(save_line(Some(Duration::from_secs(90))), "save 90");
        assert_eq!(save_line(Some(Duration::from_millis(1500))), "save 1.5");
        assert_eq!(save_line(Some(Duration::from_millis(250))), "save 0.25");
    }

    #[test]
    fn status_objects_flatten_to_key_value_lines() {
        let value: serde_json::Value = serde_json::from_str(
            r#"{"frames":10,"state":"recording","replay":{"seconds":30.5,"bytes":null},
                "outputs":["a.mkv","srt://x"],"streams":[{"url":"u","ok":true}],"none":[]}"#,
        )
        .unwrap();
        let mut lines = Vec::new();
        flatten("", &value, &mut lines);
        assert_eq!(
            lines,
            [
                "frames: 10",
                "none: ",
                "outputs: a.mkv, srt://x",
                "replay.bytes: null",
                "replay.seconds: 30.5",
                "state: recording",
                "streams.0.ok: true",
                "streams.0.url: u",
            ]
        );
    }
}
