//! Models assembled from the kernels, each with a GPU path (recorded
//! dispatches) and a CPU path (the references), so the two can be compared
//! layer by layer and the CPU path serves browsers without WebGPU.

pub mod ar;
pub mod digit_transformer;
pub mod mla;
pub mod tiny_transformer;
