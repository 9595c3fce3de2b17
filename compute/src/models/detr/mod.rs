//! Chapter 3's detector: set prediction with Hungarian matching.

pub mod boxes;
pub mod coco_eval;
pub mod config;
pub mod drawing;
pub mod gpu;
pub mod gpu_unfused;
pub mod matching;
pub mod model;
pub mod output;
pub mod scenes;
pub mod set_loss;
