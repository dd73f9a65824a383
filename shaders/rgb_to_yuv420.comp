// RGB from a sampled image to YUV: the body is rgb_to_yuv.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "rgb_to_yuv.glsl"
