// The pointer blended into a picture image's plane views: the body is pointer_blend.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_image_load_formatted : require
#define IMAGE_OUTPUT
#include "pointer_blend.glsl"
