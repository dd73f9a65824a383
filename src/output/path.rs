//! Where file outputs may go, and the rule that protects what is already there.
//!
//! - `-` stands for standard output: a stream, never sought, cut back or synced (a pipe into
//!   `ffplay -`, a redirection). A terminal is refused: video bytes would only garble it.
//! - A path that is not a regular file (`/dev/null`, a FIFO) is written as a stream too: it
//!   cannot be sought, cut back or synced, so no step that needs those runs on it.
//! - No output may be an input or another output: [`check_distinct`] compares the device and
//!   inode of every path that exists (so a symbolic or hard link to an input is caught), the
//!   resolved paths of those that do not exist yet, and what standard input and output are.

use std::fs::File;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::SinkError;

/// The path that stands for standard output (and, as an input, standard input).
pub const STDOUT: &str = "-";

/// True when `path` is `-`.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == STDOUT
}

/// An output opened for writing.
#[derive(Debug)]
pub struct OutputFile {
    /// The open file (for `-`, a duplicate of standard output).
    pub file: File,
    /// A regular file: it may be sought, cut back to its last whole packet and synced. False
    /// for standard output, pipes and devices.
    pub regular: bool,
}

/// Opens `path` for writing from its start: `-` as standard output (refused when it is a
/// terminal), anything else created or truncated. The caller names the path in its error.
pub fn create(path: &Path) -> std::io::Result<OutputFile> {
    if is_stdout(path) {
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            return Err(std::io::Error::other(
                "standard output is a terminal; pipe it (| ffplay -) or redirect it (> out.mkv)",
            ));
        }
        let fd = stdout.as_fd().try_clone_to_owned()?;
        return Ok(OutputFile {
            file: File::from(fd),
            regular: false,
        });
    }
    let file = File::create(path)?;
    let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    Ok(OutputFile { file, regular })
}

/// True when `path` cannot be sought or cut back: `-`, or an existing path that is not a regular file
/// (a pipe, a FIFO, a device).
pub fn is_unseekable(path: &Path) -> bool {
    is_stdout(path) || std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Refuses to replace a file that is already at `path` unless `overwrite` is true (ffmpeg's
/// `-y`), before anything is encoded. Only what writing would destroy counts as existing: a
/// regular file (through a symbolic link too) or a block device. Standard output (`-`),
/// character devices such as `/dev/null`, FIFOs and a path that does not exist are written
/// as they are; a directory is left for opening the file to refuse.
pub fn check_overwrite(path: &Path, overwrite: bool) -> Result<(), SinkError> {
    use std::os::unix::fs::FileTypeExt;
    if overwrite || is_stdout(path) {
        return Ok(());
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() || m.file_type().is_block_device() => Err(SinkError::Exists {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// What a path is, for comparing.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// An existing regular file.
    File { dev: u64, ino: u64 },
    /// Standard input or output when it is not a regular file (a pipe, a terminal).
    Standard(&'static str),
    /// A path that does not exist yet, resolved as far as it exists.
    Future(PathBuf),
    /// A device, a FIFO, a directory: writing one does not destroy another's bytes.
    Other,
}

fn identity(path: &Path, output: bool) -> Identity {
    let meta = if is_stdout(path) {
        let fd = if output {
            std::io::stdout().as_fd().try_clone_to_owned()
        } else {
            std::io::stdin().as_fd().try_clone_to_owned()
        };
        match fd.and_then(|fd| File::from(fd).metadata()) {
            Ok(m) if m.is_file() => m,
            _ if output => return Identity::Standard("standard output"),
            _ => return Identity::Other,
        }
    } else {
        match std::fs::metadata(path) {
            Ok(m) => m,
            Err(_) => return future(path),
        }
    };
    if meta.is_file() {
        Identity::File {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    } else {
        Identity::Other
    }
}

/// The absolute form of a path that does not exist yet: its parent resolved, its name kept.
fn future(path: &Path) -> Identity {
    let name = path.file_name().map(PathBuf::from);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (std::fs::canonicalize(&parent), name) {
        (Ok(dir), Some(name)) => Identity::Future(dir.join(name)),
        _ => Identity::Future(path.to_path_buf()),
    }
}

/// One path of a run and its role ("input", "output", "stats file").
#[derive(Clone, Copy, Debug)]
pub struct NamedPath<'a> {
    /// What it is, for the message.
    pub role: &'static str,
    /// The path (`-` for standard input or output).
    pub path: &'a Path,
    /// True when the run writes it.
    pub output: bool,
}

/// An output that is an input or another output (by any name: a link, standard output
/// redirected onto it); writing it would destroy the other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{role} {} is the same file as {other_role} {}: writing it would destroy what is there; give the {role} another path", path.display(), other.display())]
pub struct SameFileError {
    /// What the output is ("output", "stats file").
    pub role: &'static str,
    /// Its path as given.
    pub path: PathBuf,
    /// What the other path is ("input", "output").
    pub other_role: &'static str,
    /// Its path as given.
    pub other: PathBuf,
}

/// Refuses a run in which an output is an input or another output: the same file by any
/// name (a symbolic or hard link included), standard output redirected onto an input, or two
/// outputs on standard output.
pub fn check_distinct(paths: &[NamedPath<'_>]) -> Result<(), SameFileError> {
    let ids: Vec<Identity> = paths.iter().map(|p| identity(p.path, p.output)).collect();
    for (i, a) in paths.iter().enumerate() {
        for (j, b) in paths.iter().enumerate().skip(i + 1) {
            if !(a.output || b.output) || matches!(ids[i], Identity::Other) {
                continue;
            }
            if ids[i] == ids[j] {
                let (out, other) = if a.output { (a, b) } else { (b, a) };
                return Err(SameFileError {
                    role: out.role,
                    path: out.path.to_path_buf(),
                    other_role: other.role,
                    other: other.path.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_is_replaced_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.mkv");
        std::fs::write(&file, b"keep").unwrap();
        let e = check_overwrite(&file, false).unwrap_err();
        assert!(
            matches!(&e, SinkError::Exists { path } if path == &file),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{} already exists and overwriting it was not allowed: choose another path, or allow overwriting to replace it",
                file.display()
            )
        );
        check_overwrite(&file, true).unwrap();
        // Through a symbolic link too.
        let link = dir.path().join("link.mkv");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(
            check_overwrite(&link, false),
            Err(SinkError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&file).unwrap(), b"keep");
        // Nothing there yet, standard output, a character device, a FIFO, a directory.
        check_overwrite(&dir.path().join("new.mkv"), false).unwrap();
        check_overwrite(Path::new(STDOUT), false).unwrap();
        check_overwrite(Path::new("/dev/null"), false).unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        check_overwrite(&fifo, false).unwrap();
        check_overwrite(dir.path(), false).unwrap();
    }

    fn named<'a>(role: &'static str, path: &'a Path, output: bool) -> NamedPath<'a> {
        NamedPath { role, path, output }
    }

    #[test]
    fn same_file_by_any_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.y4m");
        std::fs::write(&input, b"YUV4MPEG2 W2 H2\n").unwrap();
        let sym = dir.path().join("sym.y4m");
        std::os::unix::fs::symlink(&input, &sym).unwrap();
        let hard = dir.path().join("hard.y4m");
        std::fs::hard_link(&input, &hard).unwrap();
        let out = dir.path().join("out.mkv");
        for alias in [&input, &sym, &hard] {
            let e = check_distinct(&[named("input", &input, false), named("output", alias, true)])
                .unwrap_err();
            let text = e.to_string();
            assert!(text.contains(&alias.display().to_string()), "{text}");
            assert!(text.contains("input"), "{text}");
        }
        // The same new path twice, spelled differently.
        let other = dir.path().join(".").join("out.mkv");
        assert!(check_distinct(&[
            named("output", &out, true),
            named("stats file", &other, true)
        ])
        .is_err());
        // Distinct files pass; two inputs may be the same.
        check_distinct(&[
            named("input", &input, false),
            named("input", &sym, false),
            named("output", &out, true),
        ])
        .unwrap();
        // Devices may be named twice.
        let null = Path::new("/dev/null");
        check_distinct(&[named("output", null, true), named("stats file", null, true)]).unwrap();
    }
}
