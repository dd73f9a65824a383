//! `ghoststream`: encode, record and probe with the GhostStream engine.

// Without `software` (the build for machines without FFmpeg, such as the lent H200) the tool
// has no encoders: encode and record, and the other tools' spellings of their options, go.
#[cfg(feature = "software")]
mod aliases;
mod args;
mod bench;
mod control;
#[cfg(feature = "software")]
mod encode;
mod generate;
#[cfg(feature = "software")]
mod live;
#[cfg(feature = "software")]
mod options;
mod probe;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// GhostStream: a GPU video engine for Linux. Encode files and test patterns, probe and
/// benchmark this machine's encode paths.
#[derive(Parser, Debug)]
#[command(name = "ghoststream", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Log detail: -v for info, -vv for debug (or set RUST_LOG).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Encode a test pattern, a Y4M file or raw frames to a container or bitstream file.
    #[cfg(feature = "software")]
    #[command(after_help = encode::EXAMPLES)]
    Encode(options::EncodeOptions),
    /// Record the screen (or any input `encode` takes) to a file, a replay buffer or a stream.
    #[cfg(feature = "software")]
    #[command(after_help = RECORD_EXAMPLES)]
    Record(options::RecordOptions),
    /// List every encode path, GPU engine and capture method, available or not and why.
    #[command(after_help = probe::EXAMPLES)]
    Probe(probe::ProbeArgs),
    /// Benchmark this machine's encode paths and GPU passes; a report with charts.
    ///
    /// Per encode path and size: fps, latency (median, p99), CPU per frame, bitrate, PSNR and
    /// SSIM; another tool's command line side by side; GPU passes against a device copy.
    #[command(after_help = bench::EXAMPLES)]
    Bench(bench::BenchArgs),
    /// Save the running recording's replay buffer; prints the saved file's path.
    ///
    /// All it holds, or the last SECONDS.
    #[command(after_help = control::SAVE_EXAMPLES)]
    Save(control::SaveArgs),
    /// Show the running recording's state.
    Status(control::StatusArgs),
    /// Stop the running recording; its files are finished cleanly.
    Stop(control::Connection),
    /// Make the running recording's next frame a key frame.
    Keyframe(control::Connection),
    /// Change the running recording's bitrate.
    Bitrate(control::BitrateArgs),
}

#[cfg(feature = "software")]
const RECORD_EXAMPLES: &str =
    "Stop a recording with Ctrl+C or SIGTERM (kill PID): the file is finished cleanly and
plays to its last frame. `ghoststream stop` does the same from another terminal.

Examples:
  # ten seconds of the compositor's first output, 60 fps constant rate, to AV1 in IVF
  ghoststream record --source wayland --seconds 10 -o screen.ivf

  # one output by name, without the cursor, H.264 for a streaming server
  ghoststream record --source wayland:DP-1 --no-cursor --codec h264 --fps 30 -o screen.h264

  # a region (as `slurp` prints it), scaled to 720p on the GPU
  ghoststream record --source wayland --region \"$(slurp)\" --scale 1280x720 -o clip.ivf

Frames come at the --fps rate: an unchanged screen repeats the last frame, a faster one keeps
the newest. Nothing needs root: wlroots compositors (sway, Hyprland, river, labwc) offer
wlr-screencopy to ordinary clients.

  # a crash-safe Matroska file: killed at any moment, it plays up to its last second
  ghoststream record --source wayland --codec h264 -o screen.mkv

  # the screen with a replay buffer of the last 30 s, saved into your videos folder
  ghoststream record --replay 30s
  ghoststream save 10     # from another terminal: the last 10 s; prints the file's path
  ghoststream status      # frames, size, bitrate, latency, what the replay buffer holds
  ghoststream stop        # the same as Ctrl+C: every file finished cleanly
  kill -USR1 $(pidof ghoststream)   # also saves the whole buffer";

fn main() -> ExitCode {
    let words: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // `generate` (completions, man pages) stays out of what it generates: it is parsed apart.
    if words.first().is_some_and(|w| w == "generate") {
        return match generate::run(&words, Cli::command()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
        };
    }
    // ffmpeg's and gpu-screen-recorder's spellings are answered before parsing.
    #[cfg(feature = "software")]
    if let Some(answer) = aliases::answer(&words, &Cli::command()) {
        eprintln!("ghoststream: {answer}");
        return ExitCode::from(2);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    // The Wayland backend logs a lost connection as an error before returning it; the typed
    // error the tool prints says the same, so its own line is kept for -vv.
    let level = match cli.verbose {
        0 => "warn,wayland_backend=off",
        1 => "info,wayland_backend=off",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let result = match cli.command {
        #[cfg(feature = "software")]
        Command::Encode(args) => encode::run(*args.0),
        #[cfg(feature = "software")]
        Command::Record(args) => encode::run(*args.0),
        Command::Probe(args) => probe::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Save(args) => control::save(args),
        Command::Status(args) => control::status(args),
        Command::Stop(args) => control::stop(args),
        Command::Keyframe(args) => control::keyframe(args),
        Command::Bitrate(args) => control::bitrate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version go out as clap writes them; a mistake on the command line is one line
/// that names the value (clap's own text, without its usage block), exit status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // clap's message, up to its usage block, on one line.
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .collect();
    let line = match message.join(" ") {
        m if m.is_empty() => "error: invalid command line".to_string(),
        m => m,
    };
    eprintln!("{line} (see ghoststream --help)");
    ExitCode::from(2)
}

pub(crate) use ghoststream::report::one_line;
