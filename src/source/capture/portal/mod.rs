//! Screen capture through the desktop portal (`org.freedesktop.portal.ScreenCast`, the
//! xdg-desktop-portal D-Bus API that GNOME, KDE and wlroots desktops implement): the portal
//! asks the user which screen to share (once, when a restore token is kept), then hands over a
//! PipeWire connection that can see only the granted stream's node, which
//! [`PipeWireCapture`] consumes.
//!
//! The handshake, as the portal specification lays it out:
//! 1. `CreateSession` — a session object the portal keeps until it is closed.
//! 2. `SelectSources` — monitors and/or windows, the cursor mode, `persist_mode` 2 (keep the
//!    grant until revoked) and the previous `restore_token`, so a returning user is not asked.
//! 3. `Start` — the backend shows its dialog (or restores the grant) and answers with the
//!    streams (PipeWire node ids with size and position) and a new single-use
//!    `restore_token`.
//! 4. `OpenPipeWireRemote` — an fd connected to PipeWire with access to those nodes only.
//!
//! Steps 1–3 answer through a `Request` object whose `Response` signal carries the result; the
//! request's path is known before the call (sender name and a handle token), so the signal is
//! subscribed to before the call is made and cannot be missed.
//!
//! Response codes become typed errors: 1 (the user cancelled) is
//! [`CaptureError::PortalDenied`], 2 (the backend ended the request) is
//! [`CaptureError::PortalFailed`], no answer in time is [`CaptureError::PortalTimeout`].

mod token;

pub use token::{RestoreTokenFile, MAX_TOKEN_FILE_BYTES};

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::{Connection, Proxy};
use dbus::message::MatchRule;
use dbus::Path;

use super::pipewire::{NodeTarget, PipeWireCapture, PipeWireCounts, PipeWireOptions};
use super::{CaptureError, LiveCapture};
use crate::frame::CpuImage;
use crate::gpu::GpuContext;
use crate::source::SourceInfo;
use crate::time::Timestamp;

const PORTAL_NAME: &str = "org.freedesktop.portal.Desktop";
const PORTAL_PATH: &str = "/org/freedesktop/portal/desktop";
const SCREENCAST: &str = "org.freedesktop.portal.ScreenCast";
const REQUEST: &str = "org.freedesktop.portal.Request";
const SESSION: &str = "org.freedesktop.portal.Session";
/// How long a plain method call (not a user's answer) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Source types, as the portal's `types` bit mask has them.
const MONITOR: u32 = 1;
const WINDOW: u32 = 2;
/// Cursor modes, as the portal's `cursor_mode` bit mask has them.
const CURSOR_HIDDEN: u32 = 1;
const CURSOR_EMBEDDED: u32 = 2;
const CURSOR_METADATA: u32 = 4;
/// `persist_mode`: keep the grant until the user revokes it.
const PERSIST_UNTIL_REVOKED: u32 = 2;
/// The first interface version with `persist_mode` and `restore_token`.
const RESTORE_VERSION: u32 = 4;

/// What the user may pick in the portal's dialog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PortalSources {
    /// A whole monitor (every backend offers this).
    #[default]
    Monitor,
    /// One window (GNOME and KDE; xdg-desktop-portal-wlr 0.7 does not).
    Window,
    /// Either; the user chooses.
    Any,
}

impl PortalSources {
    fn mask(self) -> u32 {
        match self {
            Self::Monitor => MONITOR,
            Self::Window => WINDOW,
            Self::Any => MONITOR | WINDOW,
        }
    }
}

/// How to open a capture through the portal.
#[derive(Clone, Debug)]
pub struct PortalOptions {
    /// The D-Bus address of the session bus; `None` uses `$DBUS_SESSION_BUS_ADDRESS`.
    pub bus_address: Option<String>,
    /// The token the previous session returned ([`PortalCapture::restore_token`]): the portal
    /// restores that grant instead of asking again. Tokens are single-use; keep the new one.
    pub restore_token: Option<String>,
    /// What the user may pick.
    pub sources: PortalSources,
    /// Draw the cursor into the frames (when the backend offers it).
    pub cursor: bool,
    /// How long to wait for each answer; the first `Start` waits for a person to answer a
    /// dialog, so this is generous by default (5 minutes).
    pub answer_timeout: Duration,
    /// How long the PipeWire stream may take to agree a format once granted.
    pub negotiation_timeout: Duration,
    /// The Vulkan device frames are read on: the stream then offers DMA-BUF first
    /// ([`PipeWireOptions::gpu`]).
    pub gpu: Option<Arc<GpuContext>>,
}

impl Default for PortalOptions {
    fn default() -> Self {
        Self {
            bus_address: None,
            restore_token: None,
            sources: PortalSources::Monitor,
            cursor: true,
            answer_timeout: Duration::from_secs(300),
            negotiation_timeout: Duration::from_secs(5),
            gpu: None,
        }
    }
}

/// One stream the portal granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalStream {
    /// The PipeWire node id to consume.
    pub node_id: u32,
    /// The stream's size in the compositor's logical pixels, when the backend says.
    pub size: Option<(i32, i32)>,
    /// The stream's position in the compositor's logical space, when the backend says.
    pub position: Option<(i32, i32)>,
    /// `1` monitor, `2` window, `4` virtual, when the backend says.
    pub source_type: Option<u32>,
}

/// What the running portal's ScreenCast interface offers, read without starting a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortalInfo {
    /// The interface version (4 and later keep grants with restore tokens).
    pub version: u32,
    /// Source types offered: bit 1 monitor, 2 window, 4 virtual.
    pub source_types: u32,
    /// Cursor modes offered: bit 1 hidden, 2 embedded, 4 metadata.
    pub cursor_modes: u32,
}

/// Reads what the portal on the bus at `bus_address` (`None`: the session bus) offers; a probe
/// that asks the user nothing.
pub fn probe(bus_address: Option<&str>) -> Result<PortalInfo, CaptureError> {
    read_info(&connect(bus_address)?)
}

fn connect(bus_address: Option<&str>) -> Result<Connection, CaptureError> {
    match bus_address {
        Some(address) => Connection::new_address(address),
        None => Connection::new_session(),
    }
    .map_err(|e| CaptureError::PortalUnavailable {
        reason: format!("no D-Bus session bus: {}", message(&e)),
    })
}

fn read_info(connection: &Connection) -> Result<PortalInfo, CaptureError> {
    Ok(PortalInfo {
        version: portal_property(connection, "version")?,
        source_types: portal_property(connection, "AvailableSourceTypes")?,
        cursor_modes: portal_property(connection, "AvailableCursorModes")?,
    })
}

/// A granted screen-cast session: open as long as this value lives, closed on drop.
pub struct PortalSession {
    connection: Connection,
    session: Path<'static>,
    streams: Vec<PortalStream>,
    restore_token: Option<String>,
    version: u32,
}

impl std::fmt::Debug for PortalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalSession")
            .field("session", &self.session)
            .field("streams", &self.streams)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The portal's answer to one request.
type Answer = (u32, PropMap);

/// The steps of the handshake, named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    CreateSession,
    SelectSources,
    Start,
    OpenPipeWireRemote,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Self::CreateSession => "CreateSession",
            Self::SelectSources => "SelectSources",
            Self::Start => "Start",
            Self::OpenPipeWireRemote => "OpenPipeWireRemote",
        }
    }
}

impl PortalSession {
    /// Runs the handshake up to a granted session: the portal's dialog, if it shows one, is
    /// answered by the user while this waits (up to [`PortalOptions::answer_timeout`] per
    /// step).
    pub fn start(options: &PortalOptions) -> Result<Self, CaptureError> {
        let connection = connect(options.bus_address.as_deref())?;
        let PortalInfo {
            version,
            source_types: offered_sources,
            cursor_modes: offered_cursors,
        } = read_info(&connection)?;
        if offered_sources & options.sources.mask() == 0 {
            let reason = if offered_sources == 0 {
                "its ScreenCast backend offers no sources (AvailableSourceTypes 0): the backend \
                 for this desktop is missing or did not start (check XDG_CURRENT_DESKTOP and the \
                 installed *.portal files)"
                    .to_string()
            } else {
                format!(
                    "its ScreenCast backend offers source types {offered_sources:#x} (1 monitor, \
                     2 window), none of the {:?} asked for",
                    options.sources
                )
            };
            return Err(CaptureError::PortalUnavailable { reason });
        }
        let mut requests = Requests::new(&connection, options.answer_timeout);

        let mut create = PropMap::new();
        create.insert(
            "session_handle_token".into(),
            Variant(Box::new(requests.token())),
        );
        let answer = requests.ask(Step::CreateSession, (), create)?;
        let session = answer_string(&answer, "session_handle")
            .and_then(|s| Path::new(s).ok())
            .ok_or_else(|| CaptureError::PortalFailed {
                step: Step::CreateSession.name(),
                reason: "the answer has no session_handle".into(),
            })?;
        // From here on, the session is closed on every path out (Drop).
        let mut this = Self {
            connection,
            session,
            streams: Vec::new(),
            restore_token: None,
            version,
        };
        let mut requests = Requests::new(&this.connection, options.answer_timeout);

        let mut select = PropMap::new();
        select.insert(
            "types".into(),
            Variant(Box::new(options.sources.mask() & offered_sources)),
        );
        select.insert("multiple".into(), Variant(Box::new(false)));
        // With the pointer: drawn by the compositor when it can, else sent as metadata and
        // drawn by `PipeWireCapture`. Without: hidden.
        let wanted: &[u32] = if options.cursor {
            &[CURSOR_EMBEDDED, CURSOR_METADATA]
        } else {
            &[CURSOR_HIDDEN]
        };
        match wanted.iter().find(|&&m| offered_cursors & m != 0) {
            Some(&mode) => {
                select.insert("cursor_mode".into(), Variant(Box::new(mode)));
            }
            None => tracing::warn!(
                offered = offered_cursors,
                "the portal offers none of the cursor modes wanted; its default is used"
            ),
        }
        if version >= RESTORE_VERSION {
            select.insert(
                "persist_mode".into(),
                Variant(Box::new(PERSIST_UNTIL_REVOKED)),
            );
            if let Some(token) = &options.restore_token {
                select.insert("restore_token".into(), Variant(Box::new(token.clone())));
            }
        }
        requests.ask(Step::SelectSources, (this.session.clone(),), select)?;

        let answer = requests.ask(
            Step::Start,
            (this.session.clone(), String::new()),
            PropMap::new(),
        )?;
        this.streams = parse_streams(&answer.1);
        this.restore_token = answer_string(&answer, "restore_token").map(str::to_string);
        if this.streams.is_empty() {
            return Err(CaptureError::PortalFailed {
                step: Step::Start.name(),
                reason: "the portal granted no stream".into(),
            });
        }
        tracing::info!(
            streams = ?this.streams,
            restored = options.restore_token.is_some(),
            version,
            "the desktop portal granted a screen cast"
        );
        Ok(this)
    }

    /// The streams granted (one, as GhostStream asks for one source).
    pub fn streams(&self) -> &[PortalStream] {
        &self.streams
    }

    /// The token that restores this grant next time without asking (interface version 4 and
    /// later); single-use, so store the newest.
    pub fn restore_token(&self) -> Option<&str> {
        self.restore_token.as_deref()
    }

    /// The portal interface version the session ran with.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// A new PipeWire connection that can see the granted nodes.
    pub fn open_pipewire_remote(&self) -> Result<OwnedFd, CaptureError> {
        let (fd,): (OwnedFd,) = portal(&self.connection)
            .method_call(
                SCREENCAST,
                Step::OpenPipeWireRemote.name(),
                (self.session.clone(), PropMap::new()),
            )
            .map_err(|e| CaptureError::PortalFailed {
                step: Step::OpenPipeWireRemote.name(),
                reason: message(&e),
            })?;
        Ok(fd)
    }
}

impl Drop for PortalSession {
    fn drop(&mut self) {
        let closed: Result<(), _> = self
            .connection
            .with_proxy(PORTAL_NAME, self.session.clone(), CALL_TIMEOUT)
            .method_call(SESSION, "Close", ());
        if let Err(e) = closed {
            tracing::debug!(error = %message(&e), "closing the portal session");
        }
    }
}

/// Issues requests and waits for their `Response` signals.
struct Requests<'c> {
    connection: &'c Connection,
    timeout: Duration,
    /// The sender part of request paths: the unique name without `:`, dots as underscores.
    sender: String,
}

impl<'c> Requests<'c> {
    fn new(connection: &'c Connection, timeout: Duration) -> Self {
        let sender = connection
            .unique_name()
            .trim_start_matches(':')
            .replace('.', "_");
        Self {
            connection,
            timeout,
            sender,
        }
    }

    /// A handle token unique in this process.
    fn token(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        format!(
            "ghoststream_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Calls `step` with `args` followed by `options` (plus a fresh `handle_token`) and waits
    /// for its answer.
    fn ask<A: dbus::arg::AppendAll>(
        &mut self,
        step: Step,
        args: A,
        mut options: PropMap,
    ) -> Result<Answer, CaptureError> {
        let token = self.token();
        let expected = format!("{PORTAL_PATH}/request/{}/{token}", self.sender);
        options.insert("handle_token".into(), Variant(Box::new(token)));
        let answer: Arc<Mutex<Option<Answer>>> = Arc::default();
        let mut subscriptions = vec![self.subscribe(step, &expected, &answer)?];
        let called = self.call(step, args, options);
        let outcome = called.and_then(|handle| {
            // Portals before 0.9 chose their own path; follow the one returned.
            if handle != expected {
                subscriptions.push(self.subscribe(step, &handle, &answer)?);
            }
            self.wait(step, &answer)
        });
        for token in subscriptions {
            let _ = self.connection.remove_match(token);
        }
        let (code, results) = outcome?;
        match code {
            0 => Ok((code, results)),
            1 => Err(CaptureError::PortalDenied { step: step.name() }),
            other => Err(CaptureError::PortalFailed {
                step: step.name(),
                reason: format!(
                    "the portal's backend ended the request (response {other}); its log says \
                     why{}",
                    if step == Step::Start {
                        " (xdg-desktop-portal-wlr 0.7 does this when the compositor offers no \
                         DMA-BUF, as with pixman rendering: its issue #289)"
                    } else {
                        ""
                    }
                ),
            }),
        }
    }

    fn subscribe(
        &self,
        step: Step,
        path: &str,
        answer: &Arc<Mutex<Option<Answer>>>,
    ) -> Result<dbus::channel::Token, CaptureError> {
        let path = Path::new(path.to_string()).map_err(|e| CaptureError::PortalFailed {
            step: step.name(),
            reason: format!("bad request path {path:?}: {e}"),
        })?;
        let rule = MatchRule::new_signal(REQUEST, "Response").with_path(path);
        let slot = Arc::clone(answer);
        self.connection
            .add_match(rule, move |reply: Answer, _, _| {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(reply);
                false
            })
            .map_err(|e| CaptureError::PortalUnavailable {
                reason: format!("cannot subscribe to the portal's answers: {}", message(&e)),
            })
    }

    fn call<A: dbus::arg::AppendAll>(
        &self,
        step: Step,
        args: A,
        options: PropMap,
    ) -> Result<String, CaptureError> {
        let mut message =
            dbus::Message::new_method_call(PORTAL_NAME, PORTAL_PATH, SCREENCAST, step.name())
                .map_err(|e| CaptureError::PortalFailed {
                    step: step.name(),
                    reason: e,
                })?;
        {
            let mut append = dbus::arg::IterAppend::new(&mut message);
            args.append(&mut append);
            dbus::arg::Append::append_by_ref(&options, &mut append);
        }
        let reply = self
            .connection
            .channel()
            .send_with_reply_and_block(message, CALL_TIMEOUT)
            .map_err(|e| call_error(step, &e))?;
        let handle: Path = reply.read1().map_err(|e| CaptureError::PortalFailed {
            step: step.name(),
            reason: format!("the reply is not a request handle: {e}"),
        })?;
        Ok(handle.to_string())
    }

    fn wait(
        &self,
        step: Step,
        answer: &Arc<Mutex<Option<Answer>>>,
    ) -> Result<Answer, CaptureError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(a) = answer.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Ok(a);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CaptureError::PortalTimeout {
                    step: step.name(),
                    waited_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
                });
            }
            self.connection
                .process(left.min(Duration::from_millis(100)))
                .map_err(|e| CaptureError::PortalFailed {
                    step: step.name(),
                    reason: format!("the bus connection failed: {}", message(&e)),
                })?;
        }
    }
}

fn portal(connection: &Connection) -> Proxy<'static, &Connection> {
    connection.with_proxy(PORTAL_NAME, PORTAL_PATH, CALL_TIMEOUT)
}

/// A `u32` property of the ScreenCast interface; its absence means no usable portal.
fn portal_property(connection: &Connection, name: &str) -> Result<u32, CaptureError> {
    portal(connection)
        .get::<u32>(SCREENCAST, name)
        .map_err(|e| CaptureError::PortalUnavailable {
            reason: match e.name() {
                Some("org.freedesktop.DBus.Error.ServiceUnknown") => format!(
                    "nothing on the session bus provides {PORTAL_NAME} ({})",
                    message(&e)
                ),
                _ => format!(
                    "reading ScreenCast.{name}: {} (the portal has no ScreenCast backend for this \
                     desktop: check XDG_CURRENT_DESKTOP and the installed *.portal files)",
                    message(&e)
                ),
            },
        })
}

/// A D-Bus error as one line: its name and message.
fn message(e: &dbus::Error) -> String {
    match (e.name(), e.message()) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (Some(n), None) => n.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => "unknown D-Bus error".into(),
    }
}

fn call_error(step: Step, e: &dbus::Error) -> CaptureError {
    match e.name() {
        Some("org.freedesktop.DBus.Error.ServiceUnknown")
        | Some("org.freedesktop.DBus.Error.UnknownMethod")
        | Some("org.freedesktop.DBus.Error.UnknownInterface") => {
            CaptureError::PortalUnavailable { reason: message(e) }
        }
        _ => CaptureError::PortalFailed {
            step: step.name(),
            reason: message(e),
        },
    }
}

fn answer_string<'a>(answer: &'a Answer, key: &str) -> Option<&'a str> {
    answer.1.get(key).and_then(|v| v.0.as_str())
}

/// The `streams` entry of a `Start` answer: `a(ua{sv})`.
fn parse_streams(results: &PropMap) -> Vec<PortalStream> {
    let Some(streams) = results.get("streams").and_then(|v| v.0.as_iter()) else {
        return Vec::new();
    };
    streams
        .filter_map(|stream| {
            let mut fields = stream.as_iter()?;
            let node_id = u32::try_from(fields.next()?.as_u64()?).ok()?;
            let mut parsed = PortalStream {
                node_id,
                size: None,
                position: None,
                source_type: None,
            };
            let mut properties = fields.next()?.as_iter()?;
            while let (Some(key), Some(value)) = (properties.next(), properties.next()) {
                match key.as_str() {
                    Some("size") => parsed.size = pair(value),
                    Some("position") => parsed.position = pair(value),
                    Some("source_type") => {
                        parsed.source_type = value.as_u64().and_then(|v| u32::try_from(v).ok())
                    }
                    _ => {}
                }
            }
            Some(parsed)
        })
        .collect()
}

/// An `(ii)` structure, possibly inside a variant.
fn pair(value: &dyn RefArg) -> Option<(i32, i32)> {
    let mut items = value.as_iter()?;
    let mut first = items.next()?;
    // A variant iterates as its one inner value.
    if first.as_iter().is_some() && first.as_i64().is_none() {
        items = first.as_iter()?;
        first = items.next()?;
    }
    let a = i32::try_from(first.as_i64()?).ok()?;
    let b = i32::try_from(items.next()?.as_i64()?).ok()?;
    Some((a, b))
}

/// A screen capture granted by the portal: the session plus the PipeWire stream of its first
/// node, paced like any [`LiveCapture`].
#[derive(Debug)]
pub struct PortalCapture {
    // Field order matters: the stream is dropped before the session is closed.
    stream: PipeWireCapture,
    session: PortalSession,
    label: String,
}

impl PortalCapture {
    /// Runs the portal handshake, then opens the granted node through the portal's PipeWire
    /// connection.
    pub fn open(options: PortalOptions) -> Result<Self, CaptureError> {
        let session = PortalSession::start(&options)?;
        let node = session.streams()[0].node_id;
        let remote = session.open_pipewire_remote()?;
        let stream = PipeWireCapture::open(PipeWireOptions {
            node: Some(NodeTarget::Id(node)),
            remote: Some(remote),
            negotiation_timeout: options.negotiation_timeout,
            // Drawn by us when the portal sends the pointer as metadata.
            cursor: options.cursor,
            gpu: options.gpu.clone(),
        })?;
        Ok(Self {
            stream,
            session,
            label: format!("portal screen cast (PipeWire node {node})"),
        })
    }

    /// The session behind the stream (its streams, restore token, version).
    pub fn session(&self) -> &PortalSession {
        &self.session
    }

    /// The token that skips the dialog next time; see [`PortalSession::restore_token`].
    pub fn restore_token(&self) -> Option<&str> {
        self.session.restore_token()
    }

    /// What the PipeWire stream has received.
    pub fn counts(&self) -> PipeWireCounts {
        self.stream.counts()
    }
}

impl LiveCapture for PortalCapture {
    fn name(&self) -> &str {
        &self.label
    }

    fn info(&self) -> SourceInfo {
        self.stream.info()
    }

    fn wait_frame_before(&mut self, deadline: Instant) -> Result<Option<Timestamp>, CaptureError> {
        self.stream.wait_frame_before(deadline)
    }

    fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        self.stream.last_image()
    }

    fn last_arrival(&self) -> Option<Timestamp> {
        self.stream.last_arrival()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant<T: RefArg + 'static>(v: T) -> Variant<Box<dyn RefArg>> {
        Variant(Box::new(v))
    }

    #[test]
    fn streams_are_read_with_their_size_position_and_type() {
        let mut properties = PropMap::new();
        properties.insert("size".into(), variant((1920i32, 1080i32)));
        properties.insert("position".into(), variant((-10i32, 20i32)));
        properties.insert("source_type".into(), variant(1u32));
        let streams: Vec<(u32, PropMap)> = vec![(57, properties), (58, PropMap::new())];
        let mut results = PropMap::new();
        results.insert("streams".into(), variant(streams));
        assert_eq!(
            parse_streams(&results),
            vec![
                PortalStream {
                    node_id: 57,
                    size: Some((1920, 1080)),
                    position: Some((-10, 20)),
                    source_type: Some(1),
                },
                PortalStream {
                    node_id: 58,
                    size: None,
                    position: None,
                    source_type: None,
                },
            ]
        );
        assert!(parse_streams(&PropMap::new()).is_empty());
    }

    #[test]
    fn a_missing_bus_is_a_typed_error_naming_it() {
        let options = PortalOptions {
            bus_address: Some("unix:path=/nonexistent/ghoststream-bus".into()),
            ..PortalOptions::default()
        };
        let e = PortalSession::start(&options).unwrap_err();
        assert!(
            matches!(&e, CaptureError::PortalUnavailable { reason } if reason.contains("/nonexistent/ghoststream-bus")),
            "{e}"
        );
    }
}
