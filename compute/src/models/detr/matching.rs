//! Minimum-cost one-to-one assignment (the Hungarian method, in the
//! shortest-augmenting-path form of Jonker and Volgenant), O(n²·m) for an
//! n × m cost matrix. DETR uses it to match its N predictions with the M
//! objects of an image, so each object is claimed by exactly one query.

/// Pairs (row, column) that cover min(rows, cols) of each and minimise the
/// summed cost. `cost` is row-major, rows × cols, and must be finite.
pub fn hungarian(cost: &[f64], rows: usize, cols: usize) -> Vec<(usize, usize)> {
    assert_eq!(cost.len(), rows * cols, "cost must be rows × cols");
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    if rows > cols {
        // Solve the transpose, whose rows are fewer.
        let t: Vec<f64> = (0..cols * rows)
            .map(|k| cost[(k % rows) * cols + k / rows])
            .collect();
        let mut pairs: Vec<(usize, usize)> = hungarian(&t, cols, rows)
            .into_iter()
            .map(|(c, r)| (r, c))
            .collect();
        pairs.sort_unstable();
        return pairs;
    }
    let (n, m) = (rows, cols);
    let at = |i: usize, j: usize| cost[(i - 1) * m + (j - 1)];
    // 1-based potentials u (rows), v (columns); p[j] = row matched to column j.
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut min_v = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let reduced = at(i0, j) - u[i0] - v[j];
                    if reduced < min_v[j] {
                        min_v[j] = reduced;
                        way[j] = j0;
                    }
                    if min_v[j] < delta {
                        delta = min_v[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_v[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        // Flip the augmenting path.
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| (p[j] - 1, j - 1))
        .collect();
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::SplitMix64;

    /// The cheapest assignment by trying every injection of the smaller side.
    fn brute_force(cost: &[f64], rows: usize, cols: usize) -> f64 {
        fn go(cost: &[f64], rows: usize, cols: usize, r: usize, used: &mut Vec<bool>) -> f64 {
            if r == rows {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for c in 0..cols {
                if !used[c] {
                    used[c] = true;
                    best = best.min(cost[r * cols + c] + go(cost, rows, cols, r + 1, used));
                    used[c] = false;
                }
            }
            best
        }
        if rows <= cols {
            go(cost, rows, cols, 0, &mut vec![false; cols])
        } else {
            let t: Vec<f64> = (0..cols * rows)
                .map(|k| cost[(k % rows) * cols + k / rows])
                .collect();
            go(&t, cols, rows, 0, &mut vec![false; rows])
        }
    }

    #[test]
    fn agrees_with_brute_force_up_to_7x7() {
        let mut rng = SplitMix64::new(42);
        for trial in 0..600 {
            let rows = 1 + (rng.next_u64() % 7) as usize;
            let cols = 1 + (rng.next_u64() % 7) as usize;
            // Small integers make ties common, the case that breaks sloppy code.
            let integers = trial % 2 == 0;
            let cost: Vec<f64> = (0..rows * cols)
                .map(|_| {
                    let r = rng.next_u64();
                    if integers {
                        (r % 5) as f64
                    } else {
                        (r >> 11) as f64 / (1u64 << 53) as f64 * 10.0 - 3.0
                    }
                })
                .collect();
            let pairs = hungarian(&cost, rows, cols);
            assert_eq!(pairs.len(), rows.min(cols));
            let mut seen_r = vec![false; rows];
            let mut seen_c = vec![false; cols];
            for &(r, c) in &pairs {
                assert!(!seen_r[r] && !seen_c[c], "not one-to-one: {pairs:?}");
                seen_r[r] = true;
                seen_c[c] = true;
            }
            let total: f64 = pairs.iter().map(|&(r, c)| cost[r * cols + c]).sum();
            let best = brute_force(&cost, rows, cols);
            assert!(
                (total - best).abs() < 1e-9,
                "{rows}×{cols}: {total} vs brute force {best}"
            );
        }
    }

    #[test]
    fn empty_and_known_cases() {
        assert!(hungarian(&[], 0, 3).is_empty());
        // The greedy choice (0,0) is wrong here.
        let cost = [1.0, 2.0, 1.0, 100.0];
        assert_eq!(hungarian(&cost, 2, 2), vec![(0, 1), (1, 0)]);
    }
}
