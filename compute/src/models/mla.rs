//! Multi-head latent attention (DeepSeek-V2 §2.1), one layer, decoding one
//! token at a time, on the CPU, in its two equivalent forms.
//!
//! Per token t with input h_t (d_model values):
//! - cached: the latent c_t = W_dkv · h_t (d_c values) and one RoPE key
//!   k^R_t = RoPE(W_kr · h_t) (d_r values) shared by all heads;
//! - per head i: q^C_i = W_q,i · h_t (d_h), q^R_i = RoPE(W_qr,i · h_t) (d_r);
//! - scores s_ij = (q^C_i · k^C_ij + q^R_i · k^R_j) / √(d_h + d_r), with
//!   k^C_ij = W_uk,i · c_j and values v_ij = W_uv,i · c_j;
//! - output u_t = W_o · [o_1; …; o_{n_h}], o_i = Σ_j softmax_j(s_ij) v_ij.
//!
//! **Naive**: decompress k^C and v for every cached token, then attend.
//! **Absorbed**: q̃_i = W_uk,iᵀ q^C_i (d_c values), so q^C_i · k^C_ij =
//! q̃_i · c_j; and o_i = W_uv,i (Σ_j a_ij c_j), so W_uv folds into W_o.
//! Keys and values are never materialised; the cache is only (c, k^R).

use crate::{
    error::ComputeError,
    inputs::uniform_signed,
    kernels::rope::{rope_tables, RopeShape},
    reference::rope::rope_ref,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlaShape {
    pub d_model: usize,
    pub heads: usize,
    pub head_dim: usize,
    /// d_c: the latent's width.
    pub latent: usize,
    /// d_h^R: the decoupled RoPE key's width.
    pub rope_dim: usize,
    pub max_len: usize,
}

/// Row-major matrices, [out, in].
#[derive(Debug, Clone, PartialEq)]
pub struct MlaWeights {
    pub shape: MlaShape,
    pub w_dkv: Vec<f32>,
    pub w_uk: Vec<f32>,
    pub w_uv: Vec<f32>,
    pub w_q: Vec<f32>,
    pub w_qr: Vec<f32>,
    pub w_kr: Vec<f32>,
    pub w_o: Vec<f32>,
}

fn matvec(w: &[f32], x: &[f32], rows: usize) -> Vec<f32> {
    let cols = x.len();
    (0..rows)
        .map(|r| {
            w[r * cols..(r + 1) * cols]
                .iter()
                .zip(x)
                .map(|(a, b)| a * b)
                .sum()
        })
        .collect()
}

/// wᵀ · y for w [rows, cols]: a vector of cols.
fn matvec_t(w: &[f32], y: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; cols];
    for (r, &yr) in y.iter().enumerate() {
        for (o, &wv) in out.iter_mut().zip(&w[r * cols..(r + 1) * cols]) {
            *o += wv * yr;
        }
    }
    out
}

fn softmax(s: &mut [f32]) {
    let m = s.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0.0;
    for v in s.iter_mut() {
        *v = (*v - m).exp();
        z += *v;
    }
    for v in s.iter_mut() {
        *v /= z;
    }
}

impl MlaWeights {
    /// Seeded weights with entries scaled by 1/√fan_in.
    pub fn random(shape: MlaShape, seed: u64) -> MlaWeights {
        let m = |k: u64, rows: usize, cols: usize| -> Vec<f32> {
            let s = 1.0 / (cols as f32).sqrt();
            uniform_signed(seed * 16 + k, rows * cols)
                .into_iter()
                .map(|v| v * s)
                .collect()
        };
        let MlaShape {
            d_model: d,
            heads: h,
            head_dim: dh,
            latent: dc,
            rope_dim: dr,
            ..
        } = shape;
        MlaWeights {
            shape,
            w_dkv: m(1, dc, d),
            w_uk: m(2, h * dh, dc),
            w_uv: m(3, h * dh, dc),
            w_q: m(4, h * dh, d),
            w_qr: m(5, h * dr, d),
            w_kr: m(6, dr, d),
            w_o: m(7, d, h * dh),
        }
    }
}

/// What MLA caches per token: the latent and the shared RoPE key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MlaCache {
    pub latent: Vec<Vec<f32>>,
    pub rope_key: Vec<Vec<f32>>,
}

impl MlaCache {
    /// f32 values held: (d_c + d_r) per token, the calculator's formula.
    pub fn elements(&self) -> usize {
        self.latent.iter().chain(&self.rope_key).map(Vec::len).sum()
    }
}

/// One layer's decoder state: weights, RoPE tables and the cache.
pub struct MlaLayer {
    pub w: MlaWeights,
    cos: Vec<f32>,
    sin: Vec<f32>,
    pub cache: MlaCache,
    /// The latest step's attention weights, [heads, max_len].
    pub probs: Vec<f32>,
}

impl MlaLayer {
    pub fn new(w: MlaWeights) -> Result<MlaLayer, ComputeError> {
        let s = w.shape;
        if !s.rope_dim.is_multiple_of(2) || s.heads == 0 || s.latent == 0 {
            return Err(ComputeError::Shape {
                op: "mla",
                detail: format!("{s:?}: rope_dim must be even, heads and latent positive"),
            });
        }
        let (cos, sin) = rope_tables(s.max_len, s.rope_dim, 10_000.0);
        Ok(MlaLayer {
            w,
            cos,
            sin,
            // Room for the whole context up front, as the GPU allocates it.
            cache: MlaCache {
                latent: Vec::with_capacity(s.max_len),
                rope_key: Vec::with_capacity(s.max_len),
            },
            probs: vec![0.0; s.heads * s.max_len],
        })
    }

    fn rope(&self, x: &[f32], heads: usize, pos: usize) -> Result<Vec<f32>, ComputeError> {
        rope_ref(
            x,
            &self.cos,
            &self.sin,
            RopeShape {
                tokens: 1,
                heads,
                head_dim: self.w.shape.rope_dim,
                pos0: pos,
            },
        )
    }

    /// Appends token `pos` to the cache and returns the per-head queries
    /// (content, RoPE) for it.
    fn append(&mut self, h: &[f32], pos: usize) -> Result<(Vec<f32>, Vec<f32>), ComputeError> {
        let s = self.w.shape;
        if h.len() != s.d_model || pos != self.cache.latent.len() || pos >= s.max_len {
            return Err(ComputeError::Shape {
                op: "mla",
                detail: format!(
                    "token {pos} of {} values into a cache of {}",
                    h.len(),
                    self.cache.latent.len()
                ),
            });
        }
        self.cache.latent.push(matvec(&self.w.w_dkv, h, s.latent));
        let kr = self.rope(&matvec(&self.w.w_kr, h, s.rope_dim), 1, pos)?;
        self.cache.rope_key.push(kr);
        let q = matvec(&self.w.w_q, h, s.heads * s.head_dim);
        let qr = self.rope(&matvec(&self.w.w_qr, h, s.heads * s.rope_dim), s.heads, pos)?;
        Ok((q, qr))
    }

    /// Empties the cache, to decode a new sequence.
    pub fn reset(&mut self) {
        self.cache.latent.clear();
        self.cache.rope_key.clear();
    }

    /// f32 values the cache has room for: (d_c + d_r) per reserved token.
    pub fn reserved_elements(&self) -> usize {
        let s = self.w.shape;
        self.cache.latent.capacity() * s.latent + self.cache.rope_key.capacity() * s.rope_dim
    }

    fn keep_probs(&mut self, head: usize, scores: &[f32]) {
        let at = head * self.w.shape.max_len;
        self.probs[at..at + scores.len()].copy_from_slice(scores);
    }

    fn scale(&self) -> f32 {
        1.0 / ((self.w.shape.head_dim + self.w.shape.rope_dim) as f32).sqrt()
    }

    /// Decodes token `pos` by decompressing every cached token's keys and values.
    pub fn step_naive(&mut self, h: &[f32], pos: usize) -> Result<Vec<f32>, ComputeError> {
        let (q, qr) = self.append(h, pos)?;
        let s = self.w.shape;
        let (dh, dr) = (s.head_dim, s.rope_dim);
        let keys: Vec<Vec<f32>> = self
            .cache
            .latent
            .iter()
            .map(|c| matvec(&self.w.w_uk, c, s.heads * dh))
            .collect();
        let values: Vec<Vec<f32>> = self
            .cache
            .latent
            .iter()
            .map(|c| matvec(&self.w.w_uv, c, s.heads * dh))
            .collect();
        let mut o = vec![0.0; s.heads * dh];
        for i in 0..s.heads {
            let qi = &q[i * dh..(i + 1) * dh];
            let qri = &qr[i * dr..(i + 1) * dr];
            let mut scores: Vec<f32> = (0..=pos)
                .map(|j| {
                    let kc: f32 = qi
                        .iter()
                        .zip(&keys[j][i * dh..(i + 1) * dh])
                        .map(|(a, b)| a * b)
                        .sum();
                    let kr: f32 = qri
                        .iter()
                        .zip(&self.cache.rope_key[j])
                        .map(|(a, b)| a * b)
                        .sum();
                    (kc + kr) * self.scale()
                })
                .collect();
            softmax(&mut scores);
            self.keep_probs(i, &scores);
            for (j, a) in scores.iter().enumerate() {
                for (ov, vv) in o[i * dh..(i + 1) * dh]
                    .iter_mut()
                    .zip(&values[j][i * dh..(i + 1) * dh])
                {
                    *ov += a * vv;
                }
            }
        }
        Ok(matvec(&self.w.w_o, &o, s.d_model))
    }

    /// Decodes token `pos` with W_uk absorbed into the query and W_uv into
    /// the output: attention runs in the d_c-wide latent space.
    pub fn step_absorbed(&mut self, h: &[f32], pos: usize) -> Result<Vec<f32>, ComputeError> {
        let (q, qr) = self.append(h, pos)?;
        let s = self.w.shape;
        let (dh, dr, dc) = (s.head_dim, s.rope_dim, s.latent);
        let mut o = vec![0.0; s.heads * dh];
        for i in 0..s.heads {
            // q̃_i = W_uk,iᵀ q^C_i: W_uk,i is rows i·dh..(i+1)·dh of W_uk.
            let w_uk_i = &self.w.w_uk[i * dh * dc..(i + 1) * dh * dc];
            let q_latent = matvec_t(w_uk_i, &q[i * dh..(i + 1) * dh], dc);
            let qri = &qr[i * dr..(i + 1) * dr];
            let mut scores: Vec<f32> = (0..=pos)
                .map(|j| {
                    let kc: f32 = q_latent
                        .iter()
                        .zip(&self.cache.latent[j])
                        .map(|(a, b)| a * b)
                        .sum();
                    let kr: f32 = qri
                        .iter()
                        .zip(&self.cache.rope_key[j])
                        .map(|(a, b)| a * b)
                        .sum();
                    (kc + kr) * self.scale()
                })
                .collect();
            softmax(&mut scores);
            self.keep_probs(i, &scores);
            let mut mixed = vec![0.0; dc];
            for (j, a) in scores.iter().enumerate() {
                for (m, c) in mixed.iter_mut().zip(&self.cache.latent[j]) {
                    *m += a * c;
                }
            }
            let w_uv_i = &self.w.w_uv[i * dh * dc..(i + 1) * dh * dc];
            o[i * dh..(i + 1) * dh].copy_from_slice(&matvec(w_uv_i, &mixed, dh));
        }
        Ok(matvec(&self.w.w_o, &o, s.d_model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_and_absorbed_mla_agree_and_cache_only_latent_and_rope_key() {
        let shape = MlaShape {
            d_model: 48,
            heads: 4,
            head_dim: 16,
            latent: 32,
            rope_dim: 8,
            max_len: 40,
        };
        let w = MlaWeights::random(shape, 3);
        let mut naive = MlaLayer::new(w.clone()).unwrap();
        let mut absorbed = MlaLayer::new(w).unwrap();
        let mut worst = 0.0f32;
        for pos in 0..30 {
            let h = uniform_signed(100 + pos as u64, shape.d_model);
            let a = naive.step_naive(&h, pos).unwrap();
            let b = absorbed.step_absorbed(&h, pos).unwrap();
            for (x, y) in a.iter().zip(&b) {
                worst = worst.max((x - y).abs());
            }
            assert!(
                a.iter().any(|v| v.abs() > 1e-2),
                "outputs should not vanish"
            );
            assert_eq!(
                absorbed.cache.elements(),
                (pos + 1) * (shape.latent + shape.rope_dim)
            );
        }
        assert!(worst < 1e-4, "max |naive − absorbed| = {worst}");
        assert_eq!(naive.cache, absorbed.cache);
        // Out of order is refused rather than silently misplaced.
        assert!(naive.step_naive(&[0.0; 48], 7).is_err());
    }
}
