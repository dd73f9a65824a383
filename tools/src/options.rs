//! The options of `encode` and `record`: one [`EncodeArgs`] behind both, shown in headed groups,
//! each subcommand showing and taking only its own.
//!
//! `record` takes every option `encode` takes (it records any input `encode` reads: the test
//! pattern, Y4M, raw frames), plus the capture options and the replay, streaming and control
//! options, which only make sense while recording. `encode` hides those and refuses them with
//! a line that names `record`.

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

use crate::encode::EncodeArgs;

/// The help headings in the order help shows them, each with its options (by field name) in
/// order. Every option of [`EncodeArgs`] is in one group (a test checks it).
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "Input",
        &[
            "input",
            "display",
            "region",
            "no_cursor",
            "portal_token",
            "size",
            "fps",
            "raw_format",
            "frames",
            "seconds",
        ],
    ),
    (
        "Output",
        &["output", "overwrite", "format", "stats", "quiet"],
    ),
    (
        "Encoder",
        &[
            "codec",
            "encoder",
            "preset",
            "tune",
            "intra_refresh",
            "split_frame",
            "queue",
            "backpressure",
            "threads",
        ],
    ),
    (
        "Rate control",
        &[
            "rc",
            "bitrate",
            "max_bitrate",
            "quality",
            "qp",
            "vbv",
            "keyint",
        ],
    ),
    (
        "Colour/HDR",
        &[
            "bit_depth",
            "matrix",
            "range",
            "transfer",
            "primaries",
            "master_display",
            "max_cll",
        ],
    ),
    (
        "GPU processing",
        &[
            "gpu",
            "scale",
            "scale_filter",
            "fit",
            "sharpen",
            "tonemap",
            "input_transfer",
            "hdr_peak",
        ],
    ),
    (
        "Replay & streaming",
        &[
            "replay",
            "replay_dir",
            "replay_format",
            "replay_bytes",
            "control",
            "stream",
            "stream_buffer",
        ],
    ),
];

/// Options of `record` alone: the capture's, and those that act on a running recording.
pub const RECORD_ONLY: &[&str] = &[
    "display",
    "region",
    "no_cursor",
    "portal_token",
    "replay",
    "replay_dir",
    "replay_format",
    "replay_bytes",
    "control",
    "stream",
    "stream_buffer",
];

/// The group and place of option `id`.
fn place(id: &str) -> Option<(&'static str, usize)> {
    let mut n = 0;
    for (heading, ids) in GROUPS {
        for each in *ids {
            if *each == id {
                return Some((heading, n));
            }
            n += 1;
        }
    }
    None
}

const ENCODE_INPUT: &str = "Input: testsrc, FILE.y4m, - (stdin) or a raw file";
const ENCODE_INPUT_LONG: &str = "What to encode: `testsrc` (the animated test pattern), a .y4m file, `-` for Y4M on standard input, or a raw file with --raw-format and --size.

`record` captures the screen; `encode` reads these.";
const RECORD_INPUT: &str = "screen (default), wayland[:OUTPUT], pipewire[:NODE], portal, a file";
const RECORD_INPUT_LONG: &str = "What to record.

`screen` (the default): the compositor's own capture (ext-image-copy-capture or wlr-screencopy) when it offers one, else the desktop portal; the recording says which. `wayland[:OUTPUT]`: a Wayland compositor's output, by name (HEADLESS-1, DP-1), through ext-image-copy-capture when the compositor offers it, else wlr-screencopy. `wayland:window=APP_ID`: one window, by its app_id (ext-image-copy-capture); an unknown app_id lists the windows there are. `pipewire[:NODE]`: a PipeWire video node by id or node.name; without one, the session manager's choice. `portal`: the desktop portal's screen cast (GNOME, KDE, wlroots): the user picks a screen once, later runs reuse the grant. Anything `encode` reads works too: `testsrc` (the test pattern, then at its own frame rate, as a capture), a .y4m file, `-` for Y4M on standard input, a raw file with --raw-format.

Without --source: the screen (`screen`: the compositor's own capture when it offers one, else the desktop portal; it says which).";

/// `EncodeArgs`'s options for `encode` (`record` false) or `record`: grouped, ordered, and
/// `record`'s own hidden from `encode`.
fn augment(cmd: Command, record: bool) -> Command {
    let all = EncodeArgs::augment_args(Command::new("options"));
    let mut args: Vec<Arg> = all.get_arguments().cloned().collect();
    args.sort_by_key(|a| place(a.get_id().as_str()).map_or(usize::MAX, |(_, n)| n));
    let mut cmd = cmd;
    for arg in args {
        let id = arg.get_id().as_str().to_string();
        let mut arg = match place(&id) {
            Some((heading, n)) => arg.help_heading(heading).display_order(n),
            None => arg,
        };
        if !record && RECORD_ONLY.contains(&id.as_str()) {
            // Hidden, and without its requirements, so that `encode` answers with the line
            // that names `record` rather than with what the option needs.
            arg = arg.hide(true).requires(clap::builder::Resettable::Reset);
        }
        if id == "input" {
            arg = if record {
                arg.long("source")
                    .value_name("SOURCE")
                    .alias(None)
                    .alias("input")
                    .hide_default_value(true)
                    .help(RECORD_INPUT)
                    .long_help(RECORD_INPUT_LONG)
            } else {
                arg.long("input")
                    .value_name("INPUT")
                    .alias(None)
                    .alias("source")
                    .help(ENCODE_INPUT)
                    .long_help(ENCODE_INPUT_LONG)
            };
        }
        cmd = cmd.arg(arg);
    }
    for group in all.get_groups() {
        cmd = cmd.group(group.clone());
    }
    cmd
}

/// `ghoststream encode`'s options.
#[derive(Debug)]
pub struct EncodeOptions(pub Box<EncodeArgs>);

/// `ghoststream record`'s options.
#[derive(Debug)]
pub struct RecordOptions(pub Box<EncodeArgs>);

/// Refuses `record`'s own options given to `encode`, naming `record`.
fn refuse_record_only(matches: &ArgMatches) -> Result<(), clap::Error> {
    for id in RECORD_ONLY {
        if matches.value_source(id) == Some(ValueSource::CommandLine) {
            let what = if id.starts_with("replay") || *id == "control" || id.starts_with("stream") {
                "replay and streaming"
            } else {
                "screen capture"
            };
            return Err(clap::Error::raw(
                clap::error::ErrorKind::UnknownArgument,
                format!(
                    "--{} is an option of `ghoststream record` ({what}); `encode` does not take it\n",
                    id.replace('_', "-")
                ),
            ));
        }
    }
    Ok(())
}

impl FromArgMatches for EncodeOptions {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        refuse_record_only(matches)?;
        Ok(Self(Box::new(EncodeArgs::from_arg_matches(matches)?)))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        refuse_record_only(matches)?;
        self.0.update_from_arg_matches(matches)
    }
}

impl Args for EncodeOptions {
    fn augment_args(cmd: Command) -> Command {
        augment(cmd, false)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        augment(cmd, false)
    }
}

impl FromArgMatches for RecordOptions {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = EncodeArgs::from_arg_matches(matches)?;
        args.live = true;
        Ok(Self(Box::new(args)))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl Args for RecordOptions {
    fn augment_args(cmd: Command) -> Command {
        augment(cmd, true)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        augment(cmd, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_has_one_group() {
        let all = EncodeArgs::augment_args(Command::new("options"));
        for arg in all.get_arguments() {
            let id = arg.get_id().as_str();
            let groups = GROUPS.iter().filter(|(_, ids)| ids.contains(&id)).count();
            assert_eq!(groups, 1, "--{id} is in {groups} help groups (want one)");
        }
        for id in RECORD_ONLY {
            assert!(all.get_arguments().any(|a| a.get_id() == id), "{id}");
        }
    }

    #[test]
    fn encode_hides_records_options_and_record_shows_them() {
        let encode = EncodeOptions::augment_args(Command::new("encode"));
        let record = RecordOptions::augment_args(Command::new("record"));
        for id in RECORD_ONLY {
            let hidden = |c: &Command| {
                c.get_arguments()
                    .find(|a| a.get_id() == id)
                    .unwrap()
                    .is_hide_set()
            };
            assert!(hidden(&encode), "{id} shown by encode");
            assert!(!hidden(&record), "{id} hidden by record");
        }
        encode.debug_assert();
        record.debug_assert();
    }
}
