//! Chapter 7's model in training: chapter 4's LLaMA frozen (its shipped
//! Q8_0 weights, dequantized), a LoRA branch beside every matrix, and
//! trainable rows for the tokens `InstructVocab` adds, in the embedding
//! and in the output head. `merged` folds it all into one LLaMA to ship.

use std::collections::BTreeMap;

use candle_core::{Device, Result, Tensor, Var, D};
use candle_nn::ops::{log_softmax, softmax};

use crate::{
    attention::{heads, linear, rmsnorm},
    llama::{rope, rope_and_mask},
};
use compute::{inputs::uniform_signed, models::llama::LlamaConfig, weights::Tensor as Stored};

/// The matrices of a layer, by the name after `layers.{i}.`.
pub const MATRICES: [&str; 7] = [
    "attention.wq",
    "attention.wk",
    "attention.wv",
    "attention.wo",
    "feed_forward.w1",
    "feed_forward.w2",
    "feed_forward.w3",
];

pub struct InstructTrain {
    /// The tuned shape: more tokens, longer context.
    pub config: LlamaConfig,
    frozen: BTreeMap<String, Tensor>,
    /// [added tokens, dim]: their embeddings and their output rows.
    new_embed: Var,
    new_output: Var,
    /// Per matrix name: A [r, in] and B [out, r]; B starts at zero, so the
    /// adapted model starts as the base.
    lora: BTreeMap<String, (Var, Var)>,
    pub rank: usize,
    pub alpha: f32,
    rope: (Tensor, Tensor),
    causal: Tensor,
}

impl InstructTrain {
    /// `base` holds the shipped tensors of the model `tuned` grows.
    pub fn new(
        base_config: LlamaConfig,
        tuned: LlamaConfig,
        base: &BTreeMap<String, Stored>,
        rank: usize,
        alpha: f32,
        seed: u64,
    ) -> Result<InstructTrain> {
        let dev = &Device::Cpu;
        let vars = crate::shipped::vars_from_export(&base_config.specs(), base)?;
        let frozen: BTreeMap<String, Tensor> = vars
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().detach()))
            .collect();
        let added = tuned.vocab_size - base_config.vocab_size;
        let d = tuned.dim;
        // New embeddings: the mean row plus noise of the rows' own spread;
        // new output rows: the mean row, so a new token starts as likely as
        // an average one.
        let mean_row = |name: &str| frozen[name].mean_keepdim(0);
        let embed = &frozen["tok_embeddings.weight"];
        let spread = embed
            .broadcast_sub(&mean_row("tok_embeddings.weight")?)?
            .sqr()?
            .mean_all()?
            .sqrt()?
            .to_scalar::<f32>()?;
        let noise = Tensor::from_vec(
            uniform_signed(seed, added * d)
                .into_iter()
                .map(|v| v * spread * 3f32.sqrt())
                .collect::<Vec<_>>(),
            (added, d),
            dev,
        )?;
        let new_embed = Var::from_tensor(
            &mean_row("tok_embeddings.weight")?
                .broadcast_as((added, d))?
                .add(&noise)?,
        )?;
        let new_output = Var::from_tensor(
            &mean_row("output.weight")?
                .broadcast_as((added, d))?
                .contiguous()?,
        )?;
        let mut lora = BTreeMap::new();
        for i in 0..tuned.n_layers {
            for (k, m) in MATRICES.iter().enumerate() {
                let name = format!("layers.{i}.{m}.weight");
                let (out, inp) = frozen[&name].dims2()?;
                // Kaiming-uniform A, as the LoRA reference code; zero B.
                let bound = 1.0 / (inp as f32).sqrt();
                let a: Vec<f32> = uniform_signed(seed * 1000 + (i * 7 + k) as u64 + 1, rank * inp)
                    .into_iter()
                    .map(|v| v * bound)
                    .collect();
                lora.insert(
                    name,
                    (
                        Var::from_vec(a, (rank, inp), dev)?,
                        Var::zeros((out, rank), candle_core::DType::F32, dev)?,
                    ),
                );
            }
        }
        let (rope, causal) = rope_and_mask(tuned)?;
        Ok(InstructTrain {
            config: tuned,
            frozen,
            new_embed,
            new_output,
            lora,
            rank,
            alpha,
            rope,
            causal,
        })
    }

    fn scale(&self) -> f64 {
        self.alpha as f64 / self.rank as f64
    }

    /// What the optimizer moves: every A and B, then the new rows.
    pub fn vars(&self) -> Vec<Var> {
        let mut v: Vec<Var> = self
            .lora
            .values()
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect();
        v.extend([self.new_embed.clone(), self.new_output.clone()]);
        v
    }

    /// (LoRA numbers, new-row numbers).
    pub fn trainable_params(&self) -> (usize, usize) {
        let lora = self
            .lora
            .values()
            .map(|(a, b)| a.elem_count() + b.elem_count())
            .sum();
        (
            lora,
            self.new_embed.elem_count() + self.new_output.elem_count(),
        )
    }

    /// x · Wᵀ + (α/r)·(x · Aᵀ) · Bᵀ.
    fn adapted(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let y = linear(x, &self.frozen[name])?;
        match self.lora.get(name) {
            Some((a, b)) => {
                y + (linear(&linear(x, a.as_tensor())?, b.as_tensor())? * self.scale())?
            }
            None => Ok(y),
        }
    }

    fn grown(&self, name: &str, rows: &Var) -> Result<Tensor> {
        Tensor::cat(&[&self.frozen[name], rows.as_tensor()], 0)
    }

    /// Logits [B, T, vocab] for the next token after each of `tokens` [B, T].
    pub fn logits(&self, tokens: &Tensor) -> Result<Tensor> {
        let c = self.config;
        let (b, t) = tokens.dims2()?;
        let hd = c.head_dim();
        let mut x = self
            .grown("tok_embeddings.weight", &self.new_embed)?
            .index_select(&tokens.flatten_all()?, 0)?
            .reshape((b, t, c.dim))?;
        let group = c.n_heads / c.n_kv_heads;
        let mask = self.causal.narrow(0, 0, t)?.narrow(1, 0, t)?;
        for i in 0..c.n_layers {
            let n = |s: &str| format!("layers.{i}.{s}.weight");
            let h = rmsnorm(&x, &self.frozen[&n("attention_norm")], c.norm_eps)?;
            let q = rope(
                &heads(&self.adapted(&h, &n("attention.wq"))?, c.n_heads)?,
                &self.rope,
            )?;
            let k = rope(
                &heads(&self.adapted(&h, &n("attention.wk"))?, c.n_kv_heads)?,
                &self.rope,
            )?;
            let v = heads(&self.adapted(&h, &n("attention.wv"))?, c.n_kv_heads)?;
            let repeat = |x: Tensor| -> Result<Tensor> {
                x.unsqueeze(2)?
                    .expand((b, c.n_kv_heads, group, t, hd))?
                    .reshape((b, c.n_heads, t, hd))
            };
            let (k, v) = (repeat(k)?, repeat(v)?);
            let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
            let weights = softmax(&scores.broadcast_add(&mask)?, D::Minus1)?;
            let out = weights
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((b, t, c.n_heads * hd))?;
            x = (&x + self.adapted(&out, &n("attention.wo"))?)?;
            let m = rmsnorm(&x, &self.frozen[&n("ffn_norm")], c.norm_eps)?;
            let gate = candle_nn::ops::silu(&self.adapted(&m, &n("feed_forward.w1"))?)?;
            let up = self.adapted(&m, &n("feed_forward.w3"))?;
            x = (&x + self.adapted(&(gate * up)?, &n("feed_forward.w2"))?)?;
        }
        linear(
            &rmsnorm(&x, &self.frozen["norm.weight"], c.norm_eps)?,
            &self.grown("output.weight", &self.new_output)?,
        )
    }

    /// −log p [B, T − 2] of every token from position 2 on, for sequences
    /// [B, T] of one length: `<instr>` follows `<bos>` by rule, everything
    /// after it (the instruction, `<resp>`, the form, the poem, `<eos>`)
    /// is learned, so the model can also write instructions (round 1).
    pub fn token_nll(&self, seqs: &Tensor) -> Result<Tensor> {
        let (_, t) = seqs.dims2()?;
        let logits = self.logits(&seqs.narrow(1, 0, t - 1)?)?;
        let log_p = log_softmax(&logits.narrow(1, 1, t - 2)?.contiguous()?, D::Minus1)?;
        let targets = seqs
            .narrow(1, 2, t - 2)?
            .contiguous()?
            .unsqueeze(D::Minus1)?;
        log_p.gather(&targets, D::Minus1)?.squeeze(D::Minus1)?.neg()
    }

    /// Summed −log p [B] of the tokens `token_nll` scores.
    pub fn nll(&self, seqs: &Tensor) -> Result<Tensor> {
        self.token_nll(seqs)?.sum(1)
    }

    /// The shipped form: each adapted W replaced by W + (α/r)·B·A, the new
    /// rows appended, every matrix quantized to Q8_0 again.
    pub fn merged(&self) -> Result<BTreeMap<String, Stored>> {
        let mut vars = BTreeMap::new();
        for spec in self.config.specs() {
            let name = spec.name.clone();
            let t = match name.as_str() {
                "tok_embeddings.weight" => self.grown(&name, &self.new_embed)?,
                "output.weight" => self.grown(&name, &self.new_output)?,
                _ => match self.lora.get(&name) {
                    Some((a, b)) => {
                        (&self.frozen[&name]
                            + (b.as_tensor().matmul(a.as_tensor())? * self.scale())?)?
                    }
                    None => self.frozen[&name].clone(),
                },
            };
            vars.insert(name, Var::from_tensor(&t.detach())?);
        }
        crate::shipped::export(&self.config.specs(), &vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llama::LlamaTrain;
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};

    /// A few steps on one sequence that uses the new tokens lower its loss,
    /// and the shipped form (merged, quantized) gives the adapted logits.
    #[test]
    fn training_moves_the_adapter_and_new_rows_and_the_merge_keeps_them() -> Result<()> {
        let base_cfg = LlamaConfig {
            dim: 32,
            n_layers: 1,
            n_heads: 2,
            n_kv_heads: 1,
            hidden_dim: 64,
            vocab_size: 20,
            norm_eps: 1e-5,
            rope_theta: 10000.0,
            max_seq_len: 8,
        };
        let tuned = LlamaConfig {
            vocab_size: 23,
            max_seq_len: 12,
            ..base_cfg
        };
        let base = LlamaTrain::new(base_cfg, 1)?.export()?;
        let model = InstructTrain::new(base_cfg, tuned, &base, 4, 4.0, 1)?;
        // Rank 4 beside wq, wk, wv, wo (32·32, 16·32, 16·32, 32·32) and the
        // SwiGLU's three 64·32 matrices; three new rows of 32 twice.
        assert_eq!(model.trainable_params(), (2048, 192));
        let seqs = Tensor::new(&[[1u32, 20, 5, 6, 22, 21, 3, 7, 8, 2]], &Device::Cpu)?;
        let before = model.logits(&seqs)?;
        let mut opt = AdamW::new(
            model.vars(),
            ParamsAdamW {
                lr: 1e-2,
                weight_decay: 0.0,
                ..Default::default()
            },
        )?;
        let loss =
            |m: &InstructTrain| -> Result<f32> { m.nll(&seqs)?.sum_all()?.to_scalar::<f32>() };
        let first = loss(&model)?;
        for _ in 0..40 {
            opt.backward_step(&model.nll(&seqs)?.sum_all()?)?;
        }
        let last = loss(&model)?;
        assert!(last < 0.5 * first, "loss {first} → {last}");
        let merged = LlamaTrain::from_export(tuned, &model.merged()?)?;
        let gap = (model.logits(&seqs)? - merged.logits(&seqs)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        let moved = (model.logits(&seqs)? - before)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(
            gap < 0.1 * moved,
            "merge gap {gap}, training moved the logits by {moved}"
        );
        Ok(())
    }
}
