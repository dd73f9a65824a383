// A plain copy through the shader cores, 16 bytes a thread: the bandwidth ceiling that the
// conversion benchmark compares against (vkCmdCopyBuffer may run on a slower copy engine).
#version 450

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

layout(set = 0, binding = 0, std430) readonly buffer Src { uvec4 src[]; };
layout(set = 0, binding = 1, std430) writeonly buffer Dst { uvec4 dst[]; };

layout(push_constant) uniform Params { uint count; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        dst[i] = src[i];
    }
}
