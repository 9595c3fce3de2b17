//! `assets/models/align/metrics.json` as types: what `glassbox-train align`
//! measured for every run, which the page draws and `sample align` reads.
//! The file is one object: `base`, `rm`, `best-of-n`, and one entry per
//! DPO or PPO run keyed `dpo-beta<β>`, `ppo-kl<c>` or `ppo-oracle-kl<c>`
//! (its adapter is `models/align/<key>.safetensors`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rules::FormScores;

pub const METRICS_PATH: &str = "models/align/metrics.json";
pub const RM_REPORT_PATH: &str = "models/align/rm.json";

/// A run's adapter, under `assets/`.
pub fn adapter_path(key: &str) -> String {
    format!("models/align/{key}.safetensors")
}

/// The largest KL per poem, in nats, the targets allow.
pub const KL_BUDGET: f64 = 10.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub form: String,
    pub text: String,
    pub reward: f64,
    pub failed: usize,
}

/// The one evaluation every run gets: 800 seeded samples at T = 0.8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    pub samples: usize,
    pub mean_reward: f64,
    pub failed_per_poem: f64,
    pub all_passed: f64,
    /// KL(π‖π_ref) per poem, in nats.
    pub kl: f64,
    /// The reward model's mean normalised score, where measured.
    #[serde(default)]
    pub rm_score: Option<f64>,
    pub forms: Vec<FormScores>,
    pub examples: Vec<Example>,
    /// Best-of-N's N.
    #[serde(default)]
    pub n: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmSummary {
    pub held_out_pair_accuracy: f64,
    pub train_pair_accuracy: f64,
    pub held_out_pairs: usize,
    pub train_pairs: usize,
    pub pearson_held_out: f64,
    pub minutes: f64,
}

/// A PPO iteration's rollouts (at T = 1): what the over-optimisation
/// curve draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoPoint {
    pub iteration: usize,
    pub rm_score: f64,
    pub true_reward: f64,
    pub failed_per_poem: f64,
    pub kl: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpoPoint {
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub margin: f64,
}

/// A DPO or PPO run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub key: String,
    /// "dpo", "ppo" or "ppo-oracle".
    pub method: String,
    /// β for DPO, the KL coefficient for PPO.
    pub parameter: f64,
    pub minutes: f64,
    pub eval: Eval,
    pub ppo_curve: Vec<PpoPoint>,
    pub dpo_curve: Vec<DpoPoint>,
    /// DPO: (form, implicit reward, true reward) of held-out base poems.
    pub implicit: Vec<(String, f64, f64)>,
    pub implicit_pearson: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub base: Eval,
    pub rm: Option<RmSummary>,
    pub best_of_n: Vec<Eval>,
    /// DPO and PPO runs, by key.
    pub runs: Vec<Run>,
}

fn field<T: for<'de> Deserialize<'de>>(v: &Value, key: &str) -> Result<T, String> {
    serde_json::from_value(v[key].clone()).map_err(|e| format!("{key}: {e}"))
}

impl Metrics {
    pub fn parse(bytes: &[u8]) -> Result<Metrics, String> {
        let doc: BTreeMap<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let base = field(&Value::Object(doc.clone().into_iter().collect()), "base")?;
        let rm = doc
            .get("rm")
            .map(|v| serde_json::from_value(v.clone()).map_err(|e| format!("rm: {e}")))
            .transpose()?;
        let best_of_n = match doc.get("best-of-n") {
            Some(v) => field(v, "runs")?,
            None => Vec::new(),
        };
        let mut runs = Vec::new();
        for (key, v) in &doc {
            let method = v["method"].as_str().unwrap_or_default();
            if !matches!(method, "dpo" | "ppo" | "ppo-oracle") {
                continue;
            }
            let parameter = v["beta"]
                .as_f64()
                .or_else(|| v["kl_coef"].as_f64())
                .ok_or_else(|| format!("{key}: no β or KL coefficient"))?;
            let curve = |name: &str| v.get(name).cloned().unwrap_or(Value::Array(Vec::new()));
            runs.push(Run {
                key: key.clone(),
                method: method.to_string(),
                parameter,
                minutes: v["minutes"].as_f64().unwrap_or(0.0),
                eval: field(v, "eval").map_err(|e| format!("{key}: {e}"))?,
                ppo_curve: if method == "dpo" {
                    Vec::new()
                } else {
                    serde_json::from_value(curve("curve")).map_err(|e| format!("{key}: {e}"))?
                },
                dpo_curve: if method == "dpo" {
                    serde_json::from_value(curve("curve")).map_err(|e| format!("{key}: {e}"))?
                } else {
                    Vec::new()
                },
                implicit: serde_json::from_value(curve("implicit_scatter"))
                    .map_err(|e| format!("{key}: {e}"))?,
                implicit_pearson: v["implicit_pearson"].as_f64(),
            });
        }
        Ok(Metrics {
            base,
            rm,
            best_of_n,
            runs,
        })
    }

    /// The run of `method` with the fewest failed checks per poem at a KL
    /// within [`KL_BUDGET`]: what `sample align --method` and the page's
    /// "write one" use.
    pub fn best(&self, method: &str) -> Option<&Run> {
        self.runs
            .iter()
            .filter(|r| r.method == method && r.eval.kl <= KL_BUDGET)
            .min_by(|a, b| a.eval.failed_per_poem.total_cmp(&b.eval.failed_per_poem))
    }

    pub fn run(&self, key: &str) -> Option<&Run> {
        self.runs.iter().find(|r| r.key == key)
    }
}

/// The reward model's report (`rm.json` without its weights): the scatter
/// of its score against the true reward on held-out base poems.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RmReport {
    /// (form, normalised score, true reward).
    pub scatter: Vec<(String, f64, f64)>,
    pub held_out_pair_accuracy: f64,
    pub pearson_held_out: f64,
}

impl RmReport {
    pub fn parse(bytes: &[u8]) -> Result<RmReport, String> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        serde_json::from_value(doc["report"].clone()).map_err(|e| e.to_string())
    }
}
