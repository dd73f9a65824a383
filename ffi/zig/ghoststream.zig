//! GhostStream for Zig: an idiomatic interface over the C ABI (include/ghoststream.h).
//!
//! Every fallible call returns an error union (`Error`); handles are structs with `deinit`, so
//! `defer session.deinit();` frees them; packets are released with `packet.deinit()`. The raw
//! declarations are in `c`, laid out as the header lays them out (ffi/tests/layout.rs checks
//! every size, offset and constant against the recorded ABI). Link with
//! `-lghoststream` (pkg-config: `ghoststream`).

const std = @import("std");

/// The C declarations of ghoststream.h, by the same names.
pub const c = struct {
    pub const GS_VERSION_MAJOR: i32 = 0;
    pub const GS_VERSION_MINOR: i32 = 4;
    pub const GS_VERSION_PATCH: i32 = 0;
    pub const GS_CODEC_AV1: i32 = 0;
    pub const GS_CODEC_HEVC: i32 = 1;
    pub const GS_CODEC_H264: i32 = 2;
    pub const GS_CODEC_DEFAULT: i32 = -1;
    pub const GS_PRESET_DEFAULT: i32 = 0;
    pub const GS_RC_CBR: i32 = 0;
    pub const GS_RC_VBR: i32 = 1;
    pub const GS_RC_CQP: i32 = 2;
    pub const GS_RC_DEFAULT: i32 = -1;
    pub const GS_RC_CQ: i32 = 3;
    pub const GS_FORMAT_BGRA8: i32 = 0;
    pub const GS_FORMAT_RGBA8: i32 = 1;
    pub const GS_FORMAT_RGB10A2: i32 = 2;
    pub const GS_FORMAT_RGBA16F: i32 = 3;
    pub const GS_FORMAT_NV12: i32 = 4;
    pub const GS_FORMAT_P010: i32 = 5;
    pub const GS_FORMAT_I420: i32 = 6;
    pub const GS_FORMAT_I444: i32 = 7;
    pub const GS_FORMAT_I420P10: i32 = 8;
    pub const GS_FORMAT_I444P10: i32 = 9;
    pub const GS_FORMAT_I444P16: i32 = 10;
    pub const GS_BACKEND_AUTO: i32 = 0;
    pub const GS_BACKEND_NVENC: i32 = 1;
    pub const GS_BACKEND_VULKAN_VIDEO: i32 = 2;
    pub const GS_BACKEND_SOFTWARE: i32 = 3;
    pub const GS_TUNING_HIGH_QUALITY: i32 = 0;
    pub const GS_TUNING_LOW_LATENCY: i32 = 1;
    pub const GS_TUNING_ULTRA_LOW_LATENCY: i32 = 2;
    pub const GS_TUNING_LOSSLESS: i32 = 3;
    pub const GS_BACKPRESSURE_BLOCK: i32 = 0;
    pub const GS_BACKPRESSURE_DROP_OLDEST: i32 = 1;
    pub const GS_GPU_AUTO: i32 = 0;
    pub const GS_GPU_OFF: i32 = 1;
    pub const GS_KEYFRAME_INFINITE: u32 = 4294967295;
    pub const GS_MATRIX_BT601: i32 = 0;
    pub const GS_MATRIX_BT709: i32 = 1;
    pub const GS_MATRIX_BT2020_NCL: i32 = 2;
    pub const GS_RANGE_LIMITED: i32 = 0;
    pub const GS_RANGE_FULL: i32 = 1;
    pub const GS_TRANSFER_SRGB: i32 = 0;
    pub const GS_TRANSFER_BT709: i32 = 1;
    pub const GS_TRANSFER_PQ: i32 = 2;
    pub const GS_TRANSFER_HLG: i32 = 3;
    pub const GS_PRIMARIES_BT709: i32 = 0;
    pub const GS_PRIMARIES_BT601_PAL: i32 = 1;
    pub const GS_PRIMARIES_BT601_NTSC: i32 = 2;
    pub const GS_PRIMARIES_BT2020: i32 = 3;
    pub const GS_PRIMARIES_DISPLAY_P3: i32 = 4;
    pub const GS_SCALE_BILINEAR: i32 = 0;
    pub const GS_SCALE_BICUBIC: i32 = 1;
    pub const GS_SCALE_LANCZOS: i32 = 2;
    pub const GS_SCALE_AREA: i32 = 3;
    pub const GS_FIT_STRETCH: i32 = 0;
    pub const GS_FIT_LETTERBOX: i32 = 1;
    pub const GS_TONEMAP_NONE: i32 = 0;
    pub const GS_TONEMAP_BT2390: i32 = 1;
    pub const GS_OUTPUT_AUTO: i32 = 0;
    pub const GS_OUTPUT_ANNEXB: i32 = 1;
    pub const GS_OUTPUT_LENGTH_PREFIXED: i32 = 2;
    pub const GS_OUTPUT_OBU: i32 = 3;
    pub const GS_OUTPUT_IVF: i32 = 4;
    pub const GS_OUTPUT_MKV: i32 = 5;
    pub const GS_OUTPUT_MP4: i32 = 6;
    pub const GS_OUTPUT_MPEGTS: i32 = 7;
    pub const GS_EVENT_NOTICE: i32 = 1;
    pub const GS_EVENT_STARTED: i32 = 2;
    pub const GS_EVENT_REPLAY_SAVED: i32 = 3;
    pub const GS_EVENT_REPLAY_FAILED: i32 = 4;
    pub const GS_EVENT_STREAM_CONNECTED: i32 = 5;
    pub const GS_EVENT_STREAM_RECONNECTING: i32 = 6;
    pub const GS_EVENT_STREAM_DROPPED: i32 = 7;
    pub const GS_EVENT_FALLING_BEHIND: i32 = 8;
    pub const GS_EVENT_SOURCE_LOST: i32 = 9;
    pub const GS_EVENT_FINISHED: i32 = 10;
    pub const GS_OK: i32 = 0;
    pub const GS_AGAIN: i32 = 1;
    pub const GS_EOF: i32 = 2;
    pub const GS_ERR_INVALID_CONFIG: i32 = -1;
    pub const GS_ERR_BAD_INPUT: i32 = -2;
    pub const GS_ERR_UNAVAILABLE: i32 = -3;
    pub const GS_ERR_ENCODER: i32 = -4;
    pub const GS_ERR_OUTPUT: i32 = -5;
    pub const GS_ERR_STATE: i32 = -6;
    pub const GS_ERR_FRAME_MISMATCH: i32 = -7;
    pub const GS_ERR_INTERNAL: i32 = -8;
    pub const GS_ERR_GPU: i32 = -9;
    pub const GS_ERR_TIMEOUT: i32 = -10;
    pub const GS_ERR_NULL: i32 = -20;
    pub const GS_ERR_STRUCT_SIZE: i32 = -21;
    pub const GS_ERR_BAD_HANDLE: i32 = -22;
    pub const GS_ERR_BAD_ENUM: i32 = -23;
    pub const GS_ERR_BUFFER_TOO_SMALL: i32 = -24;
    pub const GS_CONTROL_KEYFRAME: u32 = 1;
    pub const GS_CONTROL_INVALIDATE: u32 = 2;
    pub const GS_CONTROL_RECONFIGURE: u32 = 4;

    pub const GsEngine = opaque {};
    pub const GsSession = opaque {};
    pub const GsPacket = opaque {};
    pub const GsWriter = opaque {};
    pub const GsProbe = opaque {};
    pub const GsRecorder = opaque {};
    pub const GsVoidFunction = ?*const fn () callconv(.c) void;

    pub const GsEngineOptions = extern struct {
        size: u32,
        device_index: i32,
        device_name: ?[*:0]const u8,
        validation: i32,
    };
    pub const GsVulkanHost = extern struct {
        size: u32,
        queue_family: u32,
        get_instance_proc_addr: GsVoidFunction,
        instance: ?*anyopaque,
        physical_device: ?*anyopaque,
        device: ?*anyopaque,
        queue_index: u32,
        extension_count: u32,
        extensions: ?[*]const [*:0]const u8,
    };
    pub const GsEngineInfo = extern struct {
        size: u32,
        api_version: u32,
        name: ?[*:0]const u8,
        driver: ?[*:0]const u8,
        kind: ?[*:0]const u8,
        device_uuid: [16]u8,
        timestamp_period_ns: f64,
        instance: ?*anyopaque,
        physical_device: ?*anyopaque,
        device: ?*anyopaque,
        queue: ?*anyopaque,
        queue_family: u32,
        maps_gpu_time: i32,
    };
    pub const GsCpuFrame = extern struct {
        size: u32,
        format: i32,
        width: u32,
        height: u32,
        planes: [4]?[*]const u8,
        strides: [4]u32,
        pts_ns: i64,
        duration_ns: i64,
        capture_time_ns: i64,
    };
    pub const GsVulkanFrame = extern struct {
        size: u32,
        format: i32,
        width: u32,
        height: u32,
        image: u64,
        wait_semaphore: u64,
        wait_value: u64,
        release_semaphore: u64,
        release_value: u64,
        pts_ns: i64,
        duration_ns: i64,
        capture_time_ns: i64,
        layout: i32,
    };
    pub const GsDmaBufFrame = extern struct {
        size: u32,
        format: i32,
        width: u32,
        height: u32,
        modifier: u64,
        offset: u64,
        stride: u64,
        pts_ns: i64,
        duration_ns: i64,
        capture_time_ns: i64,
        fd: i32,
    };
    pub const GsSessionOptions = extern struct {
        size: u32,
        codec: i32,
        width: u32,
        height: u32,
        fps_num: u32,
        fps_den: u32,
        input_format: i32,
        backend: i32,
        rate_control: i32,
        qp: u32,
        bitrate: u64,
        max_bitrate: u64,
        keyframe_interval: u32,
        preset: i32,
        tuning: i32,
        bit_depth: u32,
        queue_depth: u32,
        backpressure: i32,
        frame_wait_timeout_ms: u32,
        threads: u32,
        input_width: u32,
        input_height: u32,
        gpu: i32,
        sharpen: f32,
        engine: ?*GsEngine,
        color_matrix: i32,
        color_range: i32,
        color_transfer: i32,
        color_primaries: i32,
        hdr_primaries: [6]u16,
        hdr_white_point: [2]u16,
        hdr_max_luminance: u32,
        hdr_min_luminance: u32,
        hdr_max_cll: u16,
        hdr_max_fall: u16,
        intra_refresh_frames: u32,
        vbv_buffer_bits: u64,
        scale_filter: i32,
        fit: i32,
        tonemap: i32,
        tonemap_transfer: i32,
        tonemap_peak_nits: f32,
        tonemap_measure_peak: i32,
        quality: u32,
    };
    pub const GsRecorderOptions = extern struct {
        size: u32,
        source_format: i32,
        source: ?[*:0]const u8,
        source_width: u32,
        source_height: u32,
        source_fps_num: u32,
        source_fps_den: u32,
        region: ?[*:0]const u8,
        display: ?[*:0]const u8,
        portal_token: ?[*:0]const u8,
        no_cursor: i32,
        realtime: i32,
        session: ?*const GsSessionOptions,
        limit_frames: u64,
        limit_ms: u64,
        output: ?[*:0]const u8,
        output_format: i32,
        overwrite: i32,
        replay_ms: u64,
        replay_max_bytes: u64,
        replay_dir: ?[*:0]const u8,
        replay_format: i32,
        stream_buffer_ms: u32,
        streams: ?[*]const ?[*:0]const u8,
        stats: ?[*:0]const u8,
        control_socket: ?[*:0]const u8,
    };
    pub const GsRecorderEvent = extern struct {
        size: u32,
        kind: i32,
        message: ?[*:0]const u8,
        detail: ?[*:0]const u8,
        path: ?[*:0]const u8,
        frames: u64,
        bytes: u64,
        behind_ns: i64,
        result: i32,
    };
    pub const GsRecorderStats = extern struct {
        size: u32,
        started: i32,
        submitted: u64,
        packets: u64,
        bytes: u64,
        dropped: u64,
        total: u64,
        video_seconds: f64,
        elapsed_seconds: f64,
        behind_seconds: f64,
        latency_median_ns: i64,
        latency_p99_ns: i64,
        recent_latency_median_ns: i64,
        recent_latency_p99_ns: i64,
        pacing_repeated: u64,
        pacing_dropped: u64,
        replay_seconds: f64,
        replay_bytes: u64,
        replay_packets: u64,
        streams: u32,
        streams_connected: u32,
        stream_sent: u64,
        stream_dropped: u64,
    };
    pub const GsFrameStats = extern struct {
        size: u32,
        dropped: i32,
        frame_number: u64,
        pts_ns: i64,
        duration_ns: i64,
        capture_time_ns: i64,
        submit_time_ns: i64,
        encode_start_ns: i64,
        packet_ready_ns: i64,
        gpu_time_ns: i64,
        gpu_start_ns: i64,
        gpu_end_ns: i64,
        encode_gpu_time_ns: i64,
        encode_gpu_start_ns: i64,
        encode_gpu_end_ns: i64,
        cpu_copy_bytes: u64,
    };
    pub const GsProbeEntry = extern struct {
        size: u32,
        codec: i32,
        category: ?[*:0]const u8,
        name: ?[*:0]const u8,
        detail: ?[*:0]const u8,
        available: i32,
    };
    pub const GsSessionStats = extern struct {
        size: u32,
        latency_from_capture: i32,
        submitted: u64,
        packets: u64,
        dropped: u64,
        keyframes: u64,
        bytes: u64,
        media_seconds: f64,
        wall_seconds: f64,
        fps: f64,
        bitrate: f64,
        latency_median_ns: i64,
        latency_p99_ns: i64,
    };

    pub extern fn gs_version() i32;
    pub extern fn gs_result_str(result: i32) [*:0]const u8;
    pub extern fn gs_last_error() [*:0]const u8;
    pub extern fn gs_engine_options_defaults(options: ?*GsEngineOptions) void;
    pub extern fn gs_engine_create(options: ?*const GsEngineOptions, out: ?*?*GsEngine) i32;
    pub extern fn gs_engine_create_vulkan(host: ?*const GsVulkanHost, out: ?*?*GsEngine) i32;
    pub extern fn gs_engine_destroy(engine: ?*GsEngine) void;
    pub extern fn gs_engine_info(engine: ?*GsEngine, info: ?*GsEngineInfo) i32;
    pub extern fn gs_engine_validation_messages(engine: ?*GsEngine, buffer: ?[*]u8, capacity: usize) i32;
    pub extern fn gs_engine_queue_lock(engine: ?*GsEngine) i32;
    pub extern fn gs_engine_queue_unlock(engine: ?*GsEngine) i32;
    pub extern fn gs_engine_last_error(engine: ?*const GsEngine) [*:0]const u8;
    pub extern fn gs_session_options_defaults(options: ?*GsSessionOptions) void;
    pub extern fn gs_session_options_init(options: ?*GsSessionOptions, size: u32) i32;
    pub extern fn gs_session_create(options: ?*const GsSessionOptions, out: ?*?*GsSession) i32;
    pub extern fn gs_session_destroy(session: ?*GsSession) void;
    pub extern fn gs_session_flush(session: ?*GsSession) i32;
    pub extern fn gs_session_receive(session: ?*GsSession, out: ?*?*GsPacket) i32;
    pub extern fn gs_session_request_keyframe(session: ?*GsSession) i32;
    pub extern fn gs_session_invalidate(session: ?*GsSession, lost_pts_ns: i64) i32;
    pub extern fn gs_session_set_bitrate(session: ?*GsSession, bitrate: u64, max_bitrate: u64) i32;
    pub extern fn gs_session_controls(session: ?*const GsSession) u32;
    pub extern fn gs_session_backend(session: ?*const GsSession) [*:0]const u8;
    pub extern fn gs_session_last_error(session: ?*const GsSession) [*:0]const u8;
    pub extern fn gs_session_submit_cpu(session: ?*GsSession, frame: ?*const GsCpuFrame) i32;
    pub extern fn gs_session_submit_i420(session: ?*GsSession, y: ?[*]const u8, y_stride: u32, u: ?[*]const u8, u_stride: u32, v: ?[*]const u8, v_stride: u32, pts_ns: i64) i32;
    pub extern fn gs_session_submit_vulkan(session: ?*GsSession, frame: ?*const GsVulkanFrame) i32;
    pub extern fn gs_session_submit_dmabuf(session: ?*GsSession, frame: ?*const GsDmaBufFrame) i32;
    pub extern fn gs_session_stats(session: ?*GsSession, stats: ?*GsSessionStats) i32;
    pub extern fn gs_session_replay_enable(session: ?*GsSession, seconds_ms: u64, max_bytes: u64) i32;
    pub extern fn gs_session_replay_save(session: ?*GsSession, path: ?[*:0]const u8, format: i32, last_ms: u64) i32;
    pub extern fn gs_packet_data(packet: ?*const GsPacket, size: ?*usize) ?[*]const u8;
    pub extern fn gs_packet_pts(packet: ?*const GsPacket) i64;
    pub extern fn gs_packet_dts(packet: ?*const GsPacket) i64;
    pub extern fn gs_packet_duration(packet: ?*const GsPacket) i64;
    pub extern fn gs_packet_is_keyframe(packet: ?*const GsPacket) i32;
    pub extern fn gs_packet_frame_number(packet: ?*const GsPacket) u64;
    pub extern fn gs_packet_stats(packet: ?*GsPacket, stats: ?*GsFrameStats) i32;
    pub extern fn gs_packet_release(packet: ?*GsPacket) void;
    pub extern fn gs_writer_create(session: ?*const GsSession, path: ?[*:0]const u8, format: i32, out: ?*?*GsWriter) i32;
    pub extern fn gs_writer_write(writer: ?*GsWriter, packet: ?*const GsPacket) i32;
    pub extern fn gs_writer_finish(writer: ?*GsWriter) i32;
    pub extern fn gs_writer_destroy(writer: ?*GsWriter) void;
    pub extern fn gs_writer_last_error(writer: ?*const GsWriter) [*:0]const u8;
    pub extern fn gs_probe_create(out: ?*?*GsProbe) i32;
    pub extern fn gs_probe_count(probe: ?*const GsProbe) usize;
    pub extern fn gs_probe_entry(probe: ?*GsProbe, index: usize, entry: ?*GsProbeEntry) i32;
    pub extern fn gs_probe_destroy(probe: ?*GsProbe) void;
    pub extern fn gs_recorder_options_init(options: ?*GsRecorderOptions, size: u32) i32;
    pub extern fn gs_recorder_session_options_init(options: ?*GsSessionOptions, size: u32) i32;
    pub extern fn gs_recorder_create(options: ?*const GsRecorderOptions, out: ?*?*GsRecorder) i32;
    pub extern fn gs_recorder_start(recorder: ?*GsRecorder) i32;
    pub extern fn gs_recorder_poll_event(recorder: ?*GsRecorder, event: ?*GsRecorderEvent, timeout_ms: u32) i32;
    pub extern fn gs_recorder_save_replay(recorder: ?*GsRecorder, last_ms: u64, timeout_ms: u32, path: ?[*]u8, capacity: usize, needed: ?*usize) i32;
    pub extern fn gs_recorder_save_replay_to(recorder: ?*GsRecorder, path: ?[*:0]const u8, last_ms: u64, timeout_ms: u32) i32;
    pub extern fn gs_recorder_request_keyframe(recorder: ?*GsRecorder) i32;
    pub extern fn gs_recorder_set_bitrate(recorder: ?*GsRecorder, bitrate: u64) i32;
    pub extern fn gs_recorder_stats(recorder: ?*GsRecorder, stats: ?*GsRecorderStats) i32;
    pub extern fn gs_recorder_status_json(recorder: ?*GsRecorder, buffer: ?[*]u8, capacity: usize, needed: ?*usize) i32;
    pub extern fn gs_recorder_stop(recorder: ?*GsRecorder) i32;
    pub extern fn gs_recorder_destroy(recorder: ?*GsRecorder) void;
    pub extern fn gs_recorder_last_error(recorder: ?*const GsRecorder) [*:0]const u8;
};

/// Every failure a GhostStream call can report, one per `GS_ERR_*` code.
pub const Error = error{
    InvalidConfig,
    BadInput,
    Unavailable,
    Encoder,
    Output,
    State,
    FrameMismatch,
    Internal,
    Gpu,
    Timeout,
    Null,
    StructSize,
    BadHandle,
    BadEnum,
    BufferTooSmall,
    /// A code this interface does not know (from a newer library).
    Unknown,
};

/// The error of a negative result code.
pub fn errorFromCode(code: i32) Error {
    return switch (code) {
        c.GS_ERR_INVALID_CONFIG => error.InvalidConfig,
        c.GS_ERR_BAD_INPUT => error.BadInput,
        c.GS_ERR_UNAVAILABLE => error.Unavailable,
        c.GS_ERR_ENCODER => error.Encoder,
        c.GS_ERR_OUTPUT => error.Output,
        c.GS_ERR_STATE => error.State,
        c.GS_ERR_FRAME_MISMATCH => error.FrameMismatch,
        c.GS_ERR_INTERNAL => error.Internal,
        c.GS_ERR_GPU => error.Gpu,
        c.GS_ERR_TIMEOUT => error.Timeout,
        c.GS_ERR_NULL => error.Null,
        c.GS_ERR_STRUCT_SIZE => error.StructSize,
        c.GS_ERR_BAD_HANDLE => error.BadHandle,
        c.GS_ERR_BAD_ENUM => error.BadEnum,
        c.GS_ERR_BUFFER_TOO_SMALL => error.BufferTooSmall,
        else => error.Unknown,
    };
}

/// A result code as an error union: success (and flow codes) pass, negatives fail.
fn check(code: i32) Error!i32 {
    if (code < 0) return errorFromCode(code);
    return code;
}

/// The detail of this thread's last failure (valid until the next failing call).
pub fn lastError() [:0]const u8 {
    return std.mem.span(c.gs_last_error());
}

/// The library's version (its soname carries `major`).
pub const Version = struct { major: u8, minor: u8, patch: u8 };

/// The version of the library linked at run time.
pub fn version() Version {
    const v: u32 = @bitCast(c.gs_version());
    return .{ .major = @truncate(v >> 16), .minor = @truncate(v >> 8), .patch = @truncate(v) };
}

/// Codecs.
pub const Codec = enum(i32) { av1 = c.GS_CODEC_AV1, hevc = c.GS_CODEC_HEVC, h264 = c.GS_CODEC_H264 };

/// File formats a `Writer` (or a replay save) writes.
pub const OutputFormat = enum(i32) {
    auto = c.GS_OUTPUT_AUTO,
    annexb = c.GS_OUTPUT_ANNEXB,
    length_prefixed = c.GS_OUTPUT_LENGTH_PREFIXED,
    obu = c.GS_OUTPUT_OBU,
    ivf = c.GS_OUTPUT_IVF,
    mkv = c.GS_OUTPUT_MKV,
    mp4 = c.GS_OUTPUT_MP4,
    mpegts = c.GS_OUTPUT_MPEGTS,
};

/// Session options with the library's defaults (every field this interface declares); change
/// fields, then `Session.open`.
pub fn sessionOptions() c.GsSessionOptions {
    var o: c.GsSessionOptions = undefined;
    _ = c.gs_session_options_init(&o, @sizeOf(c.GsSessionOptions));
    return o;
}

/// Recorder options with the library's defaults (the screen, no outputs); change fields, then
/// `Recorder.create`.
pub fn recorderOptions() c.GsRecorderOptions {
    var o: c.GsRecorderOptions = undefined;
    _ = c.gs_recorder_options_init(&o, @sizeOf(c.GsRecorderOptions));
    return o;
}

/// The encode settings a recorder starts from (the source's size and rate, the library's codec
/// and rate control for the job); point `GsRecorderOptions.session` at them.
pub fn recorderSessionOptions() c.GsSessionOptions {
    var o: c.GsSessionOptions = undefined;
    _ = c.gs_recorder_session_options_init(&o, @sizeOf(c.GsSessionOptions));
    return o;
}

/// Engine options with the library's defaults.
pub fn engineOptions() c.GsEngineOptions {
    var o: c.GsEngineOptions = undefined;
    c.gs_engine_options_defaults(&o);
    return o;
}

/// A Vulkan device GhostStream processes frames on.
pub const Engine = struct {
    handle: *c.GsEngine,

    /// An engine on a device of its own.
    pub fn create(options: c.GsEngineOptions) Error!Engine {
        var h: ?*c.GsEngine = null;
        _ = try check(c.gs_engine_create(&options, &h));
        return .{ .handle = h.? };
    }

    /// An engine on the host application's Vulkan objects.
    pub fn fromVulkan(host: c.GsVulkanHost) Error!Engine {
        var h: ?*c.GsEngine = null;
        _ = try check(c.gs_engine_create_vulkan(&host, &h));
        return .{ .handle = h.? };
    }

    /// What the device is (strings live as long as the engine).
    pub fn info(self: Engine) Error!c.GsEngineInfo {
        var i = std.mem.zeroes(c.GsEngineInfo);
        i.size = @sizeOf(c.GsEngineInfo);
        _ = try check(c.gs_engine_info(self.handle, &i));
        return i;
    }

    /// Takes the validation messages collected so far into `buffer`; returns how many.
    pub fn validationMessages(self: Engine, buffer: []u8) Error!usize {
        const n = try check(c.gs_engine_validation_messages(self.handle, buffer.ptr, buffer.len));
        return @intCast(n);
    }

    /// Frees the engine (sessions on it keep the device).
    pub fn deinit(self: Engine) void {
        c.gs_engine_destroy(self.handle);
    }
};

/// What `Session.receive` found.
pub const Received = union(enum) {
    /// A packet, owned by the caller: `deinit` it.
    packet: Packet,
    /// Nothing yet.
    again,
    /// The session was flushed and every packet has been received.
    eof,
};

/// An encode session.
pub const Session = struct {
    handle: *c.GsSession,

    /// Opens a session (see `sessionOptions`).
    pub fn open(options: c.GsSessionOptions) Error!Session {
        var h: ?*c.GsSession = null;
        _ = try check(c.gs_session_create(&options, &h));
        return .{ .handle = h.? };
    }

    /// Closes and frees the session.
    pub fn deinit(self: Session) void {
        c.gs_session_destroy(self.handle);
    }

    /// Submits a frame in CPU memory (copied before this returns).
    pub fn submitCpu(self: Session, frame: c.GsCpuFrame) Error!void {
        var f = frame;
        f.size = @sizeOf(c.GsCpuFrame);
        _ = try check(c.gs_session_submit_cpu(self.handle, &f));
    }

    /// Submits an I420 frame: three planes and their strides.
    pub fn submitI420(self: Session, y: []const u8, y_stride: u32, u: []const u8, u_stride: u32, v: []const u8, v_stride: u32, pts_ns: i64) Error!void {
        _ = try check(c.gs_session_submit_i420(self.handle, y.ptr, y_stride, u.ptr, u_stride, v.ptr, v_stride, pts_ns));
    }

    /// Submits a frame in a Vulkan image of the session's engine.
    pub fn submitVulkan(self: Session, frame: c.GsVulkanFrame) Error!void {
        var f = frame;
        f.size = @sizeOf(c.GsVulkanFrame);
        _ = try check(c.gs_session_submit_vulkan(self.handle, &f));
    }

    /// Submits a DMA-BUF frame.
    pub fn submitDmaBuf(self: Session, frame: c.GsDmaBufFrame) Error!void {
        var f = frame;
        f.size = @sizeOf(c.GsDmaBufFrame);
        _ = try check(c.gs_session_submit_dmabuf(self.handle, &f));
    }

    /// The next packet, or `.again` / `.eof`.
    pub fn receive(self: Session) Error!Received {
        var p: ?*c.GsPacket = null;
        return switch (try check(c.gs_session_receive(self.handle, &p))) {
            c.GS_OK => .{ .packet = .{ .handle = p.? } },
            c.GS_EOF => .eof,
            else => .again,
        };
    }

    /// Ends the input and drains the encoder.
    pub fn flush(self: Session) Error!void {
        _ = try check(c.gs_session_flush(self.handle));
    }

    /// Makes the next frame a key frame.
    pub fn requestKeyframe(self: Session) Error!void {
        _ = try check(c.gs_session_request_keyframe(self.handle));
    }

    /// Changes the bitrate of the running stream (`max_bitrate` 0: twice `bitrate`, VBR).
    pub fn setBitrate(self: Session, bitrate: u64, max_bitrate: u64) Error!void {
        _ = try check(c.gs_session_set_bitrate(self.handle, bitrate, max_bitrate));
    }

    /// The `GS_CONTROL_*` bits of the live controls the backend honours.
    pub fn controls(self: Session) u32 {
        return c.gs_session_controls(self.handle);
    }

    /// The encoder in words.
    pub fn backend(self: Session) [:0]const u8 {
        return std.mem.span(c.gs_session_backend(self.handle));
    }

    /// The totals so far.
    pub fn stats(self: Session) Error!c.GsSessionStats {
        var s = std.mem.zeroes(c.GsSessionStats);
        s.size = @sizeOf(c.GsSessionStats);
        _ = try check(c.gs_session_stats(self.handle, &s));
        return s;
    }

    /// Keeps the last `seconds_ms` (at most `max_bytes`) of received packets.
    pub fn replayEnable(self: Session, seconds_ms: u64, max_bytes: u64) Error!void {
        _ = try check(c.gs_session_replay_enable(self.handle, seconds_ms, max_bytes));
    }

    /// Saves the replay buffer's last `last_ms` (0: all) to `path`.
    pub fn replaySave(self: Session, path: [:0]const u8, format: OutputFormat, last_ms: u64) Error!void {
        _ = try check(c.gs_session_replay_save(self.handle, path.ptr, @intFromEnum(format), last_ms));
    }

    /// The detail of the session's last failure.
    pub fn lastError(self: Session) [:0]const u8 {
        return std.mem.span(c.gs_session_last_error(self.handle));
    }
};

/// An encoded packet; `deinit` releases it.
pub const Packet = struct {
    handle: *c.GsPacket,

    /// The encoded bytes, valid until `deinit`.
    pub fn data(self: Packet) []const u8 {
        var n: usize = 0;
        const p = c.gs_packet_data(self.handle, &n) orelse return &.{};
        return p[0..n];
    }

    /// Presentation time in nanoseconds.
    pub fn pts(self: Packet) i64 {
        return c.gs_packet_pts(self.handle);
    }

    /// True for a key frame.
    pub fn isKeyframe(self: Packet) bool {
        return c.gs_packet_is_keyframe(self.handle) != 0;
    }

    /// The frame number (submission order).
    pub fn frameNumber(self: Packet) u64 {
        return c.gs_packet_frame_number(self.handle);
    }

    /// The frame's statistics.
    pub fn stats(self: Packet) Error!c.GsFrameStats {
        var s = std.mem.zeroes(c.GsFrameStats);
        s.size = @sizeOf(c.GsFrameStats);
        _ = try check(c.gs_packet_stats(self.handle, &s));
        return s;
    }

    /// Releases the packet.
    pub fn deinit(self: Packet) void {
        c.gs_packet_release(self.handle);
    }
};

/// A file being written with a session's packets.
pub const Writer = struct {
    handle: *c.GsWriter,

    /// Opens `path` for `session`'s packets as `format`.
    pub fn create(session: Session, path: [:0]const u8, format: OutputFormat) Error!Writer {
        var h: ?*c.GsWriter = null;
        _ = try check(c.gs_writer_create(session.handle, path.ptr, @intFromEnum(format), &h));
        return .{ .handle = h.? };
    }

    /// Writes one packet (still the caller's to release).
    pub fn write(self: Writer, packet: Packet) Error!void {
        _ = try check(c.gs_writer_write(self.handle, packet.handle));
    }

    /// Completes the file.
    pub fn finish(self: Writer) Error!void {
        _ = try check(c.gs_writer_finish(self.handle));
    }

    /// Frees the writer (an unfinished file is closed as it stands).
    pub fn deinit(self: Writer) void {
        c.gs_writer_destroy(self.handle);
    }
};

/// What this machine can do.
pub const Probe = struct {
    handle: *c.GsProbe,

    /// Probes every path (takes up to a few seconds).
    pub fn create() Error!Probe {
        var h: ?*c.GsProbe = null;
        _ = try check(c.gs_probe_create(&h));
        return .{ .handle = h.? };
    }

    /// How many entries.
    pub fn count(self: Probe) usize {
        return c.gs_probe_count(self.handle);
    }

    /// Entry `index` (strings live as long as the probe).
    pub fn entry(self: Probe, index: usize) Error!c.GsProbeEntry {
        var e = std.mem.zeroes(c.GsProbeEntry);
        e.size = @sizeOf(c.GsProbeEntry);
        _ = try check(c.gs_probe_entry(self.handle, index, &e));
        return e;
    }

    /// Frees the probe.
    pub fn deinit(self: Probe) void {
        c.gs_probe_destroy(self.handle);
    }
};

/// What a recording's event is (`GS_EVENT_*`).
pub const EventKind = enum(i32) {
    notice = c.GS_EVENT_NOTICE,
    started = c.GS_EVENT_STARTED,
    replay_saved = c.GS_EVENT_REPLAY_SAVED,
    replay_failed = c.GS_EVENT_REPLAY_FAILED,
    stream_connected = c.GS_EVENT_STREAM_CONNECTED,
    stream_reconnecting = c.GS_EVENT_STREAM_RECONNECTING,
    stream_dropped = c.GS_EVENT_STREAM_DROPPED,
    falling_behind = c.GS_EVENT_FALLING_BEHIND,
    source_lost = c.GS_EVENT_SOURCE_LOST,
    finished = c.GS_EVENT_FINISHED,
    _,
};

/// What `Recorder.poll` found.
pub const Polled = union(enum) {
    /// An event; its strings live until the next poll on the recorder (or its `deinit`).
    event: c.GsRecorderEvent,
    /// None within the timeout.
    again,
    /// The `finished` event was handed out: there are no more.
    eof,
};

/// A recording from any source to files, a replay buffer, streams and a stats writer, on the
/// library's own threads.
pub const Recorder = struct {
    handle: *c.GsRecorder,

    /// Checks the options (see `recorderOptions`) and makes a recorder; nothing opens yet.
    pub fn create(options: c.GsRecorderOptions) Error!Recorder {
        var h: ?*c.GsRecorder = null;
        _ = try check(c.gs_recorder_create(&options, &h));
        return .{ .handle = h.? };
    }

    /// Starts recording; returns at once.
    pub fn start(self: Recorder) Error!void {
        _ = try check(c.gs_recorder_start(self.handle));
    }

    /// The next event, waiting up to `timeout_ms`.
    pub fn poll(self: Recorder, timeout_ms: u32) Error!Polled {
        var e = std.mem.zeroes(c.GsRecorderEvent);
        e.size = @sizeOf(c.GsRecorderEvent);
        return switch (try check(c.gs_recorder_poll_event(self.handle, &e, timeout_ms))) {
            c.GS_OK => .{ .event = e },
            c.GS_EOF => .eof,
            else => .again,
        };
    }

    /// Saves the replay buffer's last `last_ms` (0: all) to a new file in the replay folder,
    /// waiting up to `timeout_ms`; returns its path, in `buffer`.
    pub fn saveReplay(self: Recorder, last_ms: u64, timeout_ms: u32, buffer: []u8) Error![]const u8 {
        var needed: usize = 0;
        _ = try check(c.gs_recorder_save_replay(self.handle, last_ms, timeout_ms, buffer.ptr, buffer.len, &needed));
        return buffer[0 .. needed - 1];
    }

    /// Saves the replay buffer's last `last_ms` (0: all) to `path`, waiting up to `timeout_ms`.
    pub fn saveReplayTo(self: Recorder, path: [:0]const u8, last_ms: u64, timeout_ms: u32) Error!void {
        _ = try check(c.gs_recorder_save_replay_to(self.handle, path.ptr, last_ms, timeout_ms));
    }

    /// Makes the next frame a key frame.
    pub fn requestKeyframe(self: Recorder) Error!void {
        _ = try check(c.gs_recorder_request_keyframe(self.handle));
    }

    /// Changes the bitrate from the next frame.
    pub fn setBitrate(self: Recorder, bitrate: u64) Error!void {
        _ = try check(c.gs_recorder_set_bitrate(self.handle, bitrate));
    }

    /// The figures so far.
    pub fn stats(self: Recorder) Error!c.GsRecorderStats {
        var s = std.mem.zeroes(c.GsRecorderStats);
        s.size = @sizeOf(c.GsRecorderStats);
        _ = try check(c.gs_recorder_stats(self.handle, &s));
        return s;
    }

    /// The status as one line of JSON, in `buffer`.
    pub fn statusJson(self: Recorder, buffer: []u8) Error![]const u8 {
        var needed: usize = 0;
        _ = try check(c.gs_recorder_status_json(self.handle, buffer.ptr, buffer.len, &needed));
        return buffer[0 .. needed - 1];
    }

    /// Stops and waits for the files to be finished; the recording's outcome.
    pub fn stop(self: Recorder) Error!void {
        _ = try check(c.gs_recorder_stop(self.handle));
    }

    /// The detail of the recorder's last failure.
    pub fn lastError(self: Recorder) [:0]const u8 {
        return std.mem.span(c.gs_recorder_last_error(self.handle));
    }

    /// Stops the recording if it runs and frees the recorder.
    pub fn deinit(self: Recorder) void {
        c.gs_recorder_destroy(self.handle);
    }
};

/// Encodes `frames` frames of a moving I420 pattern at `width` x `height` into `writer`;
/// returns the packets written. Shared by the tests and the example.
pub fn encodePattern(session: Session, writer: Writer, width: u32, height: u32, frames: u32) Error!u32 {
    var y: [320 * 240]u8 = undefined;
    var u: [160 * 120]u8 = undefined;
    var v: [160 * 120]u8 = undefined;
    std.debug.assert(width <= 320 and height <= 240);
    var written: u32 = 0;
    var n: u32 = 0;
    while (n < frames) : (n += 1) {
        for (0..height) |row| for (0..width) |col| {
            y[row * width + col] = @truncate(col + row + n * 4);
        };
        @memset(u[0 .. (width / 2) * (height / 2)], @truncate(128 + n));
        @memset(v[0 .. (width / 2) * (height / 2)], @truncate(128 -% n));
        try session.submitI420(&y, width, &u, width / 2, &v, width / 2, @divTrunc(@as(i64, n) * 1_000_000_000, 30));
        written += try drain(session, writer);
    }
    try session.flush();
    written += try drain(session, writer);
    return written;
}

/// Writes every packet ready now; returns how many.
fn drain(session: Session, writer: Writer) Error!u32 {
    var n: u32 = 0;
    while (true) {
        switch (try session.receive()) {
            .packet => |p| {
                defer p.deinit();
                try writer.write(p);
                n += 1;
            },
            .again, .eof => return n,
        }
    }
}

test "the version linked is the version declared" {
    const v = version();
    try std.testing.expectEqual(@as(u8, c.GS_VERSION_MAJOR), v.major);
    try std.testing.expectEqual(@as(u8, c.GS_VERSION_MINOR), v.minor);
}

test "failures are errors with the detail kept" {
    var o = sessionOptions();
    o.codec = 42;
    try std.testing.expectError(error.BadEnum, Session.open(o));
    try std.testing.expect(std.mem.indexOf(u8, lastError(), "codec 42") != null);
    o = sessionOptions();
    o.size = 4;
    try std.testing.expectError(error.StructSize, Session.open(o));
    o = sessionOptions();
    o.fps_num = 0;
    try std.testing.expectError(error.InvalidConfig, Session.open(o));
    try std.testing.expectEqual(error.BadHandle, errorFromCode(c.GS_ERR_BAD_HANDLE));
    try std.testing.expectEqual(error.Unknown, errorFromCode(-999));
}

test "a session encodes a pattern into a file, with stats and a replay save" {
    var o = sessionOptions();
    o.width = 160;
    o.height = 96;
    o.rate_control = c.GS_RC_CQP;
    o.qp = 24;
    o.keyframe_interval = 15;
    const session = try Session.open(o);
    defer session.deinit();
    try session.replayEnable(10_000, 1 << 24);
    const writer = try Writer.create(session, "zig-test.mkv", .auto);
    defer writer.deinit();
    const packets = try encodePattern(session, writer, 160, 96, 45);
    try writer.finish();
    try std.testing.expectEqual(@as(u32, 45), packets);
    try std.testing.expectError(error.State, writer.finish());
    const s = try session.stats();
    try std.testing.expectEqual(@as(u64, 45), s.submitted);
    try std.testing.expectEqual(@as(u64, 45), s.packets);
    try std.testing.expectEqual(@as(u64, 3), s.keyframes);
    try std.testing.expect(s.bytes > 0 and s.latency_median_ns > 0);
    try session.replaySave("zig-replay.h264", .auto, 0);
    try std.testing.expectError(error.Output, session.replaySave("zig-replay.ivf", .auto, 0));
    try std.testing.expectError(error.State, session.submitI420(&[_]u8{0}, 160, &[_]u8{0}, 80, &[_]u8{0}, 80, 0));
}

test "a probe lists the software encoders" {
    const p = try Probe.create();
    defer p.deinit();
    var software: usize = 0;
    for (0..p.count()) |i| {
        const e = try p.entry(i);
        if (std.mem.eql(u8, std.mem.span(e.name.?), "software") and e.available == 1) software += 1;
    }
    try std.testing.expectEqual(@as(usize, 3), software);
    try std.testing.expectError(error.InvalidConfig, p.entry(p.count()));
}

test "packet stats: this version's fields, and an older caller's smaller struct" {
    var o = sessionOptions();
    o.width = 64;
    o.height = 48;
    o.backend = c.GS_BACKEND_SOFTWARE;
    o.gpu = c.GS_GPU_OFF;
    const session = try Session.open(o);
    defer session.deinit();
    const y: [64 * 48]u8 = @splat(16);
    const uv: [32 * 24]u8 = @splat(128);
    try session.submitI420(&y, 64, &uv, 32, &uv, 32, 0);
    try session.flush();
    const p = switch (try session.receive()) {
        .packet => |p| p,
        else => return error.TestUnexpectedResult,
    };
    defer p.deinit();
    const s = try p.stats();
    try std.testing.expectEqual(@as(u32, @sizeOf(c.GsFrameStats)), s.size);
    try std.testing.expect(s.packet_ready_ns >= s.submit_time_ns and s.submit_time_ns > 0);
    // x264 from CPU memory: no encode on a GPU, and no copy the statistics count.
    try std.testing.expectEqual(@as(i64, 0), s.encode_gpu_time_ns);
    try std.testing.expectEqual(@as(i64, 0), s.encode_gpu_start_ns);
    try std.testing.expectEqual(@as(i64, 0), s.encode_gpu_end_ns);
    try std.testing.expectEqual(@as(u64, 0), s.cpu_copy_bytes);
    // ABI 0.3's struct (88 bytes, up to gpu_end_ns): its fields, and not a byte past them.
    const old_size = @offsetOf(c.GsFrameStats, "encode_gpu_time_ns");
    try std.testing.expectEqual(88, old_size);
    var buffer: [@sizeOf(c.GsFrameStats) + 8]u8 align(8) = @splat(0xAB);
    std.mem.writeInt(u32, buffer[0..4], old_size, .little);
    const old: *c.GsFrameStats = @ptrCast(&buffer);
    try std.testing.expectEqual(c.GS_OK, c.gs_packet_stats(p.handle, old));
    try std.testing.expectEqual(@as(u32, old_size), old.size);
    try std.testing.expectEqual(s.submit_time_ns, old.submit_time_ns);
    try std.testing.expectEqual(s.gpu_end_ns, old.gpu_end_ns);
    for (buffer[old_size..]) |b| try std.testing.expectEqual(@as(u8, 0xAB), b);
    std.mem.writeInt(u32, buffer[0..4], old_size - 1, .little);
    try std.testing.expectEqual(c.GS_ERR_STRUCT_SIZE, c.gs_packet_stats(p.handle, old));
    try std.testing.expect(std.mem.indexOf(u8, lastError(), "first version of GsFrameStats (88)") != null);
}

test "ABI 0.3's session fields are read and checked" {
    var o = sessionOptions();
    try std.testing.expectEqual(@as(u32, @sizeOf(c.GsSessionOptions)), o.size);
    try std.testing.expectEqual(c.GS_MATRIX_BT709, o.color_matrix);
    o.width = 160;
    o.height = 96;
    o.color_range = c.GS_RANGE_FULL;
    o.vbv_buffer_bits = 2_000_000;
    const session = try Session.open(o);
    session.deinit();
    o.color_primaries = 9;
    try std.testing.expectError(error.BadEnum, Session.open(o));
    o = sessionOptions();
    o.hdr_max_cll = 400;
    try std.testing.expectError(error.InvalidConfig, Session.open(o));
    try std.testing.expect(std.mem.indexOf(u8, lastError(), "hdr_max_luminance is 0") != null);
}

test "recorder mistakes are errors with the detail kept" {
    var o = recorderOptions();
    o.source = "testsrc:1";
    try std.testing.expectError(error.BadInput, Recorder.create(o));
    o.source = "testsrc";
    const r = try Recorder.create(o);
    defer r.deinit();
    try std.testing.expectError(error.State, r.poll(0));
    try std.testing.expectError(error.InvalidConfig, r.start());
    try std.testing.expect(std.mem.indexOf(u8, r.lastError(), "no output") != null);
}

test "a recorder records the pattern to a file with a replay saved while it runs" {
    var so = recorderSessionOptions();
    so.codec = c.GS_CODEC_H264;
    so.backend = c.GS_BACKEND_SOFTWARE;
    so.keyframe_interval = 15;
    var o = recorderOptions();
    o.session = &so;
    o.source = "testsrc";
    o.source_width = 160;
    o.source_height = 96;
    o.realtime = 1;
    o.limit_frames = 45;
    o.output = "zig-recorder.mkv";
    o.overwrite = 1;
    o.replay_ms = 10_000;
    o.replay_dir = ".";
    const r = try Recorder.create(o);
    defer r.deinit();
    try r.start();
    var saved = false;
    var replays: u32 = 0;
    var buffer: [512]u8 = undefined;
    while (true) {
        switch (try r.poll(50)) {
            .event => |e| switch (@as(EventKind, @enumFromInt(e.kind))) {
                .started => try std.testing.expectEqualStrings("testsrc", std.mem.span(e.message.?)),
                .replay_saved => replays += 1,
                .finished => {
                    try std.testing.expectEqual(c.GS_OK, e.result);
                    try std.testing.expectEqual(@as(u64, 45), e.frames);
                },
                else => {},
            },
            .again => {},
            .eof => break,
        }
        if (!saved and (try r.stats()).packets >= 20) {
            try r.saveReplayTo("zig-recorder-replay.mkv", 0, 10_000);
            const json = try r.statusJson(&buffer);
            try std.testing.expect(std.mem.indexOf(u8, json, "\"started\":true") != null);
            saved = true;
        }
    }
    try std.testing.expect(saved);
    try std.testing.expectEqual(@as(u32, 1), replays);
    try r.stop();
    const s = try r.stats();
    try std.testing.expectEqual(@as(u64, 45), s.packets);
    try std.testing.expectError(error.State, r.requestKeyframe());
}
