//! compute's integration tests, as one test binary: each file used to be
//! its own binary linking wgpu and candle again, minutes of CI for nothing.
//! A file per subject still: `<family>_parity` (a kernel family on the GPU
//! against its CPU reference), `model_parity`, the committed models, assets.

mod common;

mod align;
mod ar_committed_models;
mod assets_manifest;
mod attention_sample_parity;
mod bench_suite;
mod coco_reference;
mod conv2d_parity;
mod detr;
mod digit_transformer;
mod elementwise_parity;
mod embedding_rope_parity;
mod faces;
mod gemm_parity;
mod instruct;
mod llama;
mod lora;
mod mnist_data;
mod model_parity;
mod q8_parity;
mod reduce_parity;
mod search;
mod spp_detector;
mod spp_parity;
mod tokenizer;
mod weights_fuzz;
