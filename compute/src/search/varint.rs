//! Variable-byte integers: seven bits per byte, low groups first, the high
//! bit set on every byte but the last. Sorted ids are stored as gaps, which
//! are small, so most take one byte instead of four.

use crate::error::ComputeError;

pub fn push(value: u32, out: &mut Vec<u8>) {
    let mut v = value;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The integer at `bytes[*at..]`, moving `at` past it.
pub fn read(bytes: &[u8], at: &mut usize) -> Result<u32, ComputeError> {
    let mut value = 0u64;
    for shift in (0..35).step_by(7) {
        let byte = *bytes
            .get(*at)
            .ok_or_else(|| ComputeError::Cpu("a variable-byte integer runs past the end".into()))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value)
                .map_err(|_| ComputeError::Cpu("a variable-byte integer overflows u32".into()));
        }
    }
    Err(ComputeError::Cpu(
        "a variable-byte integer is longer than 5 bytes".into(),
    ))
}

/// Strictly increasing `ids` as their first value, then the gaps.
pub fn encode_gaps(ids: &[u32], out: &mut Vec<u8>) {
    let mut last = 0;
    for (k, &id) in ids.iter().enumerate() {
        debug_assert!(k == 0 || id > last, "ids must increase");
        push(if k == 0 { id } else { id - last }, out);
        last = id;
    }
}

/// `count` ids written by [`encode_gaps`], from `bytes[*at..]`.
pub fn decode_gaps(bytes: &[u8], at: &mut usize, count: usize) -> Result<Vec<u32>, ComputeError> {
    let mut ids = Vec::with_capacity(count);
    let mut last = 0u32;
    for k in 0..count {
        let gap = read(bytes, at)?;
        last = if k == 0 {
            gap
        } else {
            last.checked_add(gap)
                .ok_or_else(|| ComputeError::Cpu("a posting list's ids overflow u32".into()))?
        };
        ids.push(last);
    }
    Ok(ids)
}

/// The gaps [`encode_gaps`] stores, for showing: the first id, then each
/// difference.
pub fn gaps(ids: &[u32]) -> Vec<u32> {
    ids.iter()
        .enumerate()
        .map(|(k, &id)| if k == 0 { id } else { id - ids[k - 1] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_edge_values() {
        let values = [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            u32::MAX,
        ];
        let mut bytes = Vec::new();
        for v in values {
            push(v, &mut bytes);
        }
        // 1+1+1+2+2+3+3+4+5 bytes.
        assert_eq!(bytes.len(), 22);
        let mut at = 0;
        for v in values {
            assert_eq!(read(&bytes, &mut at).unwrap(), v);
        }
        assert_eq!(at, bytes.len());
        assert!(read(&bytes, &mut at).is_err());
        assert!(read(&[0xff; 6], &mut 0).is_err());
    }

    #[test]
    fn gaps_are_small() {
        let ids = [5, 6, 200, 201, 40_000];
        let mut bytes = Vec::new();
        encode_gaps(&ids, &mut bytes);
        assert_eq!(gaps(&ids), [5, 1, 194, 1, 39_799]);
        assert_eq!(bytes.len(), 1 + 1 + 2 + 1 + 3);
        assert_eq!(decode_gaps(&bytes, &mut 0, ids.len()).unwrap(), ids);
    }
}
