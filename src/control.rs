//! A control socket: a Unix socket that takes one-line requests (`save`, `save SECONDS`) and
//! answers each with one line, served off the caller's thread.
//!
//! - **Never on the caller's thread.** [`ControlServer::bind`] starts one serving thread that
//!   accepts connections and reads their requests; the caller (a recording loop) only ever
//!   calls [`ControlServer::try_recv`], which never waits. A request that parsed comes with a
//!   [`ControlReply`] that the caller answers when it is done (`saved PATH`, `error: ...`).
//! - **Bounded.** A request is one line of at most [`MAX_REQUEST_BYTES`] bytes (longer:
//!   `error: request longer than 256 bytes`, and the connection is closed), complete within
//!   [`REQUEST_DEADLINE`] of the connection being accepted (later: `error: no complete
//!   request within 2s ...`, closed), and at most [`MAX_CLIENTS`] connections are open or
//!   waiting for their answer at once (more: `error: busy ...`, closed). No client can make
//!   the server read more than the line limit, hold memory beyond it, or delay another
//!   request longer than its deadline.
//! - **Checked.** [`parse_request`] is a pure function of the bytes: any input gives a request
//!   or a typed [`ControlError`] naming the value (non-UTF-8, `save 1e20`, `save inf`,
//!   `save nan`, `save -1`), never a panic.
//! - **The socket file is ours.** An existing socket at the path that nothing listens on (left
//!   by a killed run) is replaced; a live one is refused ([`ControlError::InUse`]); a path that
//!   is not a socket is never removed ([`ControlError::NotASocket`]). The socket file is
//!   removed when the server is dropped (also when it is dropped while unwinding).
//!
//! Answers are written without blocking: a client that does not read its answer loses it.
//! The answer is written with `write(2)`: a program embedding the server that has not ignored
//! `SIGPIPE` (Rust programs do by default) can be stopped by a client that closes early.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

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

/// How often the serving thread looks at its stop flag when nothing happens.
const TICK: Duration = Duration::from_millis(50);

/// How much of a bad value an error message quotes.
const QUOTE_CHARS: usize = 64;

/// A request that parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlRequest {
    /// `save` (`last: None`: all the buffer holds) or `save SECONDS` (the last SECONDS).
    Save {
        /// The stretch of video asked for; positive and at most [`MAX_SAVE`].
        last: Option<Duration>,
    },
}

/// Why a request was refused, or why the control socket could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The request's bytes are not UTF-8.
    #[error("the request is not UTF-8 text (\"{bytes}\"): send `save` or `save SECONDS`")]
    NotUtf8 {
        /// The bytes, escaped (the first 64 at most).
        bytes: String,
    },
    /// A blank line.
    #[error("empty request: send `save` or `save SECONDS`")]
    Empty,
    /// A first word other than `save`.
    #[error("unknown command {command:?}: the control socket takes `save` or `save SECONDS`")]
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
    /// A line longer than the limit (the connection is closed).
    #[error("request longer than {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// No whole line before the deadline (the connection is closed).
    #[error(
        "no complete request within {deadline:?}: send `save` or `save SECONDS` and a newline"
    )]
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

/// Parses one request line (its trailing `\n` or `\r\n`, if any, is ignored): `save` or
/// `save SECONDS`, words separated by ASCII white space. Any bytes give a request or a typed
/// error naming the value; nothing panics and every number is converted with checks.
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
    let mut words = text.split_ascii_whitespace();
    let command = words.next().ok_or(ControlError::Empty)?;
    if command != "save" {
        return Err(ControlError::UnknownCommand {
            command: quote(command),
        });
    }
    let Some(value) = words.next() else {
        return Ok(ControlRequest::Save { last: None });
    };
    if words.next().is_some() {
        let rest = text
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .strip_prefix("save")
            .unwrap_or(text)
            .trim_matches(|c: char| c.is_ascii_whitespace());
        return Err(ControlError::TooManyArguments { rest: quote(rest) });
    }
    let seconds: f64 = value.parse().map_err(|_| ControlError::NotANumber {
        value: quote(value),
    })?;
    let out_of_range = || ControlError::SecondsOutOfRange {
        value: quote(value),
    };
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

/// Binds `path`, replacing a stale socket (one nothing listens on) and refusing a live one or
/// anything that is not a socket.
fn bind(path: &Path) -> Result<(UnixListener, SocketFile), ControlError> {
    let bind_error = |source| ControlError::Bind {
        path: path.to_path_buf(),
        source,
    };
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
    /// Binds `path` (see the [module](self) documentation for what may already be there) and
    /// starts serving it within `options`.
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
}
