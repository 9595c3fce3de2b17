use thiserror::Error;

/// Everything that can go wrong in the runtime, as a value the UI can show.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ComputeError {
    /// The browser has no `navigator.gpu`, or it hands out no adapter.
    #[error("this browser offers no WebGPU adapter")]
    WebGpuUnsupported,
    /// The page has WebGPU, but the CPU runs this model faster, or the
    /// visitor asked for the CPU (`backend=cpu`); the text says which.
    #[error("{0}")]
    CpuChosen(String),
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),
    #[error("the GPU refused to create a device: {0}")]
    RequestDevice(String),
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    /// A validation or out-of-memory error reported by wgpu for our own commands.
    #[error("GPU error in {label}: {message}")]
    Gpu { label: String, message: String },
    #[error("reading a GPU buffer back failed: {0}")]
    Readback(String),
    #[error("bad shape for {op}: {detail}")]
    Shape { op: &'static str, detail: String },
    #[error("CPU reference failed: {0}")]
    Cpu(String),
    #[error(transparent)]
    Weights(#[from] crate::weights::WeightsError),
}

impl From<candle_core::Error> for ComputeError {
    fn from(e: candle_core::Error) -> Self {
        ComputeError::Cpu(e.to_string())
    }
}
