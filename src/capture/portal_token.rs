//! Where the portal's restore token is kept between runs, so that the user is asked to pick a
//! screen once: a small file, private to the user (mode 0600), replaced atomically (written
//! beside it, then renamed), so a crash never leaves half a token.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::CaptureError;

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

    /// The stored token; `None` when there is none yet. An unreadable or malformed file is
    /// logged and treated as no token (the portal then asks again, which loses nothing).
    pub fn load(&self) -> Option<String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                let token = text.trim();
                let plausible = !token.is_empty()
                    && token.len() <= 256
                    && token.chars().all(|c| c.is_ascii_graphic());
                if plausible {
                    Some(token.to_string())
                } else {
                    tracing::warn!(path = %self.path.display(), "ignoring a malformed portal restore token");
                    None
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot read the portal restore token");
                None
            }
        }
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
