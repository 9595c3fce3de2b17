//! NADE's exact gradient by hand, in O(n·H) per image: the recursion
//! a_{i+1} = a_i + x_i W[:, i] run forward, then backward with a running sum
//! of ∂a. candle's autodiff on the same model (`nade.rs`) is the oracle
//! (`tests` below); this path exists because autodiff materialises
//! [batch, 784, H] tensors and takes minutes per epoch on two cores.

// The loops index several arrays in step, as the equations do.
#![allow(clippy::needless_range_loop)]

use crate::data::PIXELS;

/// NADE's parameters as flat arrays. `wt` is Wᵀ ([784, H]) so that pixel i's
/// column of W is a contiguous row.
#[derive(Debug, Clone, PartialEq)]
pub struct NadeParams {
    pub hidden: usize,
    pub wt: Vec<f32>,
    pub c: Vec<f32>,
    pub v: Vec<f32>,
    pub b: Vec<f32>,
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

fn softplus(z: f32) -> f32 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

impl NadeParams {
    pub fn zeros_like(&self) -> NadeParams {
        NadeParams {
            hidden: self.hidden,
            wt: vec![0.0; self.wt.len()],
            c: vec![0.0; self.c.len()],
            v: vec![0.0; self.v.len()],
            b: vec![0.0; self.b.len()],
        }
    }

    /// −log p(x) in nats for one image.
    pub fn nll(&self, x: &[f32]) -> f32 {
        let h = self.hidden;
        let mut a = self.c.clone();
        let mut total = 0.0;
        for i in 0..PIXELS {
            let mut z = self.b[i];
            for k in 0..h {
                z += self.v[i * h + k] * sigmoid(a[k]);
            }
            total += softplus(z) - x[i] * z;
            if x[i] != 0.0 {
                for k in 0..h {
                    a[k] += self.wt[i * h + k];
                }
            }
        }
        total
    }

    /// Adds ∂(−log p(x))/∂θ for one image to `grad` and returns −log p(x).
    /// `hs` is scratch for the 784 hidden vectors.
    pub fn accumulate_grad(&self, x: &[f32], grad: &mut NadeParams, hs: &mut Vec<f32>) -> f32 {
        let h = self.hidden;
        hs.resize(PIXELS * h, 0.0);
        let mut a = self.c.clone();
        let mut total = 0.0;
        let mut dz = [0f32; PIXELS];
        for i in 0..PIXELS {
            let row = &mut hs[i * h..(i + 1) * h];
            let mut z = self.b[i];
            for k in 0..h {
                row[k] = sigmoid(a[k]);
                z += self.v[i * h + k] * row[k];
            }
            total += softplus(z) - x[i] * z;
            dz[i] = sigmoid(z) - x[i];
            if x[i] != 0.0 {
                for k in 0..h {
                    a[k] += self.wt[i * h + k];
                }
            }
        }
        // Backward: ∂a_i flows to c and to every W[:, j] with j < i and x_j = 1.
        let mut later = vec![0f32; h]; // Σ_{i' > i} ∂a_{i'}
        for i in (0..PIXELS).rev() {
            if x[i] != 0.0 {
                for k in 0..h {
                    grad.wt[i * h + k] += later[k];
                }
            }
            grad.b[i] += dz[i];
            let row = &hs[i * h..(i + 1) * h];
            for k in 0..h {
                grad.v[i * h + k] += dz[i] * row[k];
                later[k] += dz[i] * self.v[i * h + k] * row[k] * (1.0 - row[k]);
            }
        }
        for k in 0..h {
            grad.c[k] += later[k];
        }
        total
    }

    /// Mean loss and mean gradient over a batch, split across `threads`.
    pub fn batch_grad(&self, xs: &[&[f32]], threads: usize) -> (f32, NadeParams) {
        let chunk = xs.len().div_ceil(threads.max(1)).max(1);
        let parts: Vec<(f32, NadeParams)> = std::thread::scope(|scope| {
            let handles: Vec<_> = xs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut grad = self.zeros_like();
                        let mut hs = Vec::new();
                        let loss = part
                            .iter()
                            .map(|x| self.accumulate_grad(x, &mut grad, &mut hs))
                            .sum::<f32>();
                        (loss, grad)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("gradient thread panicked"))
                .collect()
        });
        let mut total = 0.0;
        let mut grad = self.zeros_like();
        for (loss, g) in parts {
            total += loss;
            for (dst, src) in [
                (&mut grad.wt, &g.wt),
                (&mut grad.c, &g.c),
                (&mut grad.v, &g.v),
                (&mut grad.b, &g.b),
            ] {
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            }
        }
        let n = xs.len() as f32;
        for t in [&mut grad.wt, &mut grad.c, &mut grad.v, &mut grad.b] {
            t.iter_mut().for_each(|g| *g /= n);
        }
        (total / n, grad)
    }
}

/// Adam (Kingma & Ba 2015) over the four parameter arrays.
pub struct Adam {
    lr: f32,
    step: i32,
    m: NadeParams,
    v: NadeParams,
}

impl Adam {
    pub fn new(params: &NadeParams, lr: f32) -> Adam {
        Adam {
            lr,
            step: 0,
            m: params.zeros_like(),
            v: params.zeros_like(),
        }
    }

    pub fn update(&mut self, params: &mut NadeParams, grad: &NadeParams) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        self.step += 1;
        let (c1, c2) = (1.0 - b1.powi(self.step), 1.0 - b2.powi(self.step));
        let groups = [
            (&mut params.wt, &grad.wt, &mut self.m.wt, &mut self.v.wt),
            (&mut params.c, &grad.c, &mut self.m.c, &mut self.v.c),
            (&mut params.v, &grad.v, &mut self.m.v, &mut self.v.v),
            (&mut params.b, &grad.b, &mut self.m.b, &mut self.v.b),
        ];
        for (p, g, m, v) in groups {
            for i in 0..p.len() {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                p[i] -= self.lr * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
            }
        }
    }
}
