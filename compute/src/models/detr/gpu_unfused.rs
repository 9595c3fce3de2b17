//! The detector's forward pass on the GPU as it was before fusion: one
//! dispatch per op (about 180 a pass: every GEMM, bias, residual add and
//! LayerNorm on its own). Kept as the benchmark's baseline for
//! [`super::gpu::DetrGpu`] and as a second GPU path the tests compare.

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        conv2d::conv2d,
        elementwise::{activation, binary, transpose, Activation, Binary},
        full_attention::{full_attention, FullAttentionShape},
        q8::{linear_q8, GpuQ8},
        reduce::{layernorm, Rows},
    },
};

use super::{
    config::{BACKBONE, CELLS, DIM, HEADS, HEAD_DIM, LN_EPS, QUERIES},
    gpu::{sizes, unpack},
    model::{check_image, conv_shapes, Attention, Detr, DetrTrace, Linear, Norm},
};

struct GpuLinear {
    w: GpuQ8,
    b: GpuTensor,
}

struct GpuNorm {
    g: GpuTensor,
    b: GpuTensor,
}

struct GpuAttention {
    q: GpuLinear,
    k: GpuLinear,
    v: GpuLinear,
    o: GpuLinear,
}

struct GpuEncoderLayer {
    ln1: GpuNorm,
    attention: GpuAttention,
    ln2: GpuNorm,
    ffn1: GpuLinear,
    ffn2: GpuLinear,
}

struct GpuDecoderLayer {
    ln1: GpuNorm,
    self_attention: GpuAttention,
    ln2: GpuNorm,
    cross_attention: GpuAttention,
    ln3: GpuNorm,
    ffn1: GpuLinear,
    ffn2: GpuLinear,
}

pub struct DetrGpuUnfused {
    /// Dense f32 kernels for the convolution kernel, and biases.
    convs: Vec<(GpuTensor, GpuTensor)>,
    proj: GpuLinear,
    encoder: Vec<GpuEncoderLayer>,
    encoder_norm: GpuNorm,
    query_pos: GpuTensor,
    decoder: Vec<GpuDecoderLayer>,
    decoder_norm: GpuNorm,
    class: GpuLinear,
    box_mlp: [GpuLinear; 3],
    pos: GpuTensor,
    zeros: GpuTensor,
}

fn up_linear(exec: &Executor, l: &Linear) -> GpuLinear {
    GpuLinear {
        w: GpuQ8::upload(exec, &l.w),
        b: exec.upload(&l.b),
    }
}

fn up_norm(exec: &Executor, n: &Norm) -> GpuNorm {
    GpuNorm {
        g: exec.upload(&n.g),
        b: exec.upload(&n.b),
    }
}

fn up_attention(exec: &Executor, a: &Attention) -> GpuAttention {
    GpuAttention {
        q: up_linear(exec, &a.q),
        k: up_linear(exec, &a.k),
        v: up_linear(exec, &a.v),
        o: up_linear(exec, &a.o),
    }
}

fn linear(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    l: &GpuLinear,
    m: usize,
) -> Result<GpuTensor, ComputeError> {
    let y = linear_q8(rec, x, &l.w, m)?;
    binary(rec, &y, &l.b, Binary::Add)
}

fn norm(rec: &mut Recording<'_>, x: &GpuTensor, n: &GpuNorm) -> Result<GpuTensor, ComputeError> {
    let shape = Rows {
        rows: x.len / DIM,
        cols: DIM,
    };
    layernorm(rec, x, &n.g, &n.b, shape, LN_EPS)
}

fn add(rec: &mut Recording<'_>, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor, ComputeError> {
    binary(rec, a, b, Binary::Add)
}

fn attend(
    rec: &mut Recording<'_>,
    a: &GpuAttention,
    [q, k, v]: [&GpuTensor; 3],
    tq: usize,
    tk: usize,
) -> Result<(GpuTensor, GpuTensor), ComputeError> {
    let shape = FullAttentionShape {
        heads: HEADS,
        head_dim: HEAD_DIM,
        tq,
        tk,
    };
    let (q, k, v) = (
        linear(rec, q, &a.q, tq)?,
        linear(rec, k, &a.k, tk)?,
        linear(rec, v, &a.v, tk)?,
    );
    let (out, probs) = full_attention(rec, &q, &k, &v, shape)?;
    Ok((linear(rec, &out, &a.o, tq)?, probs))
}

fn ffn(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    ffn1: &GpuLinear,
    ffn2: &GpuLinear,
    m: usize,
) -> Result<GpuTensor, ComputeError> {
    let up = linear(rec, x, ffn1, m)?;
    let up = activation(rec, &up, Activation::Relu);
    linear(rec, &up, ffn2, m)
}

impl DetrGpuUnfused {
    pub fn upload(exec: &Executor, m: &Detr) -> DetrGpuUnfused {
        let layer = |l: &super::model::EncoderLayer| GpuEncoderLayer {
            ln1: up_norm(exec, &l.ln1),
            attention: up_attention(exec, &l.attention),
            ln2: up_norm(exec, &l.ln2),
            ffn1: up_linear(exec, &l.ffn1),
            ffn2: up_linear(exec, &l.ffn2),
        };
        DetrGpuUnfused {
            convs: m
                .convs
                .iter()
                .map(|(l, dense)| (exec.upload(dense), exec.upload(&l.b)))
                .collect(),
            proj: up_linear(exec, &m.proj),
            encoder: m.encoder.iter().map(layer).collect(),
            encoder_norm: up_norm(exec, &m.encoder_norm),
            query_pos: exec.upload(&m.query_pos),
            decoder: m
                .decoder
                .iter()
                .map(|l| GpuDecoderLayer {
                    ln1: up_norm(exec, &l.ln1),
                    self_attention: up_attention(exec, &l.self_attention),
                    ln2: up_norm(exec, &l.ln2),
                    cross_attention: up_attention(exec, &l.cross_attention),
                    ln3: up_norm(exec, &l.ln3),
                    ffn1: up_linear(exec, &l.ffn1),
                    ffn2: up_linear(exec, &l.ffn2),
                })
                .collect(),
            decoder_norm: up_norm(exec, &m.decoder_norm),
            class: up_linear(exec, &m.class),
            box_mlp: [
                up_linear(exec, &m.box_mlp[0]),
                up_linear(exec, &m.box_mlp[1]),
                up_linear(exec, &m.box_mlp[2]),
            ],
            pos: exec.upload(&m.pos),
            zeros: exec.zeros(QUERIES * DIM),
        }
    }

    /// Records one forward pass; returns the packed outputs (see [`sizes`]).
    fn record(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
    ) -> Result<GpuTensor, ComputeError> {
        let mut x: Option<GpuTensor> = None;
        for ((w, b), shape) in self.convs.iter().zip(conv_shapes()) {
            let input = x.as_ref().unwrap_or(image);
            let y = conv2d(rec, input, w, b, shape)?;
            x = Some(activation(rec, &y, Activation::Relu));
        }
        let x = x.expect("the backbone has layers");
        let tokens = transpose(rec, &x, BACKBONE[3].1, CELLS)?;
        let mut memory = linear(rec, &tokens, &self.proj, CELLS)?;
        let mut outputs: Vec<Vec<GpuTensor>> = (0..4).map(|_| Vec::new()).collect();
        for l in &self.encoder {
            let h = norm(rec, &memory, &l.ln1)?;
            let qk = add(rec, &h, &self.pos)?;
            let (a, probs) = attend(rec, &l.attention, [&qk, &qk, &h], CELLS, CELLS)?;
            outputs[3].push(probs);
            memory = add(rec, &memory, &a)?;
            let h = norm(rec, &memory, &l.ln2)?;
            let f = ffn(rec, &h, &l.ffn1, &l.ffn2, CELLS)?;
            memory = add(rec, &memory, &f)?;
        }
        let memory = norm(rec, &memory, &self.encoder_norm)?;
        let keys = add(rec, &memory, &self.pos)?;
        // The targets start at zero (DETR's `tgt`).
        let mut state: Option<GpuTensor> = None;
        for l in &self.decoder {
            let tgt = state.as_ref().unwrap_or(&self.zeros);
            let h = norm(rec, tgt, &l.ln1)?;
            let q = add(rec, &h, &self.query_pos)?;
            let (a, _) = attend(rec, &l.self_attention, [&q, &q, &h], QUERIES, QUERIES)?;
            let mut tgt = add(rec, tgt, &a)?;
            let h = norm(rec, &tgt, &l.ln2)?;
            let q = add(rec, &h, &self.query_pos)?;
            let (a, probs) = attend(
                rec,
                &l.cross_attention,
                [&q, &keys, &memory],
                QUERIES,
                CELLS,
            )?;
            outputs[2].push(probs);
            tgt = add(rec, &tgt, &a)?;
            let h = norm(rec, &tgt, &l.ln3)?;
            let f = ffn(rec, &h, &l.ffn1, &l.ffn2, QUERIES)?;
            tgt = add(rec, &tgt, &f)?;
            let out = norm(rec, &tgt, &self.decoder_norm)?;
            outputs[0].push(linear(rec, &out, &self.class, QUERIES)?);
            let [b1, b2, b3] = &self.box_mlp;
            let hidden = linear(rec, &out, b1, QUERIES)?;
            let hidden = activation(rec, &hidden, Activation::Relu);
            let hidden = linear(rec, &hidden, b2, QUERIES)?;
            let hidden = activation(rec, &hidden, Activation::Relu);
            let boxes = linear(rec, &hidden, b3, QUERIES)?;
            outputs[1].push(activation(rec, &boxes, Activation::Sigmoid));
            state = Some(tgt);
        }
        let total: usize = sizes().iter().map(|(n, len)| n * len).sum();
        let packed = rec.exec().empty(total);
        let mut offset = 0;
        for (group, (_, len)) in outputs.iter().zip(sizes()) {
            for t in group {
                rec.copy(t, 0, &packed, offset, len);
                offset += len;
            }
        }
        Ok(packed)
    }

    /// One forward pass of a 96×96 image: one submission, one readback.
    pub async fn forward(&self, exec: &Executor, image: &[f32]) -> Result<DetrTrace, ComputeError> {
        check_image(image)?;
        let input = exec.upload(image);
        let mut rec = exec.begin();
        let packed = self.record(&mut rec, &input)?;
        exec.submit(rec)?;
        Ok(unpack(&exec.read(&packed).await?))
    }
}
