//! The detector's forward pass on the GPU: weights uploaded once; a pass is
//! one submission of 48 dispatches, and its outputs and attention maps
//! land in one packed buffer for a single readback.
//!
//! Each convolution is one dispatch with its ReLU, the last writing tokens
//! (channels last). Each linear layer is one `linear_q8_fused` dispatch that also adds the
//! positional encoding to its input (queries and keys), its bias, the
//! residual, and runs the LayerNorm that the next sublayer reads. Attention's
//! Q, K and V come from one GEMM over stacked weights, and every head of an
//! attention is one dispatch that writes its map straight into the packed
//! buffer. The CPU reference ([`Detr::forward_ref`]) runs the same ops one by
//! one; the tests hold the two within 1e-3.

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    kernels::{
        conv2d::{conv2d_relu_cout8, ConvLayout},
        full_attention::{full_attention_views, FullAttentionShape, Operand},
        fused_linear::{
            linear_q8_fused, Fused, FusedActivation, FusedLinear, FusedNorm, GpuFusedLinear, Out,
        },
        reduce::{layernorm, Rows},
    },
    reference::reduce::layernorm_ref,
    weights::Q8Matrix,
};

use super::{
    config::{
        CELLS, CLASSES, DECODER_LAYERS, DIM, ENCODER_LAYERS, HEADS, HEAD_DIM, LN_EPS, QUERIES,
    },
    model::{check_image, conv_shapes, Attention, Detr, DetrTrace, Linear, Norm, Pipeline, Stage},
    scenes::CANVAS,
};

struct GpuEncoderLayer {
    /// Q|K|V stacked: [3·DIM, DIM].
    qkv: GpuFusedLinear,
    /// Output projection + residual, then ln2.
    o: GpuFusedLinear,
    ffn1: GpuFusedLinear,
    /// + residual, then the next layer's ln1 (the encoder's norm after the last).
    ffn2: GpuFusedLinear,
}

struct GpuDecoderLayer {
    /// ln1 of the targets; the first layer's targets are zero, so its ln1
    /// output is computed once at upload.
    ln1: (GpuTensor, GpuTensor),
    self_qkv: GpuFusedLinear,
    /// + residual, then ln2.
    self_o: GpuFusedLinear,
    cross_q: GpuFusedLinear,
    /// K|V stacked, over the encoder's output.
    cross_kv: GpuFusedLinear,
    /// + residual, then ln3.
    cross_o: GpuFusedLinear,
    ffn1: GpuFusedLinear,
    /// + residual, then the decoder's final norm (the heads' input).
    ffn2: GpuFusedLinear,
}

pub struct DetrGpu {
    /// Dense f32 kernels for the convolution kernel, and biases.
    convs: Vec<(GpuTensor, GpuTensor)>,
    /// The 1×1 projection, then the first encoder layer's ln1.
    proj: GpuFusedLinear,
    encoder: Vec<GpuEncoderLayer>,
    query_pos: GpuTensor,
    decoder: Vec<GpuDecoderLayer>,
    /// ln1 of zero targets: the first decoder layer's input.
    first_targets_normed: GpuTensor,
    class: GpuFusedLinear,
    box_mlp: [GpuFusedLinear; 3],
    pos: GpuTensor,
    zeros: GpuTensor,
    /// The image, rewritten each pass (a warm pass creates no buffers).
    input: GpuTensor,
}

fn fused(l: &Linear, norm: Option<&Norm>) -> FusedLinear {
    FusedLinear {
        w: l.w.clone(),
        b: l.b.clone(),
        norm: norm.map(|n| FusedNorm {
            gamma: n.g.clone(),
            beta: n.b.clone(),
            eps: LN_EPS,
        }),
    }
}

fn stacked(parts: &[&Linear]) -> Result<FusedLinear, ComputeError> {
    let ws: Vec<&Q8Matrix> = parts.iter().map(|l| &l.w).collect();
    let w = Q8Matrix::stack_rows(&ws).ok_or_else(|| ComputeError::Shape {
        op: "detr projections",
        detail: "Q, K and V must share their input width".into(),
    })?;
    Ok(FusedLinear {
        w,
        b: parts.iter().flat_map(|l| l.b.iter().copied()).collect(),
        norm: None,
    })
}

/// Words per pass in the packed readback, in [`DetrTrace`]'s order.
pub(super) fn sizes() -> [(usize, usize); 4] {
    [
        (DECODER_LAYERS, QUERIES * CLASSES),
        (DECODER_LAYERS, QUERIES * 4),
        (DECODER_LAYERS, HEADS * QUERIES * CELLS),
        (ENCODER_LAYERS, HEADS * CELLS * CELLS),
    ]
}

/// Where each group of [`sizes`] starts in the packed buffer.
fn offsets() -> [usize; 4] {
    let mut at = 0;
    sizes().map(|(n, len)| {
        let start = at;
        at += n * len;
        start
    })
}

/// Splits a pass's packed readback into the trace.
pub(super) fn unpack(values: &[f32]) -> DetrTrace {
    let mut groups = sizes().map(|(n, len)| (n, len, Vec::with_capacity(n)));
    let mut at = 0;
    for (n, len, out) in groups.iter_mut() {
        for _ in 0..*n {
            out.push(values[at..at + *len].to_vec());
            at += *len;
        }
    }
    let [logits, boxes, cross, encoder] = groups.map(|g| g.2);
    DetrTrace {
        logits,
        boxes,
        cross_attention: cross,
        encoder_attention: encoder,
    }
}

fn shape(tq: usize, tk: usize) -> FullAttentionShape {
    FullAttentionShape {
        heads: HEADS,
        head_dim: HEAD_DIM,
        tq,
        tk,
    }
}

/// Q, K and V inside one [t, 3·DIM] projection.
fn qkv_views(qkv: &GpuTensor) -> [Operand<'_>; 3] {
    [0, DIM, 2 * DIM].map(|offset| Operand {
        t: qkv,
        stride: 3 * DIM,
        offset,
    })
}

/// The residual add and the fused LayerNorm.
fn ln(residual: Option<&GpuTensor>) -> Fused<'_> {
    Fused {
        residual,
        ..Fused::default()
    }
}

fn new(outputs: Option<GpuTensor>) -> GpuTensor {
    outputs.expect("Out::New makes a tensor")
}

impl DetrGpu {
    pub fn upload(exec: &Executor, m: &Detr) -> Result<DetrGpu, ComputeError> {
        let up = |l: FusedLinear| GpuFusedLinear::upload(exec, &l);
        let qkv = |a: &Attention| stacked(&[&a.q, &a.k, &a.v]);
        let mut encoder = Vec::new();
        for (i, l) in m.encoder.iter().enumerate() {
            let next_norm = m.encoder.get(i + 1).map_or(&m.encoder_norm, |n| &n.ln1);
            encoder.push(GpuEncoderLayer {
                qkv: up(qkv(&l.attention)?)?,
                o: up(fused(&l.attention.o, Some(&l.ln2)))?,
                ffn1: up(fused(&l.ffn1, None))?,
                ffn2: up(fused(&l.ffn2, Some(next_norm)))?,
            });
        }
        let mut decoder = Vec::new();
        for l in &m.decoder {
            let (s, c) = (&l.self_attention, &l.cross_attention);
            decoder.push(GpuDecoderLayer {
                ln1: (exec.upload(&l.ln1.g), exec.upload(&l.ln1.b)),
                self_qkv: up(qkv(s)?)?,
                self_o: up(fused(&s.o, Some(&l.ln2)))?,
                cross_q: up(fused(&c.q, None))?,
                cross_kv: up(stacked(&[&c.k, &c.v])?)?,
                cross_o: up(fused(&c.o, Some(&l.ln3)))?,
                ffn1: up(fused(&l.ffn1, None))?,
                ffn2: up(fused(&l.ffn2, Some(&m.decoder_norm)))?,
            });
        }
        let first_ln1 = &m.decoder[0].ln1;
        let zeros = vec![0f32; QUERIES * DIM];
        let rows = Rows {
            rows: QUERIES,
            cols: DIM,
        };
        Ok(DetrGpu {
            convs: m
                .convs
                .iter()
                .map(|(l, dense)| (exec.upload(dense), exec.upload(&l.b)))
                .collect(),
            proj: up(fused(&m.proj, Some(&m.encoder[0].ln1)))?,
            encoder,
            query_pos: exec.upload(&m.query_pos),
            decoder,
            first_targets_normed: exec.upload(&layernorm_ref(
                &zeros,
                &first_ln1.g,
                &first_ln1.b,
                rows,
                LN_EPS,
            )),
            class: up(fused(&m.class, None))?,
            box_mlp: [
                up(fused(&m.box_mlp[0], None))?,
                up(fused(&m.box_mlp[1], None))?,
                up(fused(&m.box_mlp[2], None))?,
            ],
            pos: exec.upload(&m.pos),
            zeros: exec.upload(&zeros),
            input: exec.zeros(CANVAS * CANVAS),
        })
    }

    /// Records one forward pass into `packed` (see [`sizes`]); with
    /// `stages`, also copies every [`Pipeline`] stage into `packed` from
    /// that word on, in [`stage_sizes`]' order, right after it is computed.
    fn record(
        &self,
        rec: &mut Recording<'_>,
        image: &GpuTensor,
        packed: &GpuTensor,
        stages: Option<usize>,
    ) -> Result<(), ComputeError> {
        let mut stage_at = stages;
        let mut keep = |rec: &mut Recording<'_>, t: &GpuTensor, len: usize| {
            if let Some(at) = stage_at.as_mut() {
                rec.copy(t, 0, packed, *at, len);
                *at += len;
            }
        };
        let [logits_at, boxes_at, cross_at, encoder_at] = offsets();
        let relu = Fused {
            activation: FusedActivation::Relu,
            ..Fused::default()
        };

        // Backbone, then the 1×1 projection and the first ln1.
        // The last convolution writes channels last: one token per cell.
        let mut x: Option<GpuTensor> = None;
        let layers = self.convs.len();
        for (n, ((w, b), shape)) in self.convs.iter().zip(conv_shapes()).enumerate() {
            let input = x.as_ref().unwrap_or(image);
            let layout = if n + 1 == layers {
                ConvLayout::ChannelsLast
            } else {
                ConvLayout::ChannelsFirst
            };
            let y = conv2d_relu_cout8(rec, input, w, b, shape, layout)?;
            let (h, w) = shape.out_hw();
            keep(rec, &y, shape.cout * h * w);
            x = Some(y);
        }
        let tokens = x.expect("the backbone has layers");
        let out = linear_q8_fused(rec, &tokens, &self.proj, CELLS, ln(None))?;
        let (mut memory, mut h) = (new(out.y), new(out.normed));

        for (i, l) in self.encoder.iter().enumerate() {
            let with_pos = Fused {
                add: Some((&self.pos, 2 * DIM)),
                ..Fused::default()
            };
            let qkv = new(linear_q8_fused(rec, &h, &l.qkv, CELLS, with_pos)?.y);
            let probs_at = encoder_at + i * HEADS * CELLS * CELLS;
            let a =
                full_attention_views(rec, qkv_views(&qkv), shape(CELLS, CELLS), packed, probs_at)?;
            let out = linear_q8_fused(rec, &a, &l.o, CELLS, ln(Some(&memory)))?;
            let (mid, h2) = (new(out.y), new(out.normed));
            let up = new(linear_q8_fused(rec, &h2, &l.ffn1, CELLS, relu)?.y);
            let out = linear_q8_fused(rec, &up, &l.ffn2, CELLS, ln(Some(&mid)))?;
            (memory, h) = (new(out.y), new(out.normed));
        }
        // After the last layer, h is the encoder's normed output.
        let encoded = h;
        keep(rec, &encoded, CELLS * DIM);

        // Decoder; every layer's normed targets go to one [layers·N, DIM]
        // buffer, so the heads run once for all layers.
        let normed_targets = rec.exec().empty(DECODER_LAYERS * QUERIES * DIM);
        let self_probs = rec.exec().empty(HEADS * QUERIES * QUERIES);
        let mut targets: Option<GpuTensor> = None;
        for (i, l) in self.decoder.iter().enumerate() {
            let tgt = targets.as_ref().unwrap_or(&self.zeros);
            let h_owned = match &targets {
                None => None,
                Some(t) => {
                    let rows = Rows {
                        rows: QUERIES,
                        cols: DIM,
                    };
                    Some(layernorm(rec, t, &l.ln1.0, &l.ln1.1, rows, LN_EPS)?)
                }
            };
            let h = h_owned.as_ref().unwrap_or(&self.first_targets_normed);
            let with_query_pos = |features| Fused {
                add: Some((&self.query_pos, features)),
                ..Fused::default()
            };
            let qkv =
                new(linear_q8_fused(rec, h, &l.self_qkv, QUERIES, with_query_pos(2 * DIM))?.y);
            let a = full_attention_views(
                rec,
                qkv_views(&qkv),
                shape(QUERIES, QUERIES),
                &self_probs,
                0,
            )?;
            let out = linear_q8_fused(rec, &a, &l.self_o, QUERIES, ln(Some(tgt)))?;
            let (tgt, h) = (new(out.y), new(out.normed));

            let q = new(linear_q8_fused(rec, &h, &l.cross_q, QUERIES, with_query_pos(DIM))?.y);
            let keys_with_pos = Fused {
                add: Some((&self.pos, DIM)),
                ..Fused::default()
            };
            let kv = new(linear_q8_fused(rec, &encoded, &l.cross_kv, CELLS, keys_with_pos)?.y);
            let views = [
                Operand {
                    t: &q,
                    stride: DIM,
                    offset: 0,
                },
                Operand {
                    t: &kv,
                    stride: 2 * DIM,
                    offset: 0,
                },
                Operand {
                    t: &kv,
                    stride: 2 * DIM,
                    offset: DIM,
                },
            ];
            let probs_at = cross_at + i * HEADS * QUERIES * CELLS;
            let a = full_attention_views(rec, views, shape(QUERIES, CELLS), packed, probs_at)?;
            let out = linear_q8_fused(rec, &a, &l.cross_o, QUERIES, ln(Some(&tgt)))?;
            let (tgt, h) = (new(out.y), new(out.normed));

            let up = new(linear_q8_fused(rec, &h, &l.ffn1, QUERIES, relu)?.y);
            let to_heads = Fused {
                normed: Out::At(&normed_targets, i * QUERIES * DIM),
                ..ln(Some(&tgt))
            };
            targets = linear_q8_fused(rec, &up, &l.ffn2, QUERIES, to_heads)?.y;
        }

        keep(rec, &normed_targets, DECODER_LAYERS * QUERIES * DIM);
        // Heads over every decoder layer at once, written into the readback.
        let rows = DECODER_LAYERS * QUERIES;
        let into = |at| Fused {
            y: Out::At(packed, at),
            ..Fused::default()
        };
        linear_q8_fused(rec, &normed_targets, &self.class, rows, into(logits_at))?;
        let [b1, b2, b3] = &self.box_mlp;
        let hidden = new(linear_q8_fused(rec, &normed_targets, b1, rows, relu)?.y);
        let hidden = new(linear_q8_fused(rec, &hidden, b2, rows, relu)?.y);
        let boxes = Fused {
            activation: FusedActivation::Sigmoid,
            ..into(boxes_at)
        };
        linear_q8_fused(rec, &hidden, b3, rows, boxes)?;
        Ok(())
    }

    /// One forward pass of a 96×96 image: one submission, one readback.
    pub async fn forward(&self, exec: &Executor, image: &[f32]) -> Result<DetrTrace, ComputeError> {
        check_image(image)?;
        exec.write(&self.input, image)?;
        let input = &self.input;
        let total: usize = sizes().iter().map(|(n, len)| n * len).sum();
        let packed = exec.empty(total);
        let mut rec = exec.begin();
        self.record(&mut rec, input, &packed, None)?;
        exec.submit(rec)?;
        Ok(unpack(&exec.read(&packed).await?))
    }

    /// The same pass, also keeping every stage for the pipeline view: still
    /// one submission and one readback.
    pub async fn forward_stages(
        &self,
        exec: &Executor,
        image: &[f32],
    ) -> Result<(DetrTrace, Pipeline), ComputeError> {
        check_image(image)?;
        exec.write(&self.input, image)?;
        let input = &self.input;
        let total: usize = sizes().iter().map(|(n, len)| n * len).sum();
        let kept: usize = stage_sizes().iter().sum();
        let packed = exec.empty(total + kept);
        let mut rec = exec.begin();
        self.record(&mut rec, input, &packed, Some(total))?;
        exec.submit(rec)?;
        let values = exec.read(&packed).await?;
        let trace = unpack(&values[..total]);
        let mut rest = &values[total..];
        let mut take = |len: usize| {
            let (head, tail) = rest.split_at(len);
            rest = tail;
            head.to_vec()
        };
        let mut pipeline = Pipeline::default();
        let shapes = conv_shapes();
        for (n, shape) in shapes.iter().enumerate() {
            let (h, w) = shape.out_hw();
            let mut values = take(shape.cout * h * w);
            // The last convolution writes channels last (a token per cell).
            if n + 1 == shapes.len() {
                values = crate::models::transpose(&values, h * w, shape.cout);
            }
            pipeline.features.push(Stage {
                shape: vec![shape.cout, h, w],
                values,
            });
        }
        pipeline.encoder_tokens = Stage {
            shape: vec![CELLS, DIM],
            values: take(CELLS * DIM),
        };
        for _ in 0..DECODER_LAYERS {
            pipeline.decoder_queries.push(Stage {
                shape: vec![QUERIES, DIM],
                values: take(QUERIES * DIM),
            });
        }
        Ok((trace, pipeline))
    }
}

/// Words of each kept stage, in [`Pipeline`]'s order: the convolutions,
/// the encoder's tokens, every decoder layer's queries.
fn stage_sizes() -> Vec<usize> {
    conv_shapes()
        .iter()
        .map(|s| {
            let (h, w) = s.out_hw();
            s.cout * h * w
        })
        .chain([CELLS * DIM, DECODER_LAYERS * QUERIES * DIM])
        .collect()
}
