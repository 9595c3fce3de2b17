// sample: draws on the GPU from probabilities already on the GPU, so a
// sampling loop never waits for a readback.
//
// Randomness is Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers:
// as easy as 1, 2, 3"), a counter-based generator: the draw for row i at
// step t is philox(counter = (t, i, 0, 0), key = seed). No state is carried,
// so the CPU reference reproduces every draw exactly. u = (r.x >> 8) · 2⁻²⁴
// is exact in f32.
//
// Bindings (group 0):
//   0  params : uniform     (rows, cols, step, seed_lo, seed_hi, out_offset, as_index)
//   1  probs  : array<f32>  read   [rows] (bernoulli) or [rows, cols]
//   2  out    : array<u32>  write  sample for row i at out_offset + i, as
//                                  f32 bits, or a u32 index when as_index = 1
//
// bernoulli: x = 1 if u < p else 0.
// categorical: the first j with u · Σp < p₀ + … + p_j (inverse CDF of the
//   row, which need not be normalised); all-zero rows give the last index.
// argmax: the first index of the row's maximum.
// Workgroup: WG invocations (override; 64), one row each.

override WG: u32;

struct Params {
    rows: u32,
    cols: u32,
    step: u32,
    seed_lo: u32,
    seed_hi: u32,
    out_offset: u32,
    as_index: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

// 32 × 32 → 64-bit product as (hi, lo), from 16-bit halves: WGSL has no u64.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let cross = (lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu);
    let hi = hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

fn uniform01(row: u32) -> f32 {
    let r = philox4x32_10(vec4<u32>(p.step, row, 0u, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
    return f32(r.x >> 8u) * (1.0 / 16777216.0);
}

fn write(row: u32, value: u32) {
    if (p.as_index == 1u) {
        out[p.out_offset + row] = value;
    } else {
        out[p.out_offset + row] = bitcast<u32>(f32(value));
    }
}

@compute @workgroup_size(WG)
fn bernoulli(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.rows) {
        return;
    }
    write(i, select(0u, 1u, uniform01(i) < probs[i]));
}

@compute @workgroup_size(WG)
fn categorical(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.rows) {
        return;
    }
    let base = i * p.cols;
    var total = 0.0;
    for (var j = 0u; j < p.cols; j++) {
        total += probs[base + j];
    }
    let target_mass = uniform01(i) * total;
    var cum = 0.0;
    var pick = p.cols - 1u;
    for (var j = 0u; j < p.cols; j++) {
        cum += probs[base + j];
        if (target_mass < cum) {
            pick = j;
            break;
        }
    }
    write(i, pick);
}

@compute @workgroup_size(WG)
fn argmax(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.rows) {
        return;
    }
    let base = i * p.cols;
    var best = 0u;
    for (var j = 1u; j < p.cols; j++) {
        if (probs[base + j] > probs[base + best]) {
            best = j;
        }
    }
    write(i, best);
}
