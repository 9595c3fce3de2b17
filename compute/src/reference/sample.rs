//! The samplers on the CPU, drawing the same numbers as the GPU.

use crate::kernels::sample::Sampler;

/// Philox4x32-10 (Salmon et al. 2011).
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for _ in 0..10 {
        let p0 = 0xD251_1F53u64 * c[0] as u64;
        let p1 = 0xCD9E_8D57u64 * c[2] as u64;
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
        k = [
            k[0].wrapping_add(0x9E37_79B9),
            k[1].wrapping_add(0xBB67_AE85),
        ];
    }
    c
}

/// The uniform draw in [0, 1) for `row` at `step`.
pub fn uniform01(seed: u64, step: u32, row: u32) -> f32 {
    let r = philox4x32_10([step, row, 0, 0], [seed as u32, (seed >> 32) as u32]);
    (r[0] >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// One draw per row, as the GPU makes it (indices as u32).
pub fn sample_ref(
    sampler: Sampler,
    probs: &[f32],
    rows: usize,
    cols: usize,
    seed: u64,
    step: u32,
) -> Vec<u32> {
    (0..rows)
        .map(|i| match sampler {
            Sampler::Bernoulli => (uniform01(seed, step, i as u32) < probs[i]) as u32,
            Sampler::Categorical => {
                let row = &probs[i * cols..(i + 1) * cols];
                let total = row.iter().fold(0.0f32, |a, &b| a + b);
                let target = uniform01(seed, step, i as u32) * total;
                let mut cum = 0.0f32;
                row.iter()
                    .position(|&p| {
                        cum += p;
                        target < cum
                    })
                    .unwrap_or(cols - 1) as u32
            }
            Sampler::Argmax => {
                let row = &probs[i * cols..(i + 1) * cols];
                (1..cols).fold(0, |best, j| if row[j] > row[best] { j } else { best }) as u32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors from Random123's kat_vectors for philox4x32_10.
    #[test]
    fn philox_matches_random123() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn bernoulli_frequency_follows_p() {
        let probs = vec![0.3f32; 20_000];
        let ones: u32 = sample_ref(Sampler::Bernoulli, &probs, probs.len(), 1, 42, 0)
            .iter()
            .sum();
        let rate = ones as f64 / probs.len() as f64;
        assert!((rate - 0.3).abs() < 0.015, "{rate}");
    }
}
