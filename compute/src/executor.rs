//! Runs WGSL kernels: compiles each pipeline once, recycles intermediate
//! buffers, records any number of dispatches into one command buffer, and
//! counts readbacks (a browser pays 5–15 ms for each).
//!
//! Buffer rules that keep recycling safe:
//! - uploads (`upload*`) always get a fresh buffer, written at creation;
//! - pooled buffers (`empty`) are written only by kernels. Dispatches run in
//!   recording order, so a buffer freed mid-recording can be reused by a
//!   later dispatch of the same recording.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::Rc,
};

use wgpu::util::DeviceExt;

use crate::{error::ComputeError, gpu::GpuContext};

/// One WGSL file: a kernel family. Every entry point in it uses
/// `@workgroup_size(WG)` (or `WG, WG` for 2-D kernels), where `WG` is an
/// override set from [`Kernel::workgroup`], so the size has one owner; any
/// other sizes the shader needs (array lengths) come in `constants`.
///
/// Binding layout, shared by the family's entry points: the `params` uniform
/// at binding 0, storage buffers from binding 1, as the file's header lists.
#[derive(Debug)]
pub struct Kernel {
    pub family: &'static str,
    pub wgsl: &'static str,
    pub workgroup: u32,
    pub constants: &'static [(&'static str, f64)],
}

type Pool = Rc<RefCell<HashMap<u64, Vec<wgpu::Buffer>>>>;

/// A flat f32 (or u32, or packed i8) array on the GPU.
#[derive(Debug)]
pub struct GpuTensor {
    buffer: wgpu::Buffer,
    /// Number of 32-bit words in use (the buffer may be larger).
    pub len: usize,
    pool: Option<Pool>,
    /// The executor's count of bytes held, which an unpooled buffer leaves
    /// when dropped (a pooled one stays held by the pool).
    held: Rc<Cell<u64>>,
}

impl GpuTensor {
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

impl Drop for GpuTensor {
    fn drop(&mut self) {
        match &self.pool {
            Some(pool) => pool
                .borrow_mut()
                .entry(self.buffer.size())
                .or_default()
                .push(self.buffer.clone()),
            None => self
                .held
                .set(self.held.get().saturating_sub(self.buffer.size())),
        }
    }
}

pub struct Executor {
    ctx: GpuContext,
    modules: RefCell<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: RefCell<HashMap<(&'static str, &'static str), wgpu::ComputePipeline>>,
    pool: Pool,
    readbacks: Cell<usize>,
    dispatches_submitted: Cell<usize>,
    buffers_created: Cell<usize>,
    bytes_held: Rc<Cell<u64>>,
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl Executor {
    pub fn new(ctx: GpuContext) -> Self {
        Executor {
            ctx,
            modules: RefCell::default(),
            pipelines: RefCell::default(),
            pool: Rc::default(),
            readbacks: Cell::new(0),
            dispatches_submitted: Cell::new(0),
            buffers_created: Cell::new(0),
            bytes_held: Rc::default(),
        }
    }

    /// Bytes in the storage buffers this executor holds: uploads and state
    /// still alive, plus every pooled buffer. A page that is not leaking
    /// keeps this flat once warm.
    pub fn bytes_held(&self) -> u64 {
        self.bytes_held.get()
    }

    fn tensor(&self, buffer: wgpu::Buffer, len: usize, pool: Option<Pool>) -> GpuTensor {
        self.buffers_created.set(self.buffers_created.get() + 1);
        self.bytes_held.set(self.bytes_held.get() + buffer.size());
        GpuTensor {
            buffer,
            len,
            pool,
            held: self.bytes_held.clone(),
        }
    }

    pub fn ctx(&self) -> &GpuContext {
        &self.ctx
    }

    /// Readbacks so far: every [`Executor::read`] is one.
    pub fn readbacks(&self) -> usize {
        self.readbacks.get()
    }

    /// Dispatches in every recording submitted so far.
    pub fn dispatches_submitted(&self) -> usize {
        self.dispatches_submitted.get()
    }

    pub fn pipelines_compiled(&self) -> usize {
        self.pipelines.borrow().len()
    }

    /// Storage buffers created so far, pooled or not.
    pub fn buffers_created(&self) -> usize {
        self.buffers_created.get()
    }

    pub fn upload(&self, values: &[f32]) -> GpuTensor {
        self.upload_bytes(
            &values
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    pub fn upload_u32(&self, values: &[u32]) -> GpuTensor {
        self.upload_bytes(
            &values
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    /// Raw bytes, zero-padded to whole 32-bit words (packed i8 quants).
    pub fn upload_bytes(&self, bytes: &[u8]) -> GpuTensor {
        let mut padded = bytes.to_vec();
        padded.resize(bytes.len().div_ceil(4).max(1) * 4, 0);
        let buffer = self
            .ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("executor.upload"),
                contents: &padded,
                usage: STORAGE,
            });
        self.tensor(buffer, padded.len() / 4, None)
    }

    /// A zero-filled buffer that is never recycled (state such as a KV cache).
    pub fn zeros(&self, len: usize) -> GpuTensor {
        let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("executor.zeros"),
            size: (len.max(1) * 4) as u64,
            usage: STORAGE,
            mapped_at_creation: false,
        });
        self.tensor(buffer, len, None)
    }

    /// A recycled buffer for a kernel's output; its old contents are garbage.
    pub fn empty(&self, len: usize) -> GpuTensor {
        let size = ((len.max(1) * 4) as u64).next_power_of_two().max(256);
        let reused = self.pool.borrow_mut().get_mut(&size).and_then(Vec::pop);
        let pool = Some(self.pool.clone());
        match reused {
            Some(buffer) => GpuTensor {
                buffer,
                len,
                pool,
                held: self.bytes_held.clone(),
            },
            None => {
                let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("executor.pooled"),
                    size,
                    usage: STORAGE,
                    mapped_at_creation: false,
                });
                self.tensor(buffer, len, pool)
            }
        }
    }

    pub fn begin(&self) -> Recording<'_> {
        let encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("executor.recording"),
            });
        Recording {
            exec: self,
            encoder,
            dispatches: 0,
        }
    }

    fn count(&self, recording: &Recording<'_>) {
        self.dispatches_submitted
            .set(self.dispatches_submitted.get() + recording.dispatches);
    }

    /// Submits everything recorded, as one command buffer.
    pub fn submit(&self, recording: Recording<'_>) -> Result<(), ComputeError> {
        self.count(&recording);
        self.ctx.queue.submit([recording.encoder.finish()]);
        self.ctx.check()
    }

    /// Submits and waits until the GPU has finished: for timing, not for
    /// results (those come back through [`Executor::read`]).
    pub async fn submit_and_wait(&self, recording: Recording<'_>) -> Result<(), ComputeError> {
        self.count(&recording);
        self.ctx.queue.submit([recording.encoder.finish()]);
        let (sender, receiver) = futures_channel::oneshot::channel();
        self.ctx.queue.on_submitted_work_done(move || {
            let _ = sender.send(());
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| ComputeError::Readback(e.to_string()))?;
        receiver
            .await
            .map_err(|_| ComputeError::DeviceLost("the queue dropped its callback".into()))?;
        self.ctx.check()
    }

    /// Copies a tensor back to the CPU: the only way results leave the GPU.
    pub async fn read(&self, tensor: &GpuTensor) -> Result<Vec<f32>, ComputeError> {
        self.readbacks.set(self.readbacks.get() + 1);
        self.ctx
            .read_f32(&tensor.buffer, tensor.len, "executor.readback")
            .await
    }

    pub async fn read_u32(&self, tensor: &GpuTensor) -> Result<Vec<u32>, ComputeError> {
        Ok(self
            .read(tensor)
            .await?
            .into_iter()
            .map(f32::to_bits)
            .collect())
    }

    fn pipeline(&self, kernel: &Kernel, entry: &'static str) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.borrow().get(&(kernel.family, entry)) {
            return p.clone();
        }
        let module = self
            .modules
            .borrow_mut()
            .entry(kernel.family)
            .or_insert_with(|| {
                self.ctx
                    .device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(kernel.family),
                        source: wgpu::ShaderSource::Wgsl(kernel.wgsl.into()),
                    })
            })
            .clone();
        let label = format!("{}.{entry}", kernel.family);
        let pipeline = self
            .ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &[
                        [("WG", kernel.workgroup as f64)].as_slice(),
                        kernel.constants,
                    ]
                    .concat(),
                    ..Default::default()
                },
                cache: None,
            });
        self.pipelines
            .borrow_mut()
            .insert((kernel.family, entry), pipeline.clone());
        pipeline
    }
}

/// Dispatches recorded into one command encoder; see [`Executor::submit`].
pub struct Recording<'e> {
    exec: &'e Executor,
    encoder: wgpu::CommandEncoder,
    pub dispatches: usize,
}

impl Recording<'_> {
    pub fn exec(&self) -> &Executor {
        self.exec
    }

    /// One dispatch of `kernel`'s `entry`: `params` (32-bit words: u32, or
    /// f32 via `to_bits`) go to the uniform at binding 0, and each
    /// `(binding, tensor)` to its storage binding. An entry point binds only
    /// what it uses, so pass exactly those.
    pub fn dispatch(
        &mut self,
        kernel: &Kernel,
        entry: &'static str,
        storage: &[(u32, &GpuTensor)],
        params: &[u32],
        groups: [u32; 3],
    ) {
        let pipeline = self.exec.pipeline(kernel, entry);
        let device = &self.exec.ctx.device;
        let mut words = params.to_vec();
        words.resize(params.len().div_ceil(4).max(1) * 4, 0); // uniform structs are 16-byte multiples
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("executor.params"),
            contents: &words
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect::<Vec<u8>>(),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        })
        .chain(storage.iter().map(|(binding, t)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: t.buffer.as_entire_binding(),
        }))
        .collect();
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(entry),
                timestamp_writes: None,
            });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        self.dispatches += 1;
    }

    /// Copies `len` words from `src` at word `src_offset` into `dst` at `dst_offset`.
    pub fn copy(
        &mut self,
        src: &GpuTensor,
        src_offset: usize,
        dst: &GpuTensor,
        dst_offset: usize,
        len: usize,
    ) {
        self.encoder.copy_buffer_to_buffer(
            &src.buffer,
            (src_offset * 4) as u64,
            &dst.buffer,
            (dst_offset * 4) as u64,
            (len * 4) as u64,
        );
    }
}

/// Workgroups to cover `n` items, `per_group` at a time. Past WebGPU's 65535
/// groups per dimension the grid wraps into y; kernels rebuild the index as
/// `gid.x + gid.y * num_workgroups.x * WG`.
pub fn groups_1d(n: usize, per_group: u32) -> [u32; 3] {
    let groups = (n as u32).div_ceil(per_group).max(1);
    if groups <= 65535 {
        [groups, 1, 1]
    } else {
        [65535, groups.div_ceil(65535), 1]
    }
}
