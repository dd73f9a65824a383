//! The portal restore token reader over arbitrary file contents: a token comes back only when
//! it is plausible (printable ASCII, at most 256 bytes, from the file), anything else is no
//! token, never a panic.
#![no_main]

use std::sync::OnceLock;

use ghoststream::capture::RestoreTokenFile;
use libfuzzer_sys::fuzz_target;

fn path() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // fuzz.sh points TMPDIR at a private directory in memory, removed after the run.
        let dir =
            std::env::temp_dir().join(format!("ghoststream-fuzz-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir.join("token")
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).expect("the scratch file is writable");
    if let Some(token) = RestoreTokenFile::new(path()).load() {
        assert!(!token.is_empty() && token.len() <= 256, "{token:?}");
        assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{token:?}");
        assert!(
            data.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token comes from the file"
        );
    }
});
