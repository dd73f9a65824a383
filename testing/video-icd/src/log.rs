//! The call log: one line per call into the driver, appended to the file named by
//! `GHOSTSTREAM_ICD_LOG` (nothing is written when it is unset).
//!
//! A line is the entry point's name, then what it was asked (`key=value` words), then `->` and
//! its result, e.g. `vkCreateDevice queues=0:1,1:1 extensions=VK_KHR_video_queue -> SUCCESS`.
//! Queries for entry points are logged too (`vk_icdGetInstanceProcAddr vkCmdFoo -> null`), so
//! that an entry point the driver lacks shows in the log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{LazyLock, Mutex};

/// The environment variable naming the log file.
pub const LOG_ENV: &str = "GHOSTSTREAM_ICD_LOG";

static LOG: LazyLock<Option<Mutex<File>>> = LazyLock::new(|| {
    let path = std::env::var_os(LOG_ENV)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()
        .map(Mutex::new)
});

/// Appends one line to the log (a newline inside `line` is replaced, so one call stays one
/// line).
pub fn record(line: &str) {
    let Some(file) = LOG.as_ref() else {
        return;
    };
    let mut text = line.replace('\n', " ");
    text.push('\n');
    if let Ok(mut f) = file.lock() {
        // One write per line: lines from several threads do not interleave.
        let _ = f.write_all(text.as_bytes());
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The entry point (`vkCreateDevice`, `vk_icdGetInstanceProcAddr`).
    pub name: String,
    /// The words between the name and the result.
    pub detail: String,
    /// The result after `->` (`SUCCESS`, `null`, `ERROR_...`), empty for a call without one.
    pub result: String,
}

/// Parses a log's text into its calls.
pub fn parse(text: &str) -> Vec<Call> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (head, result) = match line.rsplit_once(" -> ") {
                Some((h, r)) => (h, r.trim().to_string()),
                None => (line, String::new()),
            };
            let (name, detail) = head.split_once(' ').unwrap_or((head, ""));
            Call {
                name: name.to_string(),
                detail: detail.trim().to_string(),
                result,
            }
        })
        .collect()
}

/// Reads and parses the log at `path`.
pub fn read(path: &Path) -> std::io::Result<Vec<Call>> {
    Ok(parse(&std::fs::read_to_string(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_detail_and_result() {
        let calls = parse(
            "vkCreateDevice queues=0:1 -> SUCCESS\n\nvk_icdGetInstanceProcAddr vkCmdFoo -> null\nvkDestroyDevice\n",
        );
        assert_eq!(
            calls,
            vec![
                Call {
                    name: "vkCreateDevice".into(),
                    detail: "queues=0:1".into(),
                    result: "SUCCESS".into()
                },
                Call {
                    name: "vk_icdGetInstanceProcAddr".into(),
                    detail: "vkCmdFoo".into(),
                    result: "null".into()
                },
                Call {
                    name: "vkDestroyDevice".into(),
                    detail: String::new(),
                    result: String::new()
                },
            ]
        );
    }
}
