//! Where a workload's GPU time goes, by kernel: dispatches, milliseconds,
//! and the buffers and bind groups created along the way.
//!
//! Timing comes from timestamp queries written at the start and end of each
//! dispatch's compute pass, where the device has them (`TIMESTAMP_QUERY`).
//! Natively without them, each dispatch is submitted and waited for on its
//! own (slower, and it includes the submission's overhead). In a browser
//! without them there is no clock, and the profile says so.

use std::collections::HashMap;

use serde::Serialize;

use crate::{error::ComputeError, executor::Creations, gpu::GpuContext};

/// Timestamp pairs per profile: WebGPU allows 4096 queries in one set.
const TIMED_DISPATCHES: u32 = 2048;

/// How a profile's milliseconds were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clock {
    /// GPU timestamps around each dispatch.
    Timestamps,
    /// Natively: each dispatch submitted and waited for alone.
    Submissions,
    /// No timestamps (the adapter did not grant `timestamp-query`) and no
    /// way to wait in a browser: dispatches and creations only.
    Unavailable,
}

/// One kernel entry point's share of a workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelCost {
    /// `family.entry`, as in the WGSL file and its entry point.
    pub kernel: String,
    pub dispatches: usize,
    /// `None` without a clock.
    pub ms: Option<f64>,
    /// Buffers created since the previous dispatch (the kernel's outputs,
    /// mostly), and by this one.
    pub buffers: usize,
    pub bind_groups: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub clock: Clock,
    /// Most milliseconds first (most dispatches first without a clock).
    pub kernels: Vec<KernelCost>,
    /// Dispatches past the timestamp budget, counted but not timed.
    pub untimed: usize,
}

impl Profile {
    pub fn dispatches(&self) -> usize {
        self.kernels.iter().map(|k| k.dispatches).sum()
    }

    pub fn ms(&self) -> Option<f64> {
        self.kernels.iter().map(|k| k.ms).sum()
    }

    pub fn creations(&self) -> Creations {
        Creations {
            buffers: self.kernels.iter().map(|k| k.buffers).sum(),
            bind_groups: self.kernels.iter().map(|k| k.bind_groups).sum(),
        }
    }
}

/// An executor's profile in progress.
pub struct Profiling {
    clock: Clock,
    queries: Option<wgpu::QuerySet>,
    /// The kernel of each timed dispatch, in query order.
    timed: Vec<(&'static str, &'static str)>,
    untimed: usize,
    rows: Vec<((&'static str, &'static str), KernelCost)>,
    seen: Creations,
}

impl Profiling {
    pub(crate) fn new(ctx: &GpuContext, creations: Creations) -> Profiling {
        let timestamps = ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY);
        let clock = if timestamps {
            Clock::Timestamps
        } else if cfg!(target_arch = "wasm32") {
            Clock::Unavailable
        } else {
            Clock::Submissions
        };
        Profiling {
            clock,
            queries: timestamps.then(|| {
                ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("executor.profile"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2 * TIMED_DISPATCHES,
                })
            }),
            timed: Vec::new(),
            untimed: 0,
            rows: Vec::new(),
            seen: creations,
        }
    }

    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    /// The query set and the first of the two indices for the next
    /// dispatch's pass, while the budget lasts.
    pub(crate) fn timestamp_writes(
        &mut self,
        family: &'static str,
        entry: &'static str,
    ) -> Option<(wgpu::QuerySet, u32)> {
        let set = self.queries.clone()?;
        let n = self.timed.len() as u32;
        if n >= TIMED_DISPATCHES {
            self.untimed += 1;
            return None;
        }
        self.timed.push((family, entry));
        Some((set, 2 * n))
    }

    /// Counts one dispatch of `family.entry`, with what was created since
    /// the previous one.
    pub(crate) fn count(&mut self, family: &'static str, entry: &'static str, now: Creations) {
        let new = now - self.seen;
        self.seen = now;
        let row = self.row(family, entry);
        row.dispatches += 1;
        row.buffers += new.buffers;
        row.bind_groups += new.bind_groups;
    }

    /// Natively without timestamps: one dispatch's measured milliseconds.
    pub(crate) fn waited(&mut self, family: &'static str, entry: &'static str, ms: f64) {
        let row = self.row(family, entry);
        row.ms = Some(row.ms.unwrap_or(0.0) + ms);
    }

    fn row(&mut self, family: &'static str, entry: &'static str) -> &mut KernelCost {
        let at = match self.rows.iter().position(|(k, _)| *k == (family, entry)) {
            Some(at) => at,
            None => {
                self.rows.push((
                    (family, entry),
                    KernelCost {
                        kernel: format!("{family}.{entry}"),
                        dispatches: 0,
                        ms: None,
                        buffers: 0,
                        bind_groups: 0,
                    },
                ));
                self.rows.len() - 1
            }
        };
        &mut self.rows[at].1
    }

    pub(crate) async fn finish(mut self, ctx: &GpuContext) -> Result<Profile, ComputeError> {
        match self.clock {
            Clock::Timestamps => {
                let ticks = self.read_timestamps(ctx).await?;
                let ns_per_tick = ctx.queue.get_timestamp_period() as f64;
                let mut ms: HashMap<(&'static str, &'static str), f64> = HashMap::new();
                for (pair, kernel) in ticks.chunks_exact(2).zip(&self.timed) {
                    // A pass whose end reads before its start (a clock
                    // reset) counts as nothing rather than as years.
                    let span = pair[1].saturating_sub(pair[0]) as f64 * ns_per_tick / 1e6;
                    *ms.entry(*kernel).or_default() += span;
                }
                for (key, row) in &mut self.rows {
                    row.ms = Some(ms.get(key).copied().unwrap_or(0.0));
                }
            }
            // Submissions: each row's ms was added up as it was waited for.
            Clock::Submissions | Clock::Unavailable => {}
        }
        let mut kernels: Vec<KernelCost> = self.rows.into_iter().map(|(_, row)| row).collect();
        kernels.sort_by(|a, b| {
            b.ms.unwrap_or(0.0)
                .total_cmp(&a.ms.unwrap_or(0.0))
                .then(b.dispatches.cmp(&a.dispatches))
        });
        Ok(Profile {
            clock: self.clock,
            kernels,
            untimed: self.untimed,
        })
    }

    /// Every written timestamp, resolved and read back (one readback).
    async fn read_timestamps(&self, ctx: &GpuContext) -> Result<Vec<u64>, ComputeError> {
        let (Some(set), n) = (&self.queries, 2 * self.timed.len() as u32) else {
            return Ok(Vec::new());
        };
        if n == 0 {
            return Ok(Vec::new());
        }
        let bytes = n as u64 * 8;
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("executor.profile.resolved"),
            size: bytes,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("executor.profile"),
            });
        encoder.resolve_query_set(set, 0..n, &resolved, 0);
        ctx.queue.submit([encoder.finish()]);
        let words = ctx
            .read_f32(&resolved, 2 * n as usize, "executor.profile.read")
            .await?;
        Ok(words
            .chunks_exact(2)
            .map(|w| w[0].to_bits() as u64 | ((w[1].to_bits() as u64) << 32))
            .collect())
    }
}
