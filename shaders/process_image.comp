// The fused processing pass straight into a picture image's plane views (NV12, P010): the body
// is process_tiles.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
#define IMAGE_OUTPUT
#include "process_tiles.glsl"
