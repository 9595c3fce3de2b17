//! Chapter 3's small DETR: its sizes, its tensors, and the 2D sine
//! positional encoding, shared by the trainer, the CPU reference and the GPU
//! path so that all three compute the same function.
//!
//! The network (Carion et al., 2020, §3.2, pre-norm):
//! - backbone: four 3×3 convolutions with ReLU, strides 2, 2, 2, 1, from the
//!   96×96 image to a 12×12 map of 64 channels, then a 1×1 projection to the
//!   model width;
//! - encoder: `ENCODER_LAYERS` layers of self-attention and a ReLU MLP over
//!   the 144 cells, the sine encoding added to queries and keys;
//! - decoder: `QUERIES` learned query embeddings (DETR's object queries)
//!   attend to each other and to the encoder's output, in `DECODER_LAYERS`
//!   layers; the targets start at zero;
//! - heads, after the decoder's final LayerNorm: a linear class head over
//!   10 digits and ∅, and a 3-layer MLP giving a sigmoid (cx, cy, w, h).
//!   The same heads read every decoder layer (DETR's auxiliary outputs).
//!
//! Tensors: matrices Q8_0 ([out, in]; a convolution's is [cout, cin·9] in
//! (cin, ky, kx) order), vectors and the query embeddings f32.

use crate::weights::TensorSpec;

use super::scenes::CANVAS;

/// (input channels, output channels, stride) of each 3×3 convolution.
pub const BACKBONE: [(usize, usize, usize); 4] =
    [(1, 16, 2), (16, 32, 2), (32, 64, 2), (64, 64, 1)];
pub const FEATURE_SIDE: usize = CANVAS / 8;
/// Encoder tokens: one per cell of the 12×12 feature map.
pub const CELLS: usize = FEATURE_SIDE * FEATURE_SIDE;
pub const DIM: usize = 64;
pub const HEADS: usize = 4;
pub const HEAD_DIM: usize = DIM / HEADS;
pub const FFN: usize = 128;
pub const ENCODER_LAYERS: usize = 2;
pub const DECODER_LAYERS: usize = 3;
pub const QUERIES: usize = 10;
pub const LN_EPS: f32 = 1e-5;
pub use super::set_loss::CLASSES;

// More queries than a canvas has digits (at most 4), and at least 8.
const _: () = assert!(QUERIES >= 8 && QUERIES > super::scenes::MAX_DIGITS);
const _: () = assert!(FEATURE_SIDE == 12);

/// The held-out evaluation: this many scenes from the MNIST test split,
/// generated from this seed (`cargo xtask scenes` writes them as COCO).
pub const TEST_SCENES: usize = 1000;
pub const TEST_SCENES_SEED: u64 = 1_000_003;

pub const WEIGHTS_PATH: &str = "models/detr/detr.safetensors";
pub const METRICS_PATH: &str = "models/detr/detr.json";

fn linear(specs: &mut Vec<TensorSpec>, name: &str, out: usize, inp: usize) {
    specs.push(TensorSpec::q8_0(format!("{name}.w"), out, inp));
    specs.push(TensorSpec::f32(format!("{name}.b"), &[out]));
}

fn norm(specs: &mut Vec<TensorSpec>, name: &str) {
    specs.push(TensorSpec::f32(format!("{name}.g"), &[DIM]));
    specs.push(TensorSpec::f32(format!("{name}.b"), &[DIM]));
}

fn attention(specs: &mut Vec<TensorSpec>, name: &str) {
    for p in ["q", "k", "v", "o"] {
        linear(specs, &format!("{name}.{p}"), DIM, DIM);
    }
}

/// Every tensor the weights file holds, in a fixed order.
pub fn specs() -> Vec<TensorSpec> {
    let mut s = Vec::new();
    for (i, (cin, cout, _)) in BACKBONE.iter().enumerate() {
        linear(&mut s, &format!("conv{i}"), *cout, cin * 9);
    }
    linear(&mut s, "proj", DIM, BACKBONE[3].1);
    for i in 0..ENCODER_LAYERS {
        let n = format!("enc{i}");
        norm(&mut s, &format!("{n}.ln1"));
        attention(&mut s, &format!("{n}.self"));
        norm(&mut s, &format!("{n}.ln2"));
        linear(&mut s, &format!("{n}.ffn1"), FFN, DIM);
        linear(&mut s, &format!("{n}.ffn2"), DIM, FFN);
    }
    norm(&mut s, "enc.norm");
    s.push(TensorSpec::f32("query_pos", &[QUERIES, DIM]));
    for i in 0..DECODER_LAYERS {
        let n = format!("dec{i}");
        norm(&mut s, &format!("{n}.ln1"));
        attention(&mut s, &format!("{n}.self"));
        norm(&mut s, &format!("{n}.ln2"));
        attention(&mut s, &format!("{n}.cross"));
        norm(&mut s, &format!("{n}.ln3"));
        linear(&mut s, &format!("{n}.ffn1"), FFN, DIM);
        linear(&mut s, &format!("{n}.ffn2"), DIM, FFN);
    }
    norm(&mut s, "dec.norm");
    linear(&mut s, "class", CLASSES, DIM);
    linear(&mut s, "box1", DIM, DIM);
    linear(&mut s, "box2", DIM, DIM);
    linear(&mut s, "box3", 4, DIM);
    s
}

pub fn params() -> usize {
    specs()
        .iter()
        .map(|s| s.shape.iter().product::<usize>())
        .sum()
}

/// DETR's `PositionEmbeddingSine(normalize=True)` for the 12×12 map:
/// [CELLS, DIM], the first half encoding the row and the second the column.
/// Channel 2j is sin(p / 10000^(2j/half)), channel 2j+1 cos of the same
/// angle, with p = (index + 1) / (side + 1e-6) · 2π.
pub fn sine_positions() -> Vec<f32> {
    let half = DIM / 2;
    let side = FEATURE_SIDE as f64;
    let encode = |index: usize, k: usize| {
        let p = (index as f64 + 1.0) / (side + 1e-6) * std::f64::consts::TAU;
        let angle = p / 10000f64.powf((2 * (k / 2)) as f64 / half as f64);
        if k.is_multiple_of(2) {
            angle.sin()
        } else {
            angle.cos()
        }
    };
    let mut out = Vec::with_capacity(CELLS * DIM);
    for y in 0..FEATURE_SIDE {
        for x in 0..FEATURE_SIDE {
            out.extend((0..half).map(|k| encode(y, k) as f32));
            out.extend((0..half).map(|k| encode(x, k) as f32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_positions() {
        // The backbone's strides take 96 to 12.
        let stride: usize = BACKBONE.iter().map(|b| b.2).product();
        assert_eq!(CANVAS / stride, FEATURE_SIDE);
        let pos = sine_positions();
        assert_eq!(pos.len(), CELLS * DIM);
        // Cell (0, 0): row channel 0 is sin(2π/12), channel 1 its cosine.
        let a = std::f64::consts::TAU / 12.0;
        assert!((pos[0] as f64 - a.sin()).abs() < 1e-6);
        assert!((pos[1] as f64 - a.cos()).abs() < 1e-6);
        // Cells in one row share the row half and differ in the column half.
        assert_eq!(pos[..DIM / 2], pos[DIM..DIM + DIM / 2]);
        assert_ne!(pos[DIM / 2..DIM], pos[DIM + DIM / 2..2 * DIM]);
    }
}
