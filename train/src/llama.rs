//! Chapter 4's LLaMA on candle: whole poems at once with a causal mask, for
//! training. Names, shapes and formulas are compute's
//! (`compute::models::llama`), whose decoder must give the same likelihood
//! one token at a time.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor, Var, D};
use candle_nn::ops::{log_softmax, softmax};

use crate::attention::{heads, linear, rmsnorm};
use compute::{
    inputs::uniform_signed,
    kernels::rope::rope_tables,
    models::llama::LlamaConfig,
    tang::{CharTokenizer, Form, Poem},
    weights::Tensor as Stored,
};

pub struct LlamaTrain {
    pub config: LlamaConfig,
    vars: BTreeMap<String, Var>,
    /// cos/sin [max_seq_len, head_dim/2].
    rope: (Tensor, Tensor),
    /// 0 on and below the diagonal, −∞ above: [max_seq_len, max_seq_len].
    causal: Tensor,
}

/// Meta's interleaved RoPE on [B, H, T, D], with differentiable ops: pairs
/// (2i, 2i + 1) rotate by angle(t, i).
pub(crate) fn rope(x: &Tensor, (cos, sin): &(Tensor, Tensor)) -> Result<Tensor> {
    let (b, h, t, d) = x.dims4()?;
    let (cos, sin) = (
        cos.narrow(0, 0, t)?.unsqueeze(2)?,
        sin.narrow(0, 0, t)?.unsqueeze(2)?,
    );
    let pairs = x.reshape((b, h, t, d / 2, 2))?;
    let x0 = pairs.narrow(D::Minus1, 0, 1)?;
    let x1 = pairs.narrow(D::Minus1, 1, 1)?;
    let r0 = (x0.broadcast_mul(&cos)? - x1.broadcast_mul(&sin)?)?;
    let r1 = (x0.broadcast_mul(&sin)? + x1.broadcast_mul(&cos)?)?;
    Tensor::cat(&[r0, r1], D::Minus1)?.reshape((b, h, t, d))
}

/// RoPE's cos/sin [max_seq_len, head_dim/2] and the causal mask (0 on and
/// below the diagonal, −∞ above) for `config`'s context.
pub(crate) fn rope_and_mask(config: LlamaConfig) -> Result<((Tensor, Tensor), Tensor)> {
    let n = config.max_seq_len;
    let mask: Vec<f32> = (0..n * n)
        .map(|k| {
            if k % n > k / n {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        })
        .collect();
    let (cos, sin) = rope_tables(n, config.head_dim(), config.rope_theta);
    let half = config.head_dim() / 2;
    let dev = &Device::Cpu;
    Ok((
        (
            Tensor::from_vec(cos, (n, half), dev)?,
            Tensor::from_vec(sin, (n, half), dev)?,
        ),
        Tensor::from_vec(mask, (n, n), dev)?,
    ))
}

impl LlamaTrain {
    /// Seeded initial weights: matrices uniform with variance 1/fan_in (the
    /// residual branches' outputs, wo and w2, a further 1/√(2·layers)),
    /// embeddings unit variance, norms one.
    pub fn new(config: LlamaConfig, seed: u64) -> Result<LlamaTrain> {
        let dev = &Device::Cpu;
        let mut vars = BTreeMap::new();
        let residual = 1.0 / (2.0 * config.n_layers as f32).sqrt();
        for (k, spec) in config.specs().iter().enumerate() {
            let n: usize = spec.shape.iter().product();
            let value = if spec.name.ends_with("norm.weight") {
                Tensor::ones(n, DType::F32, dev)?
            } else {
                let fan_in = spec.shape[1] as f32;
                let mut scale = if spec.name == "tok_embeddings.weight" {
                    3f32.sqrt()
                } else {
                    (3.0 / fan_in).sqrt()
                };
                if spec.name.ends_with("wo.weight") || spec.name.ends_with("w2.weight") {
                    scale *= residual;
                }
                let v = uniform_signed(seed * 1000 + k as u64, n)
                    .into_iter()
                    .map(|v| v * scale)
                    .collect::<Vec<_>>();
                Tensor::from_vec(v, spec.shape.as_slice(), dev)?
            };
            vars.insert(spec.name.clone(), Var::from_tensor(&value)?);
        }
        LlamaTrain::with_vars(config, vars)
    }

    fn with_vars(config: LlamaConfig, vars: BTreeMap<String, Var>) -> Result<LlamaTrain> {
        let (rope, causal) = rope_and_mask(config)?;
        Ok(LlamaTrain {
            rope,
            causal,
            config,
            vars,
        })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.vars.values().cloned().collect()
    }

    fn w(&self, name: &str) -> &Tensor {
        self.vars[name].as_tensor()
    }

    fn attention(&self, i: usize, x: &Tensor) -> Result<Tensor> {
        let c = self.config;
        let n = |s: &str| format!("layers.{i}.attention.{s}.weight");
        let (b, t, _) = x.dims3()?;
        let hd = c.head_dim();
        let q = rope(
            &heads(&linear(x, self.w(&n("wq")))?, c.n_heads)?,
            &self.rope,
        )?;
        let k = rope(
            &heads(&linear(x, self.w(&n("wk")))?, c.n_kv_heads)?,
            &self.rope,
        )?;
        let v = heads(&linear(x, self.w(&n("wv")))?, c.n_kv_heads)?;
        // Meta's repeat_kv: query head h reads key/value head h / group.
        let group = c.n_heads / c.n_kv_heads;
        let repeat = |x: Tensor| -> Result<Tensor> {
            x.unsqueeze(2)?
                .expand((b, c.n_kv_heads, group, t, hd))?
                .reshape((b, c.n_heads, t, hd))
        };
        let (k, v) = (repeat(k)?, repeat(v)?);
        let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
        let mask = self.causal.narrow(0, 0, t)?.narrow(1, 0, t)?;
        let weights = softmax(&scores.broadcast_add(&mask)?, D::Minus1)?;
        let out = weights
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, t, c.n_heads * hd))?;
        linear(&out, self.w(&n("wo")))
    }

    /// Logits [B, T, vocab] for the next token after each of `tokens` [B, T].
    pub fn logits(&self, tokens: &Tensor) -> Result<Tensor> {
        let c = self.config;
        let (b, t) = tokens.dims2()?;
        let mut x = self
            .w("tok_embeddings.weight")
            .index_select(&tokens.flatten_all()?, 0)?
            .reshape((b, t, c.dim))?;
        for i in 0..c.n_layers {
            let n = |s: &str| format!("layers.{i}.{s}.weight");
            let h = rmsnorm(&x, self.w(&n("attention_norm")), c.norm_eps)?;
            x = (&x + self.attention(i, &h)?)?;
            let m = rmsnorm(&x, self.w(&n("ffn_norm")), c.norm_eps)?;
            let gate = candle_nn::ops::silu(&linear(&m, self.w(&n("feed_forward.w1")))?)?;
            let up = linear(&m, self.w(&n("feed_forward.w3")))?;
            x = (&x + linear(&(gate * up)?, self.w(&n("feed_forward.w2")))?)?;
        }
        linear(
            &rmsnorm(&x, self.w("norm.weight"), c.norm_eps)?,
            self.w("output.weight"),
        )
    }

    /// Summed −log p of each poem's characters and `<eos>`, [B], for poems
    /// [B, T] of one form (`<bos> <form> … <eos>`).
    pub fn nll(&self, poems: &Tensor) -> Result<Tensor> {
        let (_, t) = poems.dims2()?;
        let logits = self.logits(&poems.narrow(1, 0, t - 1)?)?;
        // Position 0 predicts the form token, which is given.
        let log_p = log_softmax(&logits.narrow(1, 1, t - 2)?.contiguous()?, D::Minus1)?;
        let targets = poems
            .narrow(1, 2, t - 2)?
            .contiguous()?
            .unsqueeze(D::Minus1)?;
        log_p
            .gather(&targets, D::Minus1)?
            .squeeze(D::Minus1)?
            .sum(1)?
            .neg()
    }

    pub fn export(&self) -> Result<BTreeMap<String, Stored>> {
        crate::shipped::export(&self.config.specs(), &self.vars)
    }

    pub fn from_export(
        config: LlamaConfig,
        tensors: &BTreeMap<String, Stored>,
    ) -> Result<LlamaTrain> {
        let vars = crate::shipped::vars_from_export(&config.specs(), tensors)?;
        LlamaTrain::with_vars(config, vars)
    }
}

/// Encoded poems grouped by form: each group's sequences have one length.
pub struct PoemSet {
    /// Per form (in `Form::ALL` order), the poems' ids back to back.
    pub by_form: Vec<Vec<u32>>,
    pub poems: usize,
    /// Characters plus `<eos>`: the tokens the NLL averages over.
    pub scored_tokens: usize,
}

impl PoemSet {
    pub fn new<'a>(
        tokenizer: &CharTokenizer,
        poems: impl IntoIterator<Item = &'a Poem>,
    ) -> PoemSet {
        let mut by_form = vec![Vec::new(); 4];
        let (mut count, mut scored) = (0, 0);
        for p in poems {
            let ids = tokenizer.encode_poem(p.form, &p.text);
            scored += ids.len() - 2;
            count += 1;
            by_form[form_index(p.form)].extend(ids);
        }
        PoemSet {
            by_form,
            poems: count,
            scored_tokens: scored,
        }
    }

    /// Every (form, index-in-form) pair, for shuffling.
    pub fn items(&self) -> Vec<(usize, usize)> {
        (0..4)
            .flat_map(|f| (0..self.count(f)).map(move |i| (f, i)))
            .collect()
    }

    pub fn count(&self, form: usize) -> usize {
        self.by_form[form].len() / seq_len(Form::ALL[form])
    }

    /// Poems `indices` of form `form` as a [len, T] tensor.
    pub fn batch(&self, form: usize, indices: &[usize]) -> Result<Tensor> {
        let t = seq_len(Form::ALL[form]);
        let mut v = Vec::with_capacity(indices.len() * t);
        for &i in indices {
            v.extend_from_slice(&self.by_form[form][i * t..(i + 1) * t]);
        }
        Tensor::from_vec(v, (indices.len(), t), &Device::Cpu)
    }
}

pub fn form_index(form: Form) -> usize {
    Form::ALL.iter().position(|&f| f == form).unwrap_or(0)
}

/// `<bos> <form> c1 … cN <eos>`.
pub fn seq_len(form: Form) -> usize {
    form.chars() + 3
}

/// Mean −log p per scored token (characters and `<eos>`) over a set.
pub fn mean_nll(model: &LlamaTrain, set: &PoemSet, batch: usize) -> Result<f64> {
    let mut total = 0.0;
    for f in 0..4 {
        let indices: Vec<usize> = (0..set.count(f)).collect();
        for chunk in indices.chunks(batch) {
            total += model
                .nll(&set.batch(f, chunk)?)?
                .sum_all()?
                .to_scalar::<f32>()? as f64;
        }
    }
    Ok(total / set.scored_tokens as f64)
}
