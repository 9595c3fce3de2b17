//! The digit transformer on the GPU (filled in below).
