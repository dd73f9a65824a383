//! Other tools' spellings answered: ffmpeg's and gpu-screen-recorder's options (`-c:v`, `-b:v`,
//! `-r`, `-w`, `--preset veryfast`...) found on the command line before it is parsed, each
//! answered in one line with the GhostStream option to use.
//!
//! An option GhostStream has itself (`-i`, `-o`, `-y`, `-c`, `-q`) is GhostStream's, except
//! where its value shows the other tool's meaning (`-c mkv`: gpu-screen-recorder's container;
//! `-q very_high`: its quality). Values of GhostStream's own options are never read as options.
//!
//! x264/x265 preset names map onto P1..P7 through the library's own table
//! ([`ghoststream::encode::software::preset_name`], listed in docs/ENCODERS.md): the answer
//! names the level that runs that very x264 preset; names slower than P7's (`slower`,
//! `veryslow`, `placebo`) get P7, the slowest there is.

use std::collections::HashSet;
use std::ffi::OsString;

use clap::Command;
use ghoststream::{Codec, Preset};

const FFMPEG: &str = "ffmpeg's";
const GSR: &str = "gpu-screen-recorder's";
const VIDEO_ONLY: &str = "GhostStream records video only (there is no audio)";

/// GhostStream's own option spellings (`--long`, `-s` and their aliases), and those that take a
/// value.
struct Ours {
    all: HashSet<String>,
    valued: HashSet<String>,
}

impl Ours {
    fn of(cmd: &Command) -> Self {
        let mut ours = Self {
            all: HashSet::new(),
            valued: HashSet::new(),
        };
        ours.add(cmd);
        ours
    }

    fn add(&mut self, cmd: &Command) {
        for arg in cmd.get_arguments() {
            let shorts = arg
                .get_short()
                .into_iter()
                .chain(arg.get_all_short_aliases().into_iter().flatten());
            let longs = arg
                .get_long()
                .into_iter()
                .chain(arg.get_all_aliases().into_iter().flatten());
            let names: Vec<String> = shorts
                .map(|s| format!("-{s}"))
                .chain(longs.map(|l| format!("--{l}")))
                .collect();
            let takes = arg.get_action().takes_values();
            for n in names {
                if takes {
                    self.valued.insert(n.clone());
                }
                self.all.insert(n);
            }
        }
        for sub in cmd.get_subcommands() {
            self.add(sub);
        }
    }
}

/// The answer to the first foreign spelling in `args` (the command line without the program
/// name), or `None` when there is none. Scanning stops at `--`.
pub fn answer(args: &[OsString], cmd: &Command) -> Option<String> {
    let ours = Ours::of(cmd);
    let mut i = 0;
    while let Some(token) = args.get(i) {
        let Some(token) = token.to_str() else {
            i += 1;
            continue;
        };
        if token == "--" {
            break;
        }
        let next = args.get(i + 1).and_then(|n| n.to_str());
        if let Some(answer) = foreign(token, next, ours.all.contains(token)) {
            return Some(answer);
        }
        i += if ours.valued.contains(token) { 2 } else { 1 };
    }
    None
}

/// The answer for `token` (with the word after it, `next`) if it is another tool's spelling;
/// `ours` says whether GhostStream has an option of that spelling.
fn foreign(token: &str, next: Option<&str>, ours: bool) -> Option<String> {
    if let Some(value) = token.strip_prefix("--preset=") {
        return preset_answer("--preset", Some(value));
    }
    match token {
        "--preset" => return preset_answer(token, next),
        "-c" if ours => {
            return next
                .and_then(container)
                .map(|f| gsr_container(token, next, f))
        }
        "-q" if ours => {
            return next
                .filter(|v| GSR_QUALITIES.contains(v))
                .map(|_| {
                    format!(
                        "{} is {GSR} quality: use --rc cq --quality N for constant quality, or --bitrate (GhostStream's -q is --quiet)",
                        spelled(token, next)
                    )
                });
        }
        _ if ours => return None,
        _ => {}
    }
    let v = next.unwrap_or("N");
    let line = match token {
        "-c:v" | "-vcodec" | "-codec:v" => format!(
            "{} is {FFMPEG} spelling: use {}",
            spelled(token, next),
            codec_answer(next)
        ),
        "-b:v" => format!("{token} is {FFMPEG} spelling: use --bitrate {v} (6M, 6000k)"),
        "-r" => format!(
            "{token} is {FFMPEG} frame rate and {GSR} replay length: use --fps {v} for the frame rate, or --replay {v}s to keep the last {v} seconds"
        ),
        "-g" => format!("{token} is {FFMPEG} spelling: use --keyint {v} (frames)"),
        "-crf" => format!("{token} is {FFMPEG} spelling: use --rc cq --quality {v}"),
        "-preset" => preset_answer(token, next)?,
        "-t" => format!(
            "{token} is {FFMPEG} spelling: use --seconds {} (10, 90s, 1.5m)",
            next.filter(|d| ghoststream::units::parse_duration(d).is_ok())
                .unwrap_or("DURATION")
        ),
        "-s" => format!(
            "{token} is {FFMPEG} frame size: use --size {w} (the size of the test pattern or of raw input) or --scale {w} (resize before encoding)",
            w = next.unwrap_or("WxH")
        ),
        "-pix_fmt" => format!(
            "{} is {FFMPEG} spelling: use --raw-format {} for raw input's layout, and --bit-depth 8|10 for the encoded depth",
            spelled(token, next),
            next.and_then(pixel_format)
                .unwrap_or("i420|nv12|p010|i420p10|i444|bgra8|rgba8")
        ),
        "-f" => format_answer(token, next),
        "-an" => format!("{token} is {FFMPEG} spelling: {VIDEO_ONLY}; drop {token}"),
        "-a" | "-c:a" | "-b:a" | "-acodec" => format!("{token} asks for audio: {VIDEO_ONLY}; drop it"),
        "-w" => format!(
            "{} is {GSR} capture target: use {}",
            spelled(token, next),
            window_answer(next)
        ),
        "-k" => format!(
            "{} is {GSR} codec: use {}",
            spelled(token, next),
            gsr_codec_answer(next)
        ),
        "-bm" => format!(
            "{} is {GSR} bitrate mode: use {}",
            spelled(token, next),
            match next {
                Some("cbr") => "--rc cbr --bitrate RATE",
                Some("vbr") => "--rc vbr --bitrate RATE",
                Some("qp") => "--rc cq --quality N",
                _ => "--rc cbr|vbr|cq (--bitrate RATE, --quality N)",
            }
        ),
        "-fm" => format!(
            "{token} is {GSR} frame rate mode: GhostStream records at a constant rate, --fps N (an unchanged screen repeats its last frame)"
        ),
        _ => return None,
    };
    Some(line)
}

/// `TOKEN VALUE`, or `TOKEN` alone.
fn spelled(token: &str, next: Option<&str>) -> String {
    match next {
        Some(v) if !v.starts_with('-') => format!("{token} {v}"),
        _ => token.to_string(),
    }
}

/// gpu-screen-recorder's `-q` values.
const GSR_QUALITIES: [&str; 4] = ["medium", "high", "very_high", "ultra"];

/// The P-level that runs x264/x265's preset `name` (P7 for the names slower than its).
pub fn x264_preset(name: &str) -> Option<Preset> {
    const LEVELS: [Preset; 7] = [
        Preset::P1,
        Preset::P2,
        Preset::P3,
        Preset::P4,
        Preset::P5,
        Preset::P6,
        Preset::P7,
    ];
    let name = name.to_ascii_lowercase();
    if let Some(p) = LEVELS
        .into_iter()
        .find(|&p| ghoststream::encode::software::preset_name(Codec::H264, p) == name)
    {
        return Some(p);
    }
    ["slower", "veryslow", "placebo"]
        .contains(&name.as_str())
        .then_some(Preset::P7)
}

fn preset_level(p: Preset) -> u32 {
    p as u32
}

/// `--preset veryfast` (and ffmpeg's `-preset`): the P-level to use.
fn preset_answer(token: &str, value: Option<&str>) -> Option<String> {
    let ffmpeg = token == "-preset";
    match value.and_then(|v| x264_preset(v).map(|p| (v, p))) {
        Some((name, p)) => Some(format!(
            "{token} {name} is x264's preset name: use --preset p{} (GhostStream's presets run from p1, fastest, to p7, best)",
            preset_level(p)
        )),
        None if ffmpeg => Some(format!(
            "{} is {FFMPEG} spelling: use --preset p1..p7 (p1 fastest, p7 best)",
            spelled(token, value)
        )),
        None => None,
    }
}

/// The codec (and encoder) of an ffmpeg encoder name such as libx264 or hevc_nvenc.
fn codec_answer(value: Option<&str>) -> String {
    const ANY: &str =
        "--codec h264|hevc|av1 (and --encoder software|nvenc|vulkan to pick the encoder)";
    let Some(v) = value.map(str::to_ascii_lowercase) else {
        return ANY.into();
    };
    let codec = if v.contains("264") || v.contains("avc") {
        "h264"
    } else if v.contains("265") || v.contains("hevc") {
        "hevc"
    } else if v.contains("av1") {
        "av1"
    } else {
        return ANY.into();
    };
    let encoder = if v.contains("nvenc") {
        " --encoder nvenc"
    } else if v.contains("vulkan") {
        " --encoder vulkan"
    } else if v.starts_with("lib") {
        " --encoder software"
    } else {
        ""
    };
    format!("--codec {codec}{encoder}")
}

/// An ffmpeg `-pix_fmt` as GhostStream's pixel format name.
fn pixel_format(v: &str) -> Option<&'static str> {
    Some(match v {
        "yuv420p" => "i420",
        "nv12" => "nv12",
        "p010le" | "p010" => "p010",
        "yuv420p10le" => "i420p10",
        "yuv444p" => "i444",
        "bgra" | "bgr0" => "bgra8",
        "rgba" | "rgb0" => "rgba8",
        _ => return None,
    })
}

/// A container name (ffmpeg's or gpu-screen-recorder's) as GhostStream's --format.
fn container(v: &str) -> Option<&'static str> {
    Some(match v {
        "mkv" | "matroska" | "webm" => "mkv",
        "mp4" | "mov" => "mp4",
        "ts" | "mpegts" => "ts",
        "flv" => "mkv",
        _ => return None,
    })
}

fn gsr_container(token: &str, next: Option<&str>, format: &str) -> String {
    format!(
        "{} is {GSR} container: GhostStream's -c is the codec; the container follows the -o file's extension (-o out.{format}) or --format {format}",
        spelled(token, next)
    )
}

/// ffmpeg's `-f FORMAT` or gpu-screen-recorder's `-f FPS`.
fn format_answer(token: &str, next: Option<&str>) -> String {
    let both = "ffmpeg's -f is the format (--format), gpu-screen-recorder's the frame rate (--fps)";
    match next {
        Some(v) if v.parse::<f64>().is_ok() => {
            format!("{token} {v} is {GSR} frame rate: use --fps {v} ({both})")
        }
        Some("yuv4mpegpipe") => format!(
            "{token} yuv4mpegpipe is {FFMPEG} spelling: GhostStream reads Y4M as it is (-i FILE.y4m, or -i - for standard input)"
        ),
        Some("rawvideo") => format!(
            "{token} rawvideo is {FFMPEG} spelling: use --raw-format FORMAT --size WxH --fps N for raw input"
        ),
        Some(v) => match container(v).or(match v {
            "ivf" => Some("ivf"),
            "obu" => Some("obu"),
            "h264" | "hevc" => Some("annexb"),
            _ => None,
        }) {
            Some(f) => format!("{token} {v} is {FFMPEG} format: use --format {f}"),
            None => format!(
                "{token} is {FFMPEG} format or {GSR} frame rate: use --format mkv|mp4|ts|ivf|obu|annexb|length-prefixed, or --fps N"
            ),
        },
        None => format!("{token} is ambiguous: {both}"),
    }
}

/// gpu-screen-recorder's `-w` (screen, portal, region, focused, or a monitor name).
fn window_answer(next: Option<&str>) -> String {
    match next {
        Some("portal") => "--source portal".into(),
        Some("screen") => "--source wayland (the first output) or --source portal".into(),
        Some("region") => "--source wayland --region \"$(slurp)\"".into(),
        Some("focused") => "--source portal (pick the window in its dialog)".into(),
        Some(name) if !name.starts_with('-') => format!("--source wayland:{name}"),
        _ => "--source wayland[:OUTPUT] or --source portal".into(),
    }
}

/// gpu-screen-recorder's `-k` codec names (h264, hevc_10bit, av1_hdr, hevc_vulkan...).
fn gsr_codec_answer(next: Option<&str>) -> String {
    let Some(v) = next else {
        return "--codec h264|hevc|av1".into();
    };
    let (base, extra) = match v.split_once('_') {
        Some((b, e)) => (b, Some(e)),
        None => (v, None),
    };
    if !matches!(base, "h264" | "hevc" | "av1") {
        return "--codec h264|hevc|av1 (GhostStream encodes those three)".into();
    }
    let extra = match extra {
        Some("10bit") => " --bit-depth 10",
        Some("hdr") => " --bit-depth 10 --transfer pq --primaries bt2020 --matrix bt2020",
        Some("vulkan") => " --encoder vulkan",
        _ => "",
    };
    format!("--codec {base}{extra}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> Command {
        use clap::{Arg, ArgAction};
        Command::new("t").subcommand(
            Command::new("encode")
                .arg(Arg::new("input").short('i').long("input"))
                .arg(
                    Arg::new("output")
                        .short('o')
                        .long("output")
                        .allow_hyphen_values(true),
                )
                .arg(Arg::new("codec").short('c').long("codec"))
                .arg(Arg::new("preset").long("preset"))
                .arg(Arg::new("quiet").short('q').action(ArgAction::SetTrue))
                .arg(Arg::new("overwrite").short('y').action(ArgAction::SetTrue)),
        )
    }

    fn ask(line: &str) -> Option<String> {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        answer(&args, &cmd())
    }

    fn says(line: &str, expected: &str) {
        assert_eq!(ask(line).as_deref(), Some(expected), "for {line:?}");
    }

    #[test]
    fn ffmpeg_spellings() {
        says(
            "encode -c:v",
            "-c:v is ffmpeg's spelling: use --codec h264|hevc|av1 (and --encoder software|nvenc|vulkan to pick the encoder)",
        );
        says(
            "encode -c:v libx264",
            "-c:v libx264 is ffmpeg's spelling: use --codec h264 --encoder software",
        );
        says(
            "encode -vcodec hevc_nvenc",
            "-vcodec hevc_nvenc is ffmpeg's spelling: use --codec hevc --encoder nvenc",
        );
        says(
            "encode -codec:v libsvtav1",
            "-codec:v libsvtav1 is ffmpeg's spelling: use --codec av1 --encoder software",
        );
        says(
            "encode -c:v h264_vulkan",
            "-c:v h264_vulkan is ffmpeg's spelling: use --codec h264 --encoder vulkan",
        );
        says(
            "encode -b:v 6M",
            "-b:v is ffmpeg's spelling: use --bitrate 6M (6M, 6000k)",
        );
        says(
            "encode -r 60",
            "-r is ffmpeg's frame rate and gpu-screen-recorder's replay length: use --fps 60 for the frame rate, or --replay 60s to keep the last 60 seconds",
        );
        says(
            "encode -g 120",
            "-g is ffmpeg's spelling: use --keyint 120 (frames)",
        );
        says(
            "encode -crf 23",
            "-crf is ffmpeg's spelling: use --rc cq --quality 23",
        );
        says(
            "encode -t 10",
            "-t is ffmpeg's spelling: use --seconds 10 (10, 90s, 1.5m)",
        );
        says(
            "encode -t 00:00:10",
            "-t is ffmpeg's spelling: use --seconds DURATION (10, 90s, 1.5m)",
        );
        says(
            "encode -s 1920x1080",
            "-s is ffmpeg's frame size: use --size 1920x1080 (the size of the test pattern or of raw input) or --scale 1920x1080 (resize before encoding)",
        );
        says(
            "encode -pix_fmt yuv420p10le",
            "-pix_fmt yuv420p10le is ffmpeg's spelling: use --raw-format i420p10 for raw input's layout, and --bit-depth 8|10 for the encoded depth",
        );
        says(
            "encode -pix_fmt gray",
            "-pix_fmt gray is ffmpeg's spelling: use --raw-format i420|nv12|p010|i420p10|i444|bgra8|rgba8 for raw input's layout, and --bit-depth 8|10 for the encoded depth",
        );
        says(
            "encode -f mp4",
            "-f mp4 is ffmpeg's format: use --format mp4",
        );
        says(
            "encode -f matroska",
            "-f matroska is ffmpeg's format: use --format mkv",
        );
        says(
            "encode -f mpegts",
            "-f mpegts is ffmpeg's format: use --format ts",
        );
        says(
            "encode -f h264",
            "-f h264 is ffmpeg's format: use --format annexb",
        );
        says(
            "encode -f yuv4mpegpipe",
            "-f yuv4mpegpipe is ffmpeg's spelling: GhostStream reads Y4M as it is (-i FILE.y4m, or -i - for standard input)",
        );
        says(
            "encode -f rawvideo",
            "-f rawvideo is ffmpeg's spelling: use --raw-format FORMAT --size WxH --fps N for raw input",
        );
        says(
            "encode -f gif",
            "-f is ffmpeg's format or gpu-screen-recorder's frame rate: use --format mkv|mp4|ts|ivf|obu|annexb|length-prefixed, or --fps N",
        );
        says(
            "encode -an",
            "-an is ffmpeg's spelling: GhostStream records video only (there is no audio); drop -an",
        );
        for audio in ["-c:a", "-b:a", "-acodec"] {
            says(
                &format!("encode {audio} aac"),
                &format!("{audio} asks for audio: GhostStream records video only (there is no audio); drop it"),
            );
        }
    }

    #[test]
    fn x264_preset_names_map_onto_the_levels_that_run_them() {
        let expected = [
            ("ultrafast", 1),
            ("superfast", 2),
            ("veryfast", 3),
            ("faster", 4),
            ("fast", 5),
            ("medium", 6),
            ("slow", 7),
            ("slower", 7),
            ("veryslow", 7),
            ("placebo", 7),
        ];
        for (name, level) in expected {
            let p = x264_preset(name).unwrap();
            assert_eq!(preset_level(p), level, "{name}");
            let line = format!(
                "--preset {name} is x264's preset name: use --preset p{level} (GhostStream's presets run from p1, fastest, to p7, best)"
            );
            says(&format!("encode --preset {name}"), &line);
            says(&format!("encode --preset={name}"), &line);
            says(
                &format!("encode -preset {name}"),
                &line.replacen("--preset", "-preset", 1),
            );
        }
        assert_eq!(x264_preset("p4"), None);
        assert_eq!(ask("encode --preset p4 -o x.mkv"), None);
        says(
            "encode -preset p4",
            "-preset p4 is ffmpeg's spelling: use --preset p1..p7 (p1 fastest, p7 best)",
        );
    }

    #[test]
    fn gpu_screen_recorder_spellings() {
        says(
            "record -w portal",
            "-w portal is gpu-screen-recorder's capture target: use --source portal",
        );
        says(
            "record -w DP-1",
            "-w DP-1 is gpu-screen-recorder's capture target: use --source wayland:DP-1",
        );
        says(
            "record -w screen",
            "-w screen is gpu-screen-recorder's capture target: use --source wayland (the first output) or --source portal",
        );
        says(
            "record -w region",
            "-w region is gpu-screen-recorder's capture target: use --source wayland --region \"$(slurp)\"",
        );
        says(
            "record -w focused",
            "-w focused is gpu-screen-recorder's capture target: use --source portal (pick the window in its dialog)",
        );
        says(
            "record -k hevc",
            "-k hevc is gpu-screen-recorder's codec: use --codec hevc",
        );
        says(
            "record -k av1_10bit",
            "-k av1_10bit is gpu-screen-recorder's codec: use --codec av1 --bit-depth 10",
        );
        says(
            "record -k hevc_hdr",
            "-k hevc_hdr is gpu-screen-recorder's codec: use --codec hevc --bit-depth 10 --transfer pq --primaries bt2020 --matrix bt2020",
        );
        says(
            "record -k vp9",
            "-k vp9 is gpu-screen-recorder's codec: use --codec h264|hevc|av1 (GhostStream encodes those three)",
        );
        says(
            "record -q very_high",
            "-q very_high is gpu-screen-recorder's quality: use --rc cq --quality N for constant quality, or --bitrate (GhostStream's -q is --quiet)",
        );
        says(
            "record -bm qp",
            "-bm qp is gpu-screen-recorder's bitrate mode: use --rc cq --quality N",
        );
        says(
            "record -bm cbr",
            "-bm cbr is gpu-screen-recorder's bitrate mode: use --rc cbr --bitrate RATE",
        );
        says(
            "record -fm vfr",
            "-fm is gpu-screen-recorder's frame rate mode: GhostStream records at a constant rate, --fps N (an unchanged screen repeats its last frame)",
        );
        says(
            "record -f 60",
            "-f 60 is gpu-screen-recorder's frame rate: use --fps 60 (ffmpeg's -f is the format (--format), gpu-screen-recorder's the frame rate (--fps))",
        );
        says(
            "record -c mp4",
            "-c mp4 is gpu-screen-recorder's container: GhostStream's -c is the codec; the container follows the -o file's extension (-o out.mp4) or --format mp4",
        );
        says(
            "record -a default_output",
            "-a asks for audio: GhostStream records video only (there is no audio); drop it",
        );
        says(
            "record -r 30",
            "-r is ffmpeg's frame rate and gpu-screen-recorder's replay length: use --fps 30 for the frame rate, or --replay 30s to keep the last 30 seconds",
        );
    }

    #[test]
    fn ghoststreams_own_spellings_and_values_pass() {
        for line in [
            "encode -i in.y4m -o out.mkv -y -q",
            "encode -c h264 -o out.mkv",
            "encode -q -o out.mkv",
            "encode -o -r", // a file named -r
            "encode -o out.mkv -- -r 30",
            "encode -i -w", // an input named -w
        ] {
            assert_eq!(ask(line), None, "{line}");
        }
    }
}
