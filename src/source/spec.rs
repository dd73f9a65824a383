//! Sources named as users write them (`testsrc`, `wayland:DP-1`, `pipewire:42`, `portal`,
//! `screen`, a file, `-`) and opened with their options, with every default in one place.
//!
//! [`SourceSpec`] is the parsed name ([`SourceSpec::from_str`] takes what `--source` takes, and
//! what the C ABI's `source` string holds); [`open`] opens it with [`SourceOptions`] into a
//! [`FrameSource`] that can move to a recording thread. Live captures are paced to a constant
//! rate ([`DEFAULT_CAPTURE_RATE`] unless given); the test pattern runs at its own rate, in real
//! time when [`SourceOptions::realtime`] asks (as a capture would).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::format::PixelFormat;
use crate::frame::Frame;
use crate::gpu::GpuContext;
use crate::source::capture::{PacedCapture, Region, WaylandCapture, WaylandOptions};
use crate::source::{
    FrameSource, PacingStats, RawReader, SourceError, SourceInfo, TestPattern, Y4mReader,
};
use crate::time::Rational;

/// The rate live captures are paced to when none is given.
pub const DEFAULT_CAPTURE_RATE: Rational = Rational { num: 60, den: 1 };

/// The test pattern's size when none is given.
pub const DEFAULT_PATTERN_SIZE: (u32, u32) = (1280, 720);

/// The rate of the test pattern and of raw files when none is given.
pub const DEFAULT_FILE_RATE: Rational = Rational { num: 30, den: 1 };

/// What the desktop portal lets the user pick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortalPick {
    /// A whole monitor.
    #[default]
    Monitor,
    /// One window (GNOME and KDE).
    Window,
}

/// A source, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceSpec {
    /// The screen, by the best way this desktop offers: a wlroots compositor's screencopy when
    /// it has it, else the desktop portal (`screen`).
    Screen,
    /// The animated test pattern (`testsrc`).
    TestPattern,
    /// A Wayland compositor's output through ext-image-copy-capture or wlr-screencopy
    /// (`wayland`, `wayland:DP-1`).
    Wayland {
        /// The output's name; `None`: the first.
        output: Option<String>,
    },
    /// A window by its `app_id` through ext-image-copy-capture (`wayland:window=APP_ID`).
    WaylandWindow {
        /// The window's `app_id`.
        app_id: String,
    },
    /// A PipeWire video node (`pipewire`, `pipewire:42`, `pipewire:NAME`).
    PipeWire {
        /// The node's id or `node.name`; `None`: the session manager's choice.
        node: Option<String>,
    },
    /// The desktop portal's screen cast (`portal`, `portal:monitor`, `portal:window`).
    Portal {
        /// What the user picks.
        pick: PortalPick,
    },
    /// A Y4M file, or raw frames with [`SourceOptions::format`] and [`SourceOptions::size`].
    File(PathBuf),
    /// Y4M (or raw, as for a file) on standard input (`-`).
    Stdin,
    /// Frames the host pushes (`host`), in CPU memory or as Vulkan images, of the size,
    /// format and rate [`SourceOptions`] gives; a recorder takes them through its feeder
    /// (`crate::recorder::FrameFeeder`), not through [`open`].
    Host,
}

/// The names [`SourceSpec`] takes, for messages.
pub const SOURCE_NAMES: &str = "screen, testsrc, wayland[:OUTPUT], wayland:window=APP_ID, pipewire[:NODE], portal[:monitor|window], host (frames the program pushes), a file path, or - for standard input";

impl FromStr for SourceSpec {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Self, SourceError> {
        let bad = |fix: &str| SourceError::BadSpec {
            spec: s.chars().take(128).collect(),
            fix: fix.to_string(),
        };
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let named = |arg: Option<&str>, what: &str| match arg {
            None => Ok(None),
            Some("") => Err(bad(&format!("give {what} after the colon, or no colon"))),
            Some(a) => Ok(Some(a.to_string())),
        };
        Ok(match kind {
            "" => return Err(bad(&format!("name a source: {SOURCE_NAMES}"))),
            "screen" if arg.is_none() => SourceSpec::Screen,
            "testsrc" if arg.is_none() => SourceSpec::TestPattern,
            "-" if arg.is_none() => SourceSpec::Stdin,
            "host" if arg.is_none() => SourceSpec::Host,
            "wayland" if arg.is_some_and(|a| a.starts_with("window=")) => {
                match arg.and_then(|a| a.strip_prefix("window=")) {
                    Some(app_id) if !app_id.is_empty() => SourceSpec::WaylandWindow {
                        app_id: app_id.to_string(),
                    },
                    _ => return Err(bad("give the window's app_id after window=")),
                }
            }
            "wayland" => SourceSpec::Wayland {
                output: named(arg, "an output name (DP-1, HEADLESS-1)")?,
            },
            "pipewire" => SourceSpec::PipeWire {
                node: named(arg, "a node id or node.name")?,
            },
            "portal" => SourceSpec::Portal {
                pick: match arg {
                    None | Some("monitor") => PortalPick::Monitor,
                    Some("window") => PortalPick::Window,
                    Some(_) => return Err(bad("the portal picks `monitor` or `window`")),
                },
            },
            "screen" | "testsrc" | "host" => {
                return Err(bad(&format!("{kind} takes nothing after a colon")))
            }
            // Anything else is a path (it may hold colons).
            _ => SourceSpec::File(PathBuf::from(s)),
        })
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Screen => f.write_str("screen"),
            SourceSpec::TestPattern => f.write_str("testsrc"),
            SourceSpec::Wayland { output: None } => f.write_str("wayland"),
            SourceSpec::Wayland { output: Some(o) } => write!(f, "wayland:{o}"),
            SourceSpec::WaylandWindow { app_id } => write!(f, "wayland:window={app_id}"),
            SourceSpec::PipeWire { node: None } => f.write_str("pipewire"),
            SourceSpec::PipeWire { node: Some(n) } => write!(f, "pipewire:{n}"),
            SourceSpec::Portal {
                pick: PortalPick::Monitor,
            } => f.write_str("portal"),
            SourceSpec::Portal {
                pick: PortalPick::Window,
            } => f.write_str("portal:window"),
            SourceSpec::File(p) => write!(f, "{}", p.display()),
            SourceSpec::Stdin => f.write_str("-"),
            SourceSpec::Host => f.write_str("host"),
        }
    }
}

impl SourceSpec {
    /// Whether frames come live, at the pace of the world (a capture), rather than as fast as
    /// they can be read.
    pub fn is_capture(&self) -> bool {
        matches!(
            self,
            SourceSpec::Screen
                | SourceSpec::Wayland { .. }
                | SourceSpec::WaylandWindow { .. }
                | SourceSpec::PipeWire { .. }
                | SourceSpec::Portal { .. }
        )
    }

    /// The file this source reads, if it is one, `-` for standard input (for the check that
    /// no output is the input: [`crate::output::path::check_distinct`]).
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            SourceSpec::File(p) => Some(p),
            SourceSpec::Stdin => Some(std::path::Path::new("-")),
            _ => None,
        }
    }
}

/// How a source is opened; every field's `None` or `false` is the default.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SourceOptions {
    /// Wayland: the compositor's socket (a name in `$XDG_RUNTIME_DIR` or a path); `None`:
    /// `$WAYLAND_DISPLAY`.
    pub display: Option<String>,
    /// Wayland: only this part of the output.
    pub region: Option<Region>,
    /// Wayland, PipeWire and the portal: leave the cursor out.
    pub no_cursor: bool,
    /// The portal: the file keeping its restore token; `None`: the default location
    /// (`$XDG_STATE_HOME/ghoststream/portal-restore-token`).
    pub portal_token: Option<PathBuf>,
    /// The test pattern's and raw frames' size (a capture or Y4M file has its own).
    pub size: Option<(u32, u32)>,
    /// The rate: captures are paced to it ([`DEFAULT_CAPTURE_RATE`]), the test pattern and raw
    /// files are stamped with it ([`DEFAULT_FILE_RATE`]); a Y4M file has its own.
    pub frame_rate: Option<Rational>,
    /// Raw frames' pixel format (a file without it is read as Y4M), or the test pattern's.
    pub format: Option<PixelFormat>,
    /// The test pattern: emit frames at its rate, as a capture would, instead of at once.
    pub realtime: bool,
}

/// A source just opened.
pub struct OpenedSource {
    /// Its frames.
    pub source: Box<dyn FrameSource + Send>,
    /// What it is, for messages: `wayland output DP-1 (wlr-screencopy)`, `testsrc`, a path.
    pub description: String,
}

impl std::fmt::Debug for OpenedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSource")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// Opens `spec` with `options`. `notify` hears what a person may need to know while it opens
/// (the portal is waiting for them to pick a screen; which capture `screen` chose; where a
/// grant is kept): it is called on this thread, before this returns.
pub fn open(
    spec: &SourceSpec,
    options: &SourceOptions,
    notify: &mut dyn FnMut(String),
) -> Result<OpenedSource, SourceError> {
    open_on(spec, options, None, notify)
}

/// As [`open`], with the Vulkan device the frames will be read on: a PipeWire or portal
/// capture then asks its producer for DMA-BUF buffers that device imports, and hands frames on
/// as [`crate::frame::FrameImage::DmaBuf`] (no CPU copy; the session must run on `gpu`).
pub fn open_on(
    spec: &SourceSpec,
    options: &SourceOptions,
    gpu: Option<&Arc<GpuContext>>,
    notify: &mut dyn FnMut(String),
) -> Result<OpenedSource, SourceError> {
    let does_not_apply = |option: &'static str, fix: &str| SourceError::DoesNotApply {
        option,
        name: spec.to_string(),
        fix: fix.to_string(),
    };
    let capture_only = |o: &SourceOptions| -> Result<(), SourceError> {
        if o.size.is_some() {
            return Err(does_not_apply(
                "size",
                "a capture has its output's size; scale it with the session's output size",
            ));
        }
        if o.format.is_some() {
            return Err(does_not_apply(
                "format",
                "a capture delivers its own format",
            ));
        }
        Ok(())
    };
    let wayland_only = |o: &SourceOptions| -> Result<(), SourceError> {
        if o.display.is_some() {
            return Err(does_not_apply("display", "it applies to wayland[:OUTPUT]"));
        }
        if o.region.is_some() {
            return Err(does_not_apply("region", "it applies to wayland[:OUTPUT]"));
        }
        Ok(())
    };
    if options.portal_token.is_some()
        && !matches!(spec, SourceSpec::Portal { .. } | SourceSpec::Screen)
    {
        return Err(does_not_apply("portal token", "it applies to portal"));
    }
    let rate = options.frame_rate.unwrap_or(DEFAULT_CAPTURE_RATE);
    match spec {
        SourceSpec::Wayland { output } => {
            capture_only(options)?;
            open_wayland(output.clone(), None, options, rate)
        }
        SourceSpec::WaylandWindow { app_id } => {
            capture_only(options)?;
            open_wayland(None, Some(app_id.clone()), options, rate)
        }
        SourceSpec::Screen => {
            capture_only(options)?;
            open_screen(options, rate, gpu, notify)
        }
        SourceSpec::PipeWire { node } => {
            capture_only(options)?;
            wayland_only(options)?;
            open_pipewire(node.as_deref(), options, rate, gpu)
        }
        SourceSpec::Portal { pick } => {
            capture_only(options)?;
            wayland_only(options)?;
            open_portal(*pick, options, rate, gpu, notify)
        }
        SourceSpec::Host => Err(SourceError::BadSpec {
            spec: spec.to_string(),
            fix: "frames pushed by the host come through a recorder's frame feeder, not from a source that opens".into(),
        }),
        SourceSpec::TestPattern | SourceSpec::File(_) | SourceSpec::Stdin => {
            wayland_only(options)?;
            if options.no_cursor {
                return Err(does_not_apply("no cursor", "it applies to a capture"));
            }
            open_file_like(spec, options)
        }
    }
}

fn open_wayland(
    output: Option<String>,
    window: Option<String>,
    options: &SourceOptions,
    rate: Rational,
) -> Result<OpenedSource, SourceError> {
    let capture = WaylandCapture::open(WaylandOptions {
        display: options.display.clone(),
        output,
        window,
        region: options.region,
        cursor: !options.no_cursor,
        damage: true,
        ..WaylandOptions::default()
    })?;
    let description = format!("wayland {}", capture.description());
    Ok(OpenedSource {
        source: Box::new(PacedCapture::new(capture, rate)?),
        description,
    })
}

#[cfg(feature = "pipewire")]
fn capture_name(c: &dyn crate::source::capture::LiveCapture) -> String {
    c.name().to_string()
}

/// `screen`: the compositor's own capture (ext-image-copy-capture or wlr-screencopy) when it
/// offers one, else the portal.
fn open_screen(
    options: &SourceOptions,
    rate: Rational,
    gpu: Option<&Arc<GpuContext>>,
    notify: &mut dyn FnMut(String),
) -> Result<OpenedSource, SourceError> {
    use crate::source::capture::CaptureError;
    let wayland_error = match open_wayland(None, None, options, rate) {
        Ok(opened) => {
            notify(format!("screen: recording {}", opened.description));
            return Ok(opened);
        }
        Err(e) => e,
    };
    // Only a compositor without screencopy (GNOME, KDE) or no Wayland compositor at all
    // sends the recording to the portal; a capture that failed otherwise is reported.
    let fallback = matches!(
        &wayland_error,
        SourceError::Capture(
            CaptureError::ProtocolMissing { .. } | CaptureError::NoCompositor { .. }
        )
    );
    if !fallback || options.region.is_some() || options.display.is_some() {
        return Err(wayland_error);
    }
    notify(format!(
        "screen: {wayland_error}; using the desktop portal instead"
    ));
    open_portal(PortalPick::Monitor, options, rate, gpu, notify)
}

#[cfg(feature = "pipewire")]
fn open_pipewire(
    node: Option<&str>,
    options: &SourceOptions,
    rate: Rational,
    gpu: Option<&Arc<GpuContext>>,
) -> Result<OpenedSource, SourceError> {
    use crate::source::capture::{PipeWireCapture, PipeWireOptions};
    let capture = PipeWireCapture::open(PipeWireOptions {
        node: node
            .map(str::parse)
            .transpose()
            .map_err(|e: String| SourceError::BadSpec {
                spec: format!("pipewire:{}", node.unwrap_or_default()),
                fix: e,
            })?,
        cursor: !options.no_cursor,
        gpu: gpu.cloned(),
        ..PipeWireOptions::default()
    })?;
    let description = format!("PipeWire node {}", capture_name(&capture));
    Ok(OpenedSource {
        source: Box::new(PacedCapture::new(capture, rate)?),
        description,
    })
}

#[cfg(not(feature = "pipewire"))]
fn open_pipewire(
    _: Option<&str>,
    _: &SourceOptions,
    _: Rational,
    _: Option<&Arc<GpuContext>>,
) -> Result<OpenedSource, SourceError> {
    Err(SourceError::NotBuilt {
        what: "PipeWire capture",
        feature: "pipewire",
    })
}

#[cfg(feature = "portal")]
fn open_portal(
    pick: PortalPick,
    options: &SourceOptions,
    rate: Rational,
    gpu: Option<&Arc<GpuContext>>,
    notify: &mut dyn FnMut(String),
) -> Result<OpenedSource, SourceError> {
    use crate::source::capture::{LiveCapture, PortalCapture, PortalOptions, PortalSources};
    let store = options
        .portal_token
        .clone()
        .map(crate::source::capture::RestoreTokenFile::new)
        .or_else(crate::source::capture::RestoreTokenFile::default_location);
    let restore_token = store.as_ref().and_then(|s| s.load());
    let restoring = restore_token.is_some();
    if !restoring {
        let what = match pick {
            PortalPick::Monitor => "the screen",
            PortalPick::Window => "the window",
        };
        notify(format!(
            "waiting for the desktop portal: pick {what} to record in its dialog"
        ));
    }
    let capture = PortalCapture::open(PortalOptions {
        restore_token,
        cursor: !options.no_cursor,
        sources: match pick {
            PortalPick::Monitor => PortalSources::Monitor,
            PortalPick::Window => PortalSources::Window,
        },
        gpu: gpu.cloned(),
        ..PortalOptions::default()
    })?;
    let again = if restoring { " again" } else { "" };
    match (store, capture.restore_token()) {
        (Some(store), Some(token)) => match store.save(token) {
            Ok(()) => notify(format!(
                "portal: {} granted{again}; the grant is kept in {}",
                capture.name(),
                store.path().display()
            )),
            Err(e) => notify(format!(
                "portal: {} granted{again}, but its grant could not be kept ({e}): the portal will ask again next time",
                capture.name()
            )),
        },
        _ => notify(format!(
            "portal: {} granted (this portal keeps no grant: it will ask again next time)",
            capture.name()
        )),
    }
    let description = format!("desktop portal {}", capture.name());
    Ok(OpenedSource {
        source: Box::new(PacedCapture::new(capture, rate)?),
        description,
    })
}

#[cfg(not(feature = "portal"))]
fn open_portal(
    _: PortalPick,
    _: &SourceOptions,
    _: Rational,
    _: Option<&Arc<GpuContext>>,
    _: &mut dyn FnMut(String),
) -> Result<OpenedSource, SourceError> {
    Err(SourceError::NotBuilt {
        what: "desktop portal capture",
        feature: "portal",
    })
}

fn open_file_like(spec: &SourceSpec, options: &SourceOptions) -> Result<OpenedSource, SourceError> {
    let path = match spec {
        SourceSpec::TestPattern => {
            let (w, h) = options.size.unwrap_or(DEFAULT_PATTERN_SIZE);
            let rate = options.frame_rate.unwrap_or(DEFAULT_FILE_RATE);
            let format = options.format.unwrap_or(PixelFormat::I420);
            let pattern = TestPattern::new(format, w, h, rate, None)?;
            let source: Box<dyn FrameSource + Send> = if options.realtime {
                Box::new(RealTime::new(pattern, rate))
            } else {
                Box::new(pattern)
            };
            return Ok(OpenedSource {
                source,
                description: "testsrc".into(),
            });
        }
        SourceSpec::Stdin => "-".to_string(),
        SourceSpec::File(p) => p.to_string_lossy().into_owned(),
        _ => unreachable!("open_file_like takes the test pattern, files and stdin"),
    };
    if options.realtime {
        return Err(SourceError::DoesNotApply {
            option: "realtime",
            name: spec.to_string(),
            fix: "it applies to the test pattern".into(),
        });
    }
    let description = if path == "-" {
        "standard input".to_string()
    } else {
        path.clone()
    };
    if let Some(format) = options.format {
        let (width, height) = options.size.ok_or_else(|| SourceError::DoesNotApply {
            option: "format without a size",
            name: spec.to_string(),
            fix: "raw frames need their size (WIDTHxHEIGHT) too".into(),
        })?;
        let info = SourceInfo {
            format,
            width,
            height,
            frame_rate: options.frame_rate.unwrap_or(DEFAULT_FILE_RATE),
        };
        return Ok(OpenedSource {
            source: Box::new(RawReader::open(&path, info)?),
            description,
        });
    }
    if options.size.is_some() || options.frame_rate.is_some() {
        return Err(SourceError::DoesNotApply {
            option: "size or frame rate",
            name: spec.to_string(),
            fix: "a Y4M file carries its own; they apply to the test pattern and raw frames (give the raw format too)".into(),
        });
    }
    Ok(OpenedSource {
        source: Box::new(Y4mReader::open(&path)?),
        description,
    })
}

/// A source whose frames are handed out no sooner than their time, counted from the first.
struct RealTime<S> {
    inner: S,
    period: Duration,
    start: Option<Instant>,
    emitted: u32,
}

impl<S: FrameSource> RealTime<S> {
    fn new(inner: S, rate: Rational) -> Self {
        let period = u64::try_from(rate.invert().rescale(1, Rational::NANOS))
            .map(Duration::from_nanos)
            .unwrap_or(Duration::ZERO);
        Self {
            inner,
            period,
            start: None,
            emitted: 0,
        }
    }
}

impl<S: FrameSource> FrameSource for RealTime<S> {
    fn info(&self) -> SourceInfo {
        self.inner.info()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        if let Some(due) = self
            .period
            .checked_mul(self.emitted)
            .and_then(|d| start.checked_add(d))
        {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        self.emitted = self.emitted.saturating_add(1);
        self.inner.next_frame()
    }

    fn remaining(&self) -> Option<u64> {
        self.inner.remaining()
    }

    fn pacing(&self) -> Option<PacingStats> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for name in [
            "screen",
            "testsrc",
            "wayland",
            "wayland:DP-1",
            "wayland:window=org.example.App",
            "pipewire",
            "pipewire:42",
            "portal",
            "portal:window",
            "-",
            "host",
            "in.y4m",
        ] {
            let spec: SourceSpec = name.parse().unwrap();
            assert_eq!(spec.to_string(), name);
        }
        assert_eq!(
            "portal:monitor".parse::<SourceSpec>().unwrap(),
            SourceSpec::Portal {
                pick: PortalPick::Monitor
            }
        );
        assert_eq!(
            "c:/odd:name.y4m".parse::<SourceSpec>().unwrap(),
            SourceSpec::File("c:/odd:name.y4m".into())
        );
    }

    #[test]
    fn bad_names_say_what_is_taken() {
        for (name, says) in [
            ("", "name a source"),
            ("wayland:", "output name"),
            ("wayland:window=", "app_id"),
            ("portal:tab", "monitor"),
            ("testsrc:2", "nothing after"),
            ("pipewire:", "node id"),
        ] {
            let e = name.parse::<SourceSpec>().unwrap_err();
            assert!(matches!(e, SourceError::BadSpec { .. }), "{name}: {e:?}");
            assert!(e.to_string().contains(says), "{name}: {e}");
        }
    }

    #[test]
    fn options_that_do_not_apply_are_named() {
        let mut quiet = |_: String| {};
        let o = SourceOptions {
            region: Some("0,0,10x10".parse().unwrap()),
            ..SourceOptions::default()
        };
        let e = open(&SourceSpec::TestPattern, &o, &mut quiet).unwrap_err();
        assert!(e.to_string().contains("region"), "{e}");
        let o = SourceOptions {
            size: Some((64, 64)),
            ..SourceOptions::default()
        };
        let e = open(&SourceSpec::Wayland { output: None }, &o, &mut quiet).unwrap_err();
        assert!(
            matches!(e, SourceError::DoesNotApply { option: "size", .. }),
            "{e:?}"
        );
        let o = SourceOptions {
            size: Some((64, 64)),
            ..SourceOptions::default()
        };
        let e = open(&SourceSpec::File("x.y4m".into()), &o, &mut quiet).unwrap_err();
        assert!(e.to_string().contains("raw format"), "{e}");
    }

    #[test]
    fn the_real_time_pattern_keeps_its_rate() {
        let o = SourceOptions {
            size: Some((64, 64)),
            frame_rate: Some(Rational::new(100, 1)),
            realtime: true,
            ..SourceOptions::default()
        };
        let mut opened = open(&SourceSpec::TestPattern, &o, &mut |_| {}).unwrap();
        let start = Instant::now();
        for _ in 0..11 {
            opened.source.next_frame().unwrap().unwrap();
        }
        // Ten periods of 10 ms after the first frame; sleeping never returns early.
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
    }
}
