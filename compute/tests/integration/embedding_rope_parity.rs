//! Embedding gather and RoPE: GPU against the CPU reference.

use crate::common;

use common::{assert_close, gpu, run};
use compute::{
    inputs::{uniform_signed, SplitMix64},
    kernels::{
        embedding::{check_ids, embedding},
        rope::{rope, rope_tables, RopeShape},
    },
    reference::{embedding::embedding_ref, rope::rope_ref},
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
        let got = run(&exec, |rec| {
            let (tx, tc, ts) = (
                rec.exec().upload(&x),
                rec.exec().upload(&cos),
                rec.exec().upload(&sin),
            );
            rope(rec, &tx, &tc, &ts, shape).unwrap()
        });
        assert_close(
            &got,
            &rope_ref(&x, &cos, &sin, shape).unwrap(),
            1e-6,
            &format!("{shape:?}"),
        );
    }
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
