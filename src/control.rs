//! A control socket: a Unix socket that takes one-line requests and answers each with one
//! line, served off the caller's thread; and the client that asks ([`request`]).
//!
//! **The protocol.** A client connects, sends one request line, reads one answer line, and the
//! connection is closed. The requests ([`ControlRequest`], parsed by [`parse_request`]):
//!
//! | request | asks for | answer |
//! |---|---|---|
//! | `save` | the replay buffer saved, all it holds | `saved PATH` once the file is written |
//! | `save SECONDS` | the last SECONDS of it (`save 30`, `save 1.5`) | `saved PATH` |
//! | `status` | the recording's state | one line holding a JSON object |
//! | `stop` | the recording stopped, its files finished | `ok` |
//! | `keyframe` | the next frame encoded as a key frame | `ok` |
//! | `bitrate RATE` | the bitrate changed (`bitrate 6M`, `bitrate 6000k`, as [`parse_bitrate`] reads it) | `ok` |
//!
//! Any request may be answered `error: ...` instead, one line that says why (a bad value, a
//! replay buffer that holds nothing yet, a recording that cannot change its bitrate). The keys
//! of `status`'s JSON object are the server's business: clients print the object, they do not
//! depend on its keys.
//!
//! **The server**, [`ControlServer`]:
//!
//! - **Never on the caller's thread.** [`ControlServer::bind`] starts one serving thread that
//!   accepts connections and reads their requests; the caller (a recording loop) only ever
//!   calls [`ControlServer::try_recv`], which never waits. A request that parsed comes with a
//!   [`ControlReply`] that the caller answers when it is done (`saved PATH`, `ok`, `error: ...`).
//! - **Bounded.** A request is one line of at most [`MAX_REQUEST_BYTES`] bytes (longer:
//!   `error: request longer than 256 bytes`, and the connection is closed), complete within
//!   [`REQUEST_DEADLINE`] of the connection being accepted (later: `error: no complete
//!   request within 2s ...`, closed), and at most [`MAX_CLIENTS`] connections are open or
//!   waiting for their answer at once (more: `error: busy ...`, closed). No client can make
//!   the server read more than the line limit, hold memory beyond it, or delay another
//!   request longer than its deadline.
//! - **Checked.** [`parse_request`] is a pure function of the bytes: any input gives a request
//!   or a typed [`ControlError`] naming the value (non-UTF-8, `save 1e20`, `save inf`,
//!   `save nan`, `save -1`, `bitrate 6000`, `stop now`), never a panic.
//! - **The socket file is ours.** An existing socket at the path that nothing listens on (left
//!   by a killed run) is replaced; a live one is refused ([`ControlError::InUse`]); a path that
//!   is not a socket is never removed ([`ControlError::NotASocket`]). A missing folder for the
//!   socket (one level, as `$XDG_RUNTIME_DIR/ghoststream` is before the first recording, see
//!   [`default_socket_path`]) is created, open to its owner only (mode 0700). The socket file
//!   is removed when the server is dropped (also when it is dropped while unwinding).
//!
//! Answers are written without blocking: a client that does not read its answer loses it.
//! The answer is written with `write(2)`: a program embedding the server that has not ignored
//! `SIGPIPE` (Rust programs do by default) can be stopped by a client that closes early.
//!
//! **The client**, [`request`]: connects, sends one line, and reads one answer line of at most
//! [`MAX_ANSWER_BYTES`], all within a timeout. What it cannot reach is told apart, each with
//! its fix: nothing at the path ([`ControlError::NoServer`]), a socket that nothing listens on
//! because the recording that made it was killed ([`ControlError::Stale`]), something that is
//! not a socket ([`ControlError::NotASocket`]), no answer in time ([`ControlError::Timeout`]);
//! an `error: ...` answer is [`ControlError::Server`], carrying the server's words.
//!
//! [`parse_bitrate`]: crate::units::parse_bitrate

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::units::{parse_bitrate, UnitError};

/// The longest request line, in bytes, without its newline.
pub const MAX_REQUEST_BYTES: usize = 256;

/// How long a client has, from the moment its connection is accepted, to send a whole line.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

/// The longest deadline [`ControlOptions`] may give (1 h).
pub const MAX_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// How many connections may be open at once (reading a request, or waiting for its answer).
pub const MAX_CLIENTS: usize = 4;

/// The longest stretch `save SECONDS` may ask for (24 h). A replay buffer holds less; asking
/// for more than it holds saves all it holds.
pub const MAX_SAVE: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest answer line [`request`] reads, in bytes, without its newline.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The requests, as the errors that list them name them.
const REQUESTS: &str = "`save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE`";

/// How often the serving thread looks at its stop flag when nothing happens.
const TICK: Duration = Duration::from_millis(50);

/// How much of a bad value an error message quotes.
const QUOTE_CHARS: usize = 64;

/// A request that parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlRequest {
    /// `save` (`last: None`: all the buffer holds) or `save SECONDS` (the last SECONDS).
    /// Answered `saved PATH` once the file is written.
    Save {
        /// The stretch of video asked for; positive and at most [`MAX_SAVE`].
        last: Option<Duration>,
    },
    /// `status`: answered with one line holding a JSON object (its keys are the server's).
    Status,
    /// `stop`: the recording ends and its files are finished; answered `ok`.
    Stop,
    /// `keyframe`: the next frame is encoded as a key frame; answered `ok`.
    Keyframe,
    /// `bitrate RATE`: the bitrate changes to RATE (`6M`, `6000k`, `6Mbps`, as
    /// [`parse_bitrate`] reads it); answered `ok`.
    Bitrate {
        /// The new bitrate, as [`parse_bitrate`] bounds it.
        bits_per_second: u64,
    },
}

/// Why a request was refused, why the control socket could not be opened, or why a client's
/// request got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The request's bytes are not UTF-8.
    #[error("the request is not UTF-8 text (\"{bytes}\"): send {REQUESTS}")]
    NotUtf8 {
        /// The bytes, escaped (the first 64 at most).
        bytes: String,
    },
    /// A blank line.
    #[error("empty request: send {REQUESTS}")]
    Empty,
    /// A first word that is not a request.
    #[error("unknown command {command:?}: the control socket takes {REQUESTS}")]
    UnknownCommand {
        /// The word (the first 64 characters at most).
        command: String,
    },
    /// `save` with something that is not a number.
    #[error("save takes a positive number of seconds, not {value:?} (for example `save 30`)")]
    NotANumber {
        /// The argument (the first 64 characters at most).
        value: String,
    },
    /// `save` with a number that is not positive, not finite, or longer than [`MAX_SAVE`].
    #[error(
        "save takes a positive number of seconds up to {} (24 h), not {value:?}",
        MAX_SAVE.as_secs()
    )]
    SecondsOutOfRange {
        /// The argument (the first 64 characters at most).
        value: String,
    },
    /// `save` with more than one argument.
    #[error("save takes one number of seconds, not {rest:?}")]
    TooManyArguments {
        /// Everything after `save` (the first 64 characters at most).
        rest: String,
    },
    /// `status`, `stop` or `keyframe` with something after it.
    #[error("{command} takes no argument, not {rest:?}")]
    UnexpectedArgument {
        /// The request (`status`, `stop`, `keyframe`).
        command: &'static str,
        /// Everything after it (the first 64 characters at most).
        rest: String,
    },
    /// `bitrate` without a rate.
    #[error("bitrate takes a rate in bits per second: `bitrate 6M`, `bitrate 6000k`")]
    MissingBitrate,
    /// `bitrate` with a rate [`parse_bitrate`] refuses (its value is the first 64 characters
    /// at most).
    #[error(transparent)]
    Bitrate(UnitError),
    /// A line longer than the limit (the connection is closed).
    #[error("request longer than {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// No whole line before the deadline (the connection is closed).
    #[error("no complete request within {deadline:?}: send {REQUESTS} and a newline")]
    Deadline {
        /// The deadline.
        deadline: Duration,
    },
    /// Too many connections at once.
    #[error("busy: {limit} requests are already open; try again once one is answered")]
    Busy {
        /// The most connections served at once.
        limit: usize,
    },
    /// The socket could not be made (or a stale one removed).
    #[error("cannot open the control socket {}: {source} (pick another path)", path.display())]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another program listens on the socket.
    #[error("the control socket {} is in use: another program is listening on it (stop it, or pick another path)", path.display())]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
    /// Something other than a socket is at the path; it is left alone.
    #[error("{} exists and is not a socket; it is left alone: pick another path for the control socket", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// The serving thread could not be started.
    #[error("cannot start the control socket's thread: {source}")]
    Thread {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// [`request`]: nothing at the path.
    #[error("no recorder is listening at {} (nothing is there): start a recording with its control socket at that path, or give the path of the one running", path.display())]
    NoServer {
        /// The socket path.
        path: PathBuf,
    },
    /// [`request`]: a socket that nothing listens on, left by a recording that was killed.
    #[error("no recorder is listening at {}: it is the control socket of a recording that was killed, and nothing is running there now (the next recording at that path replaces it)", path.display())]
    Stale {
        /// The socket path.
        path: PathBuf,
    },
    /// [`request`]: the socket could not be reached for another reason (permissions, a path
    /// too long for a socket address).
    #[error("cannot connect to the control socket {}: {source}", path.display())]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// [`request`]: no whole answer within the timeout.
    #[error("no answer to {request:?} from {} within {timeout:?}: the recorder may be stalled; try again, or allow a longer timeout", path.display())]
    Timeout {
        /// The socket path.
        path: PathBuf,
        /// The request line sent (the first 64 characters at most).
        request: String,
        /// The timeout.
        timeout: Duration,
    },
    /// [`request`]: the connection failed before the answer came.
    #[error("the connection to the control socket {} failed before an answer came: {source}", path.display())]
    Connection {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// [`request`]: the server closed the connection without answering.
    #[error("the control socket {} closed the connection without an answer", path.display())]
    NoAnswer {
        /// The socket path.
        path: PathBuf,
    },
    /// [`request`]: an answer longer than [`MAX_ANSWER_BYTES`]; it is not read further.
    #[error("the answer from the control socket {} is longer than {limit} bytes: it is not a control socket's answer", path.display())]
    AnswerTooLong {
        /// The socket path.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// [`request`]: a line that is not one request (a line break in it, or over
    /// [`MAX_REQUEST_BYTES`]); nothing was sent.
    #[error("a request is one line of at most {MAX_REQUEST_BYTES} bytes, not {line:?}")]
    InvalidRequest {
        /// The line (the first 64 characters at most).
        line: String,
    },
    /// [`request`]: the server answered `error: ...`; its words, without `error: `.
    #[error("{message}")]
    Server {
        /// What the server said.
        message: String,
    },
    /// Limits that serve nothing (zero) or a deadline over [`MAX_DEADLINE`].
    #[error("invalid control socket limits ({max_request_bytes} bytes, {deadline:?}, {max_clients} clients): give at least 1 byte and 1 client, and a deadline from 1 ns to 1 h")]
    Options {
        /// The line limit given.
        max_request_bytes: usize,
        /// The deadline given.
        deadline: Duration,
        /// The client limit given.
        max_clients: usize,
    },
}

/// The first [`QUOTE_CHARS`] characters of `s`, with `...` when cut.
fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// Parses one request line (its trailing `\n` or `\r\n`, if any, is ignored): `save`,
/// `save SECONDS`, `status`, `stop`, `keyframe` or `bitrate RATE`, words separated by ASCII
/// white space. Any bytes give a request or a typed error naming the value; nothing panics
/// and every number is converted with checks.
pub fn parse_request(line: &[u8]) -> Result<ControlRequest, ControlError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| ControlError::NotUtf8 {
        bytes: line
            .iter()
            .take(QUOTE_CHARS)
            .flat_map(|b| b.escape_ascii())
            .map(char::from)
            .collect(),
    })?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (command, rest) = match text.find(|c: char| c.is_ascii_whitespace()) {
        Some(end) => (
            &text[..end],
            text[end..].trim_start_matches(|c: char| c.is_ascii_whitespace()),
        ),
        None => (text, ""),
    };
    let bare = |request: ControlRequest, command: &'static str| {
        if rest.is_empty() {
            Ok(request)
        } else {
            Err(ControlError::UnexpectedArgument {
                command,
                rest: quote(rest),
            })
        }
    };
    match command {
        "" => Err(ControlError::Empty),
        "save" => parse_save(rest),
        "status" => bare(ControlRequest::Status, "status"),
        "stop" => bare(ControlRequest::Stop, "stop"),
        "keyframe" => bare(ControlRequest::Keyframe, "keyframe"),
        "bitrate" if rest.is_empty() => Err(ControlError::MissingBitrate),
        // The rest of the line is the rate: `bitrate 6 Mbit/s` is one.
        "bitrate" => parse_bitrate(rest)
            .map(|bits_per_second| ControlRequest::Bitrate { bits_per_second })
            .map_err(|e| {
                ControlError::Bitrate(UnitError {
                    value: quote(&e.value),
                    ..e
                })
            }),
        _ => Err(ControlError::UnknownCommand {
            command: quote(command),
        }),
    }
}

/// `save`'s argument (`rest`, trimmed; empty for none).
fn parse_save(rest: &str) -> Result<ControlRequest, ControlError> {
    if rest.is_empty() {
        return Ok(ControlRequest::Save { last: None });
    }
    if rest.contains(|c: char| c.is_ascii_whitespace()) {
        return Err(ControlError::TooManyArguments { rest: quote(rest) });
    }
    let seconds: f64 = rest
        .parse()
        .map_err(|_| ControlError::NotANumber { value: quote(rest) })?;
    let out_of_range = || ControlError::SecondsOutOfRange { value: quote(rest) };
    // NaN fails the comparison; infinities and values too large for a Duration fail the
    // checked conversion; a positive number too small to be a nanosecond rounds to zero.
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(out_of_range());
    }
    let last = Duration::try_from_secs_f64(seconds).map_err(|_| out_of_range())?;
    if last.is_zero() || last > MAX_SAVE {
        return Err(out_of_range());
    }
    Ok(ControlRequest::Save { last: Some(last) })
}

/// The limits a [`ControlServer`] serves within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlOptions {
    /// The longest request line, without its newline.
    pub max_request_bytes: usize,
    /// How long a client has from being accepted to send a whole line.
    pub deadline: Duration,
    /// How many connections may be open at once, those waiting for their answer included.
    pub max_clients: usize,
}

impl Default for ControlOptions {
    fn default() -> Self {
        Self {
            max_request_bytes: MAX_REQUEST_BYTES,
            deadline: REQUEST_DEADLINE,
            max_clients: MAX_CLIENTS,
        }
    }
}

/// A request that parsed, and the way to answer it.
#[derive(Debug)]
pub struct ControlCall {
    /// What the client asked for.
    pub request: ControlRequest,
    /// Answers the client.
    pub reply: ControlReply,
}

/// Holds one of the server's client places until dropped.
#[derive(Debug)]
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(active))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection a request came on; answered once, with one line.
#[derive(Debug)]
pub struct ControlReply {
    stream: Option<UnixStream>,
    _slot: Slot,
}

impl ControlReply {
    /// Sends `line` (line breaks in it become spaces) and a newline, without waiting, and
    /// closes the connection.
    pub fn answer(mut self, line: &str) {
        if let Some(stream) = self.stream.take() {
            send_line(&stream, line);
        }
    }
}

impl Drop for ControlReply {
    /// A request dropped unanswered is told so.
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            send_line(
                &stream,
                "error: the request was not answered (the server stopped)",
            );
        }
    }
}

/// Writes one line without blocking; a client that does not take it loses it.
fn send_line(mut stream: &UnixStream, line: &str) {
    let mut text: String = line
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    text.push('\n');
    let _ = stream.set_nonblocking(true);
    if let Err(e) = stream.write_all(text.as_bytes()) {
        tracing::debug!("control socket: an answer was not delivered: {e}");
    }
}

/// The socket file, removed on drop if it is still the one bound.
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    /// Device and inode of the socket bound, when they could be read.
    id: Option<(u64, u64)>,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = match std::fs::symlink_metadata(&self.path) {
            Ok(m) => m.file_type().is_socket() && self.id.is_none_or(|id| id == (m.dev(), m.ino())),
            Err(_) => false,
        };
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(
                    "cannot remove the control socket {}: {e}",
                    self.path.display()
                );
            }
        }
    }
}

/// Creates `dir`, open to its owner only (mode 0700), when it is missing and its own parent
/// exists. Anything already there is left as it is (binding then says what is wrong); a
/// missing parent is left to binding too, whose error names the socket path.
fn create_socket_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        _ => return Ok(()),
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            tracing::info!("created the control socket's folder {}", dir.display());
            Ok(())
        }
        Err(e) if matches!(e.kind(), ErrorKind::AlreadyExists | ErrorKind::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Binds `path`, creating its folder if missing ([`create_socket_dir`]), replacing a stale
/// socket (one nothing listens on) and refusing a live one or anything that is not a socket.
fn bind(path: &Path) -> Result<(UnixListener, SocketFile), ControlError> {
    let bind_error = |source| ControlError::Bind {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_socket_dir(dir).map_err(bind_error)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(ControlError::NotASocket {
                path: path.to_path_buf(),
            })
        }
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(ControlError::InUse {
                    path: path.to_path_buf(),
                })
            }
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path).map_err(bind_error)?;
                tracing::info!(
                    "replaced the stale control socket {} (nothing listened on it)",
                    path.display()
                );
            }
            Err(e) => return Err(bind_error(e)),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(bind_error(e)),
    }
    let listener = UnixListener::bind(path).map_err(bind_error)?;
    let id = std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let file = SocketFile {
        path: path.to_path_buf(),
        id,
    };
    listener.set_nonblocking(true).map_err(bind_error)?;
    Ok((listener, file))
}

/// A control socket served on its own thread; see the [module](self) documentation.
#[derive(Debug)]
pub struct ControlServer {
    calls: mpsc::Receiver<ControlCall>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    socket: SocketFile,
}

impl ControlServer {
    /// Binds `path` (see the [module](self) documentation for what may already be there; its
    /// folder is created, mode 0700, if it is missing) and starts serving it within `options`.
    pub fn bind(path: &Path, options: ControlOptions) -> Result<Self, ControlError> {
        if options.max_request_bytes == 0
            || options.max_clients == 0
            || options.deadline.is_zero()
            || options.deadline > MAX_DEADLINE
        {
            return Err(ControlError::Options {
                max_request_bytes: options.max_request_bytes,
                deadline: options.deadline,
                max_clients: options.max_clients,
            });
        }
        let (listener, socket) = bind(path)?;
        let (sender, calls) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("ghoststream-control".into())
            .spawn(move || serve(listener, options, sender, thread_stop))
            .map_err(|source| ControlError::Thread { source })?;
        Ok(Self {
            calls,
            stop,
            thread: Some(thread),
            socket,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.socket.path
    }

    /// The next request that parsed, if one is waiting; never waits.
    pub fn try_recv(&self) -> Option<ControlCall> {
        self.calls.try_recv().ok()
    }
}

impl Drop for ControlServer {
    /// Stops serving (clients still sending are told so), then removes the socket file.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A connection whose request is being read.
struct Client {
    stream: UnixStream,
    line: Vec<u8>,
    deadline: Instant,
    _slot: Slot,
}

/// What reading a client came to.
enum Step {
    /// More to come.
    Waiting,
    /// A whole line (or what came before the client closed its side).
    Line,
    /// Over the line limit.
    TooLong,
    /// Gone without a word.
    Closed,
}

impl Client {
    /// Reads what is there, never more than one byte past the line limit.
    fn read(&mut self, limit: usize) -> Step {
        let mut chunk = [0u8; 512];
        loop {
            let room = (limit + 1).saturating_sub(self.line.len()).min(chunk.len());
            if room == 0 {
                return Step::TooLong;
            }
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) if self.line.is_empty() => return Step::Closed,
                Ok(0) => return Step::Line,
                Ok(n) => {
                    let got = &chunk[..n];
                    if let Some(end) = got.iter().position(|&b| b == b'\n') {
                        self.line.extend_from_slice(&got[..end]);
                        return if self.line.len() > limit {
                            Step::TooLong
                        } else {
                            Step::Line
                        };
                    }
                    self.line.extend_from_slice(got);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Waiting,
                Err(_) => return Step::Closed,
            }
        }
    }
}

/// The serving thread: accepts, reads lines within the limits, hands parsed requests over.
fn serve(
    listener: UnixListener,
    options: ControlOptions,
    calls: mpsc::Sender<ControlCall>,
    stop: Arc<AtomicBool>,
) {
    let active = Arc::new(AtomicUsize::new(0));
    let mut clients: Vec<Client> = Vec::new();
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        clients.retain(|c| {
            let late = now >= c.deadline;
            if late {
                send_line(
                    &c.stream,
                    &format!(
                        "error: {}",
                        ControlError::Deadline {
                            deadline: options.deadline
                        }
                    ),
                );
            }
            !late
        });
        let wait = clients
            .iter()
            .map(|c| c.deadline.saturating_duration_since(now))
            .fold(TICK, Duration::min);
        let timeout = Timespec::try_from(wait).unwrap_or(Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        });
        let (accept, ready) = {
            let mut fds = Vec::with_capacity(clients.len() + 1);
            fds.push(PollFd::new(&listener, PollFlags::IN));
            fds.extend(
                clients
                    .iter()
                    .map(|c| PollFd::new(&c.stream, PollFlags::IN)),
            );
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    tracing::warn!("control socket: poll failed: {e}");
                    std::thread::sleep(TICK);
                    continue;
                }
            }
            let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
            (ready[0], ready[1..].to_vec())
        };
        let mut kept = Vec::with_capacity(clients.len());
        for (mut client, ready) in clients.drain(..).zip(ready) {
            if !ready {
                kept.push(client);
                continue;
            }
            match client.read(options.max_request_bytes) {
                Step::Waiting => kept.push(client),
                Step::Closed => {}
                Step::TooLong => send_line(
                    &client.stream,
                    &format!(
                        "error: {}",
                        ControlError::TooLong {
                            limit: options.max_request_bytes
                        }
                    ),
                ),
                Step::Line => match parse_request(&client.line) {
                    Ok(request) => {
                        let call = ControlCall {
                            request,
                            reply: ControlReply {
                                stream: Some(client.stream),
                                _slot: client._slot,
                            },
                        };
                        // If the receiver is gone, dropping the reply tells the client.
                        let _ = calls.send(call);
                    }
                    Err(e) => send_line(&client.stream, &format!("error: {e}")),
                },
            }
        }
        clients = kept;
        if accept {
            accept_all(&listener, &active, &mut clients, options);
        }
    }
    for c in &clients {
        send_line(&c.stream, "error: the control socket is closing");
    }
}

/// Accepts every waiting connection: a client place each while there are places, `busy` for
/// the rest.
fn accept_all(
    listener: &UnixListener,
    active: &Arc<AtomicUsize>,
    clients: &mut Vec<Client>,
    options: ControlOptions,
) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                if active.load(Ordering::Acquire) >= options.max_clients {
                    send_line(
                        &stream,
                        &format!(
                            "error: {}",
                            ControlError::Busy {
                                limit: options.max_clients
                            }
                        ),
                    );
                    continue;
                }
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                let slot = Slot::take(active);
                clients.push(Client {
                    stream,
                    line: Vec::with_capacity(options.max_request_bytes.min(512) + 1),
                    deadline: Instant::now() + options.deadline,
                    _slot: slot,
                });
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => {
                // Out of descriptors or the like: try again on a later turn, not in a spin.
                tracing::warn!("control socket: accept failed: {e}");
                std::thread::sleep(TICK);
                return;
            }
        }
    }
}

/// The control socket a recording listens on unless told otherwise:
/// `$XDG_RUNTIME_DIR/ghoststream/control.sock`. `None` when `XDG_RUNTIME_DIR` is not set, or is
/// not an absolute path (the XDG base directory specification says to ignore a relative one).
/// [`ControlServer::bind`] creates the `ghoststream` folder (mode 0700) when it is missing.
pub fn default_socket_path() -> Option<PathBuf> {
    socket_path_in(std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from))
}

/// [`default_socket_path`] for a given `XDG_RUNTIME_DIR`.
fn socket_path_in(runtime_dir: Option<PathBuf>) -> Option<PathBuf> {
    runtime_dir
        .filter(|d| d.is_absolute())
        .map(|d| d.join("ghoststream").join("control.sock"))
}

/// The time left before `deadline`; `None` once it has passed.
fn time_left(deadline: Instant) -> Option<Duration> {
    Some(deadline.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
}

/// Sends `line` (one request, without its newline) to the control socket at `path` and returns
/// the server's answer line (without its newline): `saved PATH`, `ok`, a JSON object for
/// `status`. An `error: ...` answer is [`ControlError::Server`] with the server's words.
///
/// Connecting, sending and reading the answer all happen within `timeout` (at most
/// [`MAX_DEADLINE`]); the answer is read up to [`MAX_ANSWER_BYTES`]. See the
/// [module](self) documentation for the errors that tell why no answer came.
pub fn request(path: &Path, line: &str, timeout: Duration) -> Result<String, ControlError> {
    use rustix::io::Errno;
    use rustix::net::SendFlags;
    if line.len() > MAX_REQUEST_BYTES || line.contains(['\n', '\r']) {
        return Err(ControlError::InvalidRequest { line: quote(line) });
    }
    let timeout = timeout.min(MAX_DEADLINE);
    let deadline = Instant::now() + timeout;
    let timed_out = || ControlError::Timeout {
        path: path.to_path_buf(),
        request: quote(line),
        timeout,
    };
    let lost = |source| ControlError::Connection {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = connect(path, deadline).map_err(|e| e.unwrap_or_else(timed_out))?;
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let left = time_left(deadline).ok_or_else(timed_out)?;
    stream.set_write_timeout(Some(left)).map_err(lost)?;
    let mut sent = 0;
    while sent < text.len() {
        // MSG_NOSIGNAL: a server that closed first must not raise SIGPIPE in the host.
        match rustix::net::send(&stream, &text.as_bytes()[sent..], SendFlags::NOSIGNAL) {
            Ok(0) => break,
            Ok(n) => sent += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => return Err(timed_out()),
            // The server closed first (after answering `busy`, say): its answer may be there.
            Err(Errno::PIPE | Errno::CONNRESET) => break,
            Err(e) => return Err(lost(e.into())),
        }
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = time_left(deadline).ok_or_else(timed_out)?;
        stream.set_read_timeout(Some(left)).map_err(lost)?;
        let room = (MAX_ANSWER_BYTES + 1 - answer.len()).min(chunk.len());
        match stream.read(&mut chunk[..room]) {
            Ok(0) => break,
            Ok(n) => {
                let got = &chunk[..n];
                let end = got.iter().position(|&b| b == b'\n');
                answer.extend_from_slice(&got[..end.unwrap_or(n)]);
                if answer.len() > MAX_ANSWER_BYTES {
                    return Err(ControlError::AnswerTooLong {
                        path: path.to_path_buf(),
                        limit: MAX_ANSWER_BYTES,
                    });
                }
                if end.is_some() {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(timed_out())
            }
            // The server closed with our bytes unread: after its answer (which stands), or
            // without one.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => return Err(lost(e)),
        }
    }
    if answer.is_empty() {
        return Err(ControlError::NoAnswer {
            path: path.to_path_buf(),
        });
    }
    let answer = String::from_utf8_lossy(&answer);
    let answer = answer.strip_suffix('\r').unwrap_or(&answer);
    match answer.strip_prefix("error:") {
        Some(message) => Err(ControlError::Server {
            message: message.trim_start().to_string(),
        }),
        None => Ok(answer.to_string()),
    }
}

/// Connects to `path` before `deadline` (`Err(None)`: the deadline passed). A full backlog
/// (a server not accepting) is waited on, never blocked on: the socket does not block.
fn connect(path: &Path, deadline: Instant) -> Result<UnixStream, Option<ControlError>> {
    use rustix::io::Errno;
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let connect_error = |source| {
        Some(ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })
    };
    let no_server = || {
        Some(ControlError::NoServer {
            path: path.to_path_buf(),
        })
    };
    // Connecting to a file that is not a socket is refused like a stale socket: look first.
    match std::fs::metadata(path) {
        Ok(m) if !m.file_type().is_socket() => {
            return Err(Some(ControlError::NotASocket {
                path: path.to_path_buf(),
            }))
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(no_server()),
        Err(e) => return Err(connect_error(e)),
    }
    let address = SocketAddrUnix::new(path).map_err(|e| connect_error(e.into()))?;
    loop {
        let socket = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| connect_error(e.into()))?;
        match rustix::net::connect(&socket, &address) {
            Ok(()) => {
                let stream = UnixStream::from(socket);
                stream.set_nonblocking(false).map_err(connect_error)?;
                return Ok(stream);
            }
            Err(Errno::INTR) => {}
            // The server's backlog is full: it is not accepting. Try again until the deadline.
            Err(Errno::AGAIN) => {
                let left = time_left(deadline).ok_or(None)?;
                std::thread::sleep(left.min(Duration::from_millis(10)));
            }
            Err(Errno::CONNREFUSED) => {
                return Err(Some(ControlError::Stale {
                    path: path.to_path_buf(),
                }))
            }
            Err(Errno::NOENT) => return Err(no_server()),
            Err(e) => return Err(connect_error(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_cut_on_character_boundaries() {
        let long = "é".repeat(100);
        let q = quote(&long);
        assert_eq!(q.chars().count(), QUOTE_CHARS + 3);
        assert!(q.ends_with("..."));
        assert_eq!(quote("abc"), "abc");
    }

    #[test]
    fn the_default_socket_is_in_the_runtime_dir() {
        assert_eq!(
            socket_path_in(Some("/run/user/1000".into())),
            Some(PathBuf::from("/run/user/1000/ghoststream/control.sock"))
        );
        assert_eq!(socket_path_in(None), None);
        // A relative XDG_RUNTIME_DIR is ignored, as the XDG specification says.
        assert_eq!(socket_path_in(Some("run/user".into())), None);
        assert_eq!(socket_path_in(Some("".into())), None);
    }

    #[test]
    fn the_socket_folder_is_created_private_and_only_one_level() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("ghoststream");
        create_socket_dir(&folder).unwrap();
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        // Already there: left as it is (its mode too).
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_socket_dir(&folder).unwrap();
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750, "{mode:o}");
        // Two levels missing: nothing is created (binding names the socket path).
        let deep = dir.path().join("a/b");
        create_socket_dir(&deep).unwrap();
        assert!(!dir.path().join("a").exists());
    }
}
