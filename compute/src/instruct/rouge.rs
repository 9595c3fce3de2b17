//! Character-level ROUGE-L, self-instruct's novelty test: a new instruction
//! is dropped when its ROUGE-L against any instruction already kept exceeds
//! 0.7 (Wang et al., 2023, §2.2). Chinese has no spaces, so the tokens are
//! characters; punctuation and spaces are left out.

/// Self-instruct's threshold: above it, an instruction is not new.
pub const NOVELTY_THRESHOLD: f64 = 0.7;

/// The characters ROUGE-L compares: letters and digits of any script.
pub fn tokens(text: &str) -> Vec<char> {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Length of the longest common subsequence.
pub fn lcs(a: &[char], b: &[char]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for &x in a {
        let mut diagonal = 0;
        for (j, &y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// ROUGE-L's F-measure (β = 1, as `rouge_score` computes it) between two
/// token lists: 2PR / (P + R) with P = LCS/|a|, R = LCS/|b|. 0 if either
/// is empty.
pub fn rouge_l(a: &[char], b: &[char]) -> f64 {
    let common = lcs(a, b) as f64;
    if common == 0.0 {
        return 0.0;
    }
    let (p, r) = (common / a.len() as f64, common / b.len() as f64);
    2.0 * p * r / (p + r)
}

/// The instructions of `pool` nearest to `text` by ROUGE-L, best first
/// (ties by pool order): (index in the pool, score).
pub fn nearest(text: &str, pool: &[Vec<char>], n: usize) -> Vec<(usize, f64)> {
    let t = tokens(text);
    let mut scored: Vec<(usize, f64)> = pool
        .iter()
        .enumerate()
        .map(|(i, p)| (i, rouge_l(&t, p)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(n);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_and_rouge_by_hand() {
        let a = tokens("写一首五绝");
        let b = tokens("请写一首七绝吧");
        // 写一首绝: 4 of 5 and of 7.
        assert_eq!(lcs(&a, &b), 4);
        let (p, r) = (4.0 / 5.0, 4.0 / 7.0);
        assert!((rouge_l(&a, &b) - 2.0 * p * r / (p + r)).abs() < 1e-12);
        assert_eq!(rouge_l(&a, &a), 1.0);
        assert_eq!(rouge_l(&a, &tokens("")), 0.0);
        assert_eq!(rouge_l(&tokens("春"), &tokens("秋")), 0.0);
        // Order matters: a subsequence, not a bag.
        assert_eq!(lcs(&tokens("abc"), &tokens("cba")), 1);
    }

    #[test]
    fn punctuation_does_not_count() {
        assert_eq!(tokens("续写：「白日依山尽，」"), tokens("续写白日依山尽"));
    }

    #[test]
    fn nearest_ranks_by_score() {
        let pool: Vec<Vec<char>> = ["来一首七律", "写一首五绝吧", "以春风为藏头写七绝"]
            .iter()
            .map(|s| tokens(s))
            .collect();
        let best = nearest("写一首五绝", &pool, 2);
        assert_eq!(best[0].0, 1);
        assert!(best[0].1 > NOVELTY_THRESHOLD);
        assert!(best[1].1 < best[0].1);
    }
}
