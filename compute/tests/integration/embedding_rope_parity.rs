//! Embedding gather and RoPE: GPU against the CPU reference.

use crate::common;

use common::{assert_close, gpu, run};
use compute::{
    inputs::{uniform_signed, SplitMix64},
    kernels::{
        embedding::{check_ids, embedding},
        rope::{rope, rope_interleaved, rope_tables, RopeShape},
    },
    reference::{
        embedding::embedding_ref,
        rope::{rope_interleaved_ref, rope_ref},
    },
};

#[test]
fn embedding_gathers_the_same_rows() {
    let Some(exec) = gpu() else { return };
    for (vocab, dim, tokens) in [(2, 1, 1), (16, 64, 196), (50, 3, 785), (1000, 300, 7)] {
        let table = uniform_signed(1, vocab * dim);
        let mut rng = SplitMix64::new(2);
        let ids: Vec<u32> = (0..tokens)
            .map(|_| (rng.next_u64() % vocab as u64) as u32)
            .collect();
        let got = run(&exec, |rec| {
            let (t, i) = (rec.exec().upload(&table), rec.exec().upload_u32(&ids));
            embedding(rec, &t, &i, vocab, dim).unwrap()
        });
        assert_close(
            &got,
            &embedding_ref(&table, &ids, vocab, dim).unwrap(),
            0.0,
            &format!("{vocab}x{dim}"),
        );
    }
    assert!(check_ids(&[0, 5], 5).is_err());
}

#[test]
fn rope_matches_reference() {
    let Some(exec) = gpu() else { return };
    let (cos, sin) = rope_tables(1024, 64, 10_000.0);
    let cases = [
        RopeShape {
            tokens: 1,
            heads: 1,
            head_dim: 2,
            pos0: 0,
        },
        RopeShape {
            tokens: 1,
            heads: 4,
            head_dim: 64,
            pos0: 783,
        }, // one decode step late in a sequence
        RopeShape {
            tokens: 785,
            heads: 2,
            head_dim: 16,
            pos0: 0,
        },
        RopeShape {
            tokens: 9,
            heads: 3,
            head_dim: 64,
            pos0: 100,
        },
    ];
    for shape in cases {
        let (cos, sin) = if shape.head_dim == 64 {
            (cos.clone(), sin.clone())
        } else {
            rope_tables(1024, shape.head_dim, 10_000.0)
        };
        let x = uniform_signed(3, shape.tokens * shape.heads * shape.head_dim);
        for interleaved in [false, true] {
            let got = run(&exec, |rec| {
                let (tx, tc, ts) = (
                    rec.exec().upload(&x),
                    rec.exec().upload(&cos),
                    rec.exec().upload(&sin),
                );
                if interleaved {
                    rope_interleaved(rec, &tx, &tc, &ts, shape).unwrap()
                } else {
                    rope(rec, &tx, &tc, &ts, shape).unwrap()
                }
            });
            let want = if interleaved {
                rope_interleaved_ref(&x, &cos, &sin, shape).unwrap()
            } else {
                rope_ref(&x, &cos, &sin, shape).unwrap()
            };
            assert_close(
                &got,
                &want,
                1e-6,
                &format!("{shape:?}, interleaved {interleaved}"),
            );
        }
    }
}

/// The two layouts are one rotation with the elements listed in another
/// order: interleaved(x) = P · neox(P⁻¹ · x), P taking (i, i + d/2) to
/// (2i, 2i + 1).
#[test]
fn interleaved_rope_is_neox_rope_permuted() {
    let shape = RopeShape {
        tokens: 5,
        heads: 3,
        head_dim: 8,
        pos0: 7,
    };
    let (cos, sin) = rope_tables(64, 8, 10_000.0);
    let x = uniform_signed(9, 5 * 3 * 8);
    let half = 4;
    let to_neox = |v: &[f32]| -> Vec<f32> {
        v.chunks(8)
            .flat_map(|h| {
                (0..8)
                    .map(|j| {
                        if j < half {
                            h[2 * j]
                        } else {
                            h[2 * (j - half) + 1]
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let from_neox = |v: &[f32]| -> Vec<f32> {
        v.chunks(8)
            .flat_map(|h| {
                (0..8)
                    .map(|j| h[j / 2 + (j % 2) * half])
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(from_neox(&to_neox(&x)), x);
    let via_neox = from_neox(&rope_ref(&to_neox(&x), &cos, &sin, shape).unwrap());
    assert_close(
        &rope_interleaved_ref(&x, &cos, &sin, shape).unwrap(),
        &via_neox,
        1e-6,
        "interleaved",
    );
}

#[test]
fn rope_refuses_positions_past_its_tables() {
    let Some(exec) = gpu() else { return };
    let (cos, sin) = rope_tables(10, 4, 10_000.0);
    let (x, c, s) = (exec.upload(&[0.0; 8]), exec.upload(&cos), exec.upload(&sin));
    let mut rec = exec.begin();
    assert!(rope(
        &mut rec,
        &x,
        &c,
        &s,
        RopeShape {
            tokens: 2,
            heads: 1,
            head_dim: 4,
            pos0: 9
        }
    )
    .is_err());
}
