//! Chapter 3's DETR on candle, for training. The sizes, tensor names and the
//! positional encoding are compute's (`compute::models::detr::config`); the matching
//! cost and the assignment are compute's too (`compute::models::detr::set_loss`), so
//! the page shows the very matching that trained the model.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var, D};
use candle_nn::ops::{log_softmax, sigmoid, softmax};
use compute::{
    inputs::uniform_signed,
    models::detr::{
        config::{
            sine_positions, specs, BACKBONE, CELLS, CLASSES, DECODER_LAYERS, DIM, ENCODER_LAYERS,
            HEADS, HEAD_DIM, LN_EPS, QUERIES,
        },
        output::{read_queries, targets},
        scenes::{Scene, CANVAS},
        set_loss::{
            CostMatrix, Target, COST_CLASS, COST_GIOU, COST_L1, NO_OBJECT, NO_OBJECT_WEIGHT,
        },
    },
    weights::Tensor as Stored,
};

/// One decoder layer's outputs: class logits [B, N, 11] and boxes [B, N, 4].
pub struct LayerOutput {
    pub logits: Tensor,
    pub boxes: Tensor,
}

pub struct Detr {
    vars: BTreeMap<String, Var>,
    /// The sine encoding, [1, CELLS, DIM].
    pos: Tensor,
}

fn layer_norm(x: &Tensor, g: &Tensor, b: &Tensor) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    let inv = (var + LN_EPS as f64)?.sqrt()?.recip()?;
    centred
        .broadcast_mul(&inv)?
        .broadcast_mul(g)?
        .broadcast_add(b)
}

/// [B, T, H·d] → [B, H, T, d].
fn heads(x: &Tensor) -> Result<Tensor> {
    let (b, t, _) = x.dims3()?;
    x.reshape((b, t, HEADS, HEAD_DIM))?
        .transpose(1, 2)?
        .contiguous()
}

impl Detr {
    /// Seeded initial weights: matrices uniform with variance 1/fan_in, biases
    /// zero, norms one, query embeddings uniform in [−1, 1).
    pub fn new(seed: u64) -> Result<Detr> {
        let dev = &Device::Cpu;
        let mut vars = BTreeMap::new();
        for (k, spec) in specs().iter().enumerate() {
            let n: usize = spec.shape.iter().product();
            let value = if spec.name.ends_with(".g") {
                Tensor::ones(n, DType::F32, dev)?
            } else if spec.name.ends_with(".b") {
                Tensor::zeros(n, DType::F32, dev)?
            } else {
                let scale = if spec.name == "query_pos" {
                    1.0
                } else {
                    (3.0 / spec.shape[1] as f32).sqrt()
                };
                let v: Vec<f32> = uniform_signed(seed * 1000 + k as u64, n)
                    .into_iter()
                    .map(|v| v * scale)
                    .collect();
                Tensor::from_vec(v, spec.shape.as_slice(), dev)?
            };
            vars.insert(spec.name.clone(), Var::from_tensor(&value)?);
        }
        Detr::with_vars(vars)
    }

    fn with_vars(vars: BTreeMap<String, Var>) -> Result<Detr> {
        let pos = Tensor::from_vec(sine_positions(), (1, CELLS, DIM), &Device::Cpu)?;
        Ok(Detr { vars, pos })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    pub fn params(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    fn w(&self, name: &str) -> &Tensor {
        self.vars[name].as_tensor()
    }

    /// x [B, T, in] · Wᵀ + b.
    fn linear(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let w = self.w(&format!("{name}.w"));
        x.reshape((b * t, d))?
            .matmul(&w.t()?)?
            .broadcast_add(self.w(&format!("{name}.b")))?
            .reshape((b, t, w.dim(0)?))
    }

    fn norm(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        layer_norm(
            x,
            self.w(&format!("{name}.g")),
            self.w(&format!("{name}.b")),
        )
    }

    /// Multi-head attention: queries from `q`, keys from `k`, values from `v`.
    fn attention(&self, q: &Tensor, k: &Tensor, v: &Tensor, name: &str) -> Result<Tensor> {
        let (b, t, _) = q.dims3()?;
        let q = heads(&self.linear(q, &format!("{name}.q"))?)?;
        let k = heads(&self.linear(k, &format!("{name}.k"))?)?;
        let v = heads(&self.linear(v, &format!("{name}.v"))?)?;
        let scores = (q.matmul(&k.t()?)? / (HEAD_DIM as f64).sqrt())?;
        let out = softmax(&scores, D::Minus1)?
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, t, DIM))?;
        self.linear(&out, &format!("{name}.o"))
    }

    fn ffn(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let up = self.linear(x, &format!("{name}.ffn1"))?.relu()?;
        self.linear(&up, &format!("{name}.ffn2"))
    }

    /// Images [B, 1, 96, 96] in [0, 1] → every decoder layer's outputs.
    pub fn forward(&self, images: &Tensor) -> Result<Vec<LayerOutput>> {
        let b = images.dim(0)?;
        let mut x = images.clone();
        for (i, (cin, cout, stride)) in BACKBONE.iter().enumerate() {
            let w = self.w(&format!("conv{i}.w")).reshape((*cout, *cin, 3, 3))?;
            let bias = self.w(&format!("conv{i}.b")).reshape((1, *cout, 1, 1))?;
            x = x
                .conv2d(&w, 1, *stride, 1, 1)?
                .broadcast_add(&bias)?
                .relu()?;
        }
        let cells = x.flatten_from(2)?.transpose(1, 2)?.contiguous()?;
        let mut memory = self.linear(&cells, "proj")?;
        for i in 0..ENCODER_LAYERS {
            let n = format!("enc{i}");
            let h = self.norm(&memory, &format!("{n}.ln1"))?;
            let qk = h.broadcast_add(&self.pos)?;
            memory = (&memory + self.attention(&qk, &qk, &h, &format!("{n}.self"))?)?;
            let h = self.norm(&memory, &format!("{n}.ln2"))?;
            memory = (&memory + self.ffn(&h, &n)?)?;
        }
        let memory = self.norm(&memory, "enc.norm")?;
        let keys = memory.broadcast_add(&self.pos)?;
        let query_pos = self.w("query_pos").unsqueeze(0)?;
        let mut tgt = Tensor::zeros((b, QUERIES, DIM), DType::F32, &Device::Cpu)?;
        let mut outputs = Vec::with_capacity(DECODER_LAYERS);
        for i in 0..DECODER_LAYERS {
            let n = format!("dec{i}");
            let h = self.norm(&tgt, &format!("{n}.ln1"))?;
            let q = h.broadcast_add(&query_pos)?;
            tgt = (&tgt + self.attention(&q, &q, &h, &format!("{n}.self"))?)?;
            let h = self.norm(&tgt, &format!("{n}.ln2"))?;
            let q = h.broadcast_add(&query_pos)?;
            tgt = (&tgt + self.attention(&q, &keys, &memory, &format!("{n}.cross"))?)?;
            let h = self.norm(&tgt, &format!("{n}.ln3"))?;
            tgt = (&tgt + self.ffn(&h, &n)?)?;
            let out = self.norm(&tgt, "dec.norm")?;
            let logits = self.linear(&out, "class")?;
            let hidden = self
                .linear(&self.linear(&out, "box1")?.relu()?, "box2")?
                .relu()?;
            let boxes = sigmoid(&self.linear(&hidden, "box3")?)?;
            outputs.push(LayerOutput { logits, boxes });
        }
        Ok(outputs)
    }

    /// The tensors as shipped: matrices in Q8_0, the rest in f32.
    pub fn export(&self) -> Result<BTreeMap<String, Stored>> {
        crate::shipped::export(&specs(), &self.vars)
    }

    /// The model with the shipped values (Q8_0 dequantized).
    pub fn from_export(tensors: &BTreeMap<String, Stored>) -> Result<Detr> {
        Detr::with_vars(crate::shipped::vars_from_export(&specs(), tensors)?)
    }
}

/// Scenes as a [B, 1, 96, 96] tensor.
pub fn images(scenes: &[Scene]) -> Result<Tensor> {
    let v: Vec<f32> = scenes
        .iter()
        .flat_map(|s| s.pixels.iter().copied())
        .collect();
    Tensor::from_vec(v, (scenes.len(), 1, CANVAS, CANVAS), &Device::Cpu)
}

/// The three loss terms of one decoder layer, as tensors (for backprop).
pub struct LayerLoss {
    pub class: Tensor,
    pub l1: Tensor,
    pub giou: Tensor,
}

impl LayerLoss {
    pub fn total(&self) -> Result<Tensor> {
        (&self.class * COST_CLASS)? + ((&self.l1 * COST_L1)? + (&self.giou * COST_GIOU)?)?
    }
}

/// Boxes [K, 4] (cx, cy, w, h) → (x0, y0, x1, y1), each [K].
fn corners(b: &Tensor) -> Result<[Tensor; 4]> {
    let c = |i| b.narrow(1, i, 1).and_then(|t| t.squeeze(1));
    let (cx, cy, w, h) = (c(0)?, c(1)?, c(2)?, c(3)?);
    let (hw, hh) = ((&w * 0.5)?, (&h * 0.5)?);
    Ok([(&cx - &hw)?, (&cy - &hh)?, (&cx + &hw)?, (&cy + &hh)?])
}

/// GIoU of matching rows of two [K, 4] box tensors, [K].
pub fn giou(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let [ax0, ay0, ax1, ay1] = corners(a)?;
    let [bx0, by0, bx1, by1] = corners(b)?;
    let area_a = ((&ax1 - &ax0)? * (&ay1 - &ay0)?)?;
    let area_b = ((&bx1 - &bx0)? * (&by1 - &by0)?)?;
    let iw = (ax1.minimum(&bx1)? - ax0.maximum(&bx0)?)?.relu()?;
    let ih = (ay1.minimum(&by1)? - ay0.maximum(&by0)?)?.relu()?;
    let inter = (iw * ih)?;
    let union = ((area_a + area_b)? - &inter)?;
    let ew = (ax1.maximum(&bx1)? - ax0.minimum(&bx0)?)?;
    let eh = (ay1.maximum(&by1)? - ay0.minimum(&by0)?)?;
    let enclosing = (ew * eh)?;
    let iou = (&inter / &union)?;
    iou - ((&enclosing - &union)? / &enclosing)?
}

/// DETR's set loss for one decoder layer over a batch: each image's
/// Hungarian assignment (compute's, on the detached outputs), then the
/// weighted cross-entropy over all queries (∅ weighted 0.1), and L1 and
/// 1 − GIoU over the matched boxes, per object in the batch.
pub fn layer_loss(out: &LayerOutput, truth: &[Vec<Target>]) -> Result<LayerLoss> {
    let (b, n, _) = out.logits.dims3()?;
    let logits = out.logits.flatten_all()?.to_vec1::<f32>()?;
    let boxes = out.boxes.flatten_all()?.to_vec1::<f32>()?;
    let mut class_target = vec![NO_OBJECT as u32; b * n];
    let mut class_weight = vec![NO_OBJECT_WEIGHT as f32; b * n];
    let (mut matched, mut matched_boxes) = (Vec::new(), Vec::new());
    for (i, targets) in truth.iter().enumerate() {
        let queries = read_queries(
            &logits[i * n * CLASSES..(i + 1) * n * CLASSES],
            &boxes[i * n * 4..(i + 1) * n * 4],
        );
        let predictions: Vec<_> = queries.into_iter().map(|q| q.prediction).collect();
        for (q, o) in CostMatrix::new(&predictions, targets).assignment() {
            class_target[i * n + q] = targets[o].label as u32;
            class_weight[i * n + q] = 1.0;
            matched.push((i * n + q) as u32);
            matched_boxes.extend(targets[o].bbox.iter().map(|&v| v as f32));
        }
    }
    let dev = &Device::Cpu;
    let objects = matched.len().max(1) as f64;
    let log_p = log_softmax(&out.logits.reshape((b * n, CLASSES))?, D::Minus1)?;
    let picked = log_p
        .gather(&Tensor::from_vec(class_target, (b * n, 1), dev)?, 1)?
        .squeeze(1)?;
    let weight = Tensor::from_vec(class_weight, b * n, dev)?;
    let class =
        ((picked * &weight)?.sum_all()?.neg()? / weight.sum_all()?.to_scalar::<f32>()? as f64)?;
    let k = matched.len();
    let (l1, giou_loss) = if k == 0 {
        let zero = Tensor::zeros((), DType::F32, dev)?;
        (zero.clone(), zero)
    } else {
        let index = Tensor::from_vec(matched, k, dev)?;
        let predicted = out.boxes.reshape((b * n, 4))?.index_select(&index, 0)?;
        let target = Tensor::from_vec(matched_boxes, (k, 4), dev)?;
        let l1 = ((&predicted - &target)?.abs()?.sum_all()? / objects)?;
        let g = ((1.0 - giou(&predicted, &target)?)?.sum_all()? / objects)?;
        (l1, g)
    };
    Ok(LayerLoss {
        class,
        l1,
        giou: giou_loss,
    })
}

/// The targets of each scene.
pub fn scene_targets(scenes: &[Scene]) -> Vec<Vec<Target>> {
    scenes.iter().map(targets).collect()
}
