//! The trainer's integration tests, as modules of one test binary: each
//! binary links candle and wgpu again, so one binary compiles and links once.

mod attention;
mod detr;
mod detr_cli;
mod llama;
mod nade_gradient;
mod smoke;
