// Packed 8-bit RGBA/BGRA from a storage buffer to YUV: the body is rgb_to_yuv.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
#define RGB8_BUFFER_INPUT
#include "rgb_to_yuv.glsl"
