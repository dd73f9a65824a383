// The pointer blended into the pass's buffer output: the body is pointer_blend.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "pointer_blend.glsl"
