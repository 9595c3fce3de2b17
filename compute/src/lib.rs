//! glassbox's runtime: the GPU context, the WGSL kernel drivers, and the CPU
//! reference that doubles as the fallback backend and the test oracle.
//! No UI code lives here.

pub mod align;
pub mod backend;
pub mod bench;
pub mod error;
pub mod executor;
pub mod faces;
pub mod gpu;
pub mod image;
pub mod inputs;
pub mod instruct;
pub mod kernels;
pub mod kv_cache;
pub mod models;
pub mod profile;
pub mod reference;
pub mod search;
pub mod selftest;
pub mod tang;
pub mod tokenizer;
pub mod weights;
pub mod workloads;

pub use backend::Backend;
pub use error::ComputeError;
pub use executor::{Executor, GpuTensor, Kernel, Recording};
pub use gpu::{GpuContext, GpuSummary};
