//! Where the portal's restore token is kept between runs, so that the user is asked to pick a
//! screen once: a small file, private to the user (mode 0600), replaced atomically (written
//! beside it, then renamed), so a crash never leaves half a token.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::source::capture::CaptureError;

/// The most of a token file that is read: tokens are short (a UUID in the portals seen), so a
/// larger file is not one.
pub const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// The longest token taken.
const MAX_TOKEN_LEN: usize = 256;

/// A file holding one restore token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreTokenFile {
    path: PathBuf,
}

impl RestoreTokenFile {
    /// The token file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$XDG_STATE_HOME/ghoststream/portal-restore-token`, else the same under
    /// `$HOME/.local/state`; `None` when neither variable is set.
    pub fn default_location() -> Option<Self> {
        let state = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|home| Path::new(&home).join(".local/state"))
            })?;
        Some(Self::new(state.join("ghoststream/portal-restore-token")))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored token; `None` when there is none yet. An unreadable, malformed or oversized
    /// file, or one that is not a regular file (a FIFO, `/dev/zero`), is logged and treated as
    /// no token (the portal then asks again, which loses nothing). At most
    /// [`MAX_TOKEN_FILE_BYTES`] are read, and opening never waits (a FIFO without a writer).
    pub fn load(&self) -> Option<String> {
        let path = self.path.display();
        let text = match self.read_bounded() {
            Ok(Some(text)) => text,
            Ok(None) => return None,
            Err(reason) => {
                tracing::warn!(%path, %reason, "ignoring the portal restore token file");
                return None;
            }
        };
        let token = text.trim();
        let plausible = !token.is_empty()
            && token.len() <= MAX_TOKEN_LEN
            && token.chars().all(|c| c.is_ascii_graphic());
        if plausible {
            Some(token.to_string())
        } else {
            tracing::warn!(%path, "ignoring a malformed portal restore token");
            None
        }
    }

    /// The file's text, read without waiting and up to the bound; `None` when it does not
    /// exist, an error saying why it is not taken otherwise.
    fn read_bounded(&self) -> Result<Option<String>, String> {
        use std::io::Read;
        let file = match std::fs::OpenOptions::new()
            .read(true)
            // A FIFO opened for reading would wait for a writer; non-blocking, it does not.
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot open it: {e}")),
        };
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot inspect it: {e}"))?;
        if !meta.is_file() {
            return Err(format!(
                "it is not a regular file ({:?}); give a file path",
                meta.file_type()
            ));
        }
        if meta.len() > MAX_TOKEN_FILE_BYTES {
            return Err(format!(
                "it is {} bytes, larger than a restore token file can be ({MAX_TOKEN_FILE_BYTES} bytes)",
                meta.len()
            ));
        }
        // The size may change under us: never read past the bound whatever it says.
        let mut bytes = Vec::new();
        file.take(MAX_TOKEN_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
            return Err(format!(
                "it grew past {MAX_TOKEN_FILE_BYTES} bytes while being read"
            ));
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| "it is not UTF-8 text".into())
    }

    /// Stores `token`, replacing the previous one.
    pub fn save(&self, token: &str) -> Result<(), CaptureError> {
        let io = |what: &str, source| CaptureError::Io {
            what: format!("{what} {}", self.path.display()),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("the directory of", e))?;
        }
        let partial = self.path.with_extension("partial");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(|e| io("the restore token file", e))?;
        file.write_all(token.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(|e| io("the restore token file", e))?;
        std::fs::rename(&partial, &self.path).map_err(|e| io("the restore token file", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_saved_token_loads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = RestoreTokenFile::new(dir.path().join("state/ghoststream/token"));
        assert_eq!(file.load(), None);
        file.save("0b6e4c4e-1111-4d2a-9c1f-5a0d2f2f7a10").unwrap();
        assert_eq!(
            file.load().as_deref(),
            Some("0b6e4c4e-1111-4d2a-9c1f-5a0d2f2f7a10")
        );
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        file.save("second").unwrap();
        assert_eq!(file.load().as_deref(), Some("second"));
        assert!(!file.path().with_extension("partial").exists());
    }

    #[test]
    fn a_malformed_token_file_counts_as_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let file = RestoreTokenFile::new(dir.path().join("token"));
        std::fs::write(file.path(), "two words\n").unwrap();
        assert_eq!(file.load(), None);
        std::fs::write(file.path(), "\n").unwrap();
        assert_eq!(file.load(), None);
    }

    /// `file.load()` on another thread, waited for at most five seconds (the old reader
    /// waited forever on a FIFO and read `/dev/zero` until memory ran out).
    fn load_within_5s(file: &RestoreTokenFile) -> Option<String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let file = file.clone();
        std::thread::spawn(move || {
            let _ = tx.send(file.load());
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("loading the token file did not finish within 5 s")
    }

    #[test]
    fn a_device_or_fifo_is_no_token_and_never_waits_or_grows() {
        let file = RestoreTokenFile::new("/dev/zero");
        assert_eq!(load_within_5s(&file), None);
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert_eq!(load_within_5s(&RestoreTokenFile::new(&fifo)), None);
        let e = RestoreTokenFile::new("/dev/zero")
            .read_bounded()
            .unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn an_oversized_file_is_no_token_even_when_it_trims_to_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = RestoreTokenFile::new(dir.path().join("token"));
        // A plausible token followed by a megabyte of blank lines: not a token file.
        let mut text = b"0b6e4c4e-1111-4d2a-9c1f-5a0d2f2f7a10".to_vec();
        text.resize(1 << 20, b'\n');
        std::fs::write(file.path(), &text).unwrap();
        assert_eq!(load_within_5s(&file), None);
        let e = file.read_bounded().unwrap_err();
        assert!(e.contains("1048576 bytes") && e.contains("4096"), "{e}");
        // At the bound it is still read.
        text.truncate(usize::try_from(MAX_TOKEN_FILE_BYTES).unwrap_or(usize::MAX));
        std::fs::write(file.path(), &text).unwrap();
        assert_eq!(
            load_within_5s(&file).as_deref(),
            Some("0b6e4c4e-1111-4d2a-9c1f-5a0d2f2f7a10")
        );
    }

    #[test]
    fn an_unwritable_location_is_a_typed_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("blocker"), "").unwrap();
        let file = RestoreTokenFile::new(dir.path().join("blocker/token"));
        let e = file.save("t").unwrap_err();
        assert!(
            matches!(&e, CaptureError::Io { what, .. } if what.contains("blocker/token")),
            "{e}"
        );
    }
}
