//! Driver for `shaders/gemm.wgsl`: C[m, n] = A[m, k] · B[k, n], f32, row-major.

use wgpu::util::DeviceExt;

use super::f32_bytes;
use crate::{error::ComputeError, gpu::GpuContext};

/// Side of the square tile. The shader gets it as the `TILE` override, and
/// the dispatch count below is derived from it; nothing else repeats it.
pub const TILE: u32 = 16;

const SHADER: &str = include_str!("../../../shaders/gemm.wgsl");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GemmVariant {
    /// f32 inputs and output, workgroup-memory tiles.
    F32,
}

impl GemmVariant {
    pub fn entry_point(self) -> &'static str {
        match self {
            GemmVariant::F32 => "gemm_f32",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GemmVariant::F32 => "gemm.f32",
        }
    }
}

/// Logical sizes of one multiply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmShape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl GemmShape {
    /// Checks that the operands have the lengths the shape implies.
    pub fn check(&self, a: &[f32], b: &[f32]) -> Result<(), ComputeError> {
        let bad = |detail: String| Err(ComputeError::Shape { op: "gemm", detail });
        if self.m == 0 || self.k == 0 || self.n == 0 {
            return bad(format!("every dimension must be positive, got {self:?}"));
        }
        if a.len() != self.m * self.k {
            return bad(format!(
                "A has {} values, expected m·k = {}",
                a.len(),
                self.m * self.k
            ));
        }
        if b.len() != self.k * self.n {
            return bad(format!(
                "B has {} values, expected k·n = {}",
                b.len(),
                self.k * self.n
            ));
        }
        Ok(())
    }
}

pub struct GemmKernel {
    variant: GemmVariant,
    pipeline: wgpu::ComputePipeline,
}

impl GemmKernel {
    /// Compiles the pipeline. Do this once per context and reuse the kernel.
    pub fn new(ctx: &GpuContext, variant: GemmVariant) -> Result<Self, ComputeError> {
        let label = Some(variant.label());
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label,
                source: wgpu::ShaderSource::Wgsl(SHADER.into()),
            });
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label,
                layout: None,
                module: &module,
                entry_point: Some(variant.entry_point()),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &[("TILE", TILE as f64)],
                    ..Default::default()
                },
                cache: None,
            });
        ctx.check()?;
        Ok(GemmKernel { variant, pipeline })
    }

    /// Uploads A and B, runs one dispatch, and reads C back.
    pub async fn run(
        &self,
        ctx: &GpuContext,
        a: &[f32],
        b: &[f32],
        shape: GemmShape,
    ) -> Result<Vec<f32>, ComputeError> {
        shape.check(a, b)?;
        let limits = ctx.device.limits();
        let largest = 4 * [a.len(), b.len(), shape.m * shape.n]
            .into_iter()
            .max()
            .unwrap_or(0) as u64;
        if largest > limits.max_storage_buffer_binding_size {
            return Err(ComputeError::Shape {
                op: "gemm",
                detail: format!(
                    "an operand needs {largest} bytes, over this GPU's binding limit of {}",
                    limits.max_storage_buffer_binding_size
                ),
            });
        }
        let groups_x = (shape.n as u32).div_ceil(TILE);
        let groups_y = (shape.m as u32).div_ceil(TILE);
        if groups_x.max(groups_y) > limits.max_compute_workgroups_per_dimension {
            return Err(ComputeError::Shape {
                op: "gemm",
                detail: format!("{shape:?} needs too many workgroups"),
            });
        }

        let label = Some(self.variant.label());
        let device = &ctx.device;
        let storage = |contents: &[u8]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label,
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let a_buf = storage(&f32_bytes(a));
        let b_buf = storage(&f32_bytes(b));
        let c_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label,
            size: (shape.m * shape.n * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let dims: Vec<u8> = [shape.m as u32, shape.k as u32, shape.n as u32, 0]
            .iter()
            .flat_map(|d| d.to_le_bytes())
            .collect();
        let dims_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label,
            contents: &dims,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label,
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: a_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: b_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: c_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: dims_buf.as_entire_binding(),
                },
            ],
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label,
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups_x, groups_y, 1);
        }
        ctx.queue.submit([encoder.finish()]);
        ctx.read_f32(&c_buf, shape.m * shape.n, "gemm.f32.readback")
            .await
    }
}
