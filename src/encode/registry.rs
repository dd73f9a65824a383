//! The registry of encoder backends and the choice among them.
//!
//! Each backend is a [`BackendFactory`]: its kind, whether it can encode a codec here (and why
//! not), and how to open it for a config and a [`Feed`]. [`super::BACKENDS`] lists them in `auto`'s
//! order of preference; [`super::open_backend`] walks it to choose (keeping the reason of each backend
//! passed over), and [`crate::probe`] walks it to report. A new encoder is one module with its
//! factory plus one line in [`super::BACKENDS`].
//!
//! Opening answers the session's one question, what to feed the backend, with an [`InputPlan`]:
//! the session builds its GPU ring for that plan, never the other way round.

use std::sync::Arc;

use super::{EncodeError, EncoderBackend};
use crate::codec::Codec;
use crate::config::{BackendChoice, BackendKind, SessionConfig};
use crate::format::PixelFormat;
use crate::gpu::{GpuContext, Handoff};

/// How the session can feed a backend it opens.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Feed<'a> {
    /// Frames come as the application submits them, in this format, in CPU memory (YUV input,
    /// or RGB input with no GPU to convert it).
    Cpu(PixelFormat),
    /// The session converts (and processes) RGB frames on this Vulkan context into the format
    /// the backend names, read back into CPU memory or written into the backend's hand-off
    /// buffers when it offers them.
    Gpu(&'a Arc<GpuContext>),
}

/// What an opened backend takes: the session builds its GPU ring for this.
#[derive(Clone, Debug)]
pub struct InputPlan {
    /// The format of the frames the backend is fed: for [`Feed::Cpu`] the one given; for
    /// [`Feed::Gpu`] the YUV format the session's GPU pass writes.
    pub format: PixelFormat,
    /// The buffers (or the backend's own picture images) and timelines the GPU pass hands
    /// frames over in, when the backend reads them in place from Vulkan memory (frames then go
    /// to [`EncoderBackend::encode_handed_off`]); `None`: frames go to
    /// [`EncoderBackend::encode`] in CPU memory. Only with [`Feed::Gpu`].
    pub handoff: Option<Handoff>,
}

/// A backend just opened, with its answer to how it is fed.
pub struct OpenedBackend {
    /// The backend.
    pub backend: Box<dyn EncoderBackend>,
    /// What it takes.
    pub input: InputPlan,
}

impl std::fmt::Debug for OpenedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedBackend")
            .field("backend", &self.backend.describe())
            .field("input", &self.input)
            .finish()
    }
}

/// One kind of encoder backend: what [`super::BACKENDS`] lists. Implement it to plug in another
/// encoder (and give the list with it to [`open_backend_with`] or
/// [`crate::Session::open_with`]).
pub trait BackendFactory: Sync {
    /// Which backend this opens.
    fn kind(&self) -> BackendKind;

    /// Whether the backend can encode `codec` on this machine: what it uses when it can, why
    /// not (with the fix) when it cannot. For [`crate::probe`]; it may be slower than
    /// [`open`](Self::open)'s own checks (it may query capabilities).
    fn probe(&self, codec: Codec) -> Result<String, String>;

    /// Opens the backend for `config`, fed as `feed` says, and answers what it takes. An error
    /// says why it cannot run ([`EncodeError::Unavailable`] when it cannot run here at all).
    fn open(&self, config: &SessionConfig, feed: Feed<'_>) -> Result<OpenedBackend, EncodeError>;
}

/// Which backend a session runs on, and why the others were passed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendReport {
    /// The backend chosen.
    pub chosen: BackendKind,
    /// Its description.
    pub description: String,
    /// Each backend passed over, with the reason.
    pub passed_over: Vec<(BackendKind, String)>,
}

/// Opens the backend `config.backend` asks for among `factories`: for `Only(kind)` the first
/// factory of that kind, or its error; for `Auto` the first in order that opens, with the
/// reasons of those before it that did not ([`EncodeError::NoBackend`], every reason, when none
/// opens).
pub fn open_backend_with(
    factories: &[&dyn BackendFactory],
    config: &SessionConfig,
    feed: Feed<'_>,
) -> Result<(OpenedBackend, BackendReport), EncodeError> {
    let report = |chosen: BackendKind, opened: &OpenedBackend, passed_over| BackendReport {
        chosen,
        description: opened.backend.describe(),
        passed_over,
    };
    match config.backend {
        BackendChoice::Only(kind) => {
            let Some(factory) = factories.iter().find(|f| f.kind() == kind) else {
                return Err(EncodeError::Unavailable {
                    backend: kind,
                    reason: "no backend of this kind is registered".into(),
                });
            };
            let opened = factory.open(config, feed)?;
            let report = report(kind, &opened, Vec::new());
            Ok((opened, report))
        }
        BackendChoice::Auto => {
            let mut passed_over = Vec::new();
            for factory in factories {
                let kind = factory.kind();
                match factory.open(config, feed) {
                    Ok(opened) => {
                        for (k, why) in &passed_over {
                            tracing::info!(backend = %k, reason = %why, "backend passed over");
                        }
                        let report = report(kind, &opened, passed_over);
                        return Ok((opened, report));
                    }
                    Err(e) => passed_over.push((kind, e.to_string())),
                }
            }
            let reasons = passed_over
                .iter()
                .map(|(k, r)| format!("{k}: {r}"))
                .collect::<Vec<_>>()
                .join("; ");
            Err(EncodeError::NoBackend {
                codec: config.codec,
                reasons,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::EncodedUnit;
    use crate::frame::Frame;
    use crate::time::Rational;

    /// A backend that encodes nothing; its description names its factory.
    struct Null(&'static str);

    impl EncoderBackend for Null {
        fn kind(&self) -> BackendKind {
            BackendKind::Software
        }
        fn describe(&self) -> String {
            self.0.into()
        }
        fn encode(&mut self, _: Frame, _: i64) -> Result<(), EncodeError> {
            Ok(())
        }
        fn finish(&mut self) -> Result<(), EncodeError> {
            Ok(())
        }
        fn receive(&mut self) -> Result<Option<EncodedUnit>, EncodeError> {
            Ok(None)
        }
    }

    /// What a fake factory does when opened.
    enum Outcome {
        Unavailable(&'static str),
        FailsToOpen(&'static str),
        Opens(&'static str),
    }

    struct Fake(BackendKind, Outcome);

    impl BackendFactory for Fake {
        fn kind(&self) -> BackendKind {
            self.0
        }
        fn probe(&self, _: Codec) -> Result<String, String> {
            match self.1 {
                Outcome::Unavailable(why) => Err(why.into()),
                Outcome::FailsToOpen(_) | Outcome::Opens(_) => Ok("fake".into()),
            }
        }
        fn open(&self, _: &SessionConfig, feed: Feed<'_>) -> Result<OpenedBackend, EncodeError> {
            let Feed::Cpu(format) = feed else {
                panic!("the tests feed CPU frames");
            };
            match self.1 {
                Outcome::Unavailable(why) => Err(EncodeError::Unavailable {
                    backend: self.0,
                    reason: why.into(),
                }),
                Outcome::FailsToOpen(why) => Err(EncodeError::Hardware {
                    backend: self.0,
                    message: why.into(),
                }),
                Outcome::Opens(name) => Ok(OpenedBackend {
                    backend: Box::new(Null(name)),
                    input: InputPlan {
                        format,
                        handoff: None,
                    },
                }),
            }
        }
    }

    const UNAVAILABLE: Fake = Fake(BackendKind::Nvenc, Outcome::Unavailable("no engine"));
    const FAILS: Fake = Fake(
        BackendKind::VulkanVideo,
        Outcome::FailsToOpen("open failed"),
    );
    const OPENS: Fake = Fake(BackendKind::Software, Outcome::Opens("the fake encoder"));

    fn config(backend: BackendChoice) -> SessionConfig {
        let mut c = SessionConfig::new(Codec::H264, 64, 64, Rational::new(30, 1));
        c.backend = backend;
        c
    }

    fn open(
        factories: &[&dyn BackendFactory],
        backend: BackendChoice,
    ) -> Result<(OpenedBackend, BackendReport), EncodeError> {
        open_backend_with(factories, &config(backend), Feed::Cpu(PixelFormat::I420))
    }

    #[test]
    fn auto_opens_the_first_that_opens_and_reports_why_the_others_were_passed_over() {
        let (opened, report) = open(&[&UNAVAILABLE, &FAILS, &OPENS], BackendChoice::Auto).unwrap();
        assert_eq!(opened.backend.describe(), "the fake encoder");
        assert_eq!(opened.input.format, PixelFormat::I420);
        assert!(opened.input.handoff.is_none());
        assert_eq!(
            report,
            BackendReport {
                chosen: BackendKind::Software,
                description: "the fake encoder".into(),
                passed_over: vec![
                    (
                        BackendKind::Nvenc,
                        "the nvenc backend is not available: no engine".into()
                    ),
                    (BackendKind::VulkanVideo, "vulkan: open failed".into()),
                ],
            }
        );
    }

    #[test]
    fn auto_stops_at_the_first_that_opens() {
        let second = Fake(BackendKind::Nvenc, Outcome::Opens("never reached"));
        let (opened, report) = open(&[&OPENS, &second], BackendChoice::Auto).unwrap();
        assert_eq!(opened.backend.describe(), "the fake encoder");
        assert_eq!(report.chosen, BackendKind::Software);
        assert!(report.passed_over.is_empty());
    }

    #[test]
    fn auto_with_none_that_opens_gives_every_reason() {
        let e = open(&[&UNAVAILABLE, &FAILS], BackendChoice::Auto).unwrap_err();
        assert_eq!(
            e,
            EncodeError::NoBackend {
                codec: Codec::H264,
                reasons: "nvenc: the nvenc backend is not available: no engine; vulkan: vulkan: open failed".into(),
            }
        );
    }

    #[test]
    fn only_opens_that_backend_or_returns_its_reason() {
        let all: [&dyn BackendFactory; 3] = [&UNAVAILABLE, &FAILS, &OPENS];
        let (opened, report) = open(&all, BackendChoice::Only(BackendKind::Software)).unwrap();
        assert_eq!(opened.backend.describe(), "the fake encoder");
        assert_eq!(report.chosen, BackendKind::Software);
        assert!(report.passed_over.is_empty());
        assert_eq!(
            open(&all, BackendChoice::Only(BackendKind::Nvenc)).unwrap_err(),
            EncodeError::Unavailable {
                backend: BackendKind::Nvenc,
                reason: "no engine".into()
            }
        );
        assert_eq!(
            open(&all, BackendChoice::Only(BackendKind::VulkanVideo)).unwrap_err(),
            EncodeError::Hardware {
                backend: BackendKind::VulkanVideo,
                message: "open failed".into()
            }
        );
        assert_eq!(
            open(&[&OPENS], BackendChoice::Only(BackendKind::Nvenc)).unwrap_err(),
            EncodeError::Unavailable {
                backend: BackendKind::Nvenc,
                reason: "no backend of this kind is registered".into()
            }
        );
    }

    #[test]
    fn the_registry_lists_every_kind_once_in_auto_order() {
        let kinds: Vec<_> = super::super::BACKENDS.iter().map(|f| f.kind()).collect();
        assert_eq!(
            kinds,
            [
                BackendKind::Nvenc,
                BackendKind::VulkanVideo,
                BackendKind::Software
            ]
        );
    }
}
