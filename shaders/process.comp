// The fused processing pass into a pitch-linear buffer: the body is process_tiles.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "process_tiles.glsl"
