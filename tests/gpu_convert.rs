//! The RGB to NV12/I420 compute pass against the float64 reference, on whatever Vulkan device
//! is present (lavapipe in CI), with the Khronos validation layer on: any validation message
//! fails the test.
//!
//! Without a Vulkan device the tests print why and skip, unless GHOSTSTREAM_REQUIRE_GPU is set
//! (`make test` sets it, so CI cannot pass by skipping).

mod gpu_common;

use ghoststream::gpu::{BufferPass, DeviceSelector, GpuContext, GpuError, GpuOptions, RgbToYuv420};
use ghoststream::processing::convert::{ChromaSiting, ConvertSpec, YuvLayout};
use ghoststream::{ColorMatrix, ColorRange, PixelFormat};
use gpu_common::{
    all_specs, assert_validation_silent, context, near_boundary_summary, Reference, Rng,
};

/// Converts on the GPU twice (output poisoned with 0x00, then 0xFF) and checks every picture
/// sample against the reference: a sample the shader never wrote would hold 0x00.. in one run
/// and 0xFF.. in the other, and fail one of them. Float32 and float64 part only where the
/// value lies within float32's error of a .5 rounding boundary: there (and only there) a
/// sample may be the code on the other side (`gpu_common::Reference::check`); every other
/// sample is the reference's, at every depth.
fn check(
    conv: &mut RgbToYuv420,
    input: &[u8],
    format: PixelFormat,
    w: u32,
    h: u32,
    spec: &ConvertSpec,
) {
    let layout = YuvLayout::new(spec.output, w, h);
    let want = Reference::of(input, format, spec, &layout);
    for poison in [0x00u8, 0xff] {
        let run = conv
            .run(input, format, w, h, spec, poison)
            .expect("conversion runs");
        assert_eq!(run.layout, layout);
        let label = format!(
            "{w}x{h} {format}->{} {spec:?} (poison {poison:#x}; buffer pass {:?})",
            spec.output,
            conv.buffer_pass()
        );
        let near = want.check(&run.output, &label);
        if !near.is_empty() {
            eprintln!("{label}: {}", near_boundary_summary(&near));
        }
    }
}

#[test]
fn random_frames_match_the_reference_for_every_matrix_range_and_siting() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    let mut rng = Rng::new();
    let yuv420 = [
        PixelFormat::Nv12,
        PixelFormat::I420,
        PixelFormat::P010,
        PixelFormat::I420P10,
    ];
    let yuv444 = [
        PixelFormat::I444,
        PixelFormat::I444P10,
        PixelFormat::I444P16,
    ];
    // 2x2 is the smallest 4:2:0 frame; 6x4 and 34x18 are not multiples of the 4x2 pixels of an
    // invocation or the 64x16 of a workgroup; 130x66 crosses several workgroups with a ragged
    // edge; 4:4:4 also takes odd sizes (a last pixel column and row alone).
    let mut cases: Vec<(u32, u32, &[PixelFormat])> = Vec::new();
    for (w, h) in [(2, 2), (6, 4), (34, 18), (130, 66)] {
        cases.push((w, h, &yuv420));
        cases.push((w, h, &yuv444));
    }
    for (w, h) in [(1, 1), (5, 3), (67, 35)] {
        cases.push((w, h, &yuv444));
    }
    for (general, sizes) in [(false, &cases[..]), (true, &cases[6..8])] {
        // The pipelines specialized per output, then (on fewer sizes) the general one the
        // benchmark harness times.
        conv.use_general_pipeline(general);
        conv.use_buffer_input(None);
        for &(w, h, outputs) in sizes {
            for &output in outputs {
                for format in [PixelFormat::Rgba8, PixelFormat::Bgra8, PixelFormat::Rgb10a2] {
                    for spec in all_specs(output) {
                        let mut input = vec![0u8; (w * h * 4) as usize];
                        rng.fill(&mut input);
                        check(&mut conv, &input, format, w, h, &spec);
                    }
                }
            }
        }
    }
    assert_validation_silent(&ctx);
}

/// The buffer input (8-bit RGBA/BGRA read from a storage buffer) against the same reference:
/// rows padded to 16 bytes (4 pixels a load, with a ragged right edge where the width is not a
/// multiple of 4) and to 4 bytes (the pitch that forces single-pixel loads), with every layout
/// of the pass ([`BufferPass`]). 130 wide puts a lone last column in the second block of a
/// two-block invocation (the left column shared across blocks); 300x10 spans several
/// workgroups across with every layout (64, 128 or 256 pixels wide).
#[test]
fn buffer_input_matches_the_reference() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    let mut rng = Rng::new();
    let outputs = [
        PixelFormat::Nv12,
        PixelFormat::I420,
        PixelFormat::P010,
        PixelFormat::I444,
    ];
    for pass in BufferPass::ALL {
        conv.use_buffer_pass(pass);
        for align in [16, 4] {
            conv.use_buffer_input(Some(align));
            for (w, h) in [(2, 2), (8, 2), (6, 4), (68, 18), (130, 67), (300, 10)] {
                for output in outputs {
                    if output.check_size(w, h).is_err() {
                        continue;
                    }
                    for format in [PixelFormat::Rgba8, PixelFormat::Bgra8] {
                        for spec in all_specs(output) {
                            let mut input = vec![0u8; (w * h * 4) as usize];
                            rng.fill(&mut input);
                            check(&mut conv, &input, format, w, h, &spec);
                        }
                    }
                }
            }
        }
    }
    conv.use_buffer_pass(BufferPass::Tiles);
    // A format the buffer shader does not read still converts (from an image).
    let mut input = vec![0u8; 8 * 4 * 4];
    rng.fill(&mut input);
    check(
        &mut conv,
        &input,
        PixelFormat::Rgb10a2,
        8,
        4,
        &all_specs(PixelFormat::Nv12)[0],
    );
    assert_validation_silent(&ctx);
}

#[test]
fn full_hd_and_the_largest_frame_every_codec_allows() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    let mut rng = Rng::new();
    // 8192x4352 = 35 651 584 samples: H.264 level 6.2's, HEVC's and AV1's largest picture.
    for (w, h) in [(1920, 1080), (8192, 4352)] {
        let mut input = vec![0u8; (w * h * 4) as usize];
        rng.fill(&mut input);
        let spec = ConvertSpec {
            matrix: ColorMatrix::Bt709,
            range: ColorRange::Limited,
            siting: ChromaSiting::Left,
            output: PixelFormat::Nv12,
        };
        check(&mut conv, &input, PixelFormat::Bgra8, w, h, &spec);
    }
    assert_validation_silent(&ctx);
}

/// Every layout of the buffer-input pass on the frames the benchmark times (1080p, 4K) and the
/// ones it leaves ragged (1080 rows are not a multiple of 16: the last workgroups' lower half
/// is off the frame), against the reference.
#[test]
fn every_buffer_layout_at_full_hd_and_4k() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    conv.use_buffer_input(Some(16));
    let mut rng = Rng::new();
    for (w, h) in [(1920, 1080), (3840, 2160)] {
        let mut input = vec![0u8; (w * h * 4) as usize];
        rng.fill(&mut input);
        for pass in BufferPass::ALL {
            conv.use_buffer_pass(pass);
            for (output, siting) in [
                (PixelFormat::Nv12, ChromaSiting::Left),
                (PixelFormat::Nv12, ChromaSiting::Centre),
                (PixelFormat::P010, ChromaSiting::Left),
            ] {
                let spec = ConvertSpec {
                    matrix: ColorMatrix::Bt709,
                    range: ColorRange::Limited,
                    siting,
                    output,
                };
                check(&mut conv, &input, PixelFormat::Bgra8, w, h, &spec);
            }
        }
    }
    assert_validation_silent(&ctx);
}

#[test]
fn published_colours_come_out_of_the_gpu() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    let spec = ConvertSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
        siting: ChromaSiting::Centre,
        output: PixelFormat::Nv12,
    };
    for (rgb, y, u, v) in [
        ([255u8, 255, 255], 235u8, 128u8, 128u8),
        ([0, 0, 0], 16, 128, 128),
        ([255, 0, 0], 63, 102, 240),
    ] {
        let input: Vec<u8> = (0..16)
            .flat_map(|_| [rgb[0], rgb[1], rgb[2], 255])
            .collect();
        let run = conv
            .run(&input, PixelFormat::Rgba8, 4, 4, &spec, 0xaa)
            .unwrap();
        let c = run.layout.chroma_offset as usize;
        assert_eq!(
            (run.output[0], run.output[c], run.output[c + 1]),
            (y, u, v),
            "{rgb:?}"
        );
    }
    assert_validation_silent(&ctx);
}

#[test]
fn published_ten_bit_colours_in_p010() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    let spec = ConvertSpec {
        matrix: ColorMatrix::Bt2020Ncl,
        range: ColorRange::Limited,
        siting: ChromaSiting::Left,
        output: PixelFormat::P010,
    };
    // RGB10A2 white and black: 10-bit limited range Y 940 / 64, chroma 512, stored << 6.
    for (word, y) in [(0x3fff_ffffu32, 940u16), (0xc000_0000, 64)] {
        let input: Vec<u8> = (0..16).flat_map(|_| word.to_le_bytes()).collect();
        let run = conv
            .run(&input, PixelFormat::Rgb10a2, 4, 4, &spec, 0xaa)
            .unwrap();
        let c = run.layout.chroma_offset as usize;
        let at = |i: usize| u16::from_le_bytes([run.output[i], run.output[i + 1]]);
        assert_eq!(
            (at(0), at(c), at(c + 2)),
            (y << 6, 512 << 6, 512 << 6),
            "{word:#x}"
        );
    }
    assert_validation_silent(&ctx);
}

#[test]
fn bad_requests_are_typed_errors() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    let spec = |output| ConvertSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
        siting: ChromaSiting::Left,
        output,
    };
    let e = conv
        .run(
            &[0; 16],
            PixelFormat::Rgba8,
            2,
            2,
            &spec(PixelFormat::Rgba8),
            0,
        )
        .unwrap_err();
    assert!(
        matches!(e, GpuError::Unsupported { .. }) && e.to_string().contains("convert to rgba8"),
        "{e}"
    );
    let e = conv
        .run(
            &[0; 6],
            PixelFormat::Nv12,
            2,
            2,
            &spec(PixelFormat::Nv12),
            0,
        )
        .unwrap_err();
    assert!(e.to_string().contains("nv12 input"), "{e}");
    let e = conv
        .run(
            &[0; 36],
            PixelFormat::Rgba8,
            3,
            3,
            &spec(PixelFormat::Nv12),
            0,
        )
        .unwrap_err();
    assert!(
        matches!(e, GpuError::Invalid { .. }) && e.to_string().contains("3x3"),
        "{e}"
    );
    let e = conv
        .run(
            &[0; 15],
            PixelFormat::Rgba8,
            2,
            2,
            &spec(PixelFormat::Nv12),
            0,
        )
        .unwrap_err();
    assert!(e.to_string().contains("15 bytes"), "{e}");
    let e = conv
        .run(
            &[],
            PixelFormat::Rgba8,
            65536,
            2,
            &spec(PixelFormat::Nv12),
            0,
        )
        .unwrap_err();
    assert!(e.to_string().contains("65536x2"), "{e}");
    assert_validation_silent(&ctx);
}

#[test]
fn a_device_that_is_not_there_is_named() {
    if context().is_none() {
        return;
    }
    let e = GpuContext::new(&GpuOptions {
        device: DeviceSelector::Name("no-such-gpu-9000".into()),
        validation: false,
    })
    .unwrap_err();
    assert!(matches!(e, GpuError::NoDevice { .. }), "{e}");
    assert!(
        e.to_string().contains("no-such-gpu-9000") && e.to_string().contains("devices seen"),
        "{e}"
    );
}

/// The benchmark path (resources in rotation, timestamps, copies) is clean under validation.
#[test]
fn benchmark_path_is_clean_under_validation() {
    let Some(ctx) = context() else { return };
    let mut conv = RgbToYuv420::new(&ctx).unwrap();
    let spec = ConvertSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
        siting: ChromaSiting::Left,
        output: PixelFormat::Nv12,
    };
    for buffer_rows in [None, Some(16)] {
        conv.use_buffer_input(buffer_rows);
        let b = conv.benchmark(64, 32, &spec, 2, 6).unwrap();
        assert!(b.convert_ns > 0.0 && b.copy_ns > 0.0, "{b:?}");
        assert_eq!(b.bytes, 64 * 32 * 4 + 64 * 32 * 3 / 2);
    }
    // Every layout of the buffer pass, as benches/gpu_convert.rs times them.
    conv.use_buffer_input(Some(16));
    for pass in BufferPass::ALL {
        conv.use_buffer_pass(pass);
        let b = conv.benchmark(300, 34, &spec, 2, 6).unwrap();
        assert!(b.convert_ns > 0.0, "{pass:?}: {b:?}");
    }
    assert_validation_silent(&ctx);
}
