//! Runs WGSL kernels: compiles each pipeline once, recycles intermediate
//! buffers, records any number of dispatches into one command buffer, and
//! counts readbacks (a browser pays 5–15 ms for each).
//!
//! Nothing is created per dispatch once a workload is warm: parameters go to
//! one uniform ring, bound at a dynamic offset, and bind groups are cached
//! by the buffers they bind. [`Executor::creations`] counts what was
//! created, so tests can hold a steady-state step at zero; [`Profiling`]
//! times each kernel (`profile.rs`).
//!
//! Buffer rules that keep recycling safe:
//! - uploads (`upload*`) always get a fresh buffer, written at creation;
//! - pooled buffers (`empty`) are written only by kernels. Dispatches run in
//!   recording order, so a buffer freed mid-recording can be reused by a
//!   later dispatch of the same recording.

use std::{
    cell::{Cell, RefCell},
    collections::{BTreeSet, HashMap},
    rc::Rc,
};

use wgpu::util::DeviceExt;

use crate::{
    error::ComputeError,
    gpu::GpuContext,
    profile::{Clock, Profile, Profiling},
};

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

/// Free pooled buffers by size. A kernel gets the free buffer with the
/// lowest id, so a step that starts with the same free buffers binds the
/// same buffers in the same places every time, and its bind groups are
/// found in the cache.
type Pool = Rc<RefCell<HashMap<u64, BTreeSet<wgpu::Buffer>>>>;

/// Bind groups by the buffers they bind; see [`BindKey`].
type BindCache = Rc<RefCell<HashMap<BindKey, wgpu::BindGroup>>>;

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
    /// Bind groups that name an unpooled buffer go when it does (they
    /// would keep it alive).
    bind_groups: BindCache,
}

impl GpuTensor {
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

impl Drop for GpuTensor {
    fn drop(&mut self) {
        match &self.pool {
            Some(pool) => {
                pool.borrow_mut()
                    .entry(self.buffer.size())
                    .or_default()
                    .insert(self.buffer.clone());
            }
            None => {
                self.held
                    .set(self.held.get().saturating_sub(self.buffer.size()));
                if let Ok(mut cache) = self.bind_groups.try_borrow_mut() {
                    cache.retain(|(_, _, buffers), _| {
                        buffers.iter().all(|(_, b)| *b != self.buffer)
                    });
                }
            }
        }
    }
}

pub struct Executor {
    ctx: GpuContext,
    modules: RefCell<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: RefCell<HashMap<(&'static str, &'static str), Compiled>>,
    pool: Pool,
    uniforms: RefCell<UniformRing>,
    bind_groups: BindCache,
    /// Readback staging buffers by size, reused.
    staging: RefCell<HashMap<u64, Vec<wgpu::Buffer>>>,
    readbacks: Cell<usize>,
    dispatches_submitted: Cell<usize>,
    created: Cell<Creations>,
    bytes_held: Rc<Cell<u64>>,
    profiling: RefCell<Option<Profiling>>,
}

/// A pipeline with the layout it was built for: the uniform at binding 0
/// with a dynamic offset, then the storage bindings the entry point uses.
#[derive(Clone)]
struct Compiled {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// A cached bind group is found by the entry point and the storage buffers
/// it binds (the uniform is always the ring, at a dynamic offset).
type BindKey = (&'static str, &'static str, Vec<(u32, wgpu::Buffer)>);

/// Past this many cached bind groups the cache starts over; a workload
/// that binds that many different buffer sets is not in a steady state.
const BIND_GROUP_CACHE: usize = 4096;

/// Every dispatch's parameters, in `SLOT`-byte slots of one uniform buffer,
/// taken in turn. A slot is written (`queue.write_buffer`) when its dispatch
/// is recorded; writes are ordered after every earlier submission, so
/// wrapping is safe once the slots of unsubmitted recordings are not
/// reused: the ring grows when one recording needs more than it holds.
struct UniformRing {
    buffer: wgpu::Buffer,
    slots: u32,
    next: u32,
    /// Dispatches recorded since the last submission.
    unsubmitted: u32,
}

/// Uniform slot size: WebGPU's minimum uniform offset alignment (256) and
/// more than any kernel's parameters (the largest has 14 words).
const SLOT: u64 = 256;
const FIRST_SLOTS: u32 = 1024;

/// What an executor has created so far. A warm workload (a training step,
/// a token) adds nothing to these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Creations {
    /// Storage, uniform and readback buffers.
    pub buffers: usize,
    pub bind_groups: usize,
}

impl std::ops::Sub for Creations {
    type Output = Creations;
    fn sub(self, earlier: Creations) -> Creations {
        Creations {
            buffers: self.buffers - earlier.buffers,
            bind_groups: self.bind_groups - earlier.bind_groups,
        }
    }
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl Executor {
    pub fn new(ctx: GpuContext) -> Self {
        let uniforms = UniformRing::new(&ctx.device, FIRST_SLOTS);
        Executor {
            ctx,
            modules: RefCell::default(),
            pipelines: RefCell::default(),
            pool: Rc::default(),
            uniforms: RefCell::new(uniforms),
            bind_groups: Rc::default(),
            staging: RefCell::default(),
            readbacks: Cell::new(0),
            dispatches_submitted: Cell::new(0),
            created: Cell::new(Creations {
                buffers: 1,
                bind_groups: 0,
            }),
            bytes_held: Rc::default(),
            profiling: RefCell::new(None),
        }
    }

    fn created_buffer(&self) {
        let mut c = self.created.get();
        c.buffers += 1;
        self.created.set(c);
    }

    /// Buffers and bind groups created so far.
    pub fn creations(&self) -> Creations {
        self.created.get()
    }

    /// Starts timing every dispatch, by kernel, until [`Executor::end_profile`].
    pub fn start_profile(&self) {
        *self.profiling.borrow_mut() = Some(Profiling::new(&self.ctx, self.creations()));
    }

    /// The profile since [`Executor::start_profile`] (one readback of the
    /// timestamps, when the device has them).
    pub async fn end_profile(&self) -> Result<Profile, ComputeError> {
        let profiling = self
            .profiling
            .borrow_mut()
            .take()
            .ok_or_else(|| ComputeError::Cpu("end_profile without start_profile".into()))?;
        profiling.finish(&self.ctx).await
    }

    /// Bytes in the storage buffers this executor holds: uploads and state
    /// still alive, plus every pooled buffer. A page that is not leaking
    /// keeps this flat once warm.
    pub fn bytes_held(&self) -> u64 {
        self.bytes_held.get()
    }

    fn tensor(&self, buffer: wgpu::Buffer, len: usize, pool: Option<Pool>) -> GpuTensor {
        self.created_buffer();
        self.bytes_held.set(self.bytes_held.get() + buffer.size());
        GpuTensor {
            buffer,
            len,
            pool,
            held: self.bytes_held.clone(),
            bind_groups: self.bind_groups.clone(),
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

    /// Buffers created so far: storage (pooled or not), uniform, readback.
    pub fn buffers_created(&self) -> usize {
        self.created.get().buffers
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
        let reused = self
            .pool
            .borrow_mut()
            .get_mut(&size)
            .and_then(BTreeSet::pop_first);
        let pool = Some(self.pool.clone());
        match reused {
            Some(buffer) => GpuTensor {
                buffer,
                len,
                pool,
                held: self.bytes_held.clone(),
                bind_groups: self.bind_groups.clone(),
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

    fn encoder(&self) -> wgpu::CommandEncoder {
        self.ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("executor.recording"),
            })
    }

    pub fn begin(&self) -> Recording<'_> {
        Recording {
            exec: self,
            encoder: self.encoder(),
            dispatches: 0,
        }
    }

    fn count(&self, recording: &Recording<'_>) {
        self.dispatches_submitted
            .set(self.dispatches_submitted.get() + recording.dispatches);
        self.uniforms.borrow_mut().unsubmitted = 0;
    }

    /// Writes `values` into `tensor` from the CPU, in queue order: after
    /// everything submitted so far, before anything submitted later. For
    /// inputs that change every pass (an image, a batch's ids) into buffers
    /// kept for them, so that a warm pass creates nothing. Write before
    /// recording the dispatches that read it, as the writes of a recording
    /// not yet submitted all land before any of its dispatches run.
    pub fn write(&self, tensor: &GpuTensor, values: &[f32]) -> Result<(), ComputeError> {
        self.write_words(tensor, values.iter().map(|v| v.to_bits()).collect())
    }

    pub fn write_u32(&self, tensor: &GpuTensor, values: &[u32]) -> Result<(), ComputeError> {
        self.write_words(tensor, values.to_vec())
    }

    fn write_words(&self, tensor: &GpuTensor, words: Vec<u32>) -> Result<(), ComputeError> {
        if words.len() > tensor.len {
            return Err(ComputeError::Shape {
                op: "executor write",
                detail: format!("{} words into {}", words.len(), tensor.len),
            });
        }
        let bytes: Vec<u8> = words.iter().flat_map(|v| v.to_le_bytes()).collect();
        if !bytes.is_empty() {
            self.ctx.queue.write_buffer(&tensor.buffer, 0, &bytes);
        }
        Ok(())
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
        let size = ((tensor.len.max(1) * 4) as u64).next_power_of_two();
        let reused = self.staging.borrow_mut().get_mut(&size).and_then(Vec::pop);
        let staging = match reused {
            Some(buffer) => buffer,
            None => {
                self.created_buffer();
                self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("executor.readback"),
                    size,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            }
        };
        let values = self
            .ctx
            .read_f32_through(&tensor.buffer, tensor.len, &staging)
            .await;
        // A staging buffer is unmapped again whether or not the read worked.
        self.staging
            .borrow_mut()
            .entry(size)
            .or_default()
            .push(staging);
        values
    }

    pub async fn read_u32(&self, tensor: &GpuTensor) -> Result<Vec<u32>, ComputeError> {
        Ok(self
            .read(tensor)
            .await?
            .into_iter()
            .map(f32::to_bits)
            .collect())
    }

    /// The pipeline for `entry`, built once with an explicit layout: the
    /// uniform at binding 0 (dynamic offset) and `storage`'s bindings, each
    /// read-only or not as the family's WGSL declares it.
    fn pipeline(
        &self,
        kernel: &Kernel,
        entry: &'static str,
        storage: &[(u32, &GpuTensor)],
    ) -> Result<Compiled, ComputeError> {
        if let Some(p) = self.pipelines.borrow().get(&(kernel.family, entry)) {
            return Ok(p.clone());
        }
        let device = &self.ctx.device;
        let module = self
            .modules
            .borrow_mut()
            .entry(kernel.family)
            .or_insert_with(|| {
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.family),
                    source: wgpu::ShaderSource::Wgsl(kernel.wgsl.into()),
                })
            })
            .clone();
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: true,
                min_binding_size: None,
            },
            count: None,
        }];
        for &(binding, _) in storage {
            let read_only =
                storage_read_only(kernel.wgsl, binding).ok_or_else(|| ComputeError::Gpu {
                    label: format!("{}.{entry}", kernel.family),
                    message: format!("no storage binding {binding} in the shader"),
                })?;
            entries.push(wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            });
        }
        let label = format!("{}.{entry}", kernel.family);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(&label),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: Some(&pipeline_layout),
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
        let compiled = Compiled { pipeline, layout };
        self.pipelines
            .borrow_mut()
            .insert((kernel.family, entry), compiled.clone());
        Ok(compiled)
    }

    /// Writes `params` into the next uniform slot; returns its offset.
    fn uniform_slot(&self, params: &[u32]) -> u32 {
        let mut ring = self.uniforms.borrow_mut();
        if ring.unsubmitted >= ring.slots {
            // One recording outgrew the ring: a bigger one, and bind groups
            // that name it.
            let unsubmitted = ring.unsubmitted;
            *ring = UniformRing::new(&self.ctx.device, ring.slots * 2);
            ring.unsubmitted = unsubmitted;
            self.created_buffer();
            self.bind_groups.borrow_mut().clear();
        }
        let offset = ring.next * SLOT as u32;
        ring.next = (ring.next + 1) % ring.slots;
        ring.unsubmitted += 1;
        let mut words = params.to_vec();
        words.resize(params.len().div_ceil(4).max(1) * 4, 0); // uniform structs are 16-byte multiples
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.ctx
            .queue
            .write_buffer(&ring.buffer, offset as u64, &bytes);
        offset
    }

    /// The bind group for these buffers, made once.
    fn bind_group(
        &self,
        kernel: &Kernel,
        entry: &'static str,
        layout: &wgpu::BindGroupLayout,
        storage: &[(u32, &GpuTensor)],
    ) -> wgpu::BindGroup {
        let key: BindKey = (
            kernel.family,
            entry,
            storage
                .iter()
                .map(|(binding, t)| (*binding, t.buffer.clone()))
                .collect(),
        );
        if let Some(group) = self.bind_groups.borrow().get(&key) {
            return group.clone();
        }
        let ring = self.uniforms.borrow();
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &ring.buffer,
                offset: 0,
                size: wgpu::BufferSize::new(SLOT),
            }),
        })
        .chain(storage.iter().map(|(binding, t)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: t.buffer.as_entire_binding(),
        }))
        .collect();
        let group = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(entry),
                layout,
                entries: &entries,
            });
        let mut c = self.created.get();
        c.bind_groups += 1;
        self.created.set(c);
        let mut cache = self.bind_groups.borrow_mut();
        if cache.len() >= BIND_GROUP_CACHE {
            cache.clear();
        }
        cache.insert(key, group.clone());
        group
    }
}

impl UniformRing {
    fn new(device: &wgpu::Device, slots: u32) -> UniformRing {
        UniformRing {
            buffer: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("executor.uniforms"),
                size: slots as u64 * SLOT,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            slots,
            next: 0,
            unsubmitted: 0,
        }
    }
}

/// Whether `@binding(binding)` in `wgsl` is `var<storage, read>` (true) or
/// `read_write` (false); `None` if it is not a storage binding.
fn storage_read_only(wgsl: &str, binding: u32) -> Option<bool> {
    let tag = format!("@binding({binding})");
    wgsl.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .find_map(|line| {
            let rest = &line[line.find(&tag)? + tag.len()..];
            let decl = rest.trim_start().strip_prefix("var<storage")?;
            let access = decl.split('>').next()?;
            Some(!access.contains("read_write"))
        })
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
        let exec = self.exec;
        let compiled = match exec.pipeline(kernel, entry, storage) {
            Ok(c) => c,
            Err(e) => {
                // Reported as wgpu reports a bad dispatch: through `check`.
                exec.ctx.report(e);
                return;
            }
        };
        let offset = exec.uniform_slot(params);
        let bind_group = exec.bind_group(kernel, entry, &compiled.layout, storage);
        let mut profiling = exec.profiling.borrow_mut();
        let timestamps = profiling
            .as_mut()
            .and_then(|p| p.timestamp_writes(kernel.family, entry));
        let waits = profiling
            .as_ref()
            .is_some_and(|p| p.clock() == Clock::Submissions);
        if waits {
            // Everything recorded so far runs first, untimed.
            let earlier = std::mem::replace(&mut self.encoder, exec.encoder());
            exec.ctx.queue.submit([earlier.finish()]);
            exec.ctx.wait();
        }
        let started = web_time::Instant::now();
        {
            let mut pass = self
                .encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(entry),
                    timestamp_writes: timestamps.as_ref().map(|(set, first)| {
                        wgpu::ComputePassTimestampWrites {
                            query_set: set,
                            beginning_of_pass_write_index: Some(*first),
                            end_of_pass_write_index: Some(first + 1),
                        }
                    }),
                });
            pass.set_pipeline(&compiled.pipeline);
            pass.set_bind_group(0, &bind_group, &[offset]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        if waits {
            let this = std::mem::replace(&mut self.encoder, exec.encoder());
            exec.ctx.queue.submit([this.finish()]);
            exec.ctx.wait();
        }
        self.dispatches += 1;
        if let Some(p) = profiling.as_mut() {
            if waits {
                p.waited(kernel.family, entry, started.elapsed().as_secs_f64() * 1e3);
            }
            p.count(kernel.family, entry, exec.creations());
        }
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
