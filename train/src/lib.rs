//! Training for glassbox's models, in Rust on candle, on the CPU, with fixed
//! seeds. `cargo xtask train ar --model <name>` runs `src/main.rs`.

pub mod ar;
pub mod attention;
pub mod coco;
pub mod data;
pub mod detr;
pub mod fit;
pub mod instruct;
pub mod llama;
pub mod shipped;
pub mod spp;
