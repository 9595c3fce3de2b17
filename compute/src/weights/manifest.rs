//! `assets/manifest.json`: every asset's path, SHA-256 and size. The app
//! checks a download against it before parsing a byte of it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::WeightsError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub about: String,
    pub assets: Vec<AssetEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetEntry {
    /// Relative to `assets/`, with forward slashes.
    pub path: String,
    /// Lower-case hex.
    pub sha256: String,
    pub bytes: u64,
    /// Used by training only (the train/validation digits): the app never
    /// downloads it.
    #[serde(default)]
    pub training_only: bool,
}

pub const MANIFEST_FILE: &str = "manifest.json";

impl Manifest {
    pub fn parse(json: &str) -> Result<Manifest, WeightsError> {
        serde_json::from_str(json).map_err(|e| WeightsError::Manifest {
            file: MANIFEST_FILE.into(),
            detail: e.to_string(),
        })
    }

    pub fn entry(&self, path: &str) -> Option<&AssetEntry> {
        self.assets.iter().find(|a| a.path == path)
    }

    /// Checks `bytes` against the manifest's entry for `path`: size first
    /// (cheap, and a truncated download is the common failure), then hash.
    pub fn verify(&self, path: &str, bytes: &[u8]) -> Result<(), WeightsError> {
        let entry = self.entry(path).ok_or_else(|| WeightsError::Manifest {
            file: path.into(),
            detail: "not listed in assets/manifest.json".into(),
        })?;
        if entry.bytes != bytes.len() as u64 {
            return Err(WeightsError::Size {
                file: path.into(),
                expected: entry.bytes,
                found: bytes.len() as u64,
            });
        }
        let found = sha256_hex(bytes);
        if found != entry.sha256 {
            return Err(WeightsError::Hash {
                file: path.into(),
                expected: entry.sha256.clone(),
                found,
            });
        }
        Ok(())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_fips_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn verify_checks_listing_size_and_hash() {
        let m = Manifest {
            about: String::new(),
            assets: vec![AssetEntry {
                path: "a.bin".into(),
                sha256: sha256_hex(b"abc"),
                bytes: 3,
                training_only: false,
            }],
        };
        assert_eq!(m.verify("a.bin", b"abc"), Ok(()));
        assert!(matches!(
            m.verify("a.bin", b"abd"),
            Err(WeightsError::Hash { .. })
        ));
        assert!(matches!(
            m.verify("a.bin", b"ab"),
            Err(WeightsError::Size { .. })
        ));
        assert!(matches!(
            m.verify("b.bin", b"abc"),
            Err(WeightsError::Manifest { .. })
        ));
    }
}
