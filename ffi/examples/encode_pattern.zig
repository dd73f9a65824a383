//! Encodes a moving test pattern to a file with GhostStream's Zig interface.
//!
//!   zig build-exe --dep ghoststream -Mroot=encode_pattern.zig \
//!       -Mghoststream=$(pkg-config --variable=zigdir ghoststream)/ghoststream.zig \
//!       -lc $(pkg-config --libs ghoststream)
//!   ./encode_pattern out.mkv
const std = @import("std");
const gs = @import("ghoststream");

pub fn main(init: std.process.Init) !void {
    const args = try init.minimal.args.toSlice(init.arena.allocator());
    if (args.len != 2) {
        std.debug.print("usage: {s} OUT.(mkv|mp4|ts|h264)\n", .{args[0]});
        std.process.exit(2);
    }
    var options = gs.sessionOptions();
    options.width = 320;
    options.height = 240;
    const session = gs.Session.open(options) catch |e| {
        std.debug.print("encode_pattern: opening the session: {s}: {s}\n", .{ @errorName(e), gs.lastError() });
        return e;
    };
    defer session.deinit();
    const writer = gs.Writer.create(session, args[1], .auto) catch |e| {
        std.debug.print("encode_pattern: opening {s}: {s}: {s}\n", .{ args[1], @errorName(e), gs.lastError() });
        return e;
    };
    defer writer.deinit();
    const packets = try gs.encodePattern(session, writer, 320, 240, 90);
    try writer.finish();
    const stats = try session.stats();
    std.debug.print("encode_pattern.zig: {d} packets, {d} bytes with {s}\n", .{ packets, stats.bytes, session.backend() });
}
