//! The tool as users expect it (issue 20, item 4): help in headed groups, `-h` short and
//! `--help` long, `encode` and `record` each with their own options; other tools' spellings
//! answered; `-y`; `--stats -` and `-o -` into a pipe; completions, man pages and their install.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghoststream"));
    c.env("SVT_LOG", "1")
        .env_remove("RUST_LOG")
        .env("COLUMNS", "100");
    c
}

fn run(args: &[&str]) -> Output {
    tool()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the tool runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one non-empty stderr line of a run that exited with `code`.
fn one_line(out: &Output, code: i32) -> String {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{text}");
    lines[0].to_string()
}

/// The option headings of a help text, in order, and whether every option in them took one
/// line (a continuation line is one that does not start with an option).
fn headings(help: &str) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut continued = Vec::new();
    let mut in_options = false;
    for line in help.lines() {
        if line.starts_with("Examples") {
            break;
        }
        if !line.starts_with(' ') && line.ends_with(':') {
            in_options = true;
            names.push(line.trim_end_matches(':').to_string());
            continue;
        }
        if line.is_empty() || !line.starts_with(' ') {
            in_options = false;
            continue;
        }
        if in_options && !line.trim_start().starts_with('-') {
            continued.push(line.to_string());
        }
    }
    (names, continued)
}

const RECORD_ONLY: [(&str, &str); 11] = [
    ("--display", "wayland-1"),
    ("--region", "0,0,10x10"),
    ("--no-cursor", ""),
    ("--portal-token", "token"),
    ("--replay", "5s"),
    ("--replay-dir", "."),
    ("--replay-format", "mkv"),
    ("--replay-bytes", "1M"),
    ("--control", "gs.sock"),
    ("--stream", "rtmp://127.0.0.1:9/app/key"),
    ("--stream-buffer", "2s"),
];

#[test]
fn help_comes_in_groups_short_with_h_and_long_with_help() {
    let record = stdout(&run(&["record", "-h"]));
    let (names, continued) = headings(&record);
    assert_eq!(
        names,
        [
            "Options",
            "Input",
            "Output",
            "Encoder",
            "Rate control",
            "Colour/HDR",
            "GPU processing",
            "Replay & streaming"
        ],
        "{record}"
    );
    assert!(
        continued.is_empty(),
        "-h options on two lines: {continued:#?}"
    );
    for (flag, _) in RECORD_ONLY {
        assert!(record.contains(flag), "record -h lacks {flag}");
    }
    assert!(
        record.contains("Ctrl+C or SIGTERM") && record.contains("ghoststream stop"),
        "record's help does not say how to stop:\n{record}"
    );

    let encode = stdout(&run(&["encode", "-h"]));
    let (names, continued) = headings(&encode);
    assert_eq!(
        names,
        [
            "Options",
            "Input",
            "Output",
            "Encoder",
            "Rate control",
            "Colour/HDR",
            "GPU processing"
        ]
    );
    assert!(
        continued.is_empty(),
        "-h options on two lines: {continued:#?}"
    );
    for (flag, _) in RECORD_ONLY {
        assert!(!encode.contains(flag), "encode -h shows {flag}");
    }

    // --help has each option's paragraphs; -h only its first sentence.
    let long = stdout(&run(&["encode", "--help"]));
    let detail = "crash-safe container";
    assert!(long.contains(detail), "{long}");
    assert!(!encode.contains(detail), "{encode}");
    assert!(long.contains("Output file, or - for standard output."));
    assert!(encode.contains("Output file, or - for standard output"));
}

#[test]
fn encode_refuses_records_options_and_names_record() {
    for (flag, value) in RECORD_ONLY {
        let mut args = vec!["encode", "--frames", "1", "-o", "/dev/null", flag];
        if !value.is_empty() {
            args.push(value);
        }
        let line = one_line(&run(&args), 2);
        assert!(
            line.starts_with(&format!(
                "error: {flag} is an option of `ghoststream record`"
            )),
            "{line}"
        );
    }
}

#[test]
fn other_tools_spellings_are_answered_with_ours() {
    let cases: [(&[&str], &str); 11] = [
        (
            &["encode", "-c:v", "libx264", "-o", "x.mp4"],
            "ghoststream: -c:v libx264 is ffmpeg's spelling: use --codec h264 --encoder software",
        ),
        (&["encode", "-b:v", "6M"], "use --bitrate 6M"),
        (
            &["encode", "--preset", "veryfast"],
            "use --preset p3 (GhostStream's presets run from p1, fastest, to p7, best)",
        ),
        (&["encode", "-preset", "placebo"], "use --preset p7"),
        (
            &["encode", "-r", "60"],
            "use --fps 60 for the frame rate, or --replay 60s",
        ),
        (&["encode", "-crf", "23"], "use --rc cq --quality 23"),
        (&["encode", "-an"], "GhostStream records video only"),
        (&["record", "-w", "DP-1"], "use --source wayland:DP-1"),
        (&["record", "-q", "very_high"], "use --rc cq --quality N"),
        (&["record", "-c", "mkv"], "-o out.mkv"),
        (
            &["record", "-k", "hevc_10bit"],
            "use --codec hevc --bit-depth 10",
        ),
    ];
    for (args, needle) in cases {
        let out = run(args);
        let line = one_line(&out, 2);
        assert!(line.starts_with("ghoststream: "), "{line}");
        assert!(line.contains(needle), "{args:?}: {line}");
        assert!(out.stdout.is_empty());
    }
}

/// Frames ffprobe decodes from `path`.
fn frames(path: &Path) -> usize {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().parse().unwrap()
}

#[test]
fn an_existing_output_is_replaced_only_with_y() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mkv");
    let stats = dir.path().join("stats.jsonl");
    let o = out.to_str().unwrap();
    let s = stats.to_str().unwrap();
    let encode = [
        "encode", "--codec", "h264", "--size", "128x96", "--frames", "3", "-q",
    ];
    for (path, extra) in [
        (o, vec!["-o", o]),
        (s, vec!["--format", "mkv", "-o", "/dev/null", "--stats", s]),
    ] {
        std::fs::write(path, b"keep").unwrap();
        let args: Vec<&str> = encode.iter().copied().chain(extra.clone()).collect();
        let line = one_line(&run(&args), 1);
        assert_eq!(
            line,
            format!("error: {path} already exists and overwriting it was not allowed: choose another path, or allow overwriting to replace it (-y)")
        );
        assert_eq!(std::fs::read(path).unwrap(), b"keep", "{path} was touched");
        let mut args = args;
        args.push("-y");
        let r = run(&args);
        assert!(r.status.success(), "{}", stderr(&r));
        assert_ne!(
            std::fs::read(path).unwrap(),
            b"keep",
            "{path} was not replaced"
        );
    }
    assert_eq!(frames(&out), 3);
    let lines = std::fs::read_to_string(&stats).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
}

#[test]
fn stats_go_to_standard_output_and_not_with_the_video() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mkv");
    let args = [
        "encode", "--codec", "h264", "--size", "128x96", "--frames", "5", "-q", "--stats", "-",
        "-o",
    ];
    let mut child = tool()
        .args(args)
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    let r = child.wait_with_output().unwrap();
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(lines.len(), 6, "{lines:#?}");
    for (n, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {n} is not JSON ({e}): {line}"));
        if n < 5 {
            assert_eq!(v["frame"], n, "{line}");
        }
    }
    assert_eq!(frames(&out), 5);

    let line = one_line(
        &run(&["encode", "--frames", "1", "-o", "-", "--stats", "-"]),
        1,
    );
    assert!(
        line.contains("-o -") && line.contains("--stats -"),
        "{line}"
    );
}

#[test]
fn standard_output_pipes_into_ffprobe() {
    let mut encoder = tool()
        .args([
            "encode", "--codec", "h264", "--size", "128x96", "--frames", "10", "-q",
        ])
        .args(["-o", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
            "-",
        ])
        .stdin(encoder.stdout.take().unwrap())
        .output()
        .unwrap();
    let encoded = encoder.wait_with_output().unwrap();
    assert!(encoded.status.success(), "{}", stderr(&encoded));
    assert!(probe.status.success(), "{}", stderr(&probe));
    assert_eq!(stdout(&probe).trim(), "h264,10");
}

/// The subcommands `ghoststream --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let help = stdout(&run(&["--help"]));
    let list: Vec<String> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|name| name != "help")
        .collect();
    assert!(list.contains(&"record".to_string()), "{help}");
    list
}

#[test]
fn completions_and_man_pages_come_from_the_definitions() {
    let bash = run(&["generate", "completions", "bash"]);
    assert!(bash.status.success(), "{}", stderr(&bash));
    let bash = stdout(&bash);
    assert!(
        bash.contains("record") && bash.contains("--codec"),
        "{bash}"
    );
    assert!(
        !bash.contains("generate"),
        "the hidden generate command is offered"
    );
    for shell in ["zsh", "fish", "elvish"] {
        let out = run(&["generate", "completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("codec"), "{shell}");
    }

    let dir = tempfile::tempdir().unwrap();
    let man = run(&["generate", "man", dir.path().to_str().unwrap()]);
    assert!(man.status.success(), "{}", stderr(&man));
    let page = std::fs::read_to_string(dir.path().join("ghoststream.1")).unwrap();
    assert!(page.starts_with(".TH ghoststream 1 "), "{page}");
    for sub in subcommands() {
        assert!(
            page.contains(&format!("ghoststream\\-{sub}")),
            "{sub}: {page}"
        );
        let own = std::fs::read_to_string(dir.path().join(format!("ghoststream-{sub}.1")))
            .unwrap_or_else(|e| panic!("ghoststream-{sub}.1: {e}"));
        assert!(
            own.starts_with(&format!(".TH ghoststream-{sub} 1 ")),
            "{own}"
        );
    }

    let bad = one_line(&run(&["generate", "completions", "tcsh"]), 2);
    assert!(bad.starts_with("error: ") && bad.contains("tcsh"), "{bad}");
}

#[test]
fn install_puts_the_tool_its_completions_and_man_pages_under_destdir() {
    let dest = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("/usr/local")
        .arg(env!("CARGO_BIN_EXE_ghoststream"))
        .env("DESTDIR", dest.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let root = dest.path().join("usr/local");
    let mut expected = vec![
        "bin/ghoststream".to_string(),
        "share/bash-completion/completions/ghoststream".into(),
        "share/zsh/site-functions/_ghoststream".into(),
        "share/fish/vendor_completions.d/ghoststream.fish".into(),
        "share/man/man1/ghoststream.1".into(),
    ];
    expected.extend(
        subcommands()
            .iter()
            .map(|s| format!("share/man/man1/ghoststream-{s}.1")),
    );
    for path in &expected {
        let meta = std::fs::metadata(root.join(path))
            .unwrap_or_else(|e| panic!("{path} was not installed: {e}"));
        assert!(meta.len() > 0, "{path} is empty");
    }
    let installed = Command::new(root.join("bin/ghoststream"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(stdout(&installed).starts_with("ghoststream "));
    let bash = std::fs::read_to_string(root.join("share/bash-completion/completions/ghoststream"))
        .unwrap();
    assert!(bash.contains("--codec"));
    // Nothing outside PREFIX under DESTDIR.
    let top: Vec<_> = std::fs::read_dir(dest.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, ["usr"]);
}
