//! The parameters a PipeWire video stream negotiates with: the raw-video formats GhostStream
//! takes, the buffers it can read (shared memory), and the metadata it asks for (header
//! timestamps, damage, explicit sync), as SPA pods; and the negotiated format read back.

use std::io::Cursor;

use pipewire::spa::param::format::{FormatProperties, MediaSubtype, MediaType};
use pipewire::spa::param::format_utils::parse_format;
use pipewire::spa::param::video::{VideoFormat, VideoInfoRaw};
use pipewire::spa::param::ParamType;
use pipewire::spa::pod::deserialize::PodDeserializer;
use pipewire::spa::pod::serialize::PodSerializer;
use pipewire::spa::pod::{ChoiceValue, Object, Pod, Property, PropertyFlags, Value};
use pipewire::spa::sys as spa_sys;
use pipewire::spa::utils::{Choice, ChoiceEnum, ChoiceFlags, Fraction, Id, Rectangle, SpaTypes};

use pipewire as pw;

use crate::format::PixelFormat;
use crate::source::capture::CaptureError;
use crate::time::Rational;

/// A PipeWire connection on a loop of its own (fields drop core first, loop last).
pub(crate) struct Connection {
    pub core: pw::core::Core,
    _context: pw::context::Context,
    pub main_loop: pw::main_loop::MainLoop,
}

/// PipeWire's error as [`CaptureError::PipeWireUnavailable`].
pub(crate) fn unavailable(e: pw::Error) -> CaptureError {
    CaptureError::PipeWireUnavailable {
        reason: e.to_string(),
    }
}

/// Connects through `remote` (an fd from the portal or a test), else to the user's daemon.
pub(crate) fn connect(remote: Option<std::os::fd::OwnedFd>) -> Result<Connection, CaptureError> {
    pw::init();
    let main_loop = pw::main_loop::MainLoop::new(None).map_err(unavailable)?;
    let context = pw::context::Context::new(&main_loop).map_err(unavailable)?;
    let core = match remote {
        Some(fd) => context.connect_fd(fd, None),
        None => context.connect(None),
    }
    .map_err(unavailable)?;
    Ok(Connection {
        core,
        _context: context,
        main_loop,
    })
}

/// Connects `stream` with `offer` as its formats; `what` names it in the error.
pub(crate) fn connect_stream(
    stream: &pw::stream::StreamRef,
    direction: pw::spa::utils::Direction,
    target: Option<u32>,
    flags: pw::stream::StreamFlags,
    offer: &[Vec<u8>],
    what: &str,
) -> Result<(), CaptureError> {
    stream
        .connect(direction, target, flags, &mut pods(offer))
        .map_err(|e| CaptureError::StreamFailed {
            reason: format!("connecting {what}: {e}"),
        })
}

/// The SPA raw-video formats GhostStream takes, each with the engine format it is read as
/// (SPA names bytes in memory order: BGRx is B, G, R, x; the 10-bit names are little-endian
/// words from the high bits, so xBGR_210LE holds R in bits 0–9).
pub(crate) const ACCEPTED: [(VideoFormat, PixelFormat); 6] = [
    (VideoFormat::BGRx, PixelFormat::Bgra8),
    (VideoFormat::BGRA, PixelFormat::Bgra8),
    (VideoFormat::RGBx, PixelFormat::Rgba8),
    (VideoFormat::RGBA, PixelFormat::Rgba8),
    (VideoFormat::xBGR_210LE, PixelFormat::Rgb10a2),
    (VideoFormat::ABGR_210LE, PixelFormat::Rgb10a2),
];

/// Largest frame side offered in negotiation.
const MAX_SIDE: u32 = 16384;

/// The engine format for an SPA video format, `None` when GhostStream does not take it.
pub(crate) fn engine_format(format: VideoFormat) -> Option<PixelFormat> {
    ACCEPTED
        .iter()
        .find(|(spa, _)| *spa == format)
        .map(|&(_, engine)| engine)
}

/// A format both sides agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StreamFormat {
    /// How the pixels are read.
    pub format: PixelFormat,
    /// The SPA format's name (for messages).
    pub spa_name: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The frame rate the producer announced (0/1 for a variable rate).
    pub rate: Rational,
    /// The buffers' DRM format modifier once fixed: `Some` for DMA-BUF buffers, `None` for
    /// shared memory (or a modifier still to fixate: [`negotiated_modifier`]).
    pub modifier: Option<u64>,
}

/// A negotiated format's DRM format modifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Modifier {
    /// One modifier, fixed: the buffers come with it.
    Fixed(u64),
    /// Still a choice the consumer is to fixate (`SPA_POD_PROP_FLAG_DONT_FIXATE`): these, in
    /// the producer's order of preference.
    Choice(Vec<u64>),
}

/// Why a negotiated format was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FormatRefusal {
    /// Not raw video.
    NotRawVideo,
    /// A raw-video format outside [`ACCEPTED`] (its SPA id).
    Unsupported(u32),
    /// The pod does not parse.
    Malformed(String),
}

/// Reads the format PipeWire fixed for the stream.
pub(crate) fn negotiated(pod: &Pod) -> Result<StreamFormat, FormatRefusal> {
    let (media_type, subtype) =
        parse_format(pod).map_err(|e| FormatRefusal::Malformed(e.to_string()))?;
    if media_type != MediaType::Video || subtype != MediaSubtype::Raw {
        return Err(FormatRefusal::NotRawVideo);
    }
    let mut info = VideoInfoRaw::new();
    info.parse(pod)
        .map_err(|e| FormatRefusal::Malformed(e.to_string()))?;
    let format =
        engine_format(info.format()).ok_or(FormatRefusal::Unsupported(info.format().as_raw()))?;
    let size = info.size();
    let rate = match (info.framerate(), info.max_framerate()) {
        (f, _) if f.num > 0 && f.denom > 0 => Rational::new(i64::from(f.num), i64::from(f.denom)),
        (_, m) if m.num > 0 && m.denom > 0 => Rational::new(i64::from(m.num), i64::from(m.denom)),
        _ => Rational::new(0, 1),
    };
    Ok(StreamFormat {
        format,
        spa_name: spa_name(info.format()),
        width: size.width,
        height: size.height,
        rate,
        modifier: match negotiated_modifier(pod)? {
            Some(Modifier::Fixed(m)) => Some(m),
            _ => None,
        },
    })
}

/// The modifier property of a format pod, read from the pod itself (libspa's own parser of
/// PipeWire 0.3.65 does not tell a fixed modifier from a choice left open).
pub(crate) fn negotiated_modifier(pod: &Pod) -> Result<Option<Modifier>, FormatRefusal> {
    let (_, value) = PodDeserializer::deserialize_any_from(pod.as_bytes())
        .map_err(|e| FormatRefusal::Malformed(format!("{e:?}")))?;
    let Value::Object(object) = value else {
        return Err(FormatRefusal::Malformed(
            "the format is not an object".into(),
        ));
    };
    let Some(prop) = object
        .properties
        .iter()
        .find(|p| p.key == FormatProperties::VideoModifier.as_raw())
    else {
        return Ok(None);
    };
    // SPA carries modifiers as signed 64-bit Longs: the same bits.
    let bits = |v: i64| u64::from_ne_bytes(v.to_ne_bytes());
    Ok(Some(match &prop.value {
        Value::Long(v) => Modifier::Fixed(bits(*v)),
        Value::Choice(ChoiceValue::Long(Choice(_, choice))) => match choice {
            ChoiceEnum::None(v) => Modifier::Fixed(bits(*v)),
            ChoiceEnum::Enum {
                default,
                alternatives,
            } => {
                let mut list = vec![bits(*default)];
                for v in alternatives.iter().map(|v| bits(*v)) {
                    if !list.contains(&v) {
                        list.push(v);
                    }
                }
                if list.len() == 1 || !prop.flags.contains(PropertyFlags::DONT_FIXATE) {
                    // A choice without DONT_FIXATE was fixated by PipeWire to its default.
                    Modifier::Fixed(list[0])
                } else {
                    Modifier::Choice(list)
                }
            }
            other => {
                return Err(FormatRefusal::Malformed(format!(
                    "a modifier given as {other:?}"
                )))
            }
        },
        other => {
            return Err(FormatRefusal::Malformed(format!(
                "a modifier given as {other:?}"
            )))
        }
    }))
}

/// A producer's `EnumFormat` in words, for messages: its formats, and either the DMA-BUF
/// modifiers it asks for or "shared memory".
pub(crate) fn describe_enum_format(pod: &Pod) -> String {
    let Ok((_, Value::Object(object))) = PodDeserializer::deserialize_any_from(pod.as_bytes())
    else {
        return "a format GhostStream cannot read".into();
    };
    let ids = |v: &Value| -> Vec<u32> {
        match v {
            Value::Id(id) => vec![id.0],
            Value::Choice(ChoiceValue::Id(Choice(
                _,
                ChoiceEnum::Enum {
                    default,
                    alternatives,
                },
            ))) => {
                let mut all = vec![default.0];
                all.extend(alternatives.iter().map(|a| a.0).filter(|a| *a != default.0));
                all
            }
            _ => Vec::new(),
        }
    };
    let longs = |v: &Value| -> Vec<String> {
        let hex = |l: &i64| format!("{:#x}", u64::from_ne_bytes(l.to_ne_bytes()));
        match v {
            Value::Long(l) => vec![hex(l)],
            Value::Choice(ChoiceValue::Long(Choice(
                _,
                ChoiceEnum::Enum {
                    default,
                    alternatives,
                },
            ))) => {
                let mut all = vec![hex(default)];
                all.extend(alternatives.iter().map(hex).filter(|a| *a != hex(default)));
                all
            }
            _ => Vec::new(),
        }
    };
    let mut formats = Vec::new();
    let mut modifiers = None;
    for p in &object.properties {
        if p.key == FormatProperties::VideoFormat.as_raw() {
            formats = ids(&p.value)
                .into_iter()
                .map(|id| {
                    let name = spa_name(VideoFormat::from_raw(id));
                    if name == "other" {
                        format!("SPA video format {id}")
                    } else {
                        name.to_string()
                    }
                })
                .collect();
        } else if p.key == FormatProperties::VideoModifier.as_raw() {
            modifiers = Some(longs(&p.value));
        }
    }
    let formats = if formats.is_empty() {
        "a non-video format".to_string()
    } else {
        formats.join("/")
    };
    match modifiers {
        Some(m) => format!("{formats} as DMA-BUF (modifiers {})", m.join(", ")),
        None => format!("{formats} in shared memory"),
    }
}

/// An `EnumFormat` for DMA-BUF buffers: `format` with one of `modifiers` (the first
/// preferred), any size and rate (a consumer's offer) or `size` and `rate` (a producer's).
/// Several modifiers (or one, with `dont_fixate`) are a choice left to fixate
/// (`MANDATORY | DONT_FIXATE`, the two-step negotiation of PipeWire's DMA-BUF documentation);
/// one is otherwise fixed.
pub(crate) fn enum_format_dmabuf(
    format: VideoFormat,
    modifiers: &[u64],
    dont_fixate: bool,
    size: Option<(u32, u32)>,
    rate: Option<Rational>,
) -> Vec<u8> {
    let mut object = enum_format_object(&[format], size, rate);
    let long = |m: u64| i64::from_ne_bytes(m.to_ne_bytes());
    let property = match modifiers {
        [one] if !dont_fixate => Property {
            key: FormatProperties::VideoModifier.as_raw(),
            flags: PropertyFlags::MANDATORY,
            value: Value::Long(long(*one)),
        },
        _ => Property {
            key: FormatProperties::VideoModifier.as_raw(),
            flags: PropertyFlags::MANDATORY | PropertyFlags::DONT_FIXATE,
            value: Value::Choice(ChoiceValue::Long(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Enum {
                    default: long(modifiers.first().copied().unwrap_or(0)),
                    alternatives: modifiers.iter().map(|&m| long(m)).collect(),
                },
            ))),
        },
    };
    object.properties.push(property);
    serialize(object)
}

pub(crate) fn spa_name(format: VideoFormat) -> &'static str {
    match format {
        VideoFormat::BGRx => "BGRx",
        VideoFormat::BGRA => "BGRA",
        VideoFormat::RGBx => "RGBx",
        VideoFormat::RGBA => "RGBA",
        VideoFormat::xBGR_210LE => "xBGR_210LE",
        VideoFormat::ABGR_210LE => "ABGR_210LE",
        _ => "other",
    }
}

fn serialize(object: Object) -> Vec<u8> {
    PodSerializer::serialize(Cursor::new(Vec::new()), &Value::Object(object))
        // Writing into a growable vector cannot fail.
        .map(|(cursor, _)| cursor.into_inner())
        .unwrap_or_default()
}

fn id_choice(default: Id, alternatives: Vec<Id>) -> Value {
    Value::Choice(ChoiceValue::Id(Choice(
        ChoiceFlags::empty(),
        ChoiceEnum::Enum {
            default,
            alternatives,
        },
    )))
}

/// An `EnumFormat` listing `formats` (the first preferred). A consumer leaves the size and
/// rate open (`None`); a producer fixes them to what it sends.
pub(crate) fn enum_format(
    formats: &[VideoFormat],
    size: Option<(u32, u32)>,
    rate: Option<Rational>,
) -> Vec<u8> {
    serialize(enum_format_object(formats, size, rate))
}

/// The object of [`enum_format`], before serialization.
fn enum_format_object(
    formats: &[VideoFormat],
    size: Option<(u32, u32)>,
    rate: Option<Rational>,
) -> Object {
    let ids: Vec<Id> = formats.iter().map(|f| Id(f.as_raw())).collect();
    let format = match ids.as_slice() {
        [one] => Value::Id(*one),
        _ => id_choice(ids[0], ids.clone()),
    };
    let size = match size {
        Some((width, height)) => Value::Rectangle(Rectangle { width, height }),
        None => Value::Choice(ChoiceValue::Rectangle(Choice(
            ChoiceFlags::empty(),
            ChoiceEnum::Range {
                default: Rectangle {
                    width: 1920,
                    height: 1080,
                },
                min: Rectangle {
                    width: 1,
                    height: 1,
                },
                max: Rectangle {
                    width: MAX_SIDE,
                    height: MAX_SIDE,
                },
            },
        ))),
    };
    let rate = match rate {
        Some(r) => {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a validated rate's terms fit 32 bits"
            )]
            let (num, denom) = (r.num.max(0) as u32, r.den.max(1) as u32);
            Value::Fraction(Fraction { num, denom })
        }
        None => Value::Choice(ChoiceValue::Fraction(Choice(
            ChoiceFlags::empty(),
            ChoiceEnum::Range {
                default: Fraction { num: 60, denom: 1 },
                min: Fraction { num: 0, denom: 1 },
                max: Fraction {
                    num: 1000,
                    denom: 1,
                },
            },
        ))),
    };
    Object {
        type_: SpaTypes::ObjectParamFormat.as_raw(),
        id: ParamType::EnumFormat.as_raw(),
        properties: vec![
            Property::new(
                FormatProperties::MediaType.as_raw(),
                Value::Id(Id(MediaType::Video.as_raw())),
            ),
            Property::new(
                FormatProperties::MediaSubtype.as_raw(),
                Value::Id(Id(MediaSubtype::Raw.as_raw())),
            ),
            Property::new(FormatProperties::VideoFormat.as_raw(), format),
            Property::new(FormatProperties::VideoSize.as_raw(), size),
            Property::new(FormatProperties::VideoFramerate.as_raw(), rate),
        ],
    }
}

/// The `Buffers` parameter: 2 to 16 buffers (4 preferred) of shared memory (MemFd or
/// MemPtr), one data plane, `stride`x`height` bytes when the size is known.
pub(crate) fn buffers(size_and_stride: Option<(u32, u32)>) -> Vec<u8> {
    buffers_of(
        (1 << spa_sys::SPA_DATA_MemFd) | (1 << spa_sys::SPA_DATA_MemPtr),
        size_and_stride,
    )
}

/// The `Buffers` parameter for DMA-BUF buffers (the producer lays them out).
pub(crate) fn dmabuf_buffers() -> Vec<u8> {
    buffers_of(1 << spa_sys::SPA_DATA_DmaBuf, None)
}

/// The `Buffers` parameter for DMA-BUF buffers with explicit sync: one DMA-BUF block and two
/// more for the acquire and release syncobjs, a layout that applies only when the
/// `SPA_META_SyncTimeline` metadata was negotiated (`SPA_PARAM_BUFFERS_metaType`, mandatory).
/// Offered before [`dmabuf_buffers`], which stays the layout without it.
pub(crate) fn dmabuf_buffers_synced() -> Vec<u8> {
    let plain = dmabuf_buffers();
    let Some(Value::Object(mut object)) = Pod::from_bytes(&plain).and_then(|pod| {
        PodDeserializer::deserialize_any_from(pod.as_bytes())
            .ok()
            .map(|(_, v)| v)
    }) else {
        return plain;
    };
    for p in &mut object.properties {
        if p.key == spa_sys::SPA_PARAM_BUFFERS_blocks {
            p.value = Value::Int(3);
        }
    }
    object.properties.push(Property {
        key: super::sync::SPA_PARAM_BUFFERS_META_TYPE,
        flags: PropertyFlags::MANDATORY,
        value: Value::Int(1 << super::sync::SPA_META_SYNC_TIMELINE),
    });
    serialize(object)
}

/// The `Meta` parameter for explicit sync (`SPA_META_SyncTimeline`).
pub(crate) fn sync_timeline_meta() -> Vec<u8> {
    meta(
        super::sync::SPA_META_SYNC_TIMELINE,
        std::mem::size_of::<super::sync::SpaMetaSyncTimeline>(),
    )
}

#[expect(
    clippy::cast_possible_wrap,
    reason = "a negotiated frame (sides at most MAX_SIDE) is at most 2^30 bytes: SPA's int holds it"
)]
fn buffers_of(memory: i32, size_and_stride: Option<(u32, u32)>) -> Vec<u8> {
    let mut properties = vec![
        Property::new(
            spa_sys::SPA_PARAM_BUFFERS_buffers,
            Value::Choice(ChoiceValue::Int(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Range {
                    default: 4,
                    min: 2,
                    max: 16,
                },
            ))),
        ),
        Property::new(spa_sys::SPA_PARAM_BUFFERS_blocks, Value::Int(1)),
        Property::new(
            spa_sys::SPA_PARAM_BUFFERS_dataType,
            Value::Choice(ChoiceValue::Int(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Flags {
                    default: memory,
                    flags: vec![],
                },
            ))),
        ),
    ];
    if let Some((size, stride)) = size_and_stride {
        properties.push(Property::new(
            spa_sys::SPA_PARAM_BUFFERS_size,
            Value::Int(size as i32),
        ));
        properties.push(Property::new(
            spa_sys::SPA_PARAM_BUFFERS_stride,
            Value::Int(stride as i32),
        ));
    }
    serialize(Object {
        type_: spa_sys::SPA_TYPE_OBJECT_ParamBuffers,
        id: spa_sys::SPA_PARAM_Buffers,
        properties,
    })
}

/// A `Meta` parameter asking for metadata of `kind` (`SPA_META_*`) of `size` bytes.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "metadata sizes are a few SPA structs and a cursor bitmap"
)]
pub(crate) fn meta(kind: u32, size: usize) -> Vec<u8> {
    serialize(Object {
        type_: spa_sys::SPA_TYPE_OBJECT_ParamMeta,
        id: spa_sys::SPA_PARAM_Meta,
        properties: vec![
            Property::new(spa_sys::SPA_PARAM_META_type, Value::Id(Id(kind))),
            Property::new(spa_sys::SPA_PARAM_META_size, Value::Int(size as i32)),
        ],
    })
}

/// A `Meta` parameter for the pointer (`SPA_META_Cursor`): room for a 64x64 picture
/// preferred, 1x1 to 256x256 accepted.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "a cursor of at most CURSOR_MAX_SIDE squared pixels"
)]
pub(crate) fn cursor_meta() -> Vec<u8> {
    use super::buffer::{cursor_meta_size, CURSOR_MAX_SIDE};
    serialize(Object {
        type_: spa_sys::SPA_TYPE_OBJECT_ParamMeta,
        id: spa_sys::SPA_PARAM_Meta,
        properties: vec![
            Property::new(
                spa_sys::SPA_PARAM_META_type,
                Value::Id(Id(spa_sys::SPA_META_Cursor)),
            ),
            Property::new(
                spa_sys::SPA_PARAM_META_size,
                Value::Choice(ChoiceValue::Int(Choice(
                    ChoiceFlags::empty(),
                    ChoiceEnum::Range {
                        default: cursor_meta_size(64) as i32,
                        min: cursor_meta_size(1) as i32,
                        max: cursor_meta_size(CURSOR_MAX_SIDE) as i32,
                    },
                ))),
            ),
        ],
    })
}

/// The metadata a capture asks for: the header (timestamps, sequence, corruption) and up to
/// 16 damage rectangles.
pub(crate) fn capture_metas() -> [Vec<u8>; 2] {
    [
        meta(
            spa_sys::SPA_META_Header,
            std::mem::size_of::<spa_sys::spa_meta_header>(),
        ),
        meta(
            spa_sys::SPA_META_VideoDamage,
            16 * std::mem::size_of::<spa_sys::spa_meta_region>(),
        ),
    ]
}

/// Views serialized pods as the slice `pw_stream_connect`/`update_params` take.
pub(crate) fn pods(bytes: &[Vec<u8>]) -> Vec<&Pod> {
    bytes.iter().filter_map(|b| Pod::from_bytes(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offered_format_parses_back_to_the_engines_format() {
        let pod_bytes = enum_format(
            &[VideoFormat::RGBx],
            Some((640, 360)),
            Some(Rational::new(30, 1)),
        );
        let pod = Pod::from_bytes(&pod_bytes).unwrap();
        // A producer's offer of one format, size and rate reads as that format.
        let f = negotiated(pod).unwrap();
        assert_eq!(
            (f.format, f.width, f.height),
            (PixelFormat::Rgba8, 640, 360)
        );
        assert_eq!(f.spa_name, "RGBx");
        assert_eq!(f.rate, Rational::new(30, 1));
    }

    #[test]
    fn dma_buf_offers_read_back_as_a_fixed_modifier_or_a_choice_to_fixate() {
        let linear_and_tiled = [0, 0x0100_0000_0000_0001];
        let open = enum_format_dmabuf(VideoFormat::BGRx, &linear_and_tiled, true, None, None);
        let pod = Pod::from_bytes(&open).unwrap();
        assert_eq!(
            negotiated_modifier(pod).unwrap(),
            Some(Modifier::Choice(linear_and_tiled.to_vec()))
        );
        let fixed = enum_format_dmabuf(
            VideoFormat::BGRx,
            &[0x0100_0000_0000_0001],
            false,
            Some((64, 32)),
            Some(Rational::new(30, 1)),
        );
        let pod = Pod::from_bytes(&fixed).unwrap();
        assert_eq!(
            negotiated_modifier(pod).unwrap(),
            Some(Modifier::Fixed(0x0100_0000_0000_0001))
        );
        let f = negotiated(pod).unwrap();
        assert_eq!(
            (f.format, f.width, f.modifier),
            (PixelFormat::Bgra8, 64, Some(0x0100_0000_0000_0001))
        );
        // Shared memory: no modifier at all.
        let shm = enum_format(&[VideoFormat::BGRx], Some((64, 32)), None);
        assert_eq!(
            negotiated_modifier(Pod::from_bytes(&shm).unwrap()).unwrap(),
            None
        );
    }

    #[test]
    fn the_synced_buffer_layout_has_three_blocks_and_requires_the_sync_meta() {
        let bytes = dmabuf_buffers_synced();
        let (_, value) =
            PodDeserializer::deserialize_any_from(Pod::from_bytes(&bytes).unwrap().as_bytes())
                .unwrap();
        let Value::Object(object) = value else {
            panic!("not an object: {value:?}")
        };
        assert_eq!(object.id, spa_sys::SPA_PARAM_Buffers);
        let prop = |key| object.properties.iter().find(|p| p.key == key).unwrap();
        assert_eq!(prop(spa_sys::SPA_PARAM_BUFFERS_blocks).value, Value::Int(3));
        let meta_type = prop(super::super::sync::SPA_PARAM_BUFFERS_META_TYPE);
        assert_eq!(meta_type.value, Value::Int(1 << 9));
        assert!(meta_type.flags.contains(PropertyFlags::MANDATORY));
        let (_, value) = PodDeserializer::deserialize_any_from(
            Pod::from_bytes(&sync_timeline_meta()).unwrap().as_bytes(),
        )
        .unwrap();
        let Value::Object(object) = value else {
            panic!("not an object: {value:?}")
        };
        assert_eq!(object.properties[0].value, Value::Id(Id(9)));
        assert_eq!(object.properties[1].value, Value::Int(24));
    }

    #[test]
    fn formats_map_to_the_engines_byte_orders() {
        assert_eq!(engine_format(VideoFormat::BGRx), Some(PixelFormat::Bgra8));
        assert_eq!(engine_format(VideoFormat::RGBA), Some(PixelFormat::Rgba8));
        assert_eq!(
            engine_format(VideoFormat::xBGR_210LE),
            Some(PixelFormat::Rgb10a2)
        );
        assert_eq!(engine_format(VideoFormat::NV12), None);
        assert_eq!(engine_format(VideoFormat::xRGB), None);
    }
}
