//! A compute pipeline with its descriptor-set layout and pipeline layout, built from SPIR-V.

use std::io::Cursor;
use std::sync::Arc;

use ash::vk;

use super::{GpuContext, GpuError};

/// A compute pipeline: set layout, pipeline layout (one set, push constants) and pipeline.
pub(crate) struct ComputePipeline {
    ctx: Arc<GpuContext>,
    pub(crate) set_layout: vk::DescriptorSetLayout,
    pub(crate) layout: vk::PipelineLayout,
    pub(crate) pipeline: vk::Pipeline,
    bindings: Vec<vk::DescriptorType>,
}

impl ComputePipeline {
    /// Builds the pipeline of `spirv` (entry point `main`) whose set 0 has `bindings` (binding
    /// i of descriptor type i) and whose push constants take `push_bytes`.
    pub(crate) fn new(
        ctx: &Arc<GpuContext>,
        spirv: &[u8],
        bindings: &[vk::DescriptorType],
        push_bytes: u32,
    ) -> Result<Self, GpuError> {
        Self::specialized(ctx, spirv, bindings, push_bytes, &[])
    }

    /// As [`ComputePipeline::new`], with `constants[i]` as the shader's 32-bit specialization
    /// constant `constant_id = i` (a path a constant turns off is compiled out).
    pub(crate) fn specialized(
        ctx: &Arc<GpuContext>,
        spirv: &[u8],
        bindings: &[vk::DescriptorType],
        push_bytes: u32,
        constants: &[u32],
    ) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let words =
            ash::util::read_spv(&mut Cursor::new(spirv)).map_err(|e| GpuError::Invalid {
                what: "embedded SPIR-V".into(),
                reason: e.to_string(),
            })?;
        let mut this = Self {
            ctx: Arc::clone(ctx),
            set_layout: vk::DescriptorSetLayout::null(),
            layout: vk::PipelineLayout::null(),
            pipeline: vk::Pipeline::null(),
            bindings: bindings.to_vec(),
        };
        let bindings: Vec<_> = bindings
            .iter()
            .zip(0u32..)
            .map(|(&ty, i)| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i)
                    .descriptor_type(ty)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        // SAFETY: valid device; every create info lives for its call; what is created is stored
        // in `this`, whose Drop destroys it if a later step fails.
        unsafe {
            this.set_layout = d
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                    None,
                )
                .map_err(GpuError::vk("vkCreateDescriptorSetLayout"))?;
            let ranges = [vk::PushConstantRange::default()
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
                .offset(0)
                .size(push_bytes)];
            let layouts = [this.set_layout];
            this.layout = d
                .create_pipeline_layout(
                    &vk::PipelineLayoutCreateInfo::default()
                        .set_layouts(&layouts)
                        .push_constant_ranges(&ranges),
                    None,
                )
                .map_err(GpuError::vk("vkCreatePipelineLayout"))?;
            let module = d
                .create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None)
                .map_err(GpuError::vk("vkCreateShaderModule"))?;
            let entries: Vec<vk::SpecializationMapEntry> = (0..super::vk_u32(constants.len()))
                .map(|i| {
                    vk::SpecializationMapEntry::default()
                        .constant_id(i)
                        .offset(4 * i)
                        .size(4)
                })
                .collect();
            let data: Vec<u8> = constants.iter().flat_map(|c| c.to_le_bytes()).collect();
            let specialization = vk::SpecializationInfo::default()
                .map_entries(&entries)
                .data(&data);
            let stage = vk::PipelineShaderStageCreateInfo::default()
                .stage(vk::ShaderStageFlags::COMPUTE)
                .module(module)
                .name(c"main")
                .specialization_info(&specialization);
            let info = [vk::ComputePipelineCreateInfo::default()
                .stage(stage)
                .layout(this.layout)];
            let pipelines = d.create_compute_pipelines(vk::PipelineCache::null(), &info, None);
            d.destroy_shader_module(module, None);
            this.pipeline =
                pipelines.map_err(|(_, e)| GpuError::vk("vkCreateComputePipelines")(e))?[0];
        }
        Ok(this)
    }
}

impl ComputePipeline {
    /// Records binding this pipeline and `set`, the push constants `push`, and a dispatch of
    /// `groups` workgroups.
    ///
    /// # Safety
    /// `cmd` must be a recording command buffer of `d`, the pipeline's device; `set` a set of
    /// this pipeline's layout whose resources live until the commands have run.
    pub(crate) unsafe fn record_dispatch(
        &self,
        d: &ash::Device,
        cmd: vk::CommandBuffer,
        set: vk::DescriptorSet,
        push: &[u8],
        groups: (u32, u32),
    ) {
        // SAFETY: forwarded from the caller.
        unsafe {
            d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, self.pipeline);
            d.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::COMPUTE,
                self.layout,
                0,
                &[set],
                &[],
            );
            d.cmd_push_constants(cmd, self.layout, vk::ShaderStageFlags::COMPUTE, 0, push);
            d.cmd_dispatch(cmd, groups.0, groups.1, 1);
        }
    }

    /// A descriptor pool sized for `sets` sets of this pipeline's layout, and those sets.
    /// The caller destroys the pool (which frees the sets).
    pub(crate) fn descriptor_sets(
        &self,
        sets: u32,
    ) -> Result<(vk::DescriptorPool, Vec<vk::DescriptorSet>), GpuError> {
        let d = &self.ctx.device;
        let mut sizes: Vec<vk::DescriptorPoolSize> = Vec::new();
        for &ty in &self.bindings {
            match sizes.iter_mut().find(|s| s.ty == ty) {
                Some(s) => s.descriptor_count += sets,
                None => sizes.push(vk::DescriptorPoolSize {
                    ty,
                    descriptor_count: sets,
                }),
            }
        }
        let layouts = vec![self.set_layout; sets as usize];
        // SAFETY: valid device; the create infos live for their calls; on failure the new pool
        // is destroyed before returning.
        unsafe {
            let pool = d
                .create_descriptor_pool(
                    &vk::DescriptorPoolCreateInfo::default()
                        .max_sets(sets)
                        .pool_sizes(&sizes),
                    None,
                )
                .map_err(GpuError::vk("vkCreateDescriptorPool"))?;
            match d.allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&layouts),
            ) {
                Ok(v) => Ok((pool, v)),
                Err(e) => {
                    d.destroy_descriptor_pool(pool, None);
                    Err(GpuError::vk("vkAllocateDescriptorSets")(e))
                }
            }
        }
    }
}

impl Drop for ComputePipeline {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: owners wait for their submissions before dropping; null handles (from a failed
        // construction) are ignored by the destroy calls.
        unsafe {
            d.destroy_pipeline(self.pipeline, None);
            d.destroy_pipeline_layout(self.layout, None);
            d.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}

/// One descriptor of a set, in binding order.
pub(crate) enum Descriptor {
    /// A combined image sampler, the image in `SHADER_READ_ONLY_OPTIMAL`.
    SampledImage(vk::Sampler, vk::ImageView),
    /// A whole storage buffer.
    StorageBuffer(vk::Buffer),
    /// A whole uniform buffer.
    UniformBuffer(vk::Buffer),
    /// A storage image view, the image in `GENERAL`.
    StorageImage(vk::ImageView),
}

/// Writes `descriptors` into bindings 0, 1, ... of `set`.
///
/// # Safety
/// `set` must not be in use by a pending submission, and every handle must belong to `d` and
/// outlive the set's use.
pub(crate) unsafe fn write_descriptors(
    d: &ash::Device,
    set: vk::DescriptorSet,
    descriptors: &[Descriptor],
) {
    let images: Vec<[vk::DescriptorImageInfo; 1]> = descriptors
        .iter()
        .map(|desc| match *desc {
            Descriptor::SampledImage(sampler, view) => [vk::DescriptorImageInfo::default()
                .sampler(sampler)
                .image_view(view)
                .image_layout(vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL)],
            Descriptor::StorageImage(view) => [vk::DescriptorImageInfo::default()
                .image_view(view)
                .image_layout(vk::ImageLayout::GENERAL)],
            _ => [vk::DescriptorImageInfo::default()],
        })
        .collect();
    let buffers: Vec<[vk::DescriptorBufferInfo; 1]> = descriptors
        .iter()
        .map(|desc| match *desc {
            Descriptor::StorageBuffer(b) | Descriptor::UniformBuffer(b) => {
                [vk::DescriptorBufferInfo::default()
                    .buffer(b)
                    .offset(0)
                    .range(vk::WHOLE_SIZE)]
            }
            Descriptor::SampledImage(..) | Descriptor::StorageImage(_) => {
                [vk::DescriptorBufferInfo::default()]
            }
        })
        .collect();
    let writes: Vec<vk::WriteDescriptorSet<'_>> = descriptors
        .iter()
        .enumerate()
        .map(|(i, desc)| {
            let w = vk::WriteDescriptorSet::default()
                .dst_set(set)
                .dst_binding(super::vk_u32(i));
            match desc {
                Descriptor::SampledImage(..) => w
                    .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
                    .image_info(&images[i]),
                Descriptor::StorageBuffer(_) => w
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(&buffers[i]),
                Descriptor::UniformBuffer(_) => w
                    .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                    .buffer_info(&buffers[i]),
                Descriptor::StorageImage(_) => w
                    .descriptor_type(vk::DescriptorType::STORAGE_IMAGE)
                    .image_info(&images[i]),
            }
        })
        .collect();
    // SAFETY: forwarded from the caller; the info arrays outlive the call.
    unsafe { d.update_descriptor_sets(&writes, &[]) };
}
