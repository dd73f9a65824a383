//! Errors told in one line: an error and each of its sources, joined with `: `, a source whose
//! text the line already holds left out (for logs, events and command lines).

/// `e` and its sources on one line.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct E {
        text: &'static str,
        #[source]
        inner: Option<Box<E>>,
    }

    #[test]
    fn sources_join_once() {
        let e = E {
            text: "cannot save x.mkv",
            inner: Some(Box::new(E {
                text: "disk full",
                inner: Some(Box::new(E {
                    text: "full",
                    inner: None,
                })),
            })),
        };
        assert_eq!(one_line(&e), "cannot save x.mkv: disk full");
    }
}
