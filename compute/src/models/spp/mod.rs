//! Chapter 9's SPP-net face detector: a few convolutions, a spatial pyramid
//! pooling layer and two fully connected layers, run two ways on the same
//! windows: R-CNN style (crop, warp and convolve every window) and SPP-net
//! style (convolve the image once, pool each window from the shared map).

pub mod config;
pub mod gpu;
pub mod model;
pub mod race;
pub mod windows;
