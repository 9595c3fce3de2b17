//! The detector's weights and its CPU forward pass, built from the kernels'
//! CPU references (`reference::*`): the fallback without WebGPU and the
//! oracle the GPU path (`detr::gpu`) is tested against. The network is
//! described in `detr::config`.

use crate::{
    error::ComputeError,
    kernels::{
        conv2d::{Conv2dShape, ConvMask},
        elementwise::{Activation, Binary},
        full_attention::FullAttentionShape,
        reduce::Rows,
    },
    models::transpose,
    reference::{
        conv2d::conv2d_ref,
        elementwise::{activation_ref, binary_ref},
        full_attention::full_attention_ref,
        q8::linear_q8_ref,
        reduce::layernorm_ref,
    },
    weights::{load, Q8Matrix, WeightFile},
};

use super::{
    config::{
        sine_positions, specs, BACKBONE, CELLS, CLASSES, DECODER_LAYERS, DIM, ENCODER_LAYERS,
        HEADS, HEAD_DIM, LN_EPS, QUERIES, WEIGHTS_PATH,
    },
    output::{read_queries, QueryOutput},
    scenes::CANVAS,
};

/// y = x·Wᵀ + b, W in Q8_0.
#[derive(Debug, Clone)]
pub struct Linear {
    pub w: Q8Matrix,
    pub b: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct Norm {
    pub g: Vec<f32>,
    pub b: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
}

#[derive(Debug, Clone)]
pub struct EncoderLayer {
    pub ln1: Norm,
    pub attention: Attention,
    pub ln2: Norm,
    pub ffn1: Linear,
    pub ffn2: Linear,
}

#[derive(Debug, Clone)]
pub struct DecoderLayer {
    pub ln1: Norm,
    pub self_attention: Attention,
    pub ln2: Norm,
    pub cross_attention: Attention,
    pub ln3: Norm,
    pub ffn1: Linear,
    pub ffn2: Linear,
}

#[derive(Debug, Clone)]
pub struct Detr {
    /// The backbone's convolutions: Q8_0 [cout, cin·9] and the same dequantized.
    pub convs: Vec<(Linear, Vec<f32>)>,
    pub proj: Linear,
    pub encoder: Vec<EncoderLayer>,
    pub encoder_norm: Norm,
    pub query_pos: Vec<f32>,
    pub decoder: Vec<DecoderLayer>,
    pub decoder_norm: Norm,
    pub class: Linear,
    pub box_mlp: [Linear; 3],
    /// The sine encoding, [CELLS, DIM].
    pub pos: Vec<f32>,
}

/// Everything one forward pass shows: each decoder layer's outputs (the last
/// is the detector's answer) and the attention maps.
#[derive(Debug, Clone, PartialEq)]
pub struct DetrTrace {
    /// Per decoder layer: class logits [N, 11].
    pub logits: Vec<Vec<f32>>,
    /// Per decoder layer: boxes [N, 4], sigmoid (cx, cy, w, h).
    pub boxes: Vec<Vec<f32>>,
    /// Per decoder layer: cross-attention of each query over the 12×12
    /// cells, [heads, N, CELLS].
    pub cross_attention: Vec<Vec<f32>>,
    /// Per encoder layer: self-attention, [heads, CELLS, CELLS].
    pub encoder_attention: Vec<Vec<f32>>,
}

impl DetrTrace {
    /// The detector's answer: the last decoder layer's queries.
    pub fn queries(&self) -> Vec<QueryOutput> {
        self.layer_queries(DECODER_LAYERS - 1)
    }

    pub fn layer_queries(&self, layer: usize) -> Vec<QueryOutput> {
        read_queries(&self.logits[layer], &self.boxes[layer])
    }

    /// The final predictions as a stage [QUERIES, CLASSES + 4]: per query,
    /// its class probabilities (∅ last), then its box (cx, cy, w, h) in [0, 1].
    pub fn prediction_stage(&self) -> Stage {
        let values = self
            .queries()
            .iter()
            .flat_map(|q| {
                let box_values = q.prediction.bbox.map(|b| b as f32);
                q.probs.map(|p| p as f32).into_iter().chain(box_values)
            })
            .collect();
        Stage {
            shape: vec![QUERIES, CLASSES + 4],
            values,
        }
    }

    /// The largest absolute difference between two traces' numbers.
    pub fn max_abs_diff(&self, other: &DetrTrace) -> f32 {
        let all = |t: &DetrTrace| {
            [
                &t.logits,
                &t.boxes,
                &t.cross_attention,
                &t.encoder_attention,
            ]
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .collect::<Vec<f32>>()
        };
        let (a, b) = (all(self), all(other));
        if a.len() != b.len() {
            return f32::INFINITY;
        }
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }
}

/// One tensor on the way from image to boxes, row-major in `shape`'s order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stage {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// The detector's inside, stage by stage: each backbone convolution's
/// feature maps [channels, side, side] after its ReLU, the encoder's 144
/// tokens [CELLS, DIM] after its final norm, and the 10 queries after each
/// decoder layer [QUERIES, DIM] (normed, as the heads read them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pipeline {
    pub features: Vec<Stage>,
    pub encoder_tokens: Stage,
    pub decoder_queries: Vec<Stage>,
}

/// A 96×96 image of finite values, or a typed error saying what is wrong.
pub fn check_image(image: &[f32]) -> Result<(), ComputeError> {
    if image.len() != CANVAS * CANVAS {
        return Err(ComputeError::Shape {
            op: "detr",
            detail: format!("an image has {} pixels, not 96 × 96", image.len()),
        });
    }
    if image.iter().any(|v| !v.is_finite()) {
        return Err(ComputeError::Shape {
            op: "detr",
            detail: "an image holds a NaN or an infinity".into(),
        });
    }
    Ok(())
}

fn missing(name: &str) -> ComputeError {
    ComputeError::Shape {
        op: "detr weights",
        detail: format!("no tensor {name}"),
    }
}

struct Reader<'a>(&'a WeightFile);

impl Reader<'_> {
    fn vector(&self, name: &str) -> Result<Vec<f32>, ComputeError> {
        self.0
            .f32(name)
            .map(<[f32]>::to_vec)
            .ok_or_else(|| missing(name))
    }

    fn linear(&self, name: &str) -> Result<Linear, ComputeError> {
        let w = format!("{name}.w");
        Ok(Linear {
            w: self.0.q8_0(&w).cloned().ok_or_else(|| missing(&w))?,
            b: self.vector(&format!("{name}.b"))?,
        })
    }

    fn norm(&self, name: &str) -> Result<Norm, ComputeError> {
        Ok(Norm {
            g: self.vector(&format!("{name}.g"))?,
            b: self.vector(&format!("{name}.b"))?,
        })
    }

    fn attention(&self, name: &str) -> Result<Attention, ComputeError> {
        Ok(Attention {
            q: self.linear(&format!("{name}.q"))?,
            k: self.linear(&format!("{name}.k"))?,
            v: self.linear(&format!("{name}.v"))?,
            o: self.linear(&format!("{name}.o"))?,
        })
    }
}

/// x [m, in] → x·Wᵀ + b.
fn linear(x: &[f32], l: &Linear, m: usize) -> Result<Vec<f32>, ComputeError> {
    binary_ref(&linear_q8_ref(x, &l.w, m)?, &l.b, Binary::Add)
}

fn norm(x: &[f32], n: &Norm) -> Vec<f32> {
    let rows = x.len() / DIM;
    layernorm_ref(x, &n.g, &n.b, Rows { rows, cols: DIM }, LN_EPS)
}

fn add(a: &[f32], b: &[f32]) -> Result<Vec<f32>, ComputeError> {
    binary_ref(a, b, Binary::Add)
}

/// Attention of `tq` rows of `q` over `tk` rows of `k` and `v`: (output, probs).
fn attend(
    a: &Attention,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    tq: usize,
    tk: usize,
) -> Result<(Vec<f32>, Vec<f32>), ComputeError> {
    let shape = FullAttentionShape {
        heads: HEADS,
        head_dim: HEAD_DIM,
        tq,
        tk,
    };
    let (out, probs) = full_attention_ref(
        &linear(q, &a.q, tq)?,
        &linear(k, &a.k, tk)?,
        &linear(v, &a.v, tk)?,
        shape,
    )?;
    Ok((linear(&out, &a.o, tq)?, probs))
}

fn ffn(x: &[f32], ffn1: &Linear, ffn2: &Linear, m: usize) -> Result<Vec<f32>, ComputeError> {
    let up = activation_ref(&linear(x, ffn1, m)?, Activation::Relu)?;
    linear(&up, ffn2, m)
}

/// The shapes of the backbone's convolutions, in order.
pub fn conv_shapes() -> Vec<Conv2dShape> {
    let mut side = CANVAS;
    BACKBONE
        .iter()
        .map(|&(cin, cout, stride)| {
            let s = Conv2dShape {
                batch: 1,
                cin,
                h: side,
                w: side,
                cout,
                k: 3,
                stride,
                pad: 1,
                mask: ConvMask::None,
            };
            side = s.out_hw().0;
            s
        })
        .collect()
}

impl Detr {
    /// Parses and checks a weights file (`assets/models/detr/detr.safetensors`).
    pub fn load(bytes: &[u8]) -> Result<Detr, ComputeError> {
        Detr::from_weights(&load(WEIGHTS_PATH, bytes, &specs())?)
    }

    pub fn from_weights(file: &WeightFile) -> Result<Detr, ComputeError> {
        let r = Reader(file);
        let convs = (0..BACKBONE.len())
            .map(|i| {
                let l = r.linear(&format!("conv{i}"))?;
                let dense = l.w.dequantize();
                Ok((l, dense))
            })
            .collect::<Result<_, ComputeError>>()?;
        let encoder = (0..ENCODER_LAYERS)
            .map(|i| {
                let n = format!("enc{i}");
                Ok(EncoderLayer {
                    ln1: r.norm(&format!("{n}.ln1"))?,
                    attention: r.attention(&format!("{n}.self"))?,
                    ln2: r.norm(&format!("{n}.ln2"))?,
                    ffn1: r.linear(&format!("{n}.ffn1"))?,
                    ffn2: r.linear(&format!("{n}.ffn2"))?,
                })
            })
            .collect::<Result<_, ComputeError>>()?;
        let decoder = (0..DECODER_LAYERS)
            .map(|i| {
                let n = format!("dec{i}");
                Ok(DecoderLayer {
                    ln1: r.norm(&format!("{n}.ln1"))?,
                    self_attention: r.attention(&format!("{n}.self"))?,
                    ln2: r.norm(&format!("{n}.ln2"))?,
                    cross_attention: r.attention(&format!("{n}.cross"))?,
                    ln3: r.norm(&format!("{n}.ln3"))?,
                    ffn1: r.linear(&format!("{n}.ffn1"))?,
                    ffn2: r.linear(&format!("{n}.ffn2"))?,
                })
            })
            .collect::<Result<_, ComputeError>>()?;
        Ok(Detr {
            convs,
            proj: r.linear("proj")?,
            encoder,
            encoder_norm: r.norm("enc.norm")?,
            query_pos: r.vector("query_pos")?,
            decoder,
            decoder_norm: r.norm("dec.norm")?,
            class: r.linear("class")?,
            box_mlp: [r.linear("box1")?, r.linear("box2")?, r.linear("box3")?],
            pos: sine_positions(),
        })
    }

    /// Untrained weights from a seed, for tests that need no trained file.
    pub fn random(seed: u64) -> Detr {
        let bytes = crate::weights::random_safetensors(&specs(), seed, |spec| {
            if spec.name == "query_pos" || spec.shape.len() == 1 {
                0.5
            } else {
                (3.0 / spec.shape[1] as f32).sqrt()
            }
        });
        Detr::load(&bytes).expect("random weights fit the specs")
    }

    /// The forward pass on the CPU for one 96×96 image in [0, 1].
    pub fn forward_ref(&self, image: &[f32]) -> Result<DetrTrace, ComputeError> {
        self.forward_stages(image).map(|(trace, _)| trace)
    }

    /// The forward pass, keeping every stage between image and boxes: the
    /// CPU reference for the pipeline view.
    pub fn forward_stages(&self, image: &[f32]) -> Result<(DetrTrace, Pipeline), ComputeError> {
        check_image(image)?;
        let mut pipeline = Pipeline::default();
        let mut x = image.to_vec();
        for ((conv, dense), shape) in self.convs.iter().zip(conv_shapes()) {
            x = activation_ref(&conv2d_ref(&x, dense, &conv.b, shape)?, Activation::Relu)?;
            let (h, w) = shape.out_hw();
            pipeline.features.push(Stage {
                shape: vec![shape.cout, h, w],
                values: x.clone(),
            });
        }
        let tokens = transpose(&x, BACKBONE[3].1, CELLS);
        let mut memory = linear(&tokens, &self.proj, CELLS)?;
        let mut encoder_attention = Vec::with_capacity(ENCODER_LAYERS);
        for l in &self.encoder {
            let h = norm(&memory, &l.ln1);
            let qk = add(&h, &self.pos)?;
            let (a, probs) = attend(&l.attention, &qk, &qk, &h, CELLS, CELLS)?;
            encoder_attention.push(probs);
            memory = add(&memory, &a)?;
            let h = norm(&memory, &l.ln2);
            memory = add(&memory, &ffn(&h, &l.ffn1, &l.ffn2, CELLS)?)?;
        }
        let memory = norm(&memory, &self.encoder_norm);
        pipeline.encoder_tokens = Stage {
            shape: vec![CELLS, DIM],
            values: memory.clone(),
        };
        let keys = add(&memory, &self.pos)?;
        let mut tgt = vec![0f32; QUERIES * DIM];
        let mut trace = DetrTrace {
            logits: Vec::new(),
            boxes: Vec::new(),
            cross_attention: Vec::new(),
            encoder_attention,
        };
        for l in &self.decoder {
            let h = norm(&tgt, &l.ln1);
            let q = add(&h, &self.query_pos)?;
            let (a, _) = attend(&l.self_attention, &q, &q, &h, QUERIES, QUERIES)?;
            tgt = add(&tgt, &a)?;
            let h = norm(&tgt, &l.ln2);
            let q = add(&h, &self.query_pos)?;
            let (a, probs) = attend(&l.cross_attention, &q, &keys, &memory, QUERIES, CELLS)?;
            trace.cross_attention.push(probs);
            tgt = add(&tgt, &a)?;
            let h = norm(&tgt, &l.ln3);
            tgt = add(&tgt, &ffn(&h, &l.ffn1, &l.ffn2, QUERIES)?)?;
            let out = norm(&tgt, &self.decoder_norm);
            trace.logits.push(linear(&out, &self.class, QUERIES)?);
            pipeline.decoder_queries.push(Stage {
                shape: vec![QUERIES, DIM],
                values: out.clone(),
            });
            let [b1, b2, b3] = &self.box_mlp;
            let hidden = activation_ref(&linear(&out, b1, QUERIES)?, Activation::Relu)?;
            let hidden = activation_ref(&linear(&hidden, b2, QUERIES)?, Activation::Relu)?;
            trace.boxes.push(activation_ref(
                &linear(&hidden, b3, QUERIES)?,
                Activation::Sigmoid,
            )?);
        }
        debug_assert!(trace.logits.iter().all(|l| l.len() == QUERIES * CLASSES));
        Ok((trace, pipeline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_shapes_and_bad_images() {
        let model = Detr::random(3);
        let mut image = vec![0f32; CANVAS * CANVAS];
        image[40 * CANVAS + 40] = 1.0;
        let t = model.forward_ref(&image).unwrap();
        assert_eq!(t.logits.len(), DECODER_LAYERS);
        assert_eq!(t.boxes[0].len(), QUERIES * 4);
        assert_eq!(t.cross_attention[0].len(), HEADS * QUERIES * CELLS);
        assert_eq!(t.encoder_attention.len(), ENCODER_LAYERS);
        // Each attention row is a distribution.
        for row in t.cross_attention[1].chunks(CELLS) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        assert!(t.boxes.iter().flatten().all(|&b| (0.0..=1.0).contains(&b)));
        assert_eq!(t.queries().len(), QUERIES);
        assert!(matches!(
            model.forward_ref(&image[1..]),
            Err(ComputeError::Shape { .. })
        ));
        image[7] = f32::NAN;
        assert!(model.forward_ref(&image).is_err());
        assert!(Detr::load(b"not a weights file").is_err());
    }

    #[test]
    fn pipeline_stages_have_the_configs_shapes() {
        let model = Detr::random(5);
        let mut image = vec![0f32; CANVAS * CANVAS];
        for y in 30..60 {
            image[y * CANVAS + 45] = 1.0;
        }
        let (trace, p) = model.forward_stages(&image).unwrap();
        assert_eq!(trace, model.forward_ref(&image).unwrap());
        let shapes: Vec<Vec<usize>> = p.features.iter().map(|s| s.shape.clone()).collect();
        assert_eq!(
            shapes,
            vec![
                vec![16, 48, 48],
                vec![32, 24, 24],
                vec![64, 12, 12],
                vec![64, 12, 12]
            ]
        );
        for (stage, &(_, cout, _)) in p.features.iter().zip(&BACKBONE) {
            assert_eq!(stage.shape[0], cout);
            assert_eq!(stage.values.len(), stage.shape.iter().product::<usize>());
            assert!(stage.values.iter().all(|&v| v >= 0.0), "after ReLU");
        }
        assert_eq!(p.encoder_tokens.shape, vec![CELLS, DIM]);
        assert_eq!(p.encoder_tokens.values.len(), CELLS * DIM);
        assert_eq!(p.decoder_queries.len(), DECODER_LAYERS);
        // The class head applied to each kept stage gives that layer's logits.
        for (stage, logits) in p.decoder_queries.iter().zip(&trace.logits) {
            assert_eq!(stage.shape, vec![QUERIES, DIM]);
            assert_eq!(
                &linear(&stage.values, &model.class, QUERIES).unwrap(),
                logits
            );
        }
    }
}
