//! The weight loader against damaged input: every truncation, bit flips in
//! the header and the data, and files that do not match the model's specs.
//! Each must give a typed error (or, for a flip inside the data, possibly a
//! valid load); none may panic.

use std::collections::BTreeMap;

use compute::{
    inputs::{uniform_signed, SplitMix64},
    weights::{
        load,
        manifest::{sha256_hex, AssetEntry, Manifest},
        to_safetensors, Q8Matrix, Tensor, TensorSpec, WeightsError,
    },
};

const FILE: &str = "models/test/tiny.safetensors";

fn specs() -> Vec<TensorSpec> {
    vec![
        TensorSpec::f32("emb", &[3, 5]),
        TensorSpec::q8_0("proj", 4, 40),
    ]
}

fn tensors() -> BTreeMap<String, Tensor> {
    let mut t = BTreeMap::new();
    t.insert(
        "emb".to_string(),
        Tensor::F32 {
            shape: vec![3, 5],
            data: uniform_signed(1, 15),
        },
    );
    t.insert(
        "proj".to_string(),
        Tensor::Q8_0(Q8Matrix::quantize(&uniform_signed(2, 160), 4, 40)),
    );
    t
}

fn file() -> Vec<u8> {
    to_safetensors(&tensors()).unwrap()
}

#[test]
fn loads_exactly_what_was_written() {
    let loaded = load(FILE, &file(), &specs()).unwrap();
    assert_eq!(loaded.tensors, tensors());
    assert_eq!(loaded.q8_0("proj").unwrap().quants.len(), 4 * 64);
}

#[test]
fn every_truncation_is_a_header_error() {
    let bytes = file();
    for len in 0..bytes.len() {
        match load(FILE, &bytes[..len], &specs()) {
            Err(WeightsError::Header { file, .. }) => assert_eq!(file, FILE),
            other => panic!("truncated to {len} of {} bytes: {other:?}", bytes.len()),
        }
    }
}

#[test]
fn bit_flips_never_panic_and_the_manifest_catches_every_one() {
    let bytes = file();
    let manifest = Manifest {
        about: String::new(),
        assets: vec![AssetEntry {
            path: FILE.into(),
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
            training_only: false,
        }],
    };
    manifest.verify(FILE, &bytes).unwrap();
    let header_len = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut rng = SplitMix64::new(7);
    // Every bit of the length prefix and header, then random bits of the data.
    let positions: Vec<usize> =
        (0..header_len * 8)
            .chain((0..2000).map(|_| {
                header_len * 8 + (rng.next_u64() as usize) % ((bytes.len() - header_len) * 8)
            }))
            .collect();
    let (mut errors, mut loads) = (0, 0);
    for bit in positions {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        assert!(
            matches!(
                manifest.verify(FILE, &damaged),
                Err(WeightsError::Hash { .. })
            ),
            "bit {bit}"
        );
        match load(FILE, &damaged, &specs()) {
            Ok(_) => loads += 1,
            Err(e) => {
                assert!(e.to_string().starts_with(FILE), "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0 && loads > 0, "{errors} errors, {loads} loads");
}

#[test]
fn files_that_do_not_match_the_specs_are_typed_errors() {
    let bytes = file();
    let err = |specs: Vec<TensorSpec>| load(FILE, &bytes, &specs).unwrap_err();

    let e = err(vec![
        TensorSpec::f32("emb", &[5, 3]),
        TensorSpec::q8_0("proj", 4, 40),
    ]);
    assert!(
        matches!(&e, WeightsError::Shape { tensor, .. } if tensor == "emb"),
        "{e}"
    );

    let e = err(vec![
        TensorSpec::f32("emb", &[3, 5]),
        TensorSpec::q8_0("proj", 4, 70),
    ]);
    assert!(
        matches!(&e, WeightsError::Shape { tensor, .. } if tensor == "proj.q"),
        "{e}"
    );

    let e = err(vec![
        TensorSpec::f32("emb", &[3, 5]),
        TensorSpec::f32("proj", &[4, 40]),
    ]);
    assert!(
        matches!(&e, WeightsError::Missing { tensor, .. } if tensor == "proj"),
        "{e}"
    );

    let e = err(vec![
        TensorSpec::q8_0("emb", 3, 5),
        TensorSpec::q8_0("proj", 4, 40),
    ]);
    assert!(
        matches!(&e, WeightsError::Missing { tensor, .. } if tensor == "emb.q"),
        "{e}"
    );

    let e = err(vec![TensorSpec::f32("emb", &[3, 5])]);
    assert!(
        matches!(&e, WeightsError::Unexpected { tensor, .. } if tensor.starts_with("proj")),
        "{e}"
    );

    let e = err(vec![
        TensorSpec::f32("emb", &[3, 5]),
        TensorSpec::q8_0("proj", 4, 40),
        TensorSpec::f32("bias", &[4]),
    ]);
    assert!(
        matches!(&e, WeightsError::Missing { tensor, .. } if tensor == "bias"),
        "{e}"
    );

    // F32 where the I8 quants belong.
    let mut t = BTreeMap::new();
    t.insert(
        "emb".to_string(),
        Tensor::F32 {
            shape: vec![3, 5],
            data: vec![0.0; 15],
        },
    );
    t.insert(
        "proj.q".to_string(),
        Tensor::F32 {
            shape: vec![4, 64],
            data: vec![0.0; 256],
        },
    );
    t.insert(
        "proj.d".to_string(),
        Tensor::F32 {
            shape: vec![4, 2],
            data: vec![0.0; 8],
        },
    );
    let e = load(FILE, &to_safetensors(&t).unwrap(), &specs()).unwrap_err();
    assert!(
        matches!(&e, WeightsError::Dtype { tensor, expected: "I8", .. } if tensor == "proj.q"),
        "{e}"
    );
}

#[test]
fn non_finite_values_are_rejected_with_their_tensor() {
    let mut t = tensors();
    if let Some(Tensor::Q8_0(m)) = t.get_mut("proj") {
        m.scales[5] = f32::NAN;
    }
    let e = load(FILE, &to_safetensors(&t).unwrap(), &specs()).unwrap_err();
    assert_eq!(
        e,
        WeightsError::NonFinite {
            file: FILE.into(),
            tensor: "proj.d".into(),
            index: 5
        }
    );

    let mut t = tensors();
    t.insert(
        "emb".into(),
        Tensor::F32 {
            shape: vec![3, 5],
            data: [vec![f32::INFINITY], vec![0.0; 14]].concat(),
        },
    );
    let e = load(FILE, &to_safetensors(&t).unwrap(), &specs()).unwrap_err();
    assert!(
        matches!(&e, WeightsError::NonFinite { tensor, index: 0, .. } if tensor == "emb"),
        "{e}"
    );
}
