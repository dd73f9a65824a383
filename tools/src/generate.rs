//! `ghoststream generate` (for packagers and `make install`): shell completions and man pages
//! made from the command-line definitions themselves, so they never drift from them. It is
//! parsed apart from the other subcommands, so that it appears in none of what it generates.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use clap_complete::Shell;

/// Generate shell completions or man pages for ghoststream.
#[derive(Parser, Debug)]
#[command(name = "ghoststream generate")]
struct GenerateCli {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Debug)]
enum What {
    /// Completions for SHELL: to standard output, or into DIR under the shell's usual name.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: Shell,
        /// The directory to write the file into (standard output without it).
        dir: Option<PathBuf>,
    },
    /// Man pages into DIR: ghoststream.1 and ghoststream-SUBCOMMAND.1 for each subcommand.
    Man {
        /// The directory to write the pages into (it must exist).
        dir: PathBuf,
    },
}

/// Runs `ghoststream generate ARGS` (`args` from `generate` on) for the tool's command `cmd`.
pub fn run(args: &[OsString], mut cmd: clap::Command) -> Result<(), String> {
    const NAME: &str = "ghoststream";
    let cli = GenerateCli::try_parse_from(args).map_err(|e| {
        if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp) {
            e.exit()
        }
        let text = e.to_string();
        let line = text.lines().next().unwrap_or_default();
        line.strip_prefix("error: ").unwrap_or(line).to_string()
    })?;
    match cli.what {
        What::Completions { shell, dir: None } => {
            clap_complete::generate(shell, &mut cmd, NAME, &mut std::io::stdout());
        }
        What::Completions {
            shell,
            dir: Some(dir),
        } => {
            let path = clap_complete::generate_to(shell, &mut cmd, NAME, &dir).map_err(|e| {
                format!(
                    "cannot write {shell} completions into {}: {e}",
                    dir.display()
                )
            })?;
            eprintln!("wrote {}", path.display());
        }
        What::Man { dir } => {
            man_pages(cmd, &dir)
                .map_err(|e| format!("cannot write man pages into {}: {e}", dir.display()))?;
            eprintln!("wrote man pages into {}", dir.display());
        }
    }
    Ok(())
}

/// ghoststream.1 and one page per subcommand (`ghoststream-encode.1`...), each starting with
/// its `.TH` line.
fn man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut pages = vec![cmd.clone()];
    pages.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for page in pages {
        let man = clap_mangen::Man::new(page);
        let mut roff = Vec::new();
        man.render(&mut roff)?;
        std::fs::write(dir.join(man.get_filename()), title_first(&roff))?;
    }
    Ok(())
}

/// The page with its `.TH` line moved to the top (the renderer puts string definitions first).
fn title_first(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let (title, rest): (Vec<&str>, Vec<&str>) = text
        .split_inclusive('\n')
        .partition(|l| l.starts_with(".TH "));
    title
        .into_iter()
        .chain(rest)
        .collect::<String>()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_title_goes_first() {
        let page = b".ie x\n.el y\n.TH ghoststream 1\n.SH NAME\n";
        assert_eq!(
            super::title_first(page),
            b".TH ghoststream 1\n.ie x\n.el y\n.SH NAME\n"
        );
    }
}
