//! One GPU context type for every platform: Vulkan or GL natively (lavapipe
//! in tests), WebGPU in the browser.

use std::sync::{Arc, Mutex};

use crate::error::ComputeError;

/// What the page shows about the GPU: plain data, cheap to clone.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSummary {
    pub adapter_name: String,
    pub backend: String,
    pub device_type: &'static str,
    pub driver: String,
    /// (name, value) of the limits the kernels care about.
    pub limits: Vec<(&'static str, u64)>,
    pub features: Vec<String>,
}

/// The device and queue, plus the first fatal error wgpu reported for them.
///
/// wgpu's default handler panics on an uncaptured error; we record it instead
/// so a bad dispatch or a lost device becomes a [`ComputeError`], not a crash.
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    adapter: wgpu::Adapter,
    adapter_name: String,
    fault: Arc<Mutex<Option<ComputeError>>>,
    /// Called once if the device is lost, with wgpu's message.
    lost_hook: Arc<Mutex<Option<LostHook>>>,
}

type LostHook = Box<dyn Fn(String) + Send>;

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter.get_info().name)
            .finish()
    }
}

#[cfg(target_arch = "wasm32")]
const BACKENDS: wgpu::Backends = wgpu::Backends::BROWSER_WEBGPU;
#[cfg(not(target_arch = "wasm32"))]
const BACKENDS: wgpu::Backends = wgpu::Backends::VULKAN.union(wgpu::Backends::GL);

impl GpuContext {
    /// Finds an adapter and opens a device with the adapter's default limits
    /// for WebGPU, so what passes here passes in every browser.
    pub async fn new() -> Result<Self, ComputeError> {
        if cfg!(target_arch = "wasm32") && !wgpu::util::is_browser_webgpu_supported().await {
            return Err(ComputeError::WebGpuUnsupported);
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: BACKENDS,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            .map_err(|e| ComputeError::NoAdapter(e.to_string()))?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("glassbox"),
                required_limits: wgpu::Limits::default().using_resolution(adapter.limits()),
                // For the profile (`profile.rs`), where the adapter grants it.
                required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
                ..Default::default()
            })
            .await
            .map_err(|e| ComputeError::RequestDevice(e.to_string()))?;

        let fault: Arc<Mutex<Option<ComputeError>>> = Arc::default();
        let on_error = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            record(
                &on_error,
                ComputeError::Gpu {
                    label: "device".into(),
                    message: e.to_string(),
                },
            );
        }));
        let on_lost = fault.clone();
        let lost_hook: Arc<Mutex<Option<LostHook>>> = Arc::default();
        let hook = lost_hook.clone();
        device.set_device_lost_callback(move |reason, message| {
            let why = format!("{reason:?}: {message}");
            record(&on_lost, ComputeError::DeviceLost(why.clone()));
            if let Some(hook) = hook.lock().ok().and_then(|mut h| h.take()) {
                hook(why);
            }
        });
        let adapter_name = adapter_name(&adapter).await;
        Ok(GpuContext {
            device,
            queue,
            adapter,
            adapter_name,
            fault,
            lost_hook,
        })
    }

    /// Calls `hook` once when the device is lost (the driver reset, the
    /// tab was backgrounded too long, or [`GpuContext::lose`]).
    pub fn on_lost(&self, hook: impl Fn(String) + Send + 'static) {
        if let Ok(mut slot) = self.lost_hook.lock() {
            *slot = Some(Box::new(hook));
        }
    }

    /// Destroys the device on purpose, as a driver reset would: for testing
    /// recovery (`debug=lose-device`).
    pub fn lose(&self) {
        self.device.destroy();
    }

    pub fn is_lost(&self) -> bool {
        matches!(self.check(), Err(ComputeError::DeviceLost(_)))
    }

    pub fn summary(&self) -> GpuSummary {
        let info = self.adapter.get_info();
        let l = self.device.limits();
        GpuSummary {
            adapter_name: self.adapter_name.clone(),
            backend: info.backend.to_string(),
            device_type: match info.device_type {
                wgpu::DeviceType::Cpu => "CPU (software rendering)",
                wgpu::DeviceType::IntegratedGpu => "integrated GPU",
                wgpu::DeviceType::DiscreteGpu => "discrete GPU",
                wgpu::DeviceType::VirtualGpu => "virtual GPU",
                wgpu::DeviceType::Other => "not reported",
            },
            driver: [info.driver, info.driver_info]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            limits: vec![
                (
                    "maxStorageBufferBindingSize",
                    l.max_storage_buffer_binding_size,
                ),
                ("maxBufferSize", l.max_buffer_size),
                (
                    "maxComputeWorkgroupStorageSize",
                    l.max_compute_workgroup_storage_size as u64,
                ),
                (
                    "maxComputeInvocationsPerWorkgroup",
                    l.max_compute_invocations_per_workgroup as u64,
                ),
                (
                    "maxComputeWorkgroupSizeX",
                    l.max_compute_workgroup_size_x as u64,
                ),
                (
                    "maxComputeWorkgroupsPerDimension",
                    l.max_compute_workgroups_per_dimension as u64,
                ),
                (
                    "maxStorageBuffersPerShaderStage",
                    l.max_storage_buffers_per_shader_stage as u64,
                ),
            ],
            features: self
                .adapter
                .features()
                .iter_names()
                .map(|(name, _)| name.to_string())
                .collect(),
        }
    }

    /// The first error wgpu reported asynchronously, if any. Once the device
    /// has faulted, every later call returns this error.
    pub fn check(&self) -> Result<(), ComputeError> {
        match self.fault.lock().map(|f| f.clone()) {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(_) => Err(ComputeError::DeviceLost("error state poisoned".into())),
        }
    }

    /// Records an error as if wgpu had reported it: [`GpuContext::check`]
    /// returns it from now on.
    pub fn report(&self, error: ComputeError) {
        record(&self.fault, error);
    }

    /// Natively, blocks until the GPU has finished everything submitted
    /// (for the profile's per-dispatch clock); a browser cannot block.
    pub fn wait(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Err(e) = self.device.poll(wgpu::PollType::wait_indefinitely()) {
            self.report(ComputeError::Readback(e.to_string()));
        }
    }

    /// Copies `len` f32 values out of `source` (which needs `COPY_SRC`).
    ///
    /// Awaits `map_async` through a channel, so nothing blocks in a browser;
    /// natively it polls the device until the copy is done.
    pub async fn read_f32(
        &self,
        source: &wgpu::Buffer,
        len: usize,
        label: &str,
    ) -> Result<Vec<f32>, ComputeError> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len.max(1) * 4) as wgpu::BufferAddress,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.read_f32_through(source, len, &staging).await
    }

    /// [`GpuContext::read_f32`] through a given staging buffer (`MAP_READ |
    /// COPY_DST`, at least `4 · len` bytes), unmapped again afterwards.
    pub async fn read_f32_through(
        &self,
        source: &wgpu::Buffer,
        len: usize,
        staging: &wgpu::Buffer,
    ) -> Result<Vec<f32>, ComputeError> {
        let size = (len * 4) as wgpu::BufferAddress;
        if size > staging.size() {
            return Err(ComputeError::Readback(format!(
                "{size} bytes through a {}-byte staging buffer",
                staging.size()
            )));
        }
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        if size > 0 {
            encoder.copy_buffer_to_buffer(source, 0, staging, 0, size);
        }
        self.queue.submit([encoder.finish()]);

        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = sender.send(result);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| ComputeError::Readback(e.to_string()))?;
        receiver
            .await
            .map_err(|_| ComputeError::Readback("the map callback was dropped".into()))?
            .map_err(|e| ComputeError::Readback(e.to_string()))?;
        let values = {
            let view = staging
                .get_mapped_range(..size.max(4))
                .map_err(|e| ComputeError::Readback(e.to_string()));
            view.map(|view| {
                view.chunks_exact(4)
                    .take(len)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect::<Vec<f32>>()
            })
        };
        staging.unmap();
        self.check()?;
        values
    }
}

/// The adapter's name. Natively wgpu reports the driver's device name.
#[cfg(not(target_arch = "wasm32"))]
async fn adapter_name(adapter: &wgpu::Adapter) -> String {
    adapter.get_info().name
}

/// In browsers wgpu reads only `GPUAdapterInfo.description`, which Chrome
/// leaves empty for privacy; `vendor` and `architecture` (for example
/// "google" and "swiftshader") are filled in, so ask for those directly.
#[cfg(target_arch = "wasm32")]
async fn adapter_name(adapter: &wgpu::Adapter) -> String {
    use js_sys::Reflect;
    use wasm_bindgen::{JsCast, JsValue};

    let description = adapter.get_info().name;
    if !description.is_empty() {
        return description;
    }
    let get = |target: &JsValue, key: &str| Reflect::get(target, &JsValue::from_str(key)).ok();
    let info = async {
        let gpu = get(&get(&js_sys::global(), "navigator")?, "gpu")?;
        let request: js_sys::Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
        let promise: js_sys::Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
        let js_adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
        get(&js_adapter, "info")
    };
    let Some(info) = info.await else {
        return "unnamed adapter".into();
    };
    let parts: Vec<String> = ["vendor", "architecture", "device"]
        .iter()
        .filter_map(|key| get(&info, key)?.as_string())
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        "unnamed adapter".into()
    } else {
        parts.join(" ")
    }
}

fn record(slot: &Mutex<Option<ComputeError>>, error: ComputeError) {
    if let Ok(mut slot) = slot.lock() {
        slot.get_or_insert(error);
    }
}
